"""Question of the day in a channel: post at the schedule's local time, take answers, keep a live
tally, and close with the answer, the distribution and the explanation in the thread.

Once only, never half done. A post is claimed with the UNIQUE key (schedule, local date) before it is
sent, and a close is claimed by moving the post from 'open' to 'closing'. The question and its reveal
carry Slack metadata naming the post (bot.slack.marks). A post or reveal whose outcome is unknown (the
process was killed after the claim, the connection dropped, Slack answered fatal_error) stays
'claimed' / 'closing' and is reconciled at a later tick (the first runs at start-up) once it is a
minute old: the channel's history (the thread's replies, for a reveal) is read for the mark; found ->
the post is opened with its ts, or the close is finished; absent -> it is posted now. A reveal Slack
refuses is retried the same way. So a question ends answerable (open, with its ts) or properly closed
(the reveal in its thread, the buttons gone); one that can no longer be posted (its day or close time
passed) is marked failed, never shown, as is one still unsettled after MAX_ATTEMPTS attempts.

A post missed while the bot was down is made up later the same local day, unless the schedule's close
time has passed. Answers are stored with UNIQUE (post, member): the first answer stands. The tally
shown is always counted from the stored answers when the message is updated, never kept in memory.
One schedule or post never stops the others: each failure is recorded in the report, and a stored
zone this server's tz database lacks is read as TUTOR_TZ (bot.zones).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo

from slack_sdk import WebClient

from bot.slack import marks
from bot.slack.blocks import Message, reply
from bot.slack.blocks_channel import qotd_feedback_message, qotd_message, qotd_reveal_message
from bot.slack.client import describe_failure, refused_by_slack
from bot.slack.context import AppContext
from bot.slack.services import SlackServices
from bot.tutor import TutorError
from content.model import MultipleChoice
from storage.slack_state import ChannelPost, ChannelSchedule

log = logging.getLogger(__name__)

SOURCE = "channel"  # the review log's name for answers to a question of the day
CLOSED_REPLIES = {  # a click on a post that is not open, by its status
    "claimed": "This question is not open yet: try again in a minute.",
    "closing": "This question is closed: the answer is coming in its thread.",
    "closed": "This question is closed: the answer is in its thread.",
    "failed": "This question could not be run; an admin sees why in `/tutor schedules`.",
}


@dataclass
class ChannelReport:
    posted: int = 0
    closed: int = 0
    failed: int = 0
    pending: int = 0  # outcome unknown: reconciled at a later tick
    recovered: int = 0  # unfinished posts found in the channel's history and opened
    errors: dict[int, str] = field(default_factory=dict)  # schedule id -> what went wrong

    def add(self, schedule_id: int, outcome: str | None) -> None:
        """Count 'posted', 'closed', 'recovered', 'pending: …' or 'failed: …' (None: nothing done)."""
        if outcome in ("posted", "closed", "recovered"):
            setattr(self, outcome, getattr(self, outcome) + 1)
        elif outcome:
            kind, _, error = outcome.partition(": ")
            if kind == "pending":
                self.pending += 1
            else:
                self.failed += 1
            self.errors[schedule_id] = error


def _deck_title_and_cards(svc: SlackServices, slug: str) -> tuple[str, list[MultipleChoice]]:
    deck = svc.ctx.tutor.deck(slug)
    return deck.title, [c for c in deck.cards if isinstance(c, MultipleChoice) and c.answer is not None]


def _card(svc: SlackServices, post: ChannelPost) -> tuple[str, MultipleChoice | None]:
    try:
        title, cards = _deck_title_and_cards(svc, post.deck)
    except TutorError:
        return post.deck, None
    return title, next((c for c in cards if c.id == post.card_id), None)


def _local_moment(svc: SlackServices, schedule: ChannelSchedule,
                  now: datetime) -> tuple[datetime, datetime, datetime | None]:
    """(local now, today's post moment, today's close moment or None), in the schedule's zone."""
    default = svc.ctx.settings.timezone
    name = svc.zones.resolve(schedule.tz, owner=f"schedule {schedule.id}", fallback=default,
                             instead=f"TUTOR_TZ ({default})")
    zone = ZoneInfo(name or default)
    local = now.astimezone(zone)
    post_at = datetime.combine(local.date(), schedule.at_time, tzinfo=zone)
    close_at = None
    if schedule.close_time is not None:
        close_at = datetime.combine(local.date(), schedule.close_time, tzinfo=zone)
    return local, post_at, close_at


def post_due(svc: SlackServices, client: WebClient, schedule: ChannelSchedule, now: datetime) -> str | None:
    """Post today's question for `schedule` if its time has come; returns 'posted', 'pending: …',
    'failed: …' or None."""
    local, post_at, close_at = _local_moment(svc, schedule, now)
    if local.weekday() not in schedule.days or now < post_at or post_at < schedule.created_at:
        return None
    if close_at is not None and now >= close_at:
        return None  # missed (the bot was down) and already past its close: nothing to make up
    if svc.state.has_post(schedule.id, local.date()):
        return None
    for previous in svc.state.posts(schedule_id=schedule.id, status="open"):
        close_post(svc, client, previous, now)
    try:
        title, cards = _deck_title_and_cards(svc, schedule.deck)
    except TutorError as exc:
        return f"failed: {exc}"
    post = svc.state.claim_post(schedule, local.date(), [c.id for c in cards], now, closes_at=close_at)
    if post is None:
        return None if cards else f"failed: deck {schedule.deck} has no multiple-choice question with a key"
    card = next(c for c in cards if c.id == post.card_id)
    return _publish(svc, client, post, card, title)


def _publish(svc: SlackServices, client: WebClient, post: ChannelPost, card: MultipleChoice,
             title: str) -> str:
    """Post the claimed question, marked with its post id, and record what Slack answered."""
    message = marks.question_of_the_day(post.id).on(qotd_message(post.id, card, deck_title=title, answers=0))
    try:
        answer = client.chat_postMessage(channel=post.channel_id, **message.as_kwargs())
    except Exception as exc:
        refused = refused_by_slack(exc)
        if refused is None:  # Slack may have stored it: look before posting again (reconcile)
            error = describe_failure(exc)
            log.warning("question of the day %s: outcome unknown (%s); it will be reconciled", post.id, error)
            svc.state.note_post_attempt(post.id, error)
            return f"pending: {error}"
        svc.state.set_post_status(post.id, "failed", error=refused)
        return f"failed: {refused}"
    svc.state.set_post_status(post.id, "open", ts=answer["ts"])
    return "posted"


def refresh_post(svc: SlackServices, client: WebClient, post_id: int) -> None:
    """Redraw the channel message from the stored state: the open question with the number of
    answers, or the closed one. Serialised per post by the coalescer (see pacing.py)."""

    def redraw() -> None:
        post = svc.state.post(post_id)
        if post is None or post.ts is None:
            return
        title, card = _card(svc, post)
        if card is None:
            return
        answers = sum(svc.state.answer_counts(post_id).values())
        closed = post.status in ("closing", "closed")
        message = qotd_message(post.id, card, deck_title=title, answers=answers, closed=closed)
        client.chat_update(channel=post.channel_id, ts=post.ts,
                           **marks.question_of_the_day(post.id).on(message).as_kwargs())

    svc.refreshes.request(("qotd", post_id), redraw)


def close_post(svc: SlackServices, client: WebClient, post: ChannelPost, now: datetime) -> bool:
    """Reveal the answer in the post's thread and lock the post. True when this call closed it; a
    reveal that fails stays 'closing' and is retried by reconciliation (which looks first)."""
    if not svc.state.claim_close(post.id, now):
        return False
    return _reveal(svc, client, post, now)


def _reveal(svc: SlackServices, client: WebClient, post: ChannelPost, now: datetime) -> bool:
    _, card = _card(svc, post)
    if card is None:
        message = reply("This question was removed from its deck, so there is no answer to show.")
    else:
        message = qotd_reveal_message(card, svc.state.answer_counts(post.id))
    try:
        client.chat_postMessage(channel=post.channel_id, thread_ts=post.ts,
                                **marks.question_reveal(post.id).on(message).as_kwargs())
    except Exception as exc:
        error = describe_failure(exc)
        log.warning("closing post %s failed (%s); it will be retried", post.id, error)
        svc.state.note_post_attempt(post.id, error)
        return False
    _finish_close(svc, client, post.id, now)
    return True


def _finish_close(svc: SlackServices, client: WebClient, post_id: int, now: datetime) -> None:
    """Redraw the post closed (no buttons) while it is 'closing', then record it closed."""
    refresh_post(svc, client, post_id)
    svc.state.set_post_status(post_id, "closed", now=now)


def _reconcile(svc: SlackServices, client: WebClient, post: ChannelPost, now: datetime) -> str | None:
    """Settle one unfinished post or close from Slack's history (see the module doc)."""
    if not svc.state.retake_post(post.id, post.status, post.attempts, now):
        return None  # another process is on it
    given_up = post.attempts + 1 > marks.MAX_ATTEMPTS

    def fail(error: str) -> str:
        svc.state.set_post_status(post.id, "failed", error=error[:500])
        return f"failed: {error}"

    closing = post.status == "closing"
    mark = marks.question_reveal(post.id) if closing else marks.question_of_the_day(post.id)
    try:
        ts = marks.find_marked(client, post.channel_id, mark, since=post.claimed_at,
                               thread_ts=post.ts if closing else None)
    except Exception as exc:
        if given_up:
            return fail(f"could not read the channel's history: {describe_failure(exc)}")
        raise
    if closing:
        if ts is not None:
            _finish_close(svc, client, post.id, now)
            return "closed"
        if given_up:
            return fail(f"the answer could not be posted: {post.error or 'outcome unknown'}")
        if _reveal(svc, client, post, now):
            return "closed"
        latest = svc.state.post(post.id)
        return f"pending: {(latest and latest.error) or 'the answer is not posted yet'}"
    if ts is not None:
        svc.state.set_post_status(post.id, "open", ts=ts)
        return "recovered"
    if given_up:
        return fail(f"not posted after {post.attempts} attempts: {post.error or 'outcome unknown'}")
    schedule = svc.state.schedule(post.schedule_id)
    if schedule is None:
        return fail("its schedule was removed before it could be posted")
    local, _, _ = _local_moment(svc, schedule, now)
    if local.date() != post.local_date or (post.closes_at is not None and now >= post.closes_at):
        return fail("missed: its day or its close time passed before it could be posted")
    title, card = _card(svc, post)
    if card is None:
        return fail("its question was removed from the deck before it could be posted")
    return _publish(svc, client, post, card, title)


def reconcile_posts(svc: SlackServices, client: WebClient, now: datetime, report: ChannelReport) -> None:
    """Settle every post or close whose latest attempt began more than RECONCILE_AFTER ago."""
    for post in svc.state.stale_posts(now - marks.RECONCILE_AFTER):
        try:
            outcome = _reconcile(svc, client, post, now)
        except Exception as exc:  # e.g. the history could not be read: the next tick tries again
            outcome = f"pending: {describe_failure(exc)}"
            log.warning("unfinished question of the day %s not settled yet: %s", post.id, outcome)
        report.add(post.schedule_id, outcome)


def run_channel_posts(ctx: AppContext | SlackServices, client: WebClient,
                      now: datetime | None = None) -> ChannelReport:
    """Settle unfinished posts, close the posts whose close time has come, then post every question
    of the day whose time has come. Safe to run often and from several processes."""
    svc = SlackServices.of(ctx)
    now = svc.now() if now is None else now
    report = ChannelReport()
    reconcile_posts(svc, client, now, report)
    for post in svc.state.posts(status="open"):
        if post.closes_at is None or post.closes_at > now:
            continue
        try:
            if close_post(svc, client, post, now):
                report.closed += 1
        except Exception as exc:  # one broken post must not stop the others
            log.exception("closing question of the day %s failed", post.id)
            report.add(post.schedule_id, f"failed: {describe_failure(exc)}")
    for schedule in svc.state.schedules():
        try:
            outcome = post_due(svc, client, schedule, now)
        except Exception as exc:  # one broken schedule must not stop the others
            log.exception("question of the day for schedule %s failed", schedule.id)
            outcome = f"failed: {describe_failure(exc)}"
        report.add(schedule.id, outcome)
    return report


def close_schedule(svc: SlackServices, client: WebClient, schedule_id: int, now: datetime) -> int:
    """Close the open posts of a schedule being removed; returns how many were closed."""
    posts = svc.state.posts(schedule_id=schedule_id, status="open")
    return sum(close_post(svc, client, p, now) for p in posts)


def _since_post(post: ChannelPost, action_ts: str | None) -> int | None:
    """Milliseconds from the post (its ts) to the click (Slack's action_ts): both Slack's clock."""
    try:
        elapsed = round((float(action_ts or "") - float(post.ts or "")) * 1000)
    except ValueError:
        return None
    return elapsed if elapsed >= 0 else None


def answer(svc: SlackServices, client: WebClient, *, post_id: int, user_id: str, choice: int,
           action_ts: str | None = None) -> Message:
    """A member's click on an option: store it (first answer stands), count it as their review of
    the card (timed from the post: recorded, not used for grading, as the post may be read hours
    later), refresh the tally. Returns the reply only they see."""
    now = svc.now()
    post = svc.state.post(post_id)
    if post is None:
        return reply("I can't find that question any more.")
    _, card = _card(svc, post)
    if card is None or card.answer is None or not 0 <= choice < len(card.options):
        return reply("This question was removed from its deck.")
    if post.status != "open":
        return reply(CLOSED_REPLIES.get(post.status, CLOSED_REPLIES["closed"]))
    stored, standing = svc.state.record_channel_answer(post_id, user_id, choice, choice == card.answer, now)
    if stored:
        tutor = svc.ctx.tutor
        if tutor.learner(user_id) is None:
            user = svc.users.info(client, user_id)
            tutor.ensure_learner(user_id, name=user.name if user else None, tz=user.tz if user else None)
        try:
            seq = tutor.next_seq(user_id, post.deck, card.id)
            tutor.answer_choice(user_id, post.deck, card.id, choice, seq=seq, now=now,
                                duration_ms=_since_post(post, action_ts), source=SOURCE)
        except TutorError as exc:  # the answer counts in the channel even if the review can't be kept
            log.warning("answer of %s to post %s not recorded as a review: %s", user_id, post_id, exc)
        refresh_post(svc, client, post_id)
    return qotd_feedback_message(card, standing.choice, standing.correct, repeated=not stored)

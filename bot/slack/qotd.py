"""Question of the day in a channel: post at the schedule's local time, take answers, keep a live
tally, and close with the answer, the distribution and the explanation in the thread.

Once only: a post is claimed with the UNIQUE key (schedule, local date) before it is sent, and a close
is claimed by moving the post from 'open' to 'closing'. A post missed while the bot was down is made
up later the same local day, unless the schedule's close time has passed. Answers are stored with
UNIQUE (post, member): the first answer stands. The tally shown is always counted from the stored
answers when the message is updated, never kept in memory.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.slack.blocks import Message, reply
from bot.slack.blocks_channel import qotd_feedback_message, qotd_message, qotd_reveal_message
from bot.slack.context import AppContext
from bot.slack.services import SlackServices
from bot.tutor import TutorError
from content.model import MultipleChoice
from storage.slack_state import ChannelPost, ChannelSchedule

log = logging.getLogger(__name__)

SOURCE = "channel"  # the review log's name for answers to a question of the day


@dataclass
class ChannelReport:
    posted: int = 0
    closed: int = 0
    failed: int = 0
    errors: dict[int, str] = field(default_factory=dict)  # schedule id -> Slack's error


def _deck_title_and_cards(svc: SlackServices, slug: str) -> tuple[str, list[MultipleChoice]]:
    deck = svc.ctx.tutor.deck(slug)
    return deck.title, [c for c in deck.cards if isinstance(c, MultipleChoice) and c.answer is not None]


def _card(svc: SlackServices, post: ChannelPost) -> tuple[str, MultipleChoice | None]:
    try:
        title, cards = _deck_title_and_cards(svc, post.deck)
    except TutorError:
        return post.deck, None
    return title, next((c for c in cards if c.id == post.card_id), None)


def _local_moment(schedule: ChannelSchedule, now: datetime) -> tuple[datetime, datetime, datetime | None]:
    """(local now, today's post moment, today's close moment or None), in the schedule's zone."""
    zone = ZoneInfo(schedule.tz)
    local = now.astimezone(zone)
    post_at = datetime.combine(local.date(), schedule.at_time, tzinfo=zone)
    close_at = None
    if schedule.close_time is not None:
        close_at = datetime.combine(local.date(), schedule.close_time, tzinfo=zone)
    return local, post_at, close_at


def post_due(svc: SlackServices, client: WebClient, schedule: ChannelSchedule, now: datetime) -> str | None:
    """Post today's question for `schedule` if its time has come; returns 'posted', 'failed: …' or None."""
    local, post_at, close_at = _local_moment(schedule, now)
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
    message = qotd_message(post.id, card, deck_title=title, answers=0)
    try:
        answer = client.chat_postMessage(channel=schedule.channel_id, **message.as_kwargs())
    except SlackApiError as exc:
        error = str(exc.response.get("error"))
        svc.state.set_post_status(post.id, "failed", error=error)
        return f"failed: {error}"
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
        client.chat_update(channel=post.channel_id, ts=post.ts, **message.as_kwargs())

    svc.refreshes.request(("qotd", post_id), redraw)


def close_post(svc: SlackServices, client: WebClient, post: ChannelPost, now: datetime) -> bool:
    """Reveal the answer in the post's thread and lock the post. True when this call closed it."""
    if not svc.state.claim_close(post.id):
        return False
    _, card = _card(svc, post)
    if card is None:
        message = reply("This question was removed from its deck, so there is no answer to show.")
    else:
        message = qotd_reveal_message(card, svc.state.answer_counts(post.id))
    try:
        client.chat_postMessage(channel=post.channel_id, thread_ts=post.ts, **message.as_kwargs())
    except SlackApiError as exc:
        log.warning("closing post %s failed (%s); will retry", post.id, exc.response.get("error"))
        svc.state.set_post_status(post.id, "open")  # the next tick tries again
        return False
    svc.state.set_post_status(post.id, "closed", now=now)
    refresh_post(svc, client, post.id)
    return True


def run_channel_posts(ctx: AppContext | SlackServices, client: WebClient,
                      now: datetime | None = None) -> ChannelReport:
    """Close the posts whose close time has come, then post every question of the day whose time
    has come. Safe to run often and from several processes."""
    svc = SlackServices.of(ctx)
    now = svc.now() if now is None else now
    report = ChannelReport()
    for post in svc.state.posts(status="open"):
        if post.closes_at is not None and post.closes_at <= now and close_post(svc, client, post, now):
            report.closed += 1
    for schedule in svc.state.schedules():
        try:
            outcome = post_due(svc, client, schedule, now)
        except Exception as exc:  # one broken schedule must not stop the others
            log.exception("question of the day for schedule %s failed", schedule.id)
            outcome = f"failed: {type(exc).__name__}: {exc}"
        if outcome == "posted":
            report.posted += 1
        elif outcome:
            report.failed += 1
            report.errors[schedule.id] = outcome.removeprefix("failed: ")
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
        return reply("This question is closed: the answer is in its thread.")
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

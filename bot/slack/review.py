"""The review in a DM: one message per session, changed in place (chat.update) card after card.

A session is a row (storage.slack_state); what comes next is always the core's answer
(`Tutor.due_cards`) minus the cards already answered in this session, so a click on a stale or
repeated button can never skip or repeat a card. Each answer carries the seq the core expects, so
the core stores a double click once; the session counts it once (UNIQUE key) too.

The message of a daily delivery carries its mark (bot.slack.marks) when posted and at every update,
so it can be found in the DM's history whatever Slack does with metadata an update leaves out.

Answer times: the moment a message is sent showing a card is kept (storage: slack_card_views); a
grade or an option click is timed from it to Slack's `action_ts` of the click, and the core grades
multiple choice with that time (bot/grading.py).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from slack_sdk import WebClient

from bot.numbers import id_value
from bot.slack.blocks import (
    Block,
    CardRef,
    Message,
    SessionSummary,
    card_message,
    decode_value,
    esc,
    flashcard_answer_message,
    grade_note,
    mcq_result_message,
    summary_blocks,
    summary_message,
)
from bot.slack.marks import Mark, daily_review
from bot.slack.services import SlackServices
from bot.tutor import DueItem, Rating, ReviewResult, TutorError
from content.model import Card, Flashcard, MultipleChoice

log = logging.getLogger(__name__)

SOURCE = "dm"  # the review log's name for answers given in a DM
MAX_ANSWER_MS = 3_600_000  # a click later than this after the card was shown is not a timing


@dataclass(frozen=True)
class Posted:
    channel: str
    ts: str


@dataclass(frozen=True)
class Click:
    """A button click on a review message: who, where, and the button's value."""

    user_id: str
    channel_id: str
    ts: str
    value: str | None
    action_ts: str | None = None  # when Slack says the click happened (epoch seconds, as text)


def find_card(svc: SlackServices, deck: str, card_id: str) -> Card | None:
    """The active card, or None when its deck or the card is gone (retired since the message)."""
    try:
        return svc.ctx.tutor.deck(deck).card(card_id)
    except TutorError:
        return None


def next_item(svc: SlackServices, session_id: int, user_id: str, now: datetime) -> tuple[DueItem | None, int]:
    """The next card of the session and how many are left including it."""
    answered = svc.state.session_answered(session_id)
    due = [item for item in svc.ctx.tutor.due_cards(user_id, now)
           if (item.deck, item.card.id) not in answered]
    return (due[0] if due else None), len(due)


def summary(svc: SlackServices, session_id: int, user_id: str, now: datetime) -> SessionSummary:
    tally = svc.state.session_tally(session_id)
    stats = svc.ctx.tutor.stats(user_id, now)
    learner = svc.ctx.tutor.learner(user_id)
    tz = learner.tz if learner else svc.ctx.settings.timezone
    return SessionSummary(reviewed=tally.reviewed, right=tally.right, streak=stats.streak,
                          next_due=stats.next_due, tz=tz)


def render_next(svc: SlackServices, session_id: int, user_id: str, now: datetime, *,
                note: str | None = None) -> tuple[Message, bool]:
    """The next card, or the summary when none is left (then the session is marked finished).
    Returns (message, finished)."""
    item, remaining = next_item(svc, session_id, user_id, now)
    if item is None:
        svc.state.finish_session(session_id, now)
        return summary_message(summary(svc, session_id, user_id, now), now, note=note), True
    ref = CardRef(session_id, item.deck, item.card.id, item.seq)
    svc.state.card_shown(session_id, item.deck, item.card.id, item.seq, now)
    return card_message(ref, item.card, is_new=item.is_new, remaining=remaining, note=note), False


def answer_ms(svc: SlackServices, ref: CardRef, click: Click) -> int | None:
    """Milliseconds from showing the card to the click; None when unknown or implausible (a clock
    step, a click on a message left open for hours)."""
    shown = svc.state.shown_at(ref.session_id, ref.deck, ref.card_id, ref.seq)
    if shown is None or not click.action_ts:
        return None
    try:
        elapsed = round((float(click.action_ts) - shown.timestamp()) * 1000)
    except ValueError:
        return None
    return elapsed if 0 <= elapsed <= MAX_ANSWER_MS else None


def summary_if_done(svc: SlackServices, session_id: int, user_id: str, now: datetime) -> list[Block] | None:
    """The summary's blocks when no card of the session is left (the session is then marked
    finished), else None: what follows an answer's result instead of "Next"."""
    item, _ = next_item(svc, session_id, user_id, now)
    if item is not None:
        return None
    svc.state.finish_session(session_id, now)
    return summary_blocks(summary(svc, session_id, user_id, now), now)


def dm_channel(svc: SlackServices, client: WebClient, user_id: str) -> str:
    """The bot's DM channel with the member (conversations.open once, then remembered)."""
    channel = svc.state.dm_channel(user_id)
    if channel is None:
        channel = client.conversations_open(users=user_id)["channel"]["id"]
        svc.state.remember_dm_channel(user_id, channel)
    return channel


def post_session(svc: SlackServices, client: WebClient, user_id: str, session_id: int, now: datetime, *,
                 note: str | None = None, due: list[DueItem] | None = None,
                 mark: Mark | None = None) -> Posted | None:
    """Post the new session's first card in the member's DM (`due`: their due cards when already
    planned, else asked of the core; `mark`: what it delivers); None (nothing posted) when nothing
    is due."""
    if due is None:
        message, finished = render_next(svc, session_id, user_id, now, note=note)
        if finished:
            return None
    else:
        if not due:
            return None
        first = due[0]
        ref = CardRef(session_id, first.deck, first.card.id, first.seq)
        svc.state.card_shown(session_id, first.deck, first.card.id, first.seq, now)
        message = card_message(ref, first.card, is_new=first.is_new, remaining=len(due), note=note)
    if mark is not None:
        message = mark.on(message)
    channel = dm_channel(svc, client, user_id)
    answer = client.chat_postMessage(channel=channel, **message.as_kwargs())
    return Posted(channel=answer["channel"], ts=answer["ts"])


def start_review(svc: SlackServices, client: WebClient, user_id: str, *, origin: str) -> Posted | None:
    """A review on demand (`/tutor review`, the Home tab's button); None when nothing is due."""
    now = svc.now()
    item, remaining = next_item(svc, 0, user_id, now)
    if item is None:
        return None
    session_id = svc.state.create_session(user_id, origin, now)
    note = f"Review started · {remaining} due"
    return post_session(svc, client, user_id, session_id, now, note=note)


def update_message(svc: SlackServices, client: WebClient, channel: str, ts: str, session_id: int,
                   message: Message) -> None:
    """Change the session's message in place, carrying its delivery's mark when it is a daily DM."""
    delivery_id = svc.state.session_delivery(session_id)
    if delivery_id is not None:
        message = daily_review(delivery_id).on(message)
    client.chat_update(channel=channel, ts=ts, **message.as_kwargs())


def _update(svc: SlackServices, client: WebClient, click: Click, session_id: int, message: Message) -> None:
    update_message(svc, client, click.channel_id, click.ts, session_id, message)


def _own(svc: SlackServices, click: Click, session_id: int) -> bool:
    owner = svc.state.session_user(session_id)
    if owner != click.user_id:
        log.warning("ignored a click by %s on session %s of %s", click.user_id, session_id, owner)
        return False
    return True


def _after_finish(svc: SlackServices, client: WebClient, user_id: str) -> None:
    from bot.slack.home import publish_home  # home imports review for its "Review now" button

    publish_home(svc, client, user_id)


def on_show_answer(svc: SlackServices, client: WebClient, click: Click) -> None:
    ref, _ = CardRef.from_value(click.value)
    if not _own(svc, click, ref.session_id):
        return
    now = svc.now()
    card = find_card(svc, ref.deck, ref.card_id)
    answered = (ref.deck, ref.card_id) in svc.state.session_answered(ref.session_id)
    if answered or not isinstance(card, Flashcard):
        message, finished = render_next(svc, ref.session_id, click.user_id, now)  # already graded / gone
    else:
        intervals = svc.ctx.tutor.next_intervals(click.user_id, ref.deck, ref.card_id, now)
        _, remaining = next_item(svc, ref.session_id, click.user_id, now)
        message, finished = flashcard_answer_message(ref, card, intervals, remaining=remaining), False
    _update(svc, client, click, ref.session_id, message)
    if finished:
        _after_finish(svc, client, click.user_id)


def record_answer(svc: SlackServices, ref: CardRef, result: ReviewResult, now: datetime) -> None:
    """Count the answer in its session (once)."""
    svc.state.record_session_answer(ref.session_id, ref.deck, ref.card_id, seq=ref.seq,
                                    rating=int(result.rating), correct=result.correct, now=now)


def on_grade(svc: SlackServices, client: WebClient, click: Click) -> None:
    """A grade on a flashcard: record it (once), then show the next card with a line about this one."""
    ref, data = CardRef.from_value(click.value)
    if not _own(svc, click, ref.session_id):
        return
    now = svc.now()
    try:
        result = svc.ctx.tutor.grade(click.user_id, ref.deck, ref.card_id, Rating(id_value(data.get("r"))),
                                     seq=ref.seq, now=now, duration_ms=answer_ms(svc, ref, click),
                                     source=SOURCE)
    except TutorError as exc:  # a stale button (the card was reviewed elsewhere, or removed)
        note = f"{esc(str(exc))}."
    else:
        record_answer(svc, ref, result, now)
        note = grade_note(result)
    message, finished = render_next(svc, ref.session_id, click.user_id, now, note=note)
    _update(svc, client, click, ref.session_id, message)
    if finished:
        _after_finish(svc, client, click.user_id)


def on_choice(svc: SlackServices, client: WebClient, click: Click) -> None:
    """An option of a multiple-choice card: grade it (once; a second click shows the first answer's
    result), then show right/wrong with the explanation and "Next", or the summary at the end."""
    ref, data = CardRef.from_value(click.value)
    if not _own(svc, click, ref.session_id):
        return
    now = svc.now()
    card = find_card(svc, ref.deck, ref.card_id)
    if not isinstance(card, MultipleChoice):
        message, finished = render_next(svc, ref.session_id, click.user_id, now,
                                        note="That question was removed from the deck.")
        _update(svc, client, click, ref.session_id, message)
        return
    try:
        result = svc.ctx.tutor.answer_choice(click.user_id, ref.deck, ref.card_id, id_value(data.get("o")),
                                             seq=ref.seq, now=now, duration_ms=answer_ms(svc, ref, click),
                                             source=SOURCE)
    except TutorError as exc:  # a stale button: show what is next instead
        message, finished = render_next(svc, ref.session_id, click.user_id, now, note=f"{esc(str(exc))}.")
        _update(svc, client, click, ref.session_id, message)
        return
    record_answer(svc, ref, result, now)
    tail = summary_if_done(svc, ref.session_id, click.user_id, now)
    _update(svc, client, click, ref.session_id,
            mcq_result_message(ref.session_id, card, result, summary=tail))
    if tail is not None:
        _after_finish(svc, client, click.user_id)


def on_next(svc: SlackServices, client: WebClient, click: Click) -> None:
    data = decode_value(click.value)
    session_id = id_value(data.get("s"))
    if not _own(svc, click, session_id):
        return
    message, finished = render_next(svc, session_id, click.user_id, svc.now())
    _update(svc, client, click, session_id, message)
    if finished:
        _after_finish(svc, client, click.user_id)

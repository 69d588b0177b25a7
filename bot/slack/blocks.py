"""Block Kit for the DM review and the replies to `/tutor`: pure functions from the core's
dataclasses to Slack messages. Every message has a `text` fallback (notifications, screen readers);
buttons stay short and nothing is laid out as a wide table, so it reads on a phone.

Question-of-the-day messages are in `blocks_channel.py`, the App Home in `blocks_home.py`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from bot.learning_day import starts_a_day
from bot.numbers import id_value
from bot.slack.escape import defuse_blocks, esc, unesc
from bot.tutor import DeckSummary, Learner, LearnerStats, Rating, ReviewResult
from content.model import (
    BUTTON_TEXT_LIMIT,
    SECTION_TEXT_LIMIT,
    Card,
    Flashcard,
    MultipleChoice,
    Prompt,
    option_button_text,
    option_letter,
    plural,
)

Block = dict[str, Any]

# action ids (listeners match them; the numbered ones carry the option / grade in their suffix)
SHOW_ANSWER = "review_show"
GRADE_PREFIX = "review_grade_"  # + Rating value
CHOICE_PREFIX = "review_choice_"  # + option index
NEXT = "review_next"
WRITE_ANSWER = "review_write"  # opens the modal for an answer to an open prompt (blocks_explain)

GRADE_LABELS = {Rating.AGAIN: "Again", Rating.HARD: "Hard", Rating.GOOD: "Good", Rating.EASY: "Easy"}


@dataclass(frozen=True)
class Message:
    """A Slack message. `text` is the notification fallback as *plain* text (deck and user text as
    they are: it is escaped on the way out); `blocks` hold mrkdwn built from `esc`'d parts;
    `metadata` names what it delivers (set by bot.slack.marks on messages for claimed rows). What
    is sent (`as_kwargs`) has the fallback escaped and every mrkdwn text defused (bot.slack.escape),
    so no text can ping, mention or disguise a link even where a builder forgot `esc`."""

    text: str
    blocks: list[Block] = field(default_factory=list)
    metadata: dict[str, Any] | None = None

    def as_kwargs(self) -> dict[str, Any]:
        kwargs: dict[str, Any] = {"text": esc(self.text), "blocks": defuse_blocks(self.blocks)}
        if self.metadata is not None:
            kwargs["metadata"] = self.metadata
        return kwargs


# ---- primitives ------------------------------------------------------------------------------

def clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def section(text: str) -> Block:
    return {"type": "section", "text": {"type": "mrkdwn", "text": clip(text, SECTION_TEXT_LIMIT)}}


def context(text: str) -> Block:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": clip(text, SECTION_TEXT_LIMIT)}]}


def header(text: str) -> Block:
    return {"type": "header", "text": {"type": "plain_text", "text": clip(text, 150), "emoji": True}}


def divider() -> Block:
    return {"type": "divider"}


def button(text: str, action_id: str, value: str | None = None, *, style: str | None = None) -> Block:
    element: Block = {"type": "button", "action_id": action_id,
                      "text": {"type": "plain_text", "text": clip(text, BUTTON_TEXT_LIMIT), "emoji": True}}
    if value is not None:
        element["value"] = value
    if style:
        element["style"] = style
    return element


def actions(*elements: Block) -> Block:
    return {"type": "actions", "elements": list(elements)}


def bullets(items: Iterable[str]) -> str:
    return "\n".join(f"• {esc(item)}" for item in items)


# ---- button values ---------------------------------------------------------------------------

def encode_value(**fields: Any) -> str:
    """A button's value: compact JSON (Slack allows 2000 characters)."""
    return json.dumps(fields, separators=(",", ":"), ensure_ascii=False)


def decode_value(value: str | None) -> dict[str, Any]:
    """Inverse of encode_value; ValueError for anything else (an old or forged button)."""
    try:
        data = json.loads(value or "")
    except json.JSONDecodeError:
        raise ValueError(f"not a tutor button value: {value!r}") from None
    if not isinstance(data, dict):
        raise ValueError(f"not a tutor button value: {value!r}")
    return data


@dataclass(frozen=True)
class CardRef:
    """What a review button carries: the session, the card and the seq the answer will have, so a
    second click on the same button is recognised by the core and changes nothing."""

    session_id: int
    deck: str
    card_id: str
    seq: int

    def value(self, **extra: Any) -> str:
        return encode_value(s=self.session_id, d=self.deck, c=self.card_id, q=self.seq, **extra)

    @classmethod
    def from_value(cls, value: str | None) -> tuple[CardRef, dict[str, Any]]:
        data = decode_value(value)
        try:
            ref = cls(id_value(data["s"]), str(data["d"]), str(data["c"]), id_value(data["q"]))
        except (KeyError, TypeError, ValueError):
            raise ValueError(f"not a review button value: {value!r}") from None
        return ref, data


# ---- formatting ------------------------------------------------------------------------------

def format_interval(interval: timedelta) -> str:
    """Short: 1m, 10m, 5h, 3d, 2mo, 1.4y."""
    minutes = interval.total_seconds() / 60
    if minutes < 60:
        return f"{max(1, round(minutes))}m"
    hours = minutes / 60
    if hours < 24:
        return f"{round(hours)}h"
    days = hours / 24
    if days < 30:
        return f"{round(days)}d"
    if days < 365:
        return f"{round(days / 30)}mo"
    return f"{days / 365:.1f}y"


def format_when(moment: datetime | None, tz: str, now: datetime) -> str:
    """`today 08:30`, `tomorrow 08:30`, `Thu 6 Mar 08:30` in the zone `tz`; a due date, which is the
    start of a learning day, as the day alone: `tomorrow`, `Thu 6 Mar`."""
    if moment is None:
        return "nothing scheduled"
    zone = ZoneInfo(tz)
    local, today = moment.astimezone(zone), now.astimezone(zone).date()
    at = "" if starts_a_day(moment, tz) else f" {local:%H:%M}"
    if local.date() <= today:
        return "now" if moment <= now else f"today{at}"
    if local.date() == today + timedelta(days=1):
        return f"tomorrow{at}"
    return f"{local:%a} {local.day} {local:%b}{at}"


def format_percent(share: float | None) -> str:
    return "–" if share is None else f"{share * 100:.0f}%"


def options_fit_buttons(card: MultipleChoice) -> bool:
    return all(
        len(option_button_text(option_letter(i), o)) <= BUTTON_TEXT_LIMIT for i, o in enumerate(card.options)
    )


def option_line(card: MultipleChoice, index: int) -> str:
    return f"*{option_letter(index)}.* {esc(card.options[index])}"


def mcq_question_blocks(card: MultipleChoice, buttons: list[Block]) -> list[Block]:
    """The question and one button per option: the option's text on the button when every option
    fits (75 characters), else the options as text and buttons A, B, C…"""
    if options_fit_buttons(card):
        return [section(esc(card.question)), actions(*buttons)]
    listing = "\n".join(option_line(card, i) for i in range(len(card.options)))
    for i, element in enumerate(buttons):
        element["text"]["text"] = option_letter(i)
    return [section(esc(card.question)), section(listing), actions(*buttons)]


def option_label(card: MultipleChoice, index: int) -> str:
    return clip(option_button_text(option_letter(index), card.options[index]), BUTTON_TEXT_LIMIT)


def explanation_blocks(card: MultipleChoice) -> list[Block]:
    """Solution, hint and common mistakes, each where the card has one."""
    blocks: list[Block] = []
    if card.solution:
        steps = card.solution
        text = esc(steps[0]) if len(steps) == 1 else bullets(steps)
        blocks.append(section(f"*Solution*\n{text}"))
    if card.hint:
        blocks.append(section(f"*Hint:* {esc(card.hint)}"))
    if card.mistakes:
        blocks.append(section(f"*Common mistakes*\n{bullets(card.mistakes)}"))
    return blocks


# ---- the DM review ---------------------------------------------------------------------------

def _progress(remaining: int, is_new: bool) -> str:
    left = "last card" if remaining <= 1 else f"{remaining} cards left"
    return f":brain: Daily review · {left}" + (" · new card" if is_new else "")


def card_message(ref: CardRef, card: Card, *, is_new: bool, remaining: int,
                 note: str | None = None) -> Message:
    """A card to answer: a flashcard's front with "Show answer", a question with its options, or an
    open prompt with "Write your answer" (a modal: blocks_explain)."""
    blocks: list[Block] = [context(_progress(remaining, is_new))]
    if note:
        blocks.append(context(note))
    if isinstance(card, Flashcard):
        blocks += [section(f"*{esc(card.front)}*"),
                   actions(button("Show answer", SHOW_ANSWER, ref.value(), style="primary"))]
        return Message(f"Review: {clip(card.front, 150)}", blocks)
    if isinstance(card, MultipleChoice):
        buttons = [button(option_label(card, i), f"{CHOICE_PREFIX}{i}", ref.value(o=i))
                   for i in range(len(card.options))]
        blocks += mcq_question_blocks(card, buttons)
        return Message(f"Review: {clip(card.question, 150)}", blocks)
    assert isinstance(card, Prompt)  # only graded prompts are due
    blocks.append(section(f"*{esc(card.question)}*"))
    if card.guidance:
        blocks.append(context(esc(card.guidance)))
    blocks.append(actions(button("Write your answer", WRITE_ANSWER, ref.value(), style="primary")))
    return Message(f"Explain in your own words: {clip(card.question, 150)}", blocks)


def flashcard_answer_message(ref: CardRef, card: Flashcard, intervals: dict[Rating, timedelta], *,
                             remaining: int) -> Message:
    """The back of a flashcard and the four grades, each with the interval it would give."""
    grades = []
    for rating in Rating:
        label = GRADE_LABELS[rating]
        if rating in intervals:
            label += f" · {format_interval(intervals[rating])}"
        grades.append(button(label, f"{GRADE_PREFIX}{int(rating)}", ref.value(r=int(rating)),
                             style="primary" if rating is Rating.GOOD else None))
    blocks = [context(_progress(remaining, False)), section(f"*{esc(card.front)}*"),
              section(esc(card.back)), context("How well did you remember it?"), actions(*grades)]
    return Message(f"Answer: {clip(card.back, 150)}", blocks)


def grade_note(result: ReviewResult) -> str:
    """One line about the answer just given, shown above the next card."""
    return f"Last card: *{GRADE_LABELS[result.rating]}* · next review in {format_interval(result.interval)}"


def mcq_result_blocks(card: MultipleChoice, result: ReviewResult) -> list[Block]:
    """Right or wrong, the right answer and the explanation."""
    right = card.answer
    chosen = result.choice
    if result.correct:
        verdict = f":white_check_mark: *Right!* {option_line(card, right)}" if right is not None else "Right!"
    else:
        mine = option_line(card, chosen) if chosen is not None else "no answer"
        verdict = f":x: *Not quite.* You chose {mine}"
        if right is not None:
            verdict += f"\n*Answer:* {option_line(card, right)}"
    blocks = [section(esc(card.question)), section(verdict), *explanation_blocks(card)]
    why = f" · graded Hard: {esc(result.reason)}" if result.reason else ""
    blocks.append(context(f"Next review in {format_interval(result.interval)}{why}"))
    return blocks


def mcq_result_message(session_id: int, card: MultipleChoice, result: ReviewResult, *,
                       summary: list[Block] | None = None) -> Message:
    """The result of a multiple-choice answer, then "Next", or the summary when it was the last card."""
    blocks = [context(":brain: Daily review"), *mcq_result_blocks(card, result)]
    if summary is None:
        blocks.append(actions(button("Next", NEXT, encode_value(s=session_id), style="primary")))
    else:
        blocks += [divider(), *summary]
    verdict = "Right" if result.correct else "Not quite"
    answer = card.answer_text or ""
    return Message(f"{verdict}: the answer is {clip(answer, 150)}", blocks)


@dataclass(frozen=True)
class SessionSummary:
    reviewed: int
    right: int
    streak: int
    next_due: datetime | None  # UTC
    tz: str  # the member's zone, for showing next_due


def summary_blocks(summary: SessionSummary, now: datetime) -> list[Block]:
    streak = plural(summary.streak, "day")
    when = format_when(summary.next_due, summary.tz, now)
    return [section(f":tada: *Done for now.* Reviewed *{summary.reviewed}* · right *{summary.right}*\n"
                    f"Streak *{streak}* · next review *{when}*")]


def summary_message(summary: SessionSummary, now: datetime, *, note: str | None = None) -> Message:
    blocks = [context(note)] if note else []
    blocks += summary_blocks(summary, now)
    return Message(f"Review done: {summary.reviewed} reviewed, {summary.right} right", blocks)


# ---- replies to /tutor -----------------------------------------------------------------------

_CHANNEL_LINK = re.compile(r"<#[CDG][A-Z0-9]++(?:\|(?P<name>[^<>|]*+))?>")


def plain_text(mrkdwn: str) -> str:
    """What a reader sees of bot-built mrkdwn, as plain text: no `*` or backticks, channel links as
    `#name`, escaped characters decoded (a Message escapes its fallback again)."""
    text = _CHANNEL_LINK.sub(lambda m: f"#{m['name'] or 'channel'}", mrkdwn.replace("*", "").replace("`", ""))
    return unesc(text)


def reply(text: str) -> Message:
    """A one-section reply: `text` is mrkdwn built from escaped parts; the fallback is its plain text."""
    return Message(plain_text(text), [section(text)])


MEMBER_HELP = [
    ("/tutor join [DECK]", "get a short review in a DM every day"),
    ("/tutor leave", "stop the daily review (your progress is kept)"),
    ("/tutor time 08:30", "when your daily DM comes, in your Slack time zone"),
    ("/tutor pause", "pause the daily DM; `/tutor resume` to restart"),
    ("/tutor review", "review now"),
    ("/tutor test [DECK]", "test this pattern: 10 questions from easy to hard, the score at the end"),
    ("/tutor stats", "your streak, what is due and how much you retain"),
    ("/tutor decks", "the decks you can join"),
]
ADMIN_HELP = [
    ("/tutor schedule #channel DECK 09:00 [mon-fri] [Europe/Berlin] [close 17:00]",
     "a question of the day in a channel"),
    ("/tutor schedules", "the channel schedules"),
    ("/tutor unschedule ID", "stop a schedule"),
    ("/tutor import", "import the deck file (.txt recap or .yaml) you last shared in your DM with me"),
    ("/tutor assign #channel DECK [08:30] [Europe/Berlin]",
     "enroll everyone in the channel, and whoever joins it later, in the deck's daily review"),
    ("/tutor unassign #channel DECK", "stop enrolling the channel's members"),
]


def help_message(*, is_admin: bool) -> Message:
    lines = "\n".join(f"`{cmd}` {what}" for cmd, what in MEMBER_HELP)
    blocks = [section(f"*Tutor* teaches with a short daily review.\n{lines}")]
    if is_admin:
        admin_lines = "\n".join(f"`{cmd}` {what}" for cmd, what in ADMIN_HELP)
        blocks.append(section(f"*Admin*\n{admin_lines}"))
    return Message("Tutor commands: /tutor join, leave, time, pause, resume, review, test, stats", blocks)


def decks_message(decks: list[DeckSummary]) -> Message:
    if not decks:
        return reply("No deck is loaded yet. An admin can share a deck file with me and run `/tutor import`.")
    lines = "\n".join(f"• `{d.slug}` {esc(d.title)} · {plural(d.cards, 'card')} · "
                      f"{plural(d.learners, 'learner')}" for d in decks)
    return Message("Decks: " + ", ".join(d.slug for d in decks),
                   [section(f"*Decks* (join with `/tutor join DECK`)\n{lines}")])


def delivery_line(learner: Learner) -> str:
    at: time = learner.delivery_time
    state = " (paused)" if learner.paused else ""
    return f"Daily DM at *{at:%H:%M}* {esc(learner.tz)}{state}"


def stats_message(learner: Learner, stats: LearnerStats, now: datetime) -> Message:
    decks = ", ".join(f"`{d}`" for d in learner.decks) or "none (`/tutor join`)"
    text = (f"*Your review*\n"
            f"Streak *{plural(stats.streak, 'day')}* · due today *{stats.due_today}* · "
            f"reviewed today *{stats.reviewed_today}*\n"
            f"This week *{plural(stats.reviewed_this_week, 'review')}* · retention (30 days) "
            f"*{format_percent(stats.retention_30d)}* · cards learned *{stats.cards_learned}*\n"
            f"Next review *{format_when(stats.next_due, learner.tz, now)}*\n"
            f"Decks {decks} · {delivery_line(learner)}")
    if stats.memory is not None:
        text += f"\nMemory model: {esc(stats.memory.describe())}"
    fallback = (f"Streak {stats.streak} days, due today {stats.due_today}, "
                f"this week {stats.reviewed_this_week} reviews")
    return Message(fallback, [section(text)])

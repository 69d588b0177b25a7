"""Block Kit builders: every message passes Slack's checks (tests/slack_spec.py, the rules Slack
answers invalid_blocks with), has a text fallback, and keeps buttons short."""

from __future__ import annotations

import threading
import time as wall
from datetime import UTC, datetime, time, timedelta

import pytest
from slack_harness import sample_deck
from slack_spec import MAX_BLOCKS_VIEW, block_problems

from bot.slack.blocks import (
    CardRef,
    Message,
    SessionSummary,
    card_message,
    decks_message,
    flashcard_answer_message,
    format_interval,
    format_when,
    help_message,
    mcq_result_message,
    stats_message,
    summary_blocks,
    summary_message,
)
from bot.slack.blocks_channel import qotd_feedback_message, qotd_message, qotd_reveal_message
from bot.slack.blocks_home import AdminPanel, home_view
from bot.slack.pacing import Coalescer
from bot.tutor import CardStats, DeckSummary, Learner, LearnerStats, Rating, ReviewResult
from content.model import Flashcard, MultipleChoice
from storage.slack_state import ChannelSchedule

NOW = datetime(2025, 3, 3, 9, 0, tzinfo=UTC)
DECK = sample_deck()
FLASH, MCQ, _, LONG = DECK.cards
assert isinstance(FLASH, Flashcard) and isinstance(MCQ, MultipleChoice) and isinstance(LONG, MultipleChoice)
LEARNER = Learner("U0ALICE01", "alice", "Europe/Berlin", time(8, 30), False, ("basics",))
STATS = LearnerStats("U0ALICE01", due_now=2, due_today=3, reviewed_today=1, reviewed_this_week=12,
                     retention_30d=0.874, streak=4, cards_learned=9, next_due=NOW + timedelta(days=1))


def valid(message: Message) -> Message:
    assert message.text.strip(), "every message needs a text fallback"
    assert block_problems(message.blocks) == []
    return message


def result(card, correct, choice, rating=Rating.GOOD) -> ReviewResult:
    return ReviewResult("basics", card, rating, correct, choice, NOW + timedelta(days=3), timedelta(days=3),
                        duplicate=False, leech=False)


def test_review_messages() -> None:
    ref = CardRef(7, "basics", FLASH.id, 1)
    assert CardRef.from_value(ref.value(r=3)) == (ref, {"s": 7, "d": "basics", "c": FLASH.id, "q": 1, "r": 3})
    with pytest.raises(ValueError):
        CardRef.from_value('{"s": 1}')
    valid(card_message(ref, FLASH, is_new=True, remaining=4, note="Last card: *Good*"))
    intervals = {Rating.AGAIN: timedelta(minutes=1), Rating.HARD: timedelta(minutes=6),
                 Rating.GOOD: timedelta(days=3), Rating.EASY: timedelta(days=8)}
    back = valid(flashcard_answer_message(ref, FLASH, intervals, remaining=4))
    labels = [e["text"]["text"] for e in back.blocks[-1]["elements"]]
    assert labels == ["Again · 1m", "Hard · 6m", "Good · 3d", "Easy · 8d"]
    short = valid(card_message(CardRef(7, "basics", MCQ.id, 1), MCQ, is_new=False, remaining=1))
    assert [e["text"]["text"] for e in short.blocks[-1]["elements"]][1] == "B. The classification head"
    long = valid(card_message(CardRef(7, "basics", LONG.id, 1), LONG, is_new=False, remaining=1))
    assert [e["text"]["text"] for e in long.blocks[-1]["elements"]] == ["A", "B", "C", "D"]
    wrong = valid(mcq_result_message(7, LONG, result(LONG, False, 0, Rating.AGAIN)))
    assert "*Answer:* *C.*" in str(wrong.blocks) and "review_next" in str(wrong.blocks)
    summary = SessionSummary(reviewed=4, right=3, streak=1, next_due=NOW + timedelta(hours=20), tz="UTC")
    end = valid(mcq_result_message(7, MCQ, result(MCQ, True, 1), summary=summary_blocks(summary, NOW)))
    assert "review_next" not in str(end.blocks) and "tomorrow 05:00" in str(end.blocks)
    valid(summary_message(summary, NOW, note="Last card: *Easy*"))


def test_escaping_and_limits() -> None:
    evil = Flashcard(front="<!channel> & <@U1> " + "x" * 4000, back="b")
    message = valid(card_message(CardRef(1, "d", evil.id, 1), evil, is_new=True, remaining=1))
    assert "<!channel>" not in str(message.blocks) and "&lt;!channel&gt; &amp;" in str(message.blocks)


def test_replies_channel_and_home() -> None:
    valid(help_message(is_admin=True))
    valid(decks_message([DeckSummary("basics", "Basics", 4, 2, 0.9)]))
    valid(decks_message([]))
    valid(stats_message(LEARNER, STATS, NOW))
    open_post = valid(qotd_message(3, MCQ, deck_title="Basics", answers=12))
    assert "12 answers so far" in str(open_post.blocks) and "white_check_mark" not in str(open_post.blocks)
    closed = valid(qotd_message(3, LONG, deck_title="Basics", answers=12, closed=True))
    assert "qotd_choice" not in str(closed.blocks)
    valid(qotd_feedback_message(MCQ, 0, False, repeated=True))
    reveal = valid(qotd_reveal_message(MCQ, {0: 1, 1: 3}))
    assert "3 of 4 right (75%)" in str(reveal.blocks) and "▇▇▇▇▇▇▇▇" in str(reveal.blocks)
    valid(qotd_reveal_message(MCQ, {}))
    schedule = ChannelSchedule(1, "C012AB3CD", "general", "basics", time(9), (0, 1, 2, 3, 4), "Europe/Berlin",
                               time(17), "U0ADA0001", NOW)
    stats = [CardStats("basics", f"mcq-{i}", f"Question {i}", 10, 10.0 * i, "Batch norm") for i in range(30)]
    panel = AdminPanel([DeckSummary("basics", "Basics", 30, 5, 0.9)], [schedule], {"basics": stats})
    view = home_view(LEARNER, STATS, NOW, admin=panel)
    assert block_problems(view["blocks"], max_blocks=MAX_BLOCKS_VIEW) == []
    text = str(view["blocks"])
    assert "*0%* right of 10 · Question 0" in text and "Question 7" in text and "Question 8" not in text
    assert block_problems(home_view(None, None, NOW)["blocks"], max_blocks=MAX_BLOCKS_VIEW) == []


def test_formatting() -> None:
    seconds = (20, 600, 7200, 86400 * 3, 86400 * 70, 86400 * 500)
    shown = [format_interval(timedelta(seconds=s)) for s in seconds]
    assert shown == ["1m", "10m", "2h", "3d", "2mo", "1.4y"]
    assert format_when(NOW + timedelta(hours=2), "Europe/Berlin", NOW) == "today 12:00"
    assert format_when(NOW - timedelta(hours=2), "UTC", NOW) == "now"
    assert format_when(NOW + timedelta(days=3), "UTC", NOW) == "Thu 6 Mar 09:00"
    assert format_when(None, "UTC", NOW) == "nothing scheduled"


def test_coalescer_last_refresh_sees_every_request() -> None:
    coalescer, lock = Coalescer(), threading.Lock()
    stored: list[int] = []
    shown: list[int] = []

    def refresh() -> None:
        with lock:
            count = len(stored)
        wall.sleep(0.002)  # a slow chat.update
        shown.append(count)

    def click(i: int) -> None:
        with lock:
            stored.append(i)
        coalescer.request("post", refresh)

    threads = [threading.Thread(target=click, args=(i,)) for i in range(60)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert shown[-1] == 60  # the last redraw counted every stored click

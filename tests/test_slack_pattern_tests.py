"""Test this pattern in Slack: `/tutor test` in a DM, ten questions in one message changed in place
with nothing said about right or wrong, the result at the end; the results in `/tutor stats`, the
member's App Home, and the team's per deck in the admins' App Home."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from slack_harness import Harness, SimClock, buttons, harness_settings, make_harness, text_of
from slack_standin import SlackStandin
from tutor_helpers import REPO

from bot import pattern_tests
from content.loader import load_deck_file
from content.model import MultipleChoice
from storage import reviews as review_store

ALICE, BOB, ADMIN = "U0ALICE01", "U0BOB0001", "U0ADMIN01"
START = datetime(2025, 3, 3, 9, 0, tzinfo=UTC)
DECK = load_deck_file(REPO / "content/decks/pretrained-models-cv.yaml").deck


@pytest.fixture
def h(tmp_path) -> Iterator[Harness]:
    with SlackStandin() as slack:
        for user, name in ((ALICE, "alice"), (BOB, "bob"), (ADMIN, "admin")):
            slack.add_user(user, name=name, tz="Europe/Berlin")
        harness = make_harness(slack, harness_settings(slack, tmp_path / "tutor.db", admins=(ADMIN,)),
                               SimClock(START))
        harness.ctx.tutor.import_deck(DECK)
        yield harness
        harness.close()


def take_test(h: Harness, user: str, *, right: set[int]) -> tuple[dict, dict]:
    """Run `/tutor test` in the DM and answer each question, right at the positions in `right`.
    Returns the result message and the last question's message as it was before its answer."""
    dm = h.slack.open_dm(user)
    reply = h.command("test", user=user, channel=dm)
    assert f"<#{dm}>" in text_of(reply) and "10 questions" in reply["text"]
    message = h.wait_dm(user, lambda m: "question 1/10" in text_of(m), "the first question")
    assert "No answers until the end." in text_of(message)
    for position in range(10):
        assert f"question {position + 1}/10" in text_of(message)
        [test] = [t for t in pattern_tests_of(h, user) if not t.finished]
        card = test.questions[position].card
        assert isinstance(card, MultipleChoice) and card.answer is not None
        choice = card.answer if position in right else (card.answer + 1) % len(card.options)
        h.click(user, dm, message, f"pattern_choice_{choice}")
        expected = "Test done" if position == 9 else f"question {position + 2}/10"
        last, message = message, h.wait_dm(user, lambda m, e=expected: e in text_of(m), expected)
        assert "Right" not in text_of(message) and "Not quite" not in text_of(message)
    return message, last


def pattern_tests_of(h: Harness, user: str) -> list[pattern_tests.PatternTest]:
    rows = h.ctx.db.conn.execute("SELECT id FROM pattern_tests WHERE user_id = ? ORDER BY id", (user,))
    return [pattern_tests.get_test(h.ctx.tutor, r[0]) for r in rows]


def test_a_test_in_the_dm_then_stats_home_and_the_admin_view(h: Harness) -> None:
    result, last = take_test(h, ALICE, right={0, 1, 2, 3, 5, 6, 7})  # easy 4/5, medium 3/4, hard 0/1
    text = text_of(result)
    assert "*7/10* · easy *4/5* · medium *3/4* · hard *0/1*" in text
    assert "*Getting there*" in text and "Missed (3)" in text
    [test] = pattern_tests_of(h, ALICE)
    missed = [q.card for q in test.questions if q.position in (4, 8, 9)]
    for card in missed:
        assert card.question[:50] in text and card.solution[0][:40] in text
    assert len(h.slack.dm_messages(ALICE)) == 1  # one message, changed in place
    assert len(review_store.reviews_of(h.ctx.db, ALICE, DECK.slug)) == 10  # every answer is a review

    # Slack's retry of the last click, and another option on that old message: nothing changes.
    updates = len(h.slack.calls_to("chat.update"))
    h.click(ALICE, h.slack.open_dm(ALICE), last, "pattern_choice_0", retry_num=1)
    h.click(ALICE, h.slack.open_dm(ALICE), last, "pattern_choice_1")
    h.slack.wait_for(lambda: len(h.slack.calls_to("chat.update")) >= updates + 2, what="two updates")
    assert len(review_store.reviews_of(h.ctx.db, ALICE, DECK.slug)) == 10
    assert "*7/10*" in text_of(h.dm(ALICE)) and not buttons(h.dm(ALICE))

    stats = h.command("stats", user=ALICE, channel=h.slack.open_dm(ALICE))
    assert "Your last tests" in text_of(stats) and "7/10 · easy 4/5 · medium 3/4 · hard 0/1" in text_of(stats)
    home = h.slack.wait_for(lambda: h.slack.home_view(ALICE), what="Alice's home after the test")
    assert "7/10" in text_of(home)

    take_test(h, BOB, right=set(range(10)))
    h.sender.app_home_opened(ADMIN)
    admin_home = h.slack.wait_for(lambda: (v := h.slack.home_view(ADMIN)) and "Tests of" in text_of(v) and v,
                                  what="the admin's home")
    admin_text = text_of(admin_home)
    assert "2 members tested · latest scores: 10/10 ×1, 7/10 ×1" in admin_text
    hard = next(c for c in DECK.cards if isinstance(c, MultipleChoice) and c.level == "hard")
    assert f"missed 1 of 2 · {hard.question[:60]}" in admin_text


def test_a_click_by_someone_else_is_ignored(h: Harness) -> None:
    dm = h.slack.open_dm(ALICE)
    h.command("test", user=ALICE, channel=dm)
    message = h.wait_dm(ALICE, lambda m: "question 1/10" in text_of(m), "the first question")
    h.click(BOB, dm, message, "pattern_choice_0")
    h.click(ALICE, dm, message, "pattern_choice_0")
    h.wait_dm(ALICE, lambda m: "question 2/10" in text_of(m), "the second question")
    assert review_store.reviews_of(h.ctx.db, BOB) == []
    assert len(review_store.reviews_of(h.ctx.db, ALICE)) == 1

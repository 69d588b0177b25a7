"""Explain in your own words, in Slack: the prompt card's "Write your answer" opens a modal
(views.open, checked by the stand-in against Slack's rules), the submission is acknowledged at once
and the DM message is updated in place with the grade; the review is recorded once."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime

import pytest
from slack_harness import Harness, SimClock, buttons, harness_settings, make_harness, text_of
from slack_standin import SlackStandin
from tutor_helpers import REPO

from bot.schedule import tick
from bot.slack.blocks_explain import ANSWER_ACTION, ANSWER_BLOCK, ANSWER_VIEW
from bot.worker.engine import WarmWorker
from bot.worker.registry import JOB_KINDS
from content.loader import load_deck_file
from content.model import Deck, MultipleChoice, Prompt
from storage import learning as learning_store
from storage import reviews as review_store

ALICE, BOB = "U0ALICE01", "U0BOB0001"
START = datetime(2025, 3, 3, 9, 0, tzinfo=UTC)
PROMPT = next(c for c in load_deck_file(REPO / "content/decks/pretrained-models-cv.yaml").deck.cards
              if isinstance(c, Prompt))
ANSWER = "It was already trained on a huge dataset, so training is much faster and you need less data."


def deck() -> Deck:
    """The shipped deck's first prompt, then one question (so the prompt's result offers Next)."""
    question = MultipleChoice(question="Which term describes using a pre-trained model on a new task?",
                              options=("Transfer learning", "Overfitting"), answer=0)
    return Deck(slug="explain", title="Explain it", cards=(PROMPT, question))


@pytest.fixture
def h(tmp_path, grade_worker: WarmWorker) -> Iterator[Harness]:
    """The bot, grading through a real warm worker with the packaged sentence model (as it does)."""
    with SlackStandin() as slack:
        slack.add_user(ALICE, name="alice", tz="Europe/Berlin")
        slack.add_user(BOB, name="bob", tz="Europe/Berlin")
        harness = make_harness(slack, harness_settings(slack, tmp_path / "tutor.db"), SimClock(START),
                               worker=grade_worker)
        harness.ctx.tutor.import_deck(deck())
        harness.ctx.tutor.ensure_learner(ALICE, tz="Europe/Berlin")
        harness.ctx.tutor.join(ALICE, "explain")
        yield harness
        harness.close()


def typed(text: str) -> dict[str, dict[str, dict[str, str]]]:
    """view.state.values as Slack sends them for the answer modal."""
    return {ANSWER_BLOCK: {ANSWER_ACTION: {"type": "plain_text_input", "value": text}}}


def open_modal(h: Harness, user: str, dm: str, message: dict) -> dict:
    before = len(h.slack.modal_views(user))
    reply = h.click(user, dm, message, "review_write")
    assert reply.acked_in_time
    return h.slack.wait_for(lambda: h.slack.modal_views(user)[before:], what="the answer modal")[0]["view"]


def test_write_an_answer_in_a_modal_and_get_the_grade_in_place(h: Harness) -> None:
    assert tick(h.svc, h.client).deliveries.sent == 1  # the daily DM (10:00 in Berlin, due at 08:30)
    dm = h.slack.dm_channel(ALICE)
    assert dm is not None
    card = h.dm(ALICE)
    assert PROMPT.question in text_of(card) and PROMPT.guidance in text_of(card)
    assert buttons(card)["review_write"]["text"]["text"] == "Write your answer"

    view = open_modal(h, ALICE, dm, card)
    assert view["callback_id"] == ANSWER_VIEW and view["title"]["text"] == "Your answer"
    [field] = [b for b in view["blocks"] if b["type"] == "input"]
    assert field["element"]["type"] == "plain_text_input" and field["element"]["multiline"] is True
    assert PROMPT.question in text_of(view)

    blank = h.sender.view_submission(user_id=ALICE, values=typed("   "), view=view)
    assert blank.status == 200 and blank.acked_in_time
    assert blank.json()["response_action"] == "errors" and ANSWER_BLOCK in blank.json()["errors"]

    updates = len(h.slack.calls_to("chat.update"))
    reply = h.sender.view_submission(user_id=ALICE, values=typed(ANSWER), view=view)
    assert reply.status == 200 and reply.acked_in_time and reply.text == ""  # closes the modal
    graded = h.wait_dm(ALICE, lambda m: "You got" in text_of(m), "the grade in the DM")
    text = text_of(graded)
    assert "You got 3/4 concepts." in text
    covered, missed = text.split("*Missed*")
    assert "already trained on a large dataset" in covered and "needs less data" in covered
    assert "reuses learned features instead of learning from zero" in missed
    assert PROMPT.model_answer is not None and PROMPT.model_answer[:60] in text
    assert "Graded *Hard*" in text and "matching words" not in text  # the worker's model graded it
    assert ANSWER in text  # the answer stays visible after the modal closed
    assert "review_next" in buttons(graded)
    calls = h.slack.calls_to("chat.update")[updates:]
    assert "Grading your answer" in calls[0]["text"] and len(h.slack.dm_messages(ALICE)) == 1
    # Each update carries the day's delivery mark (bot.slack.marks), as the review's updates do.
    assert all("tutor_daily_review" in str(call["metadata"]) for call in calls[:2])

    tutor = h.ctx.tutor
    [review] = review_store.reviews_of(tutor.db, ALICE, "explain")
    assert (review.card_id, review.rating, review.source) == (PROMPT.id, 2, "dm")
    stored = learning_store.prompt_answer(tutor.db, ALICE, "explain", PROMPT.id, 1)
    assert stored is not None and stored.answer == ANSWER and stored.grade["covered"] == 3
    assert stored.grade["grader"] == "semantic" and stored.grade["notes"] == []

    # The same modal submitted again (a double submit, or a retry): recorded once, first grade shown.
    again = h.sender.view_submission(user_id=ALICE, values=typed("something else entirely"), view=view)
    assert again.acked_in_time
    h.slack.wait_for(lambda: len(h.slack.calls_to("chat.update")) >= updates + 4, what="the second update")
    assert len(review_store.reviews_of(tutor.db, ALICE, "explain")) == 1
    assert "You got 3/4 concepts." in text_of(h.dm(ALICE)) and ANSWER in text_of(h.dm(ALICE))

    h.click(ALICE, dm, h.dm(ALICE), "review_next")
    h.wait_dm(ALICE, lambda m: "Which term describes" in text_of(m), "the next card")


def test_a_modal_submitted_by_someone_else_changes_nothing(h: Harness) -> None:
    general = h.slack.add_channel("general", members=[ALICE, BOB])
    h.command("review", user=ALICE, channel=general)
    dm = h.slack.dm_channel(ALICE)
    assert dm is not None
    view = open_modal(h, ALICE, dm, h.dm(ALICE))
    updates = len(h.slack.calls_to("chat.update"))
    reply = h.sender.view_submission(user_id=BOB, values=typed(ANSWER), view=view)
    assert reply.status == 200 and reply.acked_in_time
    h.sender.view_submission(user_id=ALICE, values=typed("It needs less data."), view=view)
    h.wait_dm(ALICE, lambda m: "You got" in text_of(m), "Alice's grade")
    assert len(h.slack.calls_to("chat.update")) == updates + 2  # "Grading…" and the grade: Alice's only
    [review] = review_store.reviews_of(h.ctx.tutor.db, ALICE, "explain")
    assert review.rating == 1  # 1/4 concepts: Again
    assert review_store.reviews_of(h.ctx.tutor.db, BOB) == []


def test_without_the_model_where_the_worker_runs_the_bot_grades_by_words_and_says_why(tmp_path) -> None:
    # A worker installed without the finetune extra refuses "grade" jobs at once (no process starts):
    # the bot grades the answer itself by matching words, and the learner is told why.
    kinds = {"grade": replace(JOB_KINDS["grade"], requires=("a_package_this_installation_lacks",))}
    worker = WarmWorker(kinds=kinds)
    with SlackStandin() as slack:
        slack.add_user(ALICE, name="alice", tz="Europe/Berlin")
        settings = harness_settings(slack, tmp_path / "tutor.db")
        h = make_harness(slack, settings, SimClock(START), worker=worker)
        try:
            h.ctx.tutor.import_deck(deck())
            h.ctx.tutor.ensure_learner(ALICE, tz="Europe/Berlin")
            h.ctx.tutor.join(ALICE, "explain")
            assert tick(h.svc, h.client).deliveries.sent == 1
            dm = h.slack.dm_channel(ALICE)
            assert dm is not None
            view = open_modal(h, ALICE, dm, h.dm(ALICE))
            h.sender.view_submission(user_id=ALICE, values=typed(ANSWER), view=view)
            text = text_of(h.wait_dm(ALICE, lambda m: "You got" in text_of(m), "the grade in the DM"))
            assert "You got 3/4 concepts." in text and "Graded *Hard*" in text
            assert "Graded by matching words: the grading needs a_package_this_installation_lacks" in text
            assert worker.pid is None  # refused before any process was started
            stored = learning_store.prompt_answer(h.ctx.tutor.db, ALICE, "explain", PROMPT.id, 1)
            assert stored is not None and stored.grade["grader"] == "lexical"
        finally:
            h.close()
            worker.close()

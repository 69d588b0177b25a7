"""The daily DM review end to end: delivery at the member's local time, one message changed in
place card after card, double clicks and Slack retries stored once, the summary at the end."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from slack_harness import Harness, SimClock, buttons, harness_settings, make_harness, sample_deck, text_of
from slack_standin import SlackStandin

from bot.schedule import tick
from bot.slack.blocks import format_interval
from bot.srs import DEFAULT_PARAMETERS
from bot.tutor import Rating
from storage import memory_models as model_store
from storage import reviews as review_store
from storage.db import transaction
from storage.memory_models import FitRow

ALICE = "U0ALICE01"
START = datetime(2025, 3, 3, 7, 0, tzinfo=UTC)  # 08:00 in Berlin, a Monday


@pytest.fixture
def h(tmp_path) -> Iterator[Harness]:
    with SlackStandin() as slack:
        slack.add_user(ALICE, name="alice", tz="Europe/Berlin")
        harness = make_harness(slack, harness_settings(slack, tmp_path / "tutor.db"), SimClock(START))
        harness.ctx.tutor.import_deck(sample_deck())
        harness.ctx.tutor.ensure_learner(ALICE, tz="Europe/Berlin")
        harness.ctx.tutor.join(ALICE, "basics")
        yield harness
        harness.close()


def updates(h: Harness) -> int:
    return len(h.slack.calls_to("chat.update"))


def settle(h: Harness, count: int) -> None:
    """Wait until the app has made `count` chat.update calls in all."""
    h.slack.wait_for(lambda: updates(h) >= count, what=f"{count} chat.update calls")


def test_daily_review_in_place(h: Harness) -> None:
    tutor = h.ctx.tutor
    assert tick(h.svc, h.client).deliveries.sent == 0  # 08:00 Berlin: before 08:30
    assert h.slack.dm_messages(ALICE) == []
    h.clock.set(START + timedelta(minutes=31))
    report = tick(h.svc, h.client)
    assert report.deliveries.sent == 1 and report.deliveries.users_sent == [ALICE]
    assert tick(h.svc, h.client).deliveries.sent == 0  # once a day
    dm_id = h.slack.dm_channel(ALICE)
    first = h.dm(ALICE)
    assert "4 cards due" in text_of(first) and "What does a pre-trained backbone" in text_of(first)

    # flashcard: show the answer, then the four grades with their intervals
    h.click(ALICE, dm_id, first, "review_show")
    back = h.wait_dm(ALICE, lambda m: "review_grade_3" in buttons(m), "grade buttons")
    assert "Features learned on a large dataset" in text_of(back)
    card_id = sample_deck().cards[0].id
    intervals = tutor.next_intervals(ALICE, "basics", card_id, h.clock())
    good = f"Good · {format_interval(intervals[Rating.GOOD])}"
    assert buttons(back)["review_grade_3"]["text"]["text"] == good
    assert buttons(back)["review_grade_1"]["text"]["text"].startswith("Again · ")

    h.click(ALICE, dm_id, back, "review_grade_3")
    mcq = h.wait_dm(ALICE, lambda m: "review_choice_1" in buttons(m), "the multiple-choice card")
    assert "Last card: *Good*" in text_of(mcq)
    assert buttons(mcq)["review_choice_1"]["text"]["text"] == "B. The classification head"
    done = updates(h)
    h.click(ALICE, dm_id, back, "review_grade_3")  # a double click on the old message
    h.click(ALICE, dm_id, back, "review_grade_1")  # and a late click on another grade
    settle(h, done + 2)
    assert tutor.stats(ALICE, h.clock()).reviewed_today == 1
    assert "review_choice_1" in buttons(h.dm(ALICE))  # still the same next card

    # multiple choice, right: result with solution, hint, mistakes, then Next
    h.click(ALICE, dm_id, mcq, "review_choice_1")
    result = h.wait_dm(ALICE, lambda m: "review_next" in buttons(m), "the result")
    text = text_of(result)
    assert "Right!" in text and "maps features to" in text and "Think of the last layer" in text
    assert "Replacing the input layer" in text and "Next review in" in text
    done = updates(h)
    h.click(ALICE, dm_id, mcq, "review_choice_1", retry_num=1)  # Slack's retry of the same click
    h.click(ALICE, dm_id, mcq, "review_choice_0")  # a second, different click: the first stands
    settle(h, done + 2)
    assert tutor.stats(ALICE, h.clock()).reviewed_today == 2
    assert "Right!" in text_of(h.dm(ALICE))

    h.click(ALICE, dm_id, result, "review_next")
    second = h.wait_dm(ALICE, lambda m: "Why freeze" in text_of(m), "the second flashcard")
    h.click(ALICE, dm_id, second, "review_show")
    back = h.wait_dm(ALICE, lambda m: "review_grade_1" in buttons(m), "grades of the second flashcard")
    h.click(ALICE, dm_id, back, "review_grade_1")

    # options too long for buttons: listed in the text, buttons A..D; a wrong answer
    long_q = h.wait_dm(ALICE, lambda m: "learning rate" in text_of(m), "the long-option question")
    assert [buttons(long_q)[f"review_choice_{i}"]["text"]["text"] for i in range(4)] == ["A", "B", "C", "D"]
    assert "*C.* Option C" in text_of(long_q)
    h.click(ALICE, dm_id, long_q, "review_choice_0")
    end = h.wait_dm(ALICE, lambda m: "Done for now" in text_of(m), "the summary")
    text = text_of(end)
    assert "Not quite" in text and "*Answer:* *C.*" in text and "Large rates destroy them" in text
    assert "Reviewed *4* · right *2*" in text and "Streak *1 day*" in text
    assert "review_next" not in buttons(end)
    assert len(h.slack.dm_messages(ALICE)) == 1  # one message, changed in place
    assert tutor.stats(ALICE, h.clock()).reviewed_today == 4
    h.slack.wait_for(lambda: h.slack.home_view(ALICE), what="home refreshed at the end")


def test_nothing_due_no_dm_and_review_command(h: Harness) -> None:
    tutor = h.ctx.tutor
    now = START + timedelta(hours=2)
    h.clock.set(now)
    for item in tutor.due_cards(ALICE, now):  # everything reviewed in the terminal already
        if item.card.kind.value == "flashcard":
            tutor.grade(ALICE, item.deck, item.card.id, Rating.EASY, seq=item.seq, now=now)
        else:
            tutor.answer_choice(ALICE, item.deck, item.card.id, item.card.answer, seq=item.seq, now=now)
    report = tick(h.svc, h.client)
    assert report.deliveries.nothing_due == 1 and report.deliveries.sent == 0
    assert h.slack.dm_messages(ALICE) == []
    [delivery] = h.svc.state.deliveries(user_id=ALICE)
    assert delivery.status == "nothing_due"
    general = h.slack.add_channel("general", members=[ALICE])
    assert "Nothing is due right now" in text_of(h.command("review", user=ALICE, channel=general))


def test_answer_times_run_from_showing_the_card_to_slacks_action_time(h: Harness) -> None:
    h.clock.set(START + timedelta(minutes=31))
    assert tick(h.svc, h.client).deliveries.sent == 1
    shown = h.clock()  # the flashcard went out now
    dm_id = h.slack.dm_channel(ALICE)
    h.click(ALICE, dm_id, h.dm(ALICE), "review_show", at=shown + timedelta(seconds=4))
    back = h.wait_dm(ALICE, lambda m: "review_grade_3" in buttons(m), "grade buttons")
    h.clock.advance(timedelta(seconds=12))
    h.click(ALICE, dm_id, back, "review_grade_3", at=shown + timedelta(seconds=12.25))
    mcq = h.wait_dm(ALICE, lambda m: "review_choice_1" in buttons(m), "the multiple-choice card")
    question_shown = h.clock()
    h.click(ALICE, dm_id, mcq, "review_choice_1", at=question_shown + timedelta(seconds=6.5))
    result = h.wait_dm(ALICE, lambda m: "review_next" in buttons(m), "the result")
    # a right answer on first sight is Hard, and the member is told why
    assert "graded Hard: first time you saw it" in text_of(result)
    log = review_store.reviews_of(h.ctx.db, ALICE)
    assert [(r.duration_ms, r.source) for r in log] == [(12_250, "dm"), (6_500, "dm")]
    assert [r.rating for r in log] == [Rating.GOOD, Rating.HARD]
    # a click Slack dates before the card was shown (a clock step) is not a timing
    h.click(ALICE, dm_id, result, "review_next")
    second = h.wait_dm(ALICE, lambda m: "Why freeze" in text_of(m), "the second flashcard")
    h.click(ALICE, dm_id, second, "review_show")
    back = h.wait_dm(ALICE, lambda m: "review_grade_1" in buttons(m), "grades of the second flashcard")
    h.click(ALICE, dm_id, back, "review_grade_1", at=question_shown - timedelta(minutes=5))
    h.wait_dm(ALICE, lambda m: "learning rate" in text_of(m), "the long-option question")
    assert review_store.reviews_of(h.ctx.db, ALICE)[-1].duration_ms is None


def test_app_home_says_whether_the_memory_model_is_personalised(h: Harness) -> None:
    from bot.slack.home import publish_home

    publish_home(h.svc, h.client, ALICE)
    view = h.slack.wait_for(lambda: h.slack.home_view(ALICE), what="home published")
    assert "*Memory model*\nDefaults · 0/4,000 reviews" in text_of(view)
    fit = FitRow(scope="member", owner=ALICE, fitted_at=START, reviews=5000, trained_on=4000, scored=600,
                 outcome="adopted", parameters=DEFAULT_PARAMETERS, current_parameters=DEFAULT_PARAMETERS)
    with h.ctx.tutor.lock, transaction(h.ctx.db):  # a fit of her own adopted, as memory_models stores it
        model_store.record_fit(h.ctx.db, fit)
    publish_home(h.svc, h.client, ALICE)
    assert "*Memory model*\nPersonalised" in text_of(h.slack.home_view(ALICE))
    reply = h.command("stats", user=ALICE, channel=h.slack.add_channel("general", members=[ALICE]))
    assert "Memory model: personalised (fitted 2025-03-03 on 4,000 of your reviews)" in text_of(reply)

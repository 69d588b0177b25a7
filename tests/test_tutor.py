"""Grading, scheduling with FSRS, idempotent recording, undo, leeches, errors."""

import threading
from datetime import UTC, datetime, timedelta

import fsrs
import pytest
from tutor_helpers import MONDAY, make_deck, make_tutor

from bot.srs import LEECH_LAPSES, fuzz_range
from bot.tutor import Rating, Tutor, TutorError
from content.model import CardKind
from storage import reviews as review_store
from storage.db import open_db

DAY = datetime(2025, 3, 3, tzinfo=UTC)  # MONDAY's learning day at midnight: what fsrs is fed (bot/srs.py)


def fsrs_scheduler(retention: float = 0.9) -> fsrs.Scheduler:
    return fsrs.Scheduler(desired_retention=retention, learning_steps=(), relearning_steps=(),
                          enable_fuzzing=False)


def first_review(rating: fsrs.Rating, retention: float = 0.9) -> fsrs.Card:
    """What fsrs itself gives a new card reviewed on MONDAY's learning day."""
    card, _ = fsrs_scheduler(retention).review_card(fsrs.Card(card_id=1, due=DAY), rating, DAY)
    return card


def due_after(card: fsrs.Card) -> datetime:
    """The due moment the tutor stores for fsrs's due day: the start of that learning day (UTC learner)."""
    return card.due.replace(hour=4)


@pytest.fixture
def tutor(tmp_path):
    t = make_tutor(tmp_path / "t.db")
    t.import_deck(make_deck("d"))
    t.join("ana", "d")
    return t


def ids(tutor: Tutor, kind: CardKind) -> list[str]:
    return [c.id for c in tutor.deck("d").cards if c.kind is kind]


def test_multiple_choice_wrong_is_again_and_right_on_first_sight_is_hard(tutor):
    right_id, wrong_id = ids(tutor, CardKind.MCQ)[:2]
    right = tutor.answer_choice("ana", "d", right_id, 0, seq=1, now=MONDAY, duration_ms=4200, source="dm")
    wrong = tutor.answer_choice("ana", "d", wrong_id, 2, seq=1, now=MONDAY)
    expected_hard = first_review(fsrs.Rating.Hard)
    assert (right.rating, right.correct, right.choice, right.duplicate, right.leech) == \
        (Rating.HARD, True, 0, False, False)
    assert right.reason is not None and "first time" in right.reason
    assert (right.due, right.interval) == (due_after(expected_hard), expected_hard.due - DAY)
    assert (wrong.rating, wrong.correct, wrong.choice, wrong.reason) == (Rating.AGAIN, False, 2, None)
    assert wrong.due == due_after(first_review(fsrs.Rating.Again))
    [log_right] = review_store.reviews_of(tutor.db, "ana", "d")[:1]
    assert (log_right.duration_ms, log_right.source, log_right.learning_day, log_right.before) == \
        (4200, "dm", MONDAY.date(), None)


def test_a_right_answer_much_slower_than_usual_is_hard(tmp_path):
    tutor = make_tutor(tmp_path / "t.db")
    tutor.import_deck(make_deck("d", flashcards=0, mcqs=14, prompts=0))
    card_ids = [c.id for c in tutor.deck("d").cards]
    for card_id in card_ids:  # first sight: Hard whatever the time
        tutor.answer_choice("ana", "d", card_id, 0, seq=1, now=MONDAY, duration_ms=6000, source="dm")
    later = MONDAY + timedelta(days=10)
    quick = [tutor.answer_choice("ana", "d", c, 0, seq=2, now=later, duration_ms=5000 + 100 * n, source="dm")
             for n, c in enumerate(card_ids[:11])]
    assert {r.rating for r in quick} == {Rating.GOOD}  # median about 6 s: none slower than 1.5x it
    slow = tutor.answer_choice("ana", "d", card_ids[11], 0, seq=2, now=later, duration_ms=9600, source="dm")
    assert slow.rating == Rating.HARD and slow.reason is not None and "slower" in slow.reason
    fine = tutor.answer_choice("ana", "d", card_ids[12], 0, seq=2, now=later, duration_ms=8500, source="dm")
    assert fine.rating == Rating.GOOD
    # A channel's question of the day is read whenever: its time does not make it Hard.
    channel = tutor.answer_choice("ana", "d", card_ids[13], 0, seq=2, now=later, duration_ms=3_600_000,
                                  source="channel")
    assert channel.rating == Rating.GOOD


def test_next_intervals_preview_each_button_and_store_nothing(tutor):
    card_id = ids(tutor, CardKind.FLASHCARD)[0]
    preview = tutor.next_intervals("ana", "d", card_id, MONDAY)
    for rating in Rating:
        assert preview[rating] == first_review(fsrs.Rating(rating)).due - DAY
    assert preview[Rating.AGAIN] <= preview[Rating.HARD] <= preview[Rating.GOOD] < preview[Rating.EASY]
    assert all(v >= timedelta(days=1) and v.seconds == 0 for v in preview.values())  # whole learning days
    assert tutor.next_seq("ana", "d", card_id) == 1
    result = tutor.grade("ana", "d", card_id, Rating.HARD, seq=1, now=MONDAY)
    assert result.interval == preview[Rating.HARD]
    # After a review the preview follows the stored state.
    later = result.due
    assert tutor.next_intervals("ana", "d", card_id, later)[Rating.GOOD] > preview[Rating.GOOD]


def test_desired_retention_of_the_deck_drives_the_intervals(tmp_path):
    tutor = make_tutor(tmp_path / "t.db")
    tutor.import_deck(make_deck("low", retention=0.8))
    tutor.import_deck(make_deck("high", retention=0.97))
    low = tutor.grade("ana", "low", tutor.deck("low").cards[0].id, Rating.EASY, seq=1, now=MONDAY)
    high = tutor.grade("ana", "high", tutor.deck("high").cards[0].id, Rating.EASY, seq=1, now=MONDAY)
    assert low.interval > high.interval
    assert low.due == due_after(first_review(fsrs.Rating.Easy, 0.8))


def test_open_prompts_without_concepts_are_never_due_nor_graded(tutor):
    prompt_id = ids(tutor, CardKind.PROMPT)[0]
    tutor.join("ana", "d", new_per_day=100)
    assert all(i.card.kind is not CardKind.PROMPT for i in tutor.due_cards("ana", MONDAY))
    with pytest.raises(TutorError, match="graded by what the answer says"):
        tutor.grade("ana", "d", prompt_id, Rating.GOOD, seq=1, now=MONDAY)
    with pytest.raises(TutorError, match="no key concepts"):
        tutor.answer_prompt("ana", "d", prompt_id, "an answer", seq=1, now=MONDAY)
    with pytest.raises(TutorError, match="not a multiple-choice"):
        tutor.answer_choice("ana", "d", prompt_id, 0, seq=1, now=MONDAY)


def test_the_same_answer_twice_is_stored_once(tutor):
    card_id = ids(tutor, CardKind.MCQ)[0]
    first = tutor.answer_choice("ana", "d", card_id, 1, seq=1, now=MONDAY, source="dm")
    # A retry (Slack resends, a double click), even with another choice or a later time: same result.
    again = tutor.answer_choice("ana", "d", card_id, 0, seq=1, now=MONDAY + timedelta(minutes=5), source="dm")
    assert again.duplicate and not first.duplicate
    assert (again.rating, again.choice, again.correct, again.due) == (first.rating, 1, False, first.due)
    assert len(review_store.reviews_of(tutor.db, "ana")) == 1
    assert tutor.next_seq("ana", "d", card_id) == 2


def test_a_stale_seq_returns_the_latest_review(tutor):
    card_id = ids(tutor, CardKind.FLASHCARD)[0]
    tutor.grade("ana", "d", card_id, Rating.GOOD, seq=1, now=MONDAY)
    second = tutor.grade("ana", "d", card_id, Rating.EASY, seq=2, now=MONDAY + timedelta(days=3))
    stale = tutor.grade("ana", "d", card_id, Rating.AGAIN, seq=1, now=MONDAY + timedelta(days=4))
    assert stale.duplicate and stale.seq == 2 and stale.rating == Rating.EASY and stale.due == second.due
    with pytest.raises(TutorError, match="out of date"):
        tutor.grade("ana", "d", card_id, Rating.GOOD, seq=7, now=MONDAY + timedelta(days=4))
    assert len(review_store.reviews_of(tutor.db, "ana")) == 2


def test_two_processes_recording_the_same_answer_at_once_store_it_once(tmp_path):
    path = tmp_path / "t.db"
    setup = make_tutor(path)
    setup.import_deck(make_deck("d"))
    card_ids = [c.id for c in setup.deck("d").cards if c.kind is CardKind.MCQ]
    # Each thread has its own connection, as two bot processes would.
    tutors = [Tutor(open_db(path), fuzzing=False) for _ in range(6)]
    barrier = threading.Barrier(len(tutors))
    results: list = []

    def answer(t: Tutor) -> None:
        barrier.wait()
        for card_id in card_ids:
            results.append(t.answer_choice("ana", "d", card_id, 0, seq=1, now=MONDAY, source="dm"))

    threads = [threading.Thread(target=answer, args=(t,)) for t in tutors]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(results) == len(tutors) * len(card_ids)
    assert sum(not r.duplicate for r in results) == len(card_ids)
    assert len(review_store.reviews_of(setup.db, "ana")) == len(card_ids)
    assert len({(r.card.id, r.due) for r in results}) == len(card_ids)


def test_threads_sharing_one_tutor_store_each_answer_once(tutor):
    card_id = ids(tutor, CardKind.MCQ)[0]
    barrier = threading.Barrier(8)
    results: list = []

    def answer() -> None:
        barrier.wait()
        results.append(tutor.answer_choice("ana", "d", card_id, 0, seq=1, now=MONDAY, source="dm"))

    threads = [threading.Thread(target=answer) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(r.duplicate for r in results) == [False] + [True] * 7
    assert len(review_store.reviews_of(tutor.db, "ana")) == 1


def test_undo_restores_the_state_before_and_deletes_the_log_row(tutor):
    card_id = ids(tutor, CardKind.FLASHCARD)[0]
    tutor.grade("ana", "d", card_id, Rating.GOOD, seq=1, now=MONDAY)
    before = review_store.get_state(tutor.db, "ana", "d", card_id)
    later = MONDAY + timedelta(days=2)
    tutor.grade("ana", "d", card_id, Rating.AGAIN, seq=2, now=later)
    undone = tutor.undo_last("ana")
    assert undone is not None and undone.card.id == card_id and undone.rating == Rating.AGAIN
    assert review_store.get_state(tutor.db, "ana", "d", card_id) == before
    assert [r.seq for r in review_store.reviews_of(tutor.db, "ana")] == [1]
    # The card can be answered again with the same seq, now differently.
    redo = tutor.grade("ana", "d", card_id, Rating.GOOD, seq=2, now=later)
    assert not redo.duplicate and redo.rating == Rating.GOOD
    # Undoing a new card's first review makes it new again.
    assert tutor.undo_last("ana") is not None and tutor.undo_last("ana") is not None
    assert review_store.get_state(tutor.db, "ana", "d", card_id) is None
    assert tutor.next_seq("ana", "d", card_id) == 1
    assert tutor.undo_last("ana") is None


def test_undo_touches_only_the_users_own_last_review(tutor):
    a, b = ids(tutor, CardKind.FLASHCARD)[:2]
    tutor.grade("ana", "d", a, Rating.GOOD, seq=1, now=MONDAY)
    tutor.grade("ben", "d", b, Rating.GOOD, seq=1, now=MONDAY + timedelta(minutes=1))
    undone = tutor.undo_last("ana")
    assert undone is not None and undone.card.id == a
    assert tutor.next_seq("ben", "d", b) == 2


def lapse_until_leech(tutor: Tutor, card_id: str) -> list:
    """Learn the card, then fail it at each due date; returns every result."""
    results = [tutor.grade("ana", "d", card_id, Rating.GOOD, seq=1, now=MONDAY)]
    for seq in range(2, 2 + LEECH_LAPSES):
        results.append(tutor.grade("ana", "d", card_id, Rating.AGAIN, seq=seq, now=results[-1].due))
    return results


def test_eight_lapses_make_a_leech_which_is_suspended(tutor):
    card_id = ids(tutor, CardKind.FLASHCARD)[0]
    results = lapse_until_leech(tutor, card_id)
    assert [r.leech for r in results] == [False] * LEECH_LAPSES + [True]
    state = review_store.get_state(tutor.db, "ana", "d", card_id)
    assert state is not None and (state.lapses, state.reps) == (8, 9) and state.suspended_at is not None
    far = results[-1].due + timedelta(days=400)
    assert card_id not in {i.card.id for i in tutor.due_cards("ana", far)}
    # Undo of the leech review brings the card back; so does unsuspending it.
    tutor.undo_last("ana")
    state = review_store.get_state(tutor.db, "ana", "d", card_id)
    assert state is not None and state.lapses == 7 and state.suspended_at is None
    assert card_id in {i.card.id for i in tutor.due_cards("ana", far)}
    leech = tutor.grade("ana", "d", card_id, Rating.AGAIN, seq=9, now=results[-2].due)
    assert leech.leech
    assert tutor.unsuspend("ana", "d", card_id) and not tutor.unsuspend("ana", "d", card_id)
    assert card_id in {i.card.id for i in tutor.due_cards("ana", far)}


def test_failing_a_card_in_review_counts_a_lapse_but_a_new_one_does_not(tutor):
    card_id = ids(tutor, CardKind.FLASHCARD)[0]
    tutor.grade("ana", "d", card_id, Rating.AGAIN, seq=1, now=MONDAY)
    state = review_store.get_state(tutor.db, "ana", "d", card_id)
    assert state is not None and state.lapses == 0 and state.state == fsrs.State.Review
    tutor.grade("ana", "d", card_id, Rating.AGAIN, seq=2, now=state.due)
    state = review_store.get_state(tutor.db, "ana", "d", card_id)
    assert state is not None and state.lapses == 1


def test_requests_the_tutor_refuses_say_why(tutor):
    card_id = ids(tutor, CardKind.MCQ)[0]
    with pytest.raises(TutorError, match="no deck 'nope'"):
        tutor.due_cards("ana", MONDAY, deck="nope")
    with pytest.raises(TutorError, match="no card"):
        tutor.grade("ana", "d", "fc-000000000000", Rating.GOOD, seq=1, now=MONDAY)
    with pytest.raises(TutorError, match="between 1 and 4"):
        tutor.answer_choice("ana", "d", card_id, 4, seq=1, now=MONDAY)
    with pytest.raises(TutorError, match="naive"):
        tutor.answer_choice("ana", "d", card_id, 0, seq=1, now=datetime(2025, 3, 3, 8, 30))
    with pytest.raises(TutorError, match="source"):
        tutor.answer_choice("ana", "d", card_id, 0, seq=1, now=MONDAY, source="email")
    with pytest.raises(TutorError, match="time zone"):
        tutor.set_timezone("ana", "Mars/Olympus")
    with pytest.raises(TutorError, match="HH:MM"):
        tutor.set_delivery_time("ana", "25:99")
    with pytest.raises(TutorError, match="not a learner"):
        tutor.pause("nobody")
    with pytest.raises(TutorError, match="between 0 and"):
        tutor.join("ana", "d", new_per_day=-1)
    with pytest.raises(TutorError, match="not in the deck"):
        tutor.leave("ana", "other")
    assert review_store.reviews_of(tutor.db, "ana") == []


def test_fuzzing_is_on_by_default_stays_in_fsrs_range_and_previews_what_happens(tmp_path):
    tutor = Tutor(open_db(tmp_path / "t.db"))
    assert tutor.srs.fuzzing
    tutor.import_deck(make_deck("d", flashcards=40, mcqs=0, prompts=0))
    card_ids = [c.id for c in tutor.deck("d").cards]
    exact = first_review(fsrs.Rating.Easy).due - DAY
    low, high = fuzz_range(exact.days)
    intervals = []
    for card_id in card_ids:
        preview = tutor.next_intervals("ana", "d", card_id, MONDAY)
        result = tutor.grade("ana", "d", card_id, Rating.EASY, seq=1, now=MONDAY)
        assert result.interval == preview[Rating.EASY]  # the label is what the click gives
        intervals.append(result.interval.days)
    assert len(set(intervals)) > 1 and all(low <= i <= high for i in intervals)  # spread out, in range


def test_times_in_any_zone_are_stored_in_utc(tutor):
    card_id = ids(tutor, CardKind.FLASHCARD)[0]
    from zoneinfo import ZoneInfo

    local = MONDAY.astimezone(ZoneInfo("Asia/Tokyo"))
    result = tutor.grade("ana", "d", card_id, Rating.GOOD, seq=1, now=local)
    assert result.due.tzinfo == UTC
    [log] = review_store.reviews_of(tutor.db, "ana")
    assert log.reviewed_at == MONDAY and log.reviewed_at.tzinfo == UTC

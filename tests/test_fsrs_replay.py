"""Replay 12,580 real reviews (py-fsrs's test data) through the Tutor and SQLite, and check every card's
stored FSRS state against `fsrs.Scheduler.review_card` replayed in memory with the same settings and
the engine's rule for time: fsrs is given each review's learning day (the day starts at 04:00 in the
learner's zone, here UTC) as its midnight, and a due date is the start of the learning day it names."""

import csv
from collections import defaultdict
from datetime import UTC, date, datetime, time, timedelta

import fsrs
import pytest
from tutor_helpers import HAS_REVIEW_LOG, NO_REVIEW_LOG, REVIEW_LOGS, make_tutor

from bot.srs import DEFAULT_PARAMETERS
from bot.tutor import Rating
from content.model import Deck, Flashcard
from storage import reviews as review_store

REVIEWS = REVIEW_LOGS
pytestmark = pytest.mark.skipif(not HAS_REVIEW_LOG, reason=NO_REVIEW_LOG)


def load_reviews() -> list[tuple[str, int, datetime, int]]:
    with REVIEWS[0].open(newline="") as handle:
        rows = [(r["card_id"], int(r["review_rating"]), datetime.fromisoformat(r["review_time"]),
                 int(r["review_duration"])) for r in csv.DictReader(handle)]
    return sorted(rows, key=lambda r: r[2])


def learning_day(moment: datetime) -> date:
    """The learning day of a UTC learner: the calendar day, starting at 04:00."""
    return (moment - timedelta(hours=4)).date()


def fed(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=UTC)


def test_sqlite_state_replays_to_exactly_what_fsrs_computes(tmp_path):
    reviews = load_reviews()
    assert len(reviews) == 12_580
    source_ids = sorted({r[0] for r in reviews})
    cards = {sid: Flashcard(front=f"card {sid}", back=f"answer {sid}") for sid in source_ids}
    tutor = make_tutor(tmp_path / "replay.db")
    tutor.import_deck(Deck(slug="josh", title="Josh's cards", cards=tuple(cards.values())))
    tutor.ensure_learner("josh", tz="UTC")

    scheduler = fsrs.Scheduler(learning_steps=(), relearning_steps=(), enable_fuzzing=False)
    assert scheduler.parameters == DEFAULT_PARAMETERS and scheduler.desired_retention == 0.9
    memory: dict[str, fsrs.Card] = {}
    lapses: dict[str, int] = defaultdict(int)
    seqs: dict[str, int] = defaultdict(int)
    leeches = 0
    reviewed_at: dict[str, datetime] = {}
    for sid, rating, moment, duration in reviews:
        day = fed(learning_day(moment))
        card = memory.get(sid) or fsrs.Card(card_id=1, due=day)
        if card.state == fsrs.State.Review and rating == 1:
            lapses[sid] += 1
        memory[sid], _ = scheduler.review_card(card, fsrs.Rating(rating), day, duration)
        seqs[sid] += 1
        reviewed_at[sid] = moment
        result = tutor.grade("josh", "josh", cards[sid].id, Rating(rating), seq=seqs[sid], now=moment,
                             duration_ms=duration)
        assert not result.duplicate and result.due == memory[sid].due + timedelta(hours=4)
        assert result.interval == memory[sid].due - day
        leeches += result.leech

    stored = {s.card_id: s for s in review_store.states_of(tutor.db, "josh")}
    assert len(stored) == len(source_ids)
    for sid, expected in memory.items():
        state = stored[cards[sid].id]
        assert (state.state, state.step) == (int(expected.state), expected.step)
        assert state.stability == expected.stability and state.difficulty == expected.difficulty
        assert state.due == expected.due + timedelta(hours=4)
        assert state.last_review == reviewed_at[sid]  # the exact moment is kept...
        assert state.last_day == learning_day(reviewed_at[sid])  # ...and fsrs counts from its day
        assert (state.reps, state.lapses, state.seq) == (seqs[sid], lapses[sid], seqs[sid])
        assert (state.suspended_at is not None) == (lapses[sid] >= 8)
    assert leeches == sum(1 for n in lapses.values() if n >= 8) > 0  # this learner has leeches
    assert len(review_store.reviews_of(tutor.db, "josh")) == 12_580

    # Delivering the whole log again (a retry storm) changes nothing: every answer is a duplicate.
    seen: dict[str, int] = defaultdict(int)
    for sid, rating, moment, _ in reviews[:2000]:
        seen[sid] += 1
        again = tutor.grade("josh", "josh", cards[sid].id, Rating(rating), seq=seen[sid], now=moment)
        assert again.duplicate
    assert {s.card_id: s for s in review_store.states_of(tutor.db, "josh")} == stored

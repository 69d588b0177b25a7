"""Due dates spread inside FSRS's fuzz range: drawn per card and review (so a button's interval is the
click's), away from days that already carry many cards, and lighter on a deck's easy days."""

from __future__ import annotations

import random
from collections import Counter
from datetime import UTC, date, datetime, timedelta

import fsrs

from bot.srs import fuzz_range, spread
from bot.tutor import Rating, Tutor
from content.model import Deck, Flashcard
from storage.db import open_db

MONDAY = date(2025, 3, 3)


def test_the_draw_is_fixed_by_the_review_and_stays_in_fsrs_range():
    for interval in (3, 7, 20, 90, 400):
        low, high = fuzz_range(interval)
        # fsrs's own fuzz, drawn many times, covers this range (its rounding can also give high + 1)
        scheduler = fsrs.Scheduler(learning_steps=(), relearning_steps=(), enable_fuzzing=True)
        drawn = {scheduler._get_fuzzed_interval(interval=timedelta(days=interval)).days for _ in range(2000)}
        assert set(range(low, high + 1)) <= drawn <= set(range(low, high + 2))
        picks = [spread(interval, today=MONDAY, seed=i / 50) for i in range(50)]
        assert all(low <= p <= high for p in picks) and len(set(picks)) > 1
        assert spread(interval, today=MONDAY, seed=0.3) == spread(interval, today=MONDAY, seed=0.3)
    assert spread(2, today=MONDAY, seed=0.99) == 2  # fsrs does not fuzz intervals under 2.5 days


def test_a_loaded_day_is_avoided_and_an_easy_day_at_zero_too():
    low, high = fuzz_range(10)
    loaded = {MONDAY + timedelta(days=d): 50 for d in range(low, high + 1) if d != 9}
    assert {spread(10, today=MONDAY, seed=(i + 0.5) / 20, load=lambda a, b: loaded) for i in range(20)} == {9}
    weekend_off = (1.0, 1.0, 1.0, 1.0, 1.0, 0.0, 0.0)
    picks = {MONDAY + timedelta(days=spread(10, today=MONDAY, seed=(i + 0.5) / 40, easy_days=weekend_off))
             for i in range(40)}
    assert picks and all(day.weekday() < 5 for day in picks)


def deck_of(slug: str, cards: int, easy_days: tuple[float, ...] | None = None) -> Deck:
    return Deck(slug=slug, title=slug, cards=tuple(Flashcard(front=f"{slug} {i}?", back=f"answer {i}")
                                                   for i in range(cards)),
                easy_days=easy_days or (1.0,) * 7)


def review_month(tmp_path, easy_days: tuple[float, ...] | None) -> Counter[int]:
    """A member learns 150 cards (15 a day) and reviews everything due for 60 days, checking every
    button's interval against the click's; returns the reviews done per weekday after the first month."""
    tutor = Tutor(open_db(tmp_path / f"{easy_days}.db"), default_tz="UTC")  # fuzz on
    tutor.import_deck(deck_of("d", 150, easy_days))
    tutor.ensure_learner("ana", tz="UTC")
    tutor.join("ana", "d", new_per_day=15, reviews_per_day=1000)
    rng = random.Random(11)
    per_weekday: Counter[int] = Counter()
    start = datetime(2025, 3, 3, 9, 0, tzinfo=UTC)
    for day in range(60):
        now = start + timedelta(days=day)
        for item in tutor.due_cards("ana", now):
            rating = Rating(rng.choices((1, 2, 3, 4), (1, 1, 8, 1))[0])
            preview = tutor.next_intervals("ana", "d", item.card.id, now)
            result = tutor.grade("ana", "d", item.card.id, rating, seq=item.seq, now=now)
            assert result.interval == preview[rating]  # previews equal outcomes, load balancing included
            if day >= 30 and not item.is_new:
                per_weekday[now.weekday()] += 1
    return per_weekday


def test_easy_days_make_weekends_lighter_and_previews_equal_outcomes(tmp_path):
    normal = review_month(tmp_path, None)
    lighter = review_month(tmp_path, (1.0, 1.0, 1.0, 1.0, 1.0, 0.5, 0.5))

    def weekend_share(counts: Counter[int]) -> float:
        return (counts[5] + counts[6]) / sum(counts.values())

    assert weekend_share(lighter) < weekend_share(normal) * 0.9
    assert sum(lighter.values()) > 0.8 * sum(normal.values())  # moved, not dropped

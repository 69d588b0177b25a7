"""The learning day at work: what is due, daily limits, pauses, streaks and statistics."""

from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta
from itertools import zip_longest
from zoneinfo import ZoneInfo

import fsrs
import pytest
from tutor_helpers import MONDAY, make_deck, make_tutor

from bot.tutor import Rating, Tutor
from content.model import CardKind
from storage import reviews as review_store

BERLIN = ZoneInfo("Europe/Berlin")


def berlin(*args: int) -> datetime:
    return datetime(*args, tzinfo=BERLIN)


@pytest.fixture
def tutor(tmp_path):
    t = make_tutor(tmp_path / "t.db")
    t.import_deck(make_deck("d", flashcards=8, mcqs=4, prompts=1))
    t.ensure_learner("ana", tz="Europe/Berlin")
    return t


def learn(tutor: Tutor, user: str, deck: str, card_id: str, now: datetime, rating=Rating.GOOD):
    return tutor.grade(user, deck, card_id, rating, seq=tutor.next_seq(user, deck, card_id), now=now)


def interleaved(tutor: Tutor, deck: str = "d", *, leaving_out: tuple[str, ...] = ()) -> list[str]:
    """The deck's scheduled cards (but `leaving_out`) with kinds taken in turn, each in deck order."""
    cards = [c for c in tutor.deck(deck).scheduled_cards if c.id not in leaving_out]
    kinds = [[c.id for c in cards if c.kind is kind] for kind in (CardKind.FLASHCARD, CardKind.MCQ)]
    return [card_id for pair in zip_longest(*kinds) for card_id in pair if card_id is not None]


def test_new_cards_interleave_kinds_in_deck_order_up_to_the_daily_limit(tutor):
    tutor.join("ana", "d", new_per_day=3)
    now = berlin(2025, 3, 3, 8, 30)
    due = tutor.due_cards("ana", now)
    order = interleaved(tutor)
    assert [c.kind for c in tutor.deck("d").cards[:3]] == [CardKind.FLASHCARD] * 3  # the deck starts so...
    assert [i.card.id for i in due] == order[:3]  # ...but day one mixes flashcards and questions
    assert [i.card.kind for i in due] == [CardKind.FLASHCARD, CardKind.MCQ, CardKind.FLASHCARD]
    assert all(i.is_new and i.seq == 1 and i.due is None for i in due)
    # New cards introduced earlier today count against the limit...
    learn(tutor, "ana", "d", order[0], now)
    learn(tutor, "ana", "d", order[2], now)
    assert [i.card.id for i in tutor.due_cards("ana", now + timedelta(hours=1))] == [order[1]]
    # ...until the next learning day, which starts at 04:00 local.
    assert len(tutor.due_cards("ana", berlin(2025, 3, 4, 3, 59))) == 1
    # The next day starts the turns again, with a flashcard.
    assert [i.card.id for i in tutor.due_cards("ana", berlin(2025, 3, 4, 4, 0)) if i.is_new] == \
        interleaved(tutor, leaving_out=(order[0], order[2]))[:3]


def test_due_reviews_come_first_most_overdue_first_then_new_cards(tutor):
    tutor.join("ana", "d", new_per_day=2)
    ids = [c.id for c in tutor.deck("d").cards]
    learn(tutor, "ana", "d", ids[0], berlin(2025, 3, 1, 9, 0), Rating.AGAIN)  # due 2 Mar
    learn(tutor, "ana", "d", ids[1], berlin(2025, 2, 28, 9, 0), Rating.AGAIN)  # due 1 Mar: more overdue
    due = tutor.due_cards("ana", berlin(2025, 3, 3, 8, 30))
    fresh = interleaved(tutor, leaving_out=tuple(ids[:2]))[:2]
    assert [(i.card.id, i.is_new) for i in due] == [(ids[1], False), (ids[0], False), (fresh[0], True),
                                                    (fresh[1], True)]
    assert due[0].seq == 2 and due[0].due is not None and due[0].due < due[1].due


def test_a_card_is_due_from_the_start_of_its_learning_day(tutor):
    tutor.join("ana", "d", new_per_day=0)
    card_id = tutor.deck("d").cards[0].id
    first = learn(tutor, "ana", "d", card_id, berlin(2025, 3, 2, 10, 0), Rating.AGAIN)
    assert first.due == berlin(2025, 3, 3, 4, 0) and first.interval == timedelta(days=1)
    assert [i.card.id for i in tutor.due_cards("ana", berlin(2025, 3, 3, 8, 30))] == [card_id]
    # The day before (its learning day ends at 04:00 on the 3rd) it is not due yet.
    assert tutor.due_cards("ana", berlin(2025, 3, 3, 3, 59)) == []
    stats = tutor.stats("ana", berlin(2025, 3, 3, 8, 30))
    assert (stats.due_now, stats.due_today) == (1, 1)


def test_hard_at_night_then_good_next_morning_counts_a_learning_day(tutor):
    """The issue's example: Hard at 20:00 Berlin, Good at 08:00 the next day. Counted in hours fsrs
    sees 0 days and gives 1 day; counted in learning days it is a day later, and gives about 5."""
    tutor.join("ana", "d")
    card_id = tutor.deck("d").cards[0].id
    hard = learn(tutor, "ana", "d", card_id, berlin(2025, 3, 3, 20, 0), Rating.HARD)
    assert hard.interval == timedelta(days=1) and hard.due == berlin(2025, 3, 4, 4, 0)
    good = learn(tutor, "ana", "d", card_id, berlin(2025, 3, 4, 8, 0), Rating.GOOD)
    assert good.interval == timedelta(days=5)
    assert good.due == berlin(2025, 3, 4 + good.interval.days, 4, 0)
    state = review_store.get_state(tutor.db, "ana", "d", card_id)
    assert state is not None and state.last_day == date(2025, 3, 4)
    assert state.last_review == berlin(2025, 3, 4, 8)
    # fsrs fed the real moments (12 hours apart) would have given 1 day:
    hours = fsrs.Scheduler(learning_steps=(), relearning_steps=(), enable_fuzzing=False)
    evening = berlin(2025, 3, 3, 20).astimezone(UTC)
    card, _ = hours.review_card(fsrs.Card(card_id=1), fsrs.Rating.Hard, evening)
    card, _ = hours.review_card(card, fsrs.Rating.Good, berlin(2025, 3, 4, 8).astimezone(UTC))
    assert card.due - berlin(2025, 3, 4, 8) == timedelta(days=1)


def test_review_limit_counts_reviews_done_today(tutor):
    tutor.join("ana", "d", new_per_day=8, reviews_per_day=2)
    ids = [c.id for c in tutor.deck("d").cards][:5]
    for card_id in ids:
        learn(tutor, "ana", "d", card_id, berlin(2025, 3, 2, 9, 0), Rating.AGAIN)
    now = berlin(2025, 3, 3, 9, 30)
    reviews = [i for i in tutor.due_cards("ana", now) if not i.is_new]
    assert len(reviews) == 2
    learn(tutor, "ana", "d", reviews[0].card.id, now)
    assert len([i for i in tutor.due_cards("ana", now) if not i.is_new]) == 1
    learn(tutor, "ana", "d", reviews[1].card.id, now)
    assert [i for i in tutor.due_cards("ana", now) if not i.is_new] == []
    assert len([i for i in tutor.due_cards("ana", berlin(2025, 3, 4, 9, 0)) if not i.is_new]) == 2


def test_each_deck_has_its_own_limits(tmp_path):
    tutor = make_tutor(tmp_path / "t.db")
    tutor.import_deck(make_deck("a", flashcards=6, mcqs=0, prompts=0))
    tutor.import_deck(make_deck("b", flashcards=0, mcqs=6, prompts=0))
    tutor.join("ana", "a", new_per_day=2)
    tutor.join("ana", "b", new_per_day=3)
    tutor.join("ben", "b", new_per_day=1)
    due = tutor.due_cards("ana", MONDAY)
    assert [i.deck for i in due] == ["a", "a", "b", "b", "b"]
    assert [i.deck for i in tutor.due_cards("ben", MONDAY)] == ["b"]
    assert [i.deck for i in tutor.due_cards("ana", MONDAY, deck="b")] == ["b", "b", "b"]
    # Ana's reviews in deck a do not use up deck b's slots, nor Ben's.
    for item in due[:2]:
        learn(tutor, "ana", "a", item.card.id, MONDAY)
    assert [i.deck for i in tutor.due_cards("ana", MONDAY)] == ["b", "b", "b"]
    everyone = tutor.due_cards_for_all(MONDAY)
    assert {u: [i.card.id for i in items] for u, items in everyone.items()} == \
        {u: [i.card.id for i in tutor.due_cards(u, MONDAY)] for u in ("ana", "ben")}
    tutor.leave("ana", "b")
    assert tutor.due_cards("ana", MONDAY) == []
    assert tutor.learner("ana").decks == ("a",)  # type: ignore[union-attr]


def test_paused_learners_get_nothing_until_they_resume(tutor):
    tutor.join("ana", "d")
    assert tutor.pause("ana").paused
    assert tutor.due_cards("ana", MONDAY) == [] and "ana" not in tutor.due_cards_for_all(MONDAY)
    assert not tutor.resume("ana").paused
    assert len(tutor.due_cards("ana", MONDAY)) == 5


def test_suspended_and_retired_cards_are_not_due(tutor):
    tutor.join("ana", "d", new_per_day=0)
    deck = tutor.deck("d")
    a, b = deck.cards[0].id, deck.cards[1].id
    for card_id in (a, b):
        learn(tutor, "ana", "d", card_id, MONDAY - timedelta(days=3), Rating.AGAIN)
    assert {i.card.id for i in tutor.due_cards("ana", MONDAY)} == {a, b}
    review_store.set_suspended(tutor.db, "ana", "d", a, MONDAY)
    tutor.import_deck(replace(deck, cards=tuple(c for c in deck.cards if c.id != b)))
    assert tutor.due_cards("ana", MONDAY) == []


def test_the_learning_day_and_delivery_follow_the_learners_zone(tmp_path):
    tutor = make_tutor(tmp_path / "t.db")
    tutor.import_deck(make_deck("d"))
    tutor.ensure_learner("kiri", tz="Pacific/Kiritimati")
    tutor.ensure_learner("pago", tz="Pacific/Pago_Pago")
    instant = datetime(2025, 3, 3, 20, 0, tzinfo=UTC)
    assert tutor.learning_day("kiri", instant) == date(2025, 3, 4)
    assert tutor.learning_day("pago", instant) == date(2025, 3, 3)
    # 08:30 (the default) on 4 March at UTC+14 is 18:30 UTC on the 3rd.
    assert tutor.delivery_moment("kiri", date(2025, 3, 4)) == datetime(2025, 3, 3, 18, 30, tzinfo=UTC)
    tutor.set_delivery_time("pago", "7am")
    assert tutor.delivery_moment("pago", date(2025, 3, 3)) == datetime(2025, 3, 3, 18, 0, tzinfo=UTC)
    # A review logged at that instant counts for each one's own learning day.
    card_id = tutor.deck("d").cards[0].id
    for user in ("kiri", "pago"):
        learn(tutor, user, "d", card_id, instant)
    days = {r.user_id: r.learning_day for u in ("kiri", "pago") for r in review_store.reviews_of(tutor.db, u)}
    assert days == {"kiri": date(2025, 3, 4), "pago": date(2025, 3, 3)}


def test_delivery_moment_stays_at_local_time_across_dst(tmp_path):
    tutor = make_tutor(tmp_path / "t.db")
    tutor.ensure_learner("nyc", tz="America/New_York")
    tutor.set_delivery_time("nyc", time(8, 30))
    assert tutor.delivery_moment("nyc", date(2025, 3, 8)) == datetime(2025, 3, 8, 13, 30, tzinfo=UTC)
    assert tutor.delivery_moment("nyc", date(2025, 3, 9)) == datetime(2025, 3, 9, 12, 30, tzinfo=UTC)
    tutor.set_timezone("nyc", "Europe/Berlin")
    tutor.set_delivery_time("nyc", time(2, 30))  # before 04:00: the night after; 30 Mar 02:30 does not exist
    assert tutor.delivery_moment("nyc", date(2025, 3, 29)) == datetime(2025, 3, 30, 1, 30, tzinfo=UTC)


def test_streak_counts_consecutive_learning_days_ending_today_or_yesterday(tutor):
    tutor.join("ana", "d", new_per_day=8)
    ids = [c.id for c in tutor.deck("d").cards if c.kind is CardKind.FLASHCARD]
    # Reviews on 1, 2 (at 02:30 on the 3rd, which is still the 2nd's learning day) and 4 March; none on 3rd.
    learn(tutor, "ana", "d", ids[0], berlin(2025, 3, 1, 20, 0))
    learn(tutor, "ana", "d", ids[1], berlin(2025, 3, 3, 2, 30))
    assert tutor.stats("ana", berlin(2025, 3, 3, 12, 0)).streak == 2  # alive until today ends
    assert tutor.stats("ana", berlin(2025, 3, 4, 4, 0)).streak == 0  # a day missed
    learn(tutor, "ana", "d", ids[2], berlin(2025, 3, 4, 9, 0))
    assert tutor.stats("ana", berlin(2025, 3, 4, 9, 0)).streak == 1
    learn(tutor, "ana", "d", ids[3], berlin(2025, 3, 3, 23, 0))  # fills the gap
    assert tutor.stats("ana", berlin(2025, 3, 4, 9, 0)).streak == 4
    assert tutor.stats("ana", berlin(2025, 3, 5, 21, 0)).streak == 4


def test_stats_of_a_learner(tutor):
    tutor.join("ana", "d", new_per_day=8, reviews_per_day=30)
    ids = [c.id for c in tutor.deck("d").cards if c.kind is CardKind.FLASHCARD]
    start = berlin(2025, 3, 1, 9, 0)
    results = {card_id: learn(tutor, "ana", "d", card_id, start) for card_id in ids[:4]}
    now = max(r.due for r in results.values()) + timedelta(hours=1)
    # Review the learned cards: three pass, one fails (retention 3/4); the first-day reviews of new
    # cards do not count for retention.
    for n, card_id in enumerate(ids[:4]):
        learn(tutor, "ana", "d", card_id, now, Rating.AGAIN if n == 0 else Rating.GOOD)
    stats = tutor.stats("ana", now)
    assert stats.retention_30d == 0.75
    assert stats.reviewed_today == 4 and stats.reviewed_this_week == 8
    assert stats.cards_learned == 4 and stats.due_now == 0
    assert stats.new_today == 8  # 8 a day, none introduced today, 8 of 12 never seen
    next_due = min(review_store.get_state(tutor.db, "ana", "d", c).due for c in ids[:4])  # type: ignore
    assert stats.next_due == next_due
    assert tutor.stats("ana", now + timedelta(days=40)).retention_30d is None
    later = tutor.stats("ana", next_due)
    assert later.due_now >= 1 and later.due_today >= later.due_now


def test_card_stats_count_attempts_right_and_the_favourite_wrong_option(tutor):
    tutor.join("ana", "d")
    q = [c for c in tutor.deck("d").cards if c.kind is CardKind.MCQ][0]
    for n, (user, choice) in enumerate([("ana", 2), ("ben", 2), ("cy", 1), ("dee", 0)]):
        tutor.answer_choice(user, "d", q.id, choice, seq=1, now=MONDAY + timedelta(minutes=n),
                            source="channel")
    stats = {s.card_id: s for s in tutor.card_stats("d")}
    found = stats[q.id]
    assert (found.attempts, found.percent_right, found.most_chosen_wrong) == (4, 25.0, "wrong 0b")
    untouched = [s for s in stats.values() if s.card_id != q.id]
    assert all(s.attempts == 0 and s.percent_right is None for s in untouched)
    assert len(stats) == 12  # prompts are not scheduled, so not in card stats

"""One concept a day, questions after their flashcard, and new cards of both kinds, over a simulated
month with the shipped deck (whose flashcards and questions on one idea share a `concept`)."""

from __future__ import annotations

import random
from collections import defaultdict
from dataclasses import replace
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from tutor_helpers import REPO, make_tutor

from bot.tutor import Rating, Tutor
from content.loader import load_deck_file
from content.model import CardKind, Deck, Flashcard, MultipleChoice, Prompt

SHIPPED = REPO / "content" / "decks" / "pretrained-models-cv.yaml"
BERLIN = ZoneInfo("Europe/Berlin")


@pytest.fixture(scope="module")
def deck() -> Deck:
    return load_deck_file(SHIPPED).deck


def answer(tutor: Tutor, user: str, item, now: datetime, rng: random.Random, fail_rate: float) -> None:
    if isinstance(item.card, MultipleChoice):
        wrong = (item.card.answer or 0) + 1
        choice = wrong % len(item.card.options) if rng.random() < fail_rate else item.card.answer
        tutor.answer_choice(user, item.deck, item.card.id, choice or 0, seq=item.seq, now=now,
                            duration_ms=rng.randint(4000, 20_000), source="dm")
    elif isinstance(item.card, Prompt):  # graded by the concepts its answer covers
        text = "I don't know" if rng.random() < fail_rate else item.card.model_answer or item.card.question
        tutor.answer_prompt(user, item.deck, item.card.id, text, seq=item.seq, now=now, source="dm")
    else:
        rating = Rating.AGAIN if rng.random() < fail_rate else Rating(rng.choice((2, 3, 3, 4)))
        tutor.grade(user, item.deck, item.card.id, rating, seq=item.seq, now=now, duration_ms=8000)


def simulate(tutor: Tutor, deck: Deck, days: int = 30) -> dict[str, dict[date, list[str]]]:
    """Three members answer their whole daily review for a month, one card at a time as the DM does
    (asking the core what is next after each answer). Returns member -> day -> card ids shown."""
    shown: dict[str, dict[date, list[str]]] = defaultdict(lambda: defaultdict(list))
    members = {"ana": 0.05, "ben": 0.3, "cy": 0.6}  # how often each fails a card
    for user in members:
        tutor.ensure_learner(user, tz="Europe/Berlin")
        tutor.join(user, deck.slug)
    rng = random.Random(3)
    start = datetime(2025, 3, 3, 8, 30, tzinfo=BERLIN)
    for day in range(days):
        now = start + timedelta(days=day)
        for user, fail_rate in members.items():
            planned = {i.card.id for i in tutor.due_cards(user, now)}
            while due := tutor.due_cards(user, now):
                assert {i.card.id for i in due} <= planned  # the day's list only shrinks as one answers
                shown[user][now.date()].append(due[0].card.id)
                answer(tutor, user, due[0], now, rng, fail_rate)
                now += timedelta(seconds=30)
            assert set(shown[user][now.date()]) == planned
    return shown


def test_one_concept_a_day_and_questions_after_their_flashcard(tmp_path, deck):
    tutor = make_tutor(tmp_path / "t.db")
    tutor.import_deck(deck)
    concept = {c.id: c.concept for c in deck.cards}
    kind = {c.id: c.kind for c in deck.cards}
    flashcards = {c.concept for c in deck.cards if isinstance(c, Flashcard)}
    shown = simulate(tutor, deck)
    total = 0
    for user, by_day in shown.items():
        first_day: dict[str, date] = {}
        for day, cards in sorted(by_day.items()):
            total += len(cards)
            concepts = [concept[c] for c in cards if concept[c] is not None]
            assert len(concepts) == len(set(concepts)), (user, day, concepts)  # one card per concept a day
            for card_id in cards:
                first_day.setdefault(card_id, day)
        for card_id, day in first_day.items():
            idea = concept[card_id]
            if kind[card_id] is CardKind.MCQ and idea in flashcards:
                learned = [d for c, d in first_day.items()
                           if concept[c] == idea and kind[c] is CardKind.FLASHCARD]
                assert learned and min(learned) < day, (user, card_id)  # its flashcard came on an earlier day
        day_one = by_day[min(by_day)]
        assert {kind[c] for c in day_one} == {CardKind.FLASHCARD, CardKind.MCQ}  # both kinds from day one
        assert len(day_one) == 5
    assert total > 150  # a month of real reviews, not a handful


def test_without_concepts_siblings_meet_on_the_same_day(tmp_path, deck):
    """The same month with the concepts taken out of the deck: the rule is what prevents the clashes."""
    plain = replace(deck, cards=tuple(replace(c, concept=None) for c in deck.cards))
    tutor = make_tutor(tmp_path / "t.db")
    tutor.import_deck(plain)
    concept = {c.id: c.concept for c in deck.cards}  # the real concepts, by the same ids
    shown = simulate(tutor, plain)
    ideas = [[concept[c] for c in cards if concept[c]]
             for by_day in shown.values() for cards in by_day.values()]
    clashes = sum(1 for day in ideas if len(day) > len(set(day)))
    assert clashes > 0

"""A member's progress on a deck, as content.anki_progress writes it into an Anki package."""

from __future__ import annotations

from collections import defaultdict

from bot import learning_day as days
from bot import memory_models
from bot.tutor import Tutor, TutorError
from content.anki_progress import CardProgress, MemberProgress, ReviewEntry
from storage import reviews as review_store


def member_progress(tutor: Tutor, user_id: str, deck: str) -> MemberProgress:
    """Every card of `deck` the member has reviewed: its state, due learning day and its reviews, in
    the member's zone; with the FSRS parameters scheduling them."""
    learner = tutor.learner(user_id)
    if learner is None:
        raise TutorError(f"{user_id!r} is not a learner: there is no progress to export")
    info = tutor.deck(deck)
    with tutor.lock:
        states = review_store.states_of(tutor.db, user_id, deck)
        log = review_store.reviews_of(tutor.db, user_id, deck)
        parameters = memory_models.in_use(tutor.db, user_id, deck).parameters
    tz = learner.tz
    reviews: dict[str, list[ReviewEntry]] = defaultdict(list)
    for record in log:
        interval = (days.learning_day(record.due, tz) - record.learning_day).days
        reviews[record.card_id].append(ReviewEntry(reviewed_at=record.reviewed_at, rating=record.rating,
                                                   interval_days=interval, duration_ms=record.duration_ms))
    cards = [CardProgress(card_id=s.card_id, due_day=days.learning_day(s.due, tz),
                          last_day=s.last_day or days.learning_day(s.last_review or s.due, tz),
                          stability=s.stability, difficulty=s.difficulty, reps=s.reps, lapses=s.lapses,
                          suspended=s.suspended_at is not None, last_review=s.last_review,
                          reviews=tuple(reviews.get(s.card_id, ()))) for s in states]
    return MemberProgress(user=learner.name or user_id, tz=tz, parameters=tuple(parameters),
                          desired_retention=info.desired_retention, cards=tuple(cards))

"""The Slack-free learning loop: what is due for whom, grading, scheduling with FSRS, stats.

CONTRACT SKELETON: the signatures and dataclasses below are the API the CLI and the Slack app are
written against. The implementation replaces every `NotImplementedError`; keep the names, argument
names and field names (add fields and methods freely).

Time: every `now` is a timezone-aware datetime (UTC or any zone; converted internally). A learner's
*learning day* is their local date with the day starting at 04:00 local time (as Anki does):
01:30 on Tuesday local belongs to Monday's learning day.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from enum import IntEnum

import sqlite_utils

from content.model import Card, Deck


class Rating(IntEnum):
    """The four grades of FSRS (same values as `fsrs.Rating`)."""

    AGAIN = 1
    HARD = 2
    GOOD = 3
    EASY = 4


class TutorError(ValueError):
    """A request the tutor refuses, with a message fit to show a user (unknown deck, bad time…)."""


@dataclass(frozen=True)
class ImportResult:
    deck: str
    added: int
    updated: int  # same id, explanation text changed
    retired: int  # in the database but no longer in the deck
    unchanged: int


@dataclass(frozen=True)
class DeckSummary:
    slug: str
    title: str
    cards: int  # active (not retired) cards
    learners: int  # enrolled users
    desired_retention: float


@dataclass(frozen=True)
class Learner:
    user_id: str
    name: str | None
    tz: str  # IANA zone
    delivery_time: time  # local wall-clock time of the daily DM
    paused: bool
    decks: tuple[str, ...]  # enrolled deck slugs


@dataclass(frozen=True)
class DueItem:
    """A card to show now. Pass `seq` back when answering: it makes recording idempotent
    (the same answer delivered twice is stored once)."""

    deck: str
    card: Card
    is_new: bool
    seq: int  # the number this review will have for (user, deck, card): 1 for a new card


@dataclass(frozen=True)
class ReviewResult:
    deck: str
    card: Card
    rating: Rating
    correct: bool | None  # None for a self-graded flashcard
    choice: int | None  # the option chosen, for multiple choice
    due: datetime  # next due, UTC
    interval: timedelta
    duplicate: bool  # True when this answer had already been recorded (retry, double click)
    leech: bool  # True when this review suspended the card (8 lapses)


@dataclass(frozen=True)
class LearnerStats:
    user_id: str
    due_now: int
    due_today: int
    reviewed_today: int
    reviewed_this_week: int  # the last 7 learning days, today included
    retention_30d: float | None  # share of reviews of already-learned cards passed, last 30 days
    streak: int  # consecutive learning days with a review, ending today (or yesterday)
    cards_learned: int
    next_due: datetime | None  # UTC


@dataclass(frozen=True)
class CardStats:
    deck: str
    card_id: str
    prompt: str
    attempts: int
    percent_right: float | None
    most_chosen_wrong: str | None  # option text, multiple choice only


class Tutor:
    """One tutor over one database. Thread-safe for use by a web server's threads."""

    def __init__(self, db: sqlite_utils.Database, *, default_tz: str = "UTC") -> None:
        raise NotImplementedError

    # decks --------------------------------------------------------------------------------
    def import_deck(self, deck: Deck, *, source: str | None = None) -> ImportResult:
        raise NotImplementedError

    def decks(self) -> list[DeckSummary]:
        raise NotImplementedError

    def deck(self, slug: str) -> Deck:
        """The deck's active cards, in order. TutorError if unknown."""
        raise NotImplementedError

    # learners -----------------------------------------------------------------------------
    def learner(self, user_id: str) -> Learner | None:
        raise NotImplementedError

    def ensure_learner(self, user_id: str, *, name: str | None = None, tz: str | None = None) -> Learner:
        """Create the learner if new; update name / tz when given."""
        raise NotImplementedError

    def learners(self) -> list[Learner]:
        raise NotImplementedError

    def join(self, user_id: str, deck: str, *, new_per_day: int = 5, reviews_per_day: int = 30) -> Learner:
        raise NotImplementedError

    def leave(self, user_id: str, deck: str | None = None) -> Learner:
        """Leave one deck, or all when deck is None. History is kept."""
        raise NotImplementedError

    def set_delivery_time(self, user_id: str, at: time) -> Learner:
        raise NotImplementedError

    def set_timezone(self, user_id: str, tz: str) -> Learner:
        raise NotImplementedError

    def pause(self, user_id: str) -> Learner:
        raise NotImplementedError

    def resume(self, user_id: str) -> Learner:
        raise NotImplementedError

    # the learning day ---------------------------------------------------------------------
    def learning_day(self, user_id: str, now: datetime) -> date:
        raise NotImplementedError

    def delivery_moment(self, user_id: str, day: date) -> datetime:
        """When the daily DM for learning day `day` is due, in UTC (local delivery time on that
        date; a time before 04:00 belongs to the next calendar date). DST-safe."""
        raise NotImplementedError

    # reviewing ----------------------------------------------------------------------------
    def due_cards(self, user_id: str, now: datetime, *, deck: str | None = None) -> list[DueItem]:
        """What to review now: due reviews first (most overdue first), then new cards in deck
        order, within the day's limits per deck. Empty when paused."""
        raise NotImplementedError

    def next_seq(self, user_id: str, deck: str, card_id: str) -> int:
        """The seq the next review of this card by this user will have (1 if never reviewed)."""
        raise NotImplementedError

    def next_intervals(self, user_id: str, deck: str, card_id: str, now: datetime) -> dict[Rating, timedelta]:
        """The interval each button would give, for showing on the buttons before the click."""
        raise NotImplementedError

    def answer_choice(self, user_id: str, deck: str, card_id: str, choice: int, *, seq: int, now: datetime,
                      duration_ms: int | None = None, source: str = "cli") -> ReviewResult:
        """Grade a multiple-choice answer: right = Good, wrong = Again."""
        raise NotImplementedError

    def grade(self, user_id: str, deck: str, card_id: str, rating: Rating, *, seq: int, now: datetime,
              duration_ms: int | None = None, source: str = "cli") -> ReviewResult:
        """Record a self-graded flashcard review."""
        raise NotImplementedError

    def undo_last(self, user_id: str) -> ReviewResult | None:
        """Remove the user's last review and restore the card's state before it."""
        raise NotImplementedError

    # stats --------------------------------------------------------------------------------
    def stats(self, user_id: str, now: datetime) -> LearnerStats:
        raise NotImplementedError

    def card_stats(self, deck: str) -> list[CardStats]:
        raise NotImplementedError

"""The values bot.tutor's API takes and gives (re-exported there: import them from bot.tutor).

Times are timezone-aware; those named UTC are in UTC. `to_dict` gives JSON-ready dicts (ISO-8601
strings, intervals in seconds and days) for `--json` output and scripts.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from enum import IntEnum
from typing import Any

from content.model import Card


class Rating(IntEnum):
    """The four grades of FSRS (same values as `fsrs.Rating`)."""

    AGAIN = 1
    HARD = 2
    GOOD = 3
    EASY = 4

    @property
    def label(self) -> str:
        return self.name.capitalize()


class TutorError(ValueError):
    """A request the tutor refuses, with a message fit to show a user (unknown deck, bad time…)."""


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat()


@dataclass(frozen=True)
class ImportResult:
    deck: str
    added: int  # restored cards included
    updated: int  # same id, explanation text changed
    retired: int  # in the database but no longer in the deck
    unchanged: int
    restored: int = 0  # had been retired and are back in the deck (counted in `added` too)

    def to_dict(self) -> dict[str, Any]:
        return {"deck": self.deck, "added": self.added, "updated": self.updated, "retired": self.retired,
                "unchanged": self.unchanged, "restored": self.restored}


@dataclass(frozen=True)
class DeckSummary:
    slug: str
    title: str
    cards: int  # active (not retired) cards
    learners: int  # enrolled users
    desired_retention: float

    def to_dict(self) -> dict[str, Any]:
        return {"slug": self.slug, "title": self.title, "cards": self.cards, "learners": self.learners,
                "desired_retention": self.desired_retention}


@dataclass(frozen=True)
class Learner:
    user_id: str
    name: str | None
    tz: str  # IANA zone
    delivery_time: time  # local wall-clock time of the daily DM
    paused: bool
    decks: tuple[str, ...]  # enrolled deck slugs

    def to_dict(self) -> dict[str, Any]:
        return {"user_id": self.user_id, "name": self.name, "tz": self.tz,
                "delivery_time": self.delivery_time.strftime("%H:%M"), "paused": self.paused,
                "decks": list(self.decks)}


@dataclass(frozen=True)
class DueItem:
    """A card to show now. Pass `seq` back when answering: it makes recording idempotent
    (the same answer delivered twice is stored once)."""

    deck: str
    card: Card
    is_new: bool
    seq: int  # the number this review will have for (user, deck, card): 1 for a new card
    due: datetime | None = None  # UTC; None for a new card


@dataclass(frozen=True)
class ReviewResult:
    deck: str
    card: Card
    rating: Rating
    correct: bool | None  # None for a self-graded flashcard
    choice: int | None  # the option chosen, for multiple choice
    due: datetime  # next due, UTC: the start (04:00 local) of the learning day it falls on
    interval: timedelta  # whole learning days from this review's day to the due day
    duplicate: bool  # True when this answer had already been recorded (retry, double click)
    leech: bool  # True when this review suspended the card (8 lapses)
    seq: int = 0  # the seq this review was stored under
    reason: str | None = None  # why a right multiple-choice answer was graded Hard (bot/grading.py)

    def to_dict(self) -> dict[str, Any]:
        return {"deck": self.deck, "card_id": self.card.id, "rating": self.rating.name.lower(),
                "correct": self.correct, "choice": self.choice, "due": _iso(self.due),
                "interval_days": self.interval.days, "duplicate": self.duplicate,
                "leech": self.leech, "seq": self.seq, "reason": self.reason}


@dataclass(frozen=True)
class MemoryModelStatus:
    """Whether the member's memory model (FSRS's parameters) is personalised (bot/memory_models.py)."""

    kind: str  # personal: fitted on their reviews | team: the deck's team prior | default: FSRS's own
    reviews: int  # the member's history: reviews here and imported
    needed: int  # the history from which a personal fit is tried
    fitted_at: datetime | None = None  # of the model in use (UTC)
    fit_reviews: int | None = None  # reviews the model in use learned from
    deck: str | None = None  # whose team prior
    prior_rejected: str | None = None  # a deck whose team prior did worse than the defaults on their reviews
    prior_scored: int | None = None  # of their later-day reviews it was judged on

    @property
    def personalised(self) -> bool:
        return self.kind == "personal"

    def describe(self) -> str:
        """One line for `tutor stats` and the App Home."""
        when = f" {self.fitted_at:%Y-%m-%d}" if self.fitted_at is not None else ""
        if self.kind == "personal":
            return f"personalised (fitted{when} on {self.fit_reviews or 0:,} of your reviews)"
        if self.kind == "team":
            return (f"the team's, of {self.deck} (fitted{when} on {self.fit_reviews or 0:,} reviews); "
                    f"yours from {self.needed:,} reviews, you have {self.reviews:,}")
        rejected = ("" if self.prior_rejected is None else f" (the team prior of {self.prior_rejected} did "
                    f"worse on your {self.prior_scored or 0:,} later-day reviews)")
        return (f"FSRS defaults{rejected}; personalised from {self.needed:,} reviews, "
                f"you have {self.reviews:,}")

    def short(self) -> str:
        """A few words for a narrow field (App Home)."""
        if self.kind == "personal":
            return "Personalised"
        prefix = ("Team prior" if self.kind == "team" else "Defaults" if self.prior_rejected is None
                  else "Defaults (team prior worse for you)")
        return f"{prefix} · {self.reviews:,}/{self.needed:,} reviews"

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "personalised": self.personalised, "reviews": self.reviews,
                "needed": self.needed, "fitted_at": _iso(self.fitted_at), "fit_reviews": self.fit_reviews,
                "deck": self.deck, "prior_rejected": self.prior_rejected, "prior_scored": self.prior_scored}


@dataclass(frozen=True)
class LearnerStats:
    user_id: str
    due_now: int  # reviews due at `now` (new cards not counted)
    due_today: int  # reviews due before this learning day ends
    reviewed_today: int
    reviewed_this_week: int  # the last 7 learning days, today included
    retention_30d: float | None  # share of reviews of already-learned cards passed, last 30 days
    streak: int  # consecutive learning days with a review, ending today (or yesterday)
    cards_learned: int  # cards of the learner's decks reviewed at least once
    next_due: datetime | None  # UTC; the earliest due of those cards (may be in the past: due now)
    new_today: int = 0  # new cards today's limits still let in
    memory: MemoryModelStatus | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"user_id": self.user_id, "due_now": self.due_now, "due_today": self.due_today,
                "new_today": self.new_today, "reviewed_today": self.reviewed_today,
                "reviewed_this_week": self.reviewed_this_week, "retention_30d": self.retention_30d,
                "streak": self.streak, "cards_learned": self.cards_learned, "next_due": _iso(self.next_due),
                "memory_model": None if self.memory is None else self.memory.to_dict()}


@dataclass(frozen=True)
class CardStats:
    deck: str
    card_id: str
    prompt: str
    attempts: int
    percent_right: float | None  # 0-100; None before any attempt
    most_chosen_wrong: str | None  # option text, multiple choice only

    def to_dict(self) -> dict[str, Any]:
        return {"deck": self.deck, "card_id": self.card_id, "prompt": self.prompt, "attempts": self.attempts,
                "percent_right": self.percent_right, "most_chosen_wrong": self.most_chosen_wrong}

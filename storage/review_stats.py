"""Read-only SQL behind learner and card statistics."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

import sqlite_utils

from storage.timefmt import iso, parse_optional

REVIEW_STATE = 2  # fsrs.State.Review: a card already learned


def reviews_per_day(db: sqlite_utils.Database, user_id: str, since: date) -> dict[date, int]:
    """Learning day -> reviews that day, from `since` on."""
    rows = db.conn.execute("SELECT learning_day, count(*) FROM review_log"
                           " WHERE user_id = ? AND learning_day >= ? GROUP BY learning_day",
                           (user_id, since.isoformat()))
    return {date.fromisoformat(day): n for day, n in rows}


def review_days_desc(db: sqlite_utils.Database, user_id: str, limit: int = 3660) -> list[date]:
    """The learner's distinct learning days with a review, latest first."""
    rows = db.conn.execute("SELECT DISTINCT learning_day FROM review_log WHERE user_id = ?"
                           " ORDER BY learning_day DESC LIMIT ?", (user_id, limit))
    return [date.fromisoformat(r[0]) for r in rows]


def retention_counts(db: sqlite_utils.Database, user_id: str, since: datetime) -> tuple[int, int]:
    """(passed, total) among reviews since `since` (UTC) of cards that were in Review state before:
    passed means any grade but Again, as FSRS counts recall."""
    passed, total = db.conn.execute(
        "SELECT coalesce(sum(rating > 1), 0), count(*) FROM review_log"
        " WHERE user_id = ? AND state_before = ? AND reviewed_at >= ?", (user_id, REVIEW_STATE, iso(since))
    ).fetchone()
    return passed, total


_ACTIVE_STATES = """FROM card_states s
    JOIN enrollments e ON e.user_id = s.user_id AND e.deck = s.deck AND e.left_at IS NULL
    JOIN cards c ON c.deck = s.deck AND c.card_id = s.card_id AND c.retired_at IS NULL
    WHERE s.user_id = ?"""


def learned_and_next_due(db: sqlite_utils.Database, user_id: str) -> tuple[int, datetime | None]:
    """(cards reviewed at least once in the learner's decks, earliest due of those not suspended)."""
    learned, next_due = db.conn.execute(
        f"SELECT count(*), min(CASE WHEN s.suspended_at IS NULL THEN s.due END) {_ACTIVE_STATES}", (user_id,)
    ).fetchone()
    return learned, parse_optional(next_due)


@dataclass(frozen=True)
class CardAnswerCounts:
    card_id: str
    attempts: int
    right: int  # multiple choice: correct; flashcards: any grade but Again
    wrong_choices: dict[int, int]  # option index -> times chosen wrongly


def card_answer_counts(db: sqlite_utils.Database, deck: str) -> dict[str, CardAnswerCounts]:
    wrong: dict[str, dict[int, int]] = {}
    for card_id, choice, n in db.conn.execute(
            "SELECT card_id, choice, count(*) FROM review_log WHERE deck = ? AND correct = 0"
            " AND choice IS NOT NULL GROUP BY card_id, choice", (deck,)):
        wrong.setdefault(card_id, {})[choice] = n
    found = {}
    for card_id, attempts, right in db.conn.execute(
            "SELECT card_id, count(*), sum(CASE WHEN correct IS NULL THEN rating > 1 ELSE correct END)"
            " FROM review_log WHERE deck = ? GROUP BY card_id", (deck,)):
        found[card_id] = CardAnswerCounts(card_id=card_id, attempts=attempts, right=right,
                                          wrong_choices=wrong.get(card_id, {}))
    return found

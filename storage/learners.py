"""SQL for learners (a user's zone, delivery time, pause) and their enrollments in decks."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

import sqlite_utils

from storage.db import equal_to, transaction
from storage.timefmt import iso, parse_optional

DEFAULT_DELIVERY_TIME = "08:30"  # local HH:MM


@dataclass(frozen=True)
class LearnerRow:
    user_id: str
    name: str | None
    tz: str  # IANA zone
    delivery_time: str  # local HH:MM
    paused_at: datetime | None  # UTC
    decks: tuple[str, ...]  # enrolled now, in joining order


@dataclass(frozen=True)
class EnrollmentRow:
    """An active enrollment with what planning a learner's day needs from the learner."""

    user_id: str
    deck: str
    new_per_day: int
    reviews_per_day: int
    tz: str
    paused: bool


def _learners(db: sqlite_utils.Database, where: str, params: tuple[str, ...]) -> list[LearnerRow]:
    rows = db.conn.execute(
        f"SELECT user_id, name, tz, delivery_time, paused_at FROM learners {where} ORDER BY user_id", params
    ).fetchall()
    decks: dict[str, list[str]] = {}
    for user_id, deck in db.conn.execute(
            f"SELECT user_id, deck FROM enrollments WHERE left_at IS NULL"
            f"{' AND user_id = ?' if params else ''} ORDER BY joined_at, deck", params):
        decks.setdefault(user_id, []).append(deck)
    return [LearnerRow(user_id=r[0], name=r[1], tz=r[2], delivery_time=r[3], paused_at=parse_optional(r[4]),
                       decks=tuple(decks.get(r[0], ()))) for r in rows]


def get_learner(db: sqlite_utils.Database, user_id: str) -> LearnerRow | None:
    found = _learners(db, "WHERE user_id = ?", (user_id,))
    return found[0] if found else None


def list_learners(db: sqlite_utils.Database) -> list[LearnerRow]:
    return _learners(db, "", ())


def upsert_learner(db: sqlite_utils.Database, user_id: str, *, name: str | None, tz: str | None,
                   default_tz: str, now: datetime) -> None:
    """Create the learner (zone `tz` or `default_tz`) or update the name / zone given (None: keep)."""
    with transaction(db) as conn:
        conn.execute("INSERT INTO learners (user_id, name, tz, delivery_time, created_at)"
                     " VALUES (?, ?, ?, ?, ?) ON CONFLICT (user_id) DO NOTHING",
                     (user_id, name, tz or default_tz, DEFAULT_DELIVERY_TIME, iso(now)))
        if name is not None:
            conn.execute("UPDATE learners SET name = ? WHERE user_id = ?", (name, user_id))
        if tz is not None:
            conn.execute("UPDATE learners SET tz = ? WHERE user_id = ?", (tz, user_id))


def set_learner_field(db: sqlite_utils.Database, user_id: str, field: str, value: str | None) -> bool:
    """Set one of tz, delivery_time, paused_at; False when there is no such learner."""
    if field not in ("tz", "delivery_time", "paused_at"):
        raise ValueError(f"not a learner field that can be set: {field}")
    with transaction(db) as conn:
        cursor = conn.execute(f"UPDATE learners SET {field} = ? WHERE user_id = ?", (value, user_id))
        return cursor.rowcount == 1


def enroll(db: sqlite_utils.Database, user_id: str, deck: str, *, new_per_day: int, reviews_per_day: int,
           now: datetime) -> None:
    """Enrol, or re-enrol after leaving, with these limits (history is untouched either way)."""
    with transaction(db) as conn:
        conn.execute(
            "INSERT INTO enrollments (user_id, deck, new_per_day, reviews_per_day, joined_at)"
            " VALUES (?, ?, ?, ?, ?) ON CONFLICT (user_id, deck) DO UPDATE"
            " SET new_per_day = excluded.new_per_day, reviews_per_day = excluded.reviews_per_day,"
            " left_at = NULL,"
            " joined_at = CASE WHEN enrollments.left_at IS NULL THEN enrollments.joined_at"
            " ELSE excluded.joined_at END",
            (user_id, deck, new_per_day, reviews_per_day, iso(now)))


def unenroll(db: sqlite_utils.Database, user_id: str, deck: str | None, now: datetime) -> int:
    """Leave one deck or (deck None) all; returns how many enrollments ended."""
    with transaction(db) as conn:
        if deck is None:
            cursor = conn.execute("UPDATE enrollments SET left_at = ? WHERE user_id = ? AND left_at IS NULL",
                                  (iso(now), user_id))
        else:
            cursor = conn.execute("UPDATE enrollments SET left_at = ? WHERE user_id = ? AND deck = ?"
                                  " AND left_at IS NULL", (iso(now), user_id, deck))
        return cursor.rowcount


def enrollment_status(db: sqlite_utils.Database, user_id: str, deck: str) -> str | None:
    """"active" when the learner is in the deck, "left" when they joined and left it, else None."""
    row = db.conn.execute("SELECT left_at FROM enrollments WHERE user_id = ? AND deck = ?",
                          (user_id, deck)).fetchone()
    if row is None:
        return None
    return "active" if row[0] is None else "left"


def active_enrollments(db: sqlite_utils.Database, *, user_id: str | None = None) -> list[EnrollmentRow]:
    """Enrollments not left, of one learner or of everyone, in joining order per learner."""
    sql = ("SELECT e.user_id, e.deck, e.new_per_day, e.reviews_per_day, l.tz, l.paused_at IS NOT NULL"
           " FROM enrollments e JOIN learners l ON l.user_id = e.user_id WHERE e.left_at IS NULL")
    filters, params = equal_to({"e.user_id": user_id})
    if filters:
        sql += " AND " + filters
    rows = db.conn.execute(sql + " ORDER BY e.user_id, e.joined_at, e.deck", params)
    return [EnrollmentRow(user_id=r[0], deck=r[1], new_per_day=r[2], reviews_per_day=r[3], tz=r[4],
                          paused=bool(r[5])) for r in rows]


def insert_learners(db: sqlite_utils.Database, learners: Iterable[tuple[str, str | None, str, str]],
                    now: datetime) -> None:
    """Bulk insert of (user_id, name, tz, delivery HH:MM), for loading many at once (benchmarks, imports)."""
    with transaction(db) as conn:
        conn.executemany("INSERT INTO learners (user_id, name, tz, delivery_time, created_at)"
                         " VALUES (?, ?, ?, ?, ?)",
                         ((u, n, tz, at, iso(now)) for u, n, tz, at in learners))


def insert_enrollments(db: sqlite_utils.Database, rows: Iterable[tuple[str, str, int, int]],
                       now: datetime) -> None:
    """Bulk insert of (user_id, deck, new_per_day, reviews_per_day)."""
    with transaction(db) as conn:
        conn.executemany("INSERT INTO enrollments (user_id, deck, new_per_day, reviews_per_day, joined_at)"
                         " VALUES (?, ?, ?, ?, ?)", ((u, d, n, r, iso(now)) for u, d, n, r in rows))

"""SQL for review histories brought from another tool whose cards no deck here has: kept as history
only, so a member's memory model (their FSRS parameters) learns from them."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime

import sqlite_utils

from storage.timefmt import iso, parse


@dataclass(frozen=True)
class ImportedReview:
    user_id: str
    source_card: str  # the card's id in the other tool
    rating: int  # 1..4
    reviewed_at: datetime  # UTC
    learning_day: date
    duration_ms: int | None


def insert_imported(db: sqlite_utils.Database, rows: Iterable[ImportedReview], *, file: str | None,
                    now: datetime) -> int:
    """Store the rows not stored yet (same member, card and moment: already imported); returns how
    many were new. Call inside `transaction(db)`."""
    conn = db.conn
    if not conn.in_transaction:
        raise RuntimeError("insert_imported must run inside transaction(db)")
    before = conn.total_changes
    conn.executemany(
        "INSERT OR IGNORE INTO imported_reviews (user_id, source_card, rating, reviewed_at, learning_day,"
        " duration_ms, file, imported_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        ((r.user_id, r.source_card, r.rating, iso(r.reviewed_at), r.learning_day.isoformat(), r.duration_ms,
          file, iso(now)) for r in rows))
    return conn.total_changes - before


def imported_of(db: sqlite_utils.Database, user_id: str) -> list[ImportedReview]:
    """The member's imported history, oldest first."""
    rows = db.conn.execute("SELECT user_id, source_card, rating, reviewed_at, learning_day, duration_ms"
                           " FROM imported_reviews WHERE user_id = ? ORDER BY reviewed_at, id", (user_id,))
    return [ImportedReview(user_id=r[0], source_card=r[1], rating=r[2], reviewed_at=parse(r[3]),
                           learning_day=date.fromisoformat(r[4]), duration_ms=r[5]) for r in rows]


def imported_count(db: sqlite_utils.Database, user_id: str) -> int:
    return int(db.conn.execute("SELECT count(*) FROM imported_reviews WHERE user_id = ?",
                               (user_id,)).fetchone()[0])


def imported_counts(db: sqlite_utils.Database) -> dict[str, int]:
    """Imported reviews per member."""
    return dict(db.conn.execute("SELECT user_id, count(*) FROM imported_reviews GROUP BY user_id").fetchall())

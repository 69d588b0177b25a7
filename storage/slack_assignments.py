"""All SQL of deck assignments: a deck assigned to a channel, the members it met (and what it did for
each), the one DM each member it enrolled is sent, and the participation the App Home shows.

Concurrency: each thread gets its own SQLite connection (storage.db.ThreadLocalDatabases). Every
"once" is a key: one active assignment per (channel, deck), one member row per (assignment, member),
one notice per (member, deck), claimed (pending -> sending) by one caller before it is sent, and
settled from Slack's history when the outcome of a send is unknown (bot/slack/marks.py).

Times: `now` arguments are timezone-aware; stored as UTC ISO-8601. `at_time` is a wall-clock HH:MM in
`tz` (or, without a zone, in each member's own).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime, time, timedelta

import sqlite_utils

from storage.db import ThreadLocalDatabases
from storage.timefmt import iso

OUTCOMES = ("enrolled", "already", "left")
PARTICIPATION_WINDOW = timedelta(days=7)


@dataclass(frozen=True)
class Assignment:
    id: int
    channel_id: str
    channel_name: str | None
    deck: str
    at_time: time | None
    tz: str | None
    created_by: str
    created_at: datetime


@dataclass(frozen=True)
class Notice:
    id: int
    user_id: str
    deck: str
    assignment_id: int
    attempts: int  # sends begun
    created_at: datetime


@dataclass(frozen=True)
class Participation:
    """Where the members an assignment met stand now (counts of members)."""

    members: int  # every member it met, whatever it did for them
    active: int  # in the deck and not paused
    paused: int  # in the deck, daily DM paused
    left: int  # not in the deck (left it, before or after the assignment)
    reviewed_7d: int  # reviewed a card of the deck in the last 7 days


_COLUMNS = "id, channel_id, channel_name, deck, at_time, tz, created_by, created_at"


def _assignment(row: tuple) -> Assignment:
    return Assignment(id=row[0], channel_id=row[1], channel_name=row[2], deck=row[3],
                      at_time=time.fromisoformat(row[4]) if row[4] else None, tz=row[5], created_by=row[6],
                      created_at=datetime.fromisoformat(row[7]))


class AssignmentState:
    """The assignment rows in the tutor database."""

    def __init__(self, db: sqlite_utils.Database) -> None:
        self._dbs = ThreadLocalDatabases(db)

    def add(self, *, channel_id: str, channel_name: str | None, deck: str, at_time: time | None,
            tz: str | None, created_by: str, now: datetime) -> tuple[Assignment, bool]:
        """The active assignment of `deck` to the channel, made now unless there is one (then its time
        and zone are updated to these). Returns (assignment, created)."""
        with self._dbs.write() as conn:
            row = conn.execute(f"SELECT {_COLUMNS} FROM slack_assignments WHERE channel_id = ? AND deck = ?"
                               " AND removed_at IS NULL", (channel_id, deck)).fetchone()
            hhmm = at_time.strftime("%H:%M") if at_time else None
            if row is not None:
                conn.execute("UPDATE slack_assignments SET at_time = ?, tz = ?, channel_name = ?"
                             " WHERE id = ?", (hhmm, tz, channel_name or row[2], row[0]))
                assignment_id, created = row[0], False
            else:
                assignment_id = conn.execute(
                    "INSERT INTO slack_assignments (channel_id, channel_name, deck, at_time, tz, created_by,"
                    " created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (channel_id, channel_name, deck, hhmm, tz, created_by, iso(now))).lastrowid
                created = True
            found = conn.execute(f"SELECT {_COLUMNS} FROM slack_assignments WHERE id = ?",
                                 (assignment_id,)).fetchone()
        return _assignment(found), created

    def active(self, *, channel_id: str | None = None) -> list[Assignment]:
        """Active assignments (of one channel), oldest first."""
        sql = f"SELECT {_COLUMNS} FROM slack_assignments WHERE removed_at IS NULL"
        args: tuple[str, ...] = ()
        if channel_id is not None:
            sql, args = sql + " AND channel_id = ?", (channel_id,)
        with self._dbs.connection() as conn:
            return [_assignment(r) for r in conn.execute(sql + " ORDER BY id", args).fetchall()]

    def remove(self, assignment_id: int, now: datetime) -> bool:
        with self._dbs.write() as conn:
            cursor = conn.execute("UPDATE slack_assignments SET removed_at = ? WHERE id = ?"
                                  " AND removed_at IS NULL", (iso(now), assignment_id))
        return cursor.rowcount == 1

    # members ------------------------------------------------------------------------------
    def record_member(self, assignment_id: int, user_id: str, outcome: str, now: datetime) -> bool:
        """What the assignment did for this member; the first outcome stands (False when known)."""
        if outcome not in OUTCOMES:
            raise ValueError(f"unknown outcome {outcome!r}")
        with self._dbs.write() as conn:
            cursor = conn.execute("INSERT OR IGNORE INTO slack_assignment_members (assignment_id, user_id,"
                                  " outcome, seen_at) VALUES (?, ?, ?, ?)",
                                  (assignment_id, user_id, outcome, iso(now)))
        return cursor.rowcount == 1

    def outcomes(self, assignment_id: int) -> dict[str, str]:
        """Member -> outcome, for every member the assignment met."""
        with self._dbs.connection() as conn:
            return dict(conn.execute("SELECT user_id, outcome FROM slack_assignment_members"
                                     " WHERE assignment_id = ?", (assignment_id,)).fetchall())

    def participation(self, assignment: Assignment, now: datetime) -> Participation:
        since = iso(now.astimezone(UTC) - PARTICIPATION_WINDOW)
        with self._dbs.connection() as conn:
            row = conn.execute(
                "SELECT count(*),"
                " coalesce(sum(e.user_id IS NOT NULL AND e.left_at IS NULL AND l.paused_at IS NULL), 0),"
                " coalesce(sum(e.user_id IS NOT NULL AND e.left_at IS NULL AND l.paused_at IS NOT NULL), 0),"
                " coalesce(sum(e.user_id IS NULL OR e.left_at IS NOT NULL), 0),"
                " coalesce(sum(EXISTS (SELECT 1 FROM review_log r WHERE r.user_id = m.user_id"
                "  AND r.deck = ? AND r.reviewed_at >= ?)), 0)"
                " FROM slack_assignment_members m"
                " LEFT JOIN enrollments e ON e.user_id = m.user_id AND e.deck = ?"
                " LEFT JOIN learners l ON l.user_id = m.user_id"
                " WHERE m.assignment_id = ?",
                (assignment.deck, since, assignment.deck, assignment.id)).fetchone()
        return Participation(members=row[0], active=row[1], paused=row[2], left=row[3], reviewed_7d=row[4])

    # notices ------------------------------------------------------------------------------
    def add_notice(self, user_id: str, deck: str, assignment_id: int, now: datetime) -> bool:
        """Queue the DM telling a member they were enrolled; False when they were told (or queued)
        before for this deck."""
        with self._dbs.write() as conn:
            cursor = conn.execute("INSERT OR IGNORE INTO slack_enrollment_notices (user_id, deck,"
                                  " assignment_id, status, created_at) VALUES (?, ?, ?, 'pending', ?)",
                                  (user_id, deck, assignment_id, iso(now)))
        return cursor.rowcount == 1

    _NOTICE_COLUMNS = "id, user_id, deck, assignment_id, attempts, created_at"

    @staticmethod
    def _notice(row: tuple) -> Notice:
        return Notice(id=row[0], user_id=row[1], deck=row[2], assignment_id=row[3], attempts=row[4],
                      created_at=datetime.fromisoformat(row[5]))

    def claim_notices(self, now: datetime, limit: int = 500) -> list[Notice]:
        """Take pending notices (pending -> sending, attempt 1) for this caller alone, oldest first."""
        with self._dbs.write() as conn:
            rows = conn.execute(f"SELECT {self._NOTICE_COLUMNS} FROM slack_enrollment_notices"
                                " WHERE status = 'pending' ORDER BY id LIMIT ?", (limit,)).fetchall()
            conn.executemany("UPDATE slack_enrollment_notices SET status = 'sending', attempts = 1,"
                             " attempted_at = ? WHERE id = ?", [(iso(now), r[0]) for r in rows])
        return [replace(self._notice(r), attempts=1) for r in rows]

    def stale_notices(self, before: datetime) -> list[Notice]:
        """Notices being sent whose latest attempt began at or before `before`: their outcome is
        unknown (the process died, the connection dropped)."""
        with self._dbs.connection() as conn:
            rows = conn.execute(f"SELECT {self._NOTICE_COLUMNS} FROM slack_enrollment_notices"
                                " WHERE status = 'sending' AND attempted_at <= ? ORDER BY id",
                                (iso(before),)).fetchall()
        return [self._notice(r) for r in rows]

    def retake_notice(self, notice: Notice, now: datetime) -> bool:
        """Begin attempt `notice.attempts + 1`; False when another caller began one first."""
        with self._dbs.write() as conn:
            cursor = conn.execute("UPDATE slack_enrollment_notices SET attempts = attempts + 1,"
                                  " attempted_at = ? WHERE id = ? AND status = 'sending' AND attempts = ?",
                                  (iso(now), notice.id, notice.attempts))
        return cursor.rowcount == 1

    def finish_notice(self, notice: Notice, now: datetime, *, error: str | None = None) -> None:
        with self._dbs.write() as conn:
            conn.execute("UPDATE slack_enrollment_notices SET status = ?, error = ?, sent_at = ?"
                         " WHERE id = ?", ("failed" if error else "sent", error, None if error else iso(now),
                                           notice.id))

    def notice_status(self, user_id: str, deck: str) -> str | None:
        with self._dbs.connection() as conn:
            row = conn.execute("SELECT status FROM slack_enrollment_notices WHERE user_id = ? AND deck = ?",
                               (user_id, deck)).fetchone()
        return row[0] if row else None

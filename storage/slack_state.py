"""All SQL of the Slack app: deliveries, DM review sessions, channel schedules, posts and answers.

Concurrency: each thread gets its own SQLite connection (storage.db.ThreadLocalDatabases).

Times: `now` arguments are timezone-aware datetimes, stored as UTC ISO-8601 strings.

Unfinished sends: a daily DM stays 'claimed' and a question of the day 'claimed' (posting) or
'closing' (revealing) until Slack's answer is recorded; `stale_*` lists those whose latest attempt
began before a moment, and `retake_*` lets exactly one caller start the next attempt (it bumps
`attempts` only if nobody else did since the row was read).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time

import sqlite_utils

from storage.db import ThreadLocalDatabases, equal_to
from storage.timefmt import iso

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def _iso(moment: datetime) -> str:
    if moment.tzinfo is None:
        raise ValueError("naive datetime: pass a timezone-aware one")
    return moment.astimezone(UTC).isoformat()


def _dt(text: str | None) -> datetime | None:
    return None if text is None else datetime.fromisoformat(text)


@dataclass(frozen=True)
class Delivery:
    id: int
    user_id: str
    learning_day: date
    status: str  # claimed | sent | nothing_due | failed
    due_cards: int | None
    session_id: int | None
    channel_id: str | None
    ts: str | None
    error: str | None
    claimed_at: datetime
    attempts: int  # sends begun (1 at the claim; one more each time an unfinished one is retaken)
    attempted_at: datetime  # when the latest began


@dataclass(frozen=True)
class SessionTally:
    reviewed: int
    right: int  # multiple choice answered right, or a flashcard graded Hard/Good/Easy


@dataclass(frozen=True)
class ChannelSchedule:
    id: int
    channel_id: str
    channel_name: str | None
    deck: str
    at_time: time  # local to tz
    days: tuple[int, ...]  # 0 = Monday
    tz: str
    close_time: time | None  # local to tz; None: the post closes at the next post
    created_by: str
    created_at: datetime


@dataclass(frozen=True)
class ChannelPost:
    id: int
    schedule_id: int
    local_date: date
    channel_id: str
    deck: str
    card_id: str
    status: str  # claimed | open | failed | closing | closed
    ts: str | None
    error: str | None
    closes_at: datetime | None
    claimed_at: datetime
    attempts: int  # attempts begun of the current step: posting ('claimed') or revealing ('closing')
    attempted_at: datetime  # when the latest began


@dataclass(frozen=True)
class ChannelAnswer:
    post_id: int
    user_id: str
    choice: int
    correct: bool


class SlackState:
    """The Slack app's rows in the tutor database."""

    def __init__(self, db: sqlite_utils.Database) -> None:
        self._dbs = ThreadLocalDatabases(db)
        self._read = self._dbs.connection
        self._write = self._dbs.write

    # deliveries ---------------------------------------------------------------------------
    _DELIVERY_COLUMNS = ("id, user_id, learning_day, status, due_cards, session_id, channel_id, ts, error,"
                         " claimed_at, attempts, attempted_at")

    @staticmethod
    def _delivery(r: tuple) -> Delivery:
        return Delivery(id=r[0], user_id=r[1], learning_day=date.fromisoformat(r[2]), status=r[3],
                        due_cards=r[4], session_id=r[5], channel_id=r[6], ts=r[7], error=r[8],
                        claimed_at=datetime.fromisoformat(r[9]), attempts=r[10],
                        attempted_at=datetime.fromisoformat(r[11]))

    def claimed_deliveries(self, days: Iterable[date]) -> set[tuple[str, date]]:
        """(user, learning day) pairs already claimed for any of `days`."""
        wanted = sorted({d.isoformat() for d in days})
        if not wanted:
            return set()
        marks = ",".join("?" * len(wanted))
        with self._read() as conn:
            rows = conn.execute(
                f"SELECT user_id, learning_day FROM slack_deliveries WHERE learning_day IN ({marks})", wanted
            ).fetchall()
        return {(user, date.fromisoformat(day)) for user, day in rows}

    def claim_delivery(self, user_id: str, day: date, now: datetime, *, due_cards: int,
                       origin: str = "daily") -> Delivery | None:
        """Claim the DM of `day` for `user_id`: the claimed row, or None when another tick or
        process already has it. A session is created (`session_id`) when cards are due; with none
        due the row is 'nothing_due' at once."""
        status = "claimed" if due_cards else "nothing_due"
        with self._write() as conn:
            cursor = conn.execute(
                "INSERT OR IGNORE INTO slack_deliveries (user_id, learning_day, status, due_cards,"
                " claimed_at, attempted_at, finished_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (user_id, day.isoformat(), status, due_cards, _iso(now), iso(now),
                 None if due_cards else _iso(now)))
            if cursor.rowcount == 0:
                return None
            delivery_id = cursor.lastrowid
            if due_cards:
                session_id = conn.execute(
                    "INSERT INTO slack_review_sessions (user_id, origin, started_at) VALUES (?, ?, ?)",
                    (user_id, origin, _iso(now))).lastrowid
                conn.execute("UPDATE slack_deliveries SET session_id = ? WHERE id = ?",
                             (session_id, delivery_id))
            row = conn.execute(f"SELECT {self._DELIVERY_COLUMNS} FROM slack_deliveries WHERE id = ?",
                               (delivery_id,)).fetchone()
        return self._delivery(row)

    def finish_delivery(self, user_id: str, day: date, now: datetime, *, status: str,
                        channel_id: str | None = None, ts: str | None = None,
                        error: str | None = None) -> None:
        with self._write() as conn:
            conn.execute(
                "UPDATE slack_deliveries SET status = ?, channel_id = ?, ts = ?, error = ?, finished_at = ?"
                " WHERE user_id = ? AND learning_day = ?",
                (status, channel_id, ts, error, _iso(now), user_id, day.isoformat()))

    def note_delivery_attempt(self, delivery_id: int, error: str) -> None:
        """Record why an attempt's outcome is unknown; the row stays 'claimed' for reconciling."""
        with self._write() as conn:
            conn.execute("UPDATE slack_deliveries SET error = ? WHERE id = ?", (error, delivery_id))

    def stale_delivery_claims(self, before: datetime) -> list[Delivery]:
        """Claimed DMs with a session whose latest attempt began at or before `before`, oldest first."""
        with self._read() as conn:
            rows = conn.execute(f"SELECT {self._DELIVERY_COLUMNS} FROM slack_deliveries"
                                " WHERE status = 'claimed' AND attempted_at <= ? AND session_id IS NOT NULL"
                                " ORDER BY attempted_at",
                                (iso(before),)).fetchall()
        return [self._delivery(r) for r in rows]

    def retake_delivery(self, delivery_id: int, attempts: int, now: datetime) -> bool:
        """Begin attempt `attempts + 1` of a claimed DM; False when another caller began one first."""
        with self._write() as conn:
            cursor = conn.execute("UPDATE slack_deliveries SET attempts = attempts + 1, attempted_at = ?"
                                  " WHERE id = ? AND status = 'claimed' AND attempts = ?",
                                  (iso(now), delivery_id, attempts))
        return cursor.rowcount == 1

    def session_delivery(self, session_id: int) -> int | None:
        """The id of the daily delivery that started this review session (None: started on demand)."""
        with self._read() as conn:
            row = conn.execute("SELECT id FROM slack_deliveries WHERE session_id = ?",
                               (session_id,)).fetchone()
        return row[0] if row else None

    def deliveries(self, *, user_id: str | None = None, day: date | None = None) -> list[Delivery]:
        where, args = equal_to({"user_id": user_id, "learning_day": day.isoformat() if day else None})
        sql = (f"SELECT {self._DELIVERY_COLUMNS} FROM slack_deliveries" + (f" WHERE {where}" if where else "")
               + " ORDER BY learning_day, user_id")
        with self._read() as conn:
            rows = conn.execute(sql, args).fetchall()
        return [self._delivery(r) for r in rows]

    def dm_channel(self, user_id: str) -> str | None:
        with self._read() as conn:
            row = conn.execute("SELECT channel_id FROM slack_dm_channels WHERE user_id = ?",
                               (user_id,)).fetchone()
        return row[0] if row else None

    def remember_dm_channel(self, user_id: str, channel_id: str) -> None:
        with self._write() as conn:
            conn.execute("INSERT OR REPLACE INTO slack_dm_channels (user_id, channel_id) VALUES (?, ?)",
                         (user_id, channel_id))

    # review sessions ----------------------------------------------------------------------
    def create_session(self, user_id: str, origin: str, now: datetime) -> int:
        with self._write() as conn:
            session_id = conn.execute(
                "INSERT INTO slack_review_sessions (user_id, origin, started_at) VALUES (?, ?, ?)",
                (user_id, origin, _iso(now))).lastrowid
        assert session_id is not None
        return session_id

    def session_user(self, session_id: int) -> str | None:
        with self._read() as conn:
            row = conn.execute("SELECT user_id FROM slack_review_sessions WHERE id = ?",
                               (session_id,)).fetchone()
        return row[0] if row else None

    def record_session_answer(self, session_id: int, deck: str, card_id: str, *, seq: int, rating: int,
                              correct: bool | None, now: datetime) -> bool:
        """Count an answer in its session; False when it was already counted (double click)."""
        with self._write() as conn:
            cursor = conn.execute(
                "INSERT OR IGNORE INTO slack_session_answers (session_id, deck, card_id, seq, rating,"
                " correct, answered_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (session_id, deck, card_id, seq, rating, None if correct is None else int(correct),
                 _iso(now)))
        return cursor.rowcount == 1

    def card_shown(self, session_id: int, deck: str, card_id: str, seq: int, now: datetime) -> None:
        """Remember when the session's message first showed this card for this review."""
        with self._write() as conn:
            conn.execute("INSERT OR IGNORE INTO slack_card_views (session_id, deck, card_id, seq, shown_at)"
                         " VALUES (?, ?, ?, ?, ?)", (session_id, deck, card_id, seq, _iso(now)))

    def shown_at(self, session_id: int, deck: str, card_id: str, seq: int) -> datetime | None:
        with self._read() as conn:
            row = conn.execute("SELECT shown_at FROM slack_card_views WHERE session_id = ? AND deck = ?"
                               " AND card_id = ? AND seq = ?", (session_id, deck, card_id, seq)).fetchone()
        return _dt(row[0]) if row else None

    def session_answered(self, session_id: int) -> set[tuple[str, str]]:
        """(deck, card id) of the cards already answered in this session."""
        with self._read() as conn:
            rows = conn.execute("SELECT deck, card_id FROM slack_session_answers WHERE session_id = ?",
                                (session_id,)).fetchall()
        return {(deck, card) for deck, card in rows}

    def session_tally(self, session_id: int) -> SessionTally:
        with self._read() as conn:
            reviewed, right = conn.execute(
                "SELECT COUNT(*), COALESCE(SUM(CASE WHEN correct = 1 OR (correct IS NULL AND rating >= 2)"
                " THEN 1 ELSE 0 END), 0) FROM slack_session_answers WHERE session_id = ?",
                (session_id,)).fetchone()
        return SessionTally(reviewed=reviewed, right=right)

    def finish_session(self, session_id: int, now: datetime) -> bool:
        """Mark the session finished; True only the first time."""
        with self._write() as conn:
            cursor = conn.execute("UPDATE slack_review_sessions SET finished_at = ? WHERE id = ?"
                                  " AND finished_at IS NULL", (_iso(now), session_id))
        return cursor.rowcount == 1

    # channel schedules --------------------------------------------------------------------
    _SCHEDULE_COLUMNS = ("id, channel_id, channel_name, deck, at_time, days, tz, close_time, created_by,"
                         " created_at")

    @staticmethod
    def _schedule(row: tuple) -> ChannelSchedule:
        return ChannelSchedule(
            id=row[0], channel_id=row[1], channel_name=row[2], deck=row[3],
            at_time=time.fromisoformat(row[4]),
            days=tuple(WEEKDAYS.index(d) for d in row[5].split(",")), tz=row[6],
            close_time=time.fromisoformat(row[7]) if row[7] else None, created_by=row[8],
            created_at=datetime.fromisoformat(row[9]))

    def add_schedule(self, *, channel_id: str, channel_name: str | None, deck: str, at_time: time,
                     days: Iterable[int], tz: str, close_time: time | None, created_by: str,
                     now: datetime) -> ChannelSchedule:
        day_text = ",".join(WEEKDAYS[d] for d in sorted(set(days)))
        with self._write() as conn:
            schedule_id = conn.execute(
                "INSERT INTO slack_channel_schedules (channel_id, channel_name, deck, at_time, days, tz,"
                " close_time, created_by, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (channel_id, channel_name, deck, at_time.strftime("%H:%M"), day_text, tz,
                 close_time.strftime("%H:%M") if close_time else None, created_by, _iso(now))).lastrowid
        found = self.schedule(schedule_id or 0)
        assert found is not None
        return found

    def schedule(self, schedule_id: int) -> ChannelSchedule | None:
        with self._read() as conn:
            row = conn.execute(f"SELECT {self._SCHEDULE_COLUMNS} FROM slack_channel_schedules WHERE id = ?"
                               " AND removed_at IS NULL", (schedule_id,)).fetchone()
        return self._schedule(row) if row else None

    def schedules(self) -> list[ChannelSchedule]:
        """Active schedules, oldest first."""
        with self._read() as conn:
            rows = conn.execute(f"SELECT {self._SCHEDULE_COLUMNS} FROM slack_channel_schedules"
                                " WHERE removed_at IS NULL ORDER BY id").fetchall()
        return [self._schedule(r) for r in rows]

    def remove_schedule(self, schedule_id: int, now: datetime) -> ChannelSchedule | None:
        found = self.schedule(schedule_id)
        if found is None:
            return None
        with self._write() as conn:
            conn.execute("UPDATE slack_channel_schedules SET removed_at = ? WHERE id = ?"
                         " AND removed_at IS NULL",
                         (_iso(now), schedule_id))
        return found

    # question-of-the-day posts ------------------------------------------------------------
    _POST_COLUMNS = ("id, schedule_id, local_date, channel_id, deck, card_id, status, ts, error, closes_at,"
                     " claimed_at, attempts, attempted_at")

    @staticmethod
    def _post(row: tuple) -> ChannelPost:
        return ChannelPost(id=row[0], schedule_id=row[1], local_date=date.fromisoformat(row[2]),
                           channel_id=row[3], deck=row[4], card_id=row[5], status=row[6], ts=row[7],
                           error=row[8], closes_at=_dt(row[9]), claimed_at=datetime.fromisoformat(row[10]),
                           attempts=row[11], attempted_at=datetime.fromisoformat(row[12]))

    def claim_post(self, schedule: ChannelSchedule, local_date: date, candidates: list[str], now: datetime,
                   *, closes_at: datetime | None) -> ChannelPost | None:
        """Claim the post of `local_date` for `schedule`, choosing the card of `candidates` (in deck
        order) this channel has seen least often, so the deck cycles once all are seen. None when the
        post was already claimed (by this or another process) or there is no candidate."""
        if not candidates:
            return None
        with self._write() as conn:
            seen = dict(conn.execute(
                "SELECT card_id, COUNT(*) FROM slack_channel_posts WHERE channel_id = ?"
                " AND status != 'failed' GROUP BY card_id", (schedule.channel_id,)).fetchall())
            card = min(candidates, key=lambda c: seen.get(c, 0))
            cursor = conn.execute(
                "INSERT OR IGNORE INTO slack_channel_posts (schedule_id, local_date, channel_id, deck,"
                " card_id, status, claimed_at, attempted_at, closes_at)"
                " VALUES (?, ?, ?, ?, ?, 'claimed', ?, ?, ?)",
                (schedule.id, local_date.isoformat(), schedule.channel_id, schedule.deck, card, _iso(now),
                 iso(now), _iso(closes_at) if closes_at else None))
            if cursor.rowcount == 0:
                return None
            post_id = cursor.lastrowid
        return self.post(post_id or 0)

    def has_post(self, schedule_id: int, local_date: date) -> bool:
        with self._read() as conn:
            return conn.execute("SELECT 1 FROM slack_channel_posts WHERE schedule_id = ? AND local_date = ?",
                                (schedule_id, local_date.isoformat())).fetchone() is not None

    def post(self, post_id: int) -> ChannelPost | None:
        with self._read() as conn:
            row = conn.execute(f"SELECT {self._POST_COLUMNS} FROM slack_channel_posts WHERE id = ?",
                               (post_id,)).fetchone()
        return self._post(row) if row else None

    def posts(self, *, schedule_id: int | None = None, status: str | None = None) -> list[ChannelPost]:
        where, args = equal_to({"schedule_id": schedule_id, "status": status})
        sql = (f"SELECT {self._POST_COLUMNS} FROM slack_channel_posts"
               + (f" WHERE {where}" if where else "") + " ORDER BY id")
        with self._read() as conn:
            return [self._post(r) for r in conn.execute(sql, args).fetchall()]

    def set_post_status(self, post_id: int, status: str, *, ts: str | None = None, error: str | None = None,
                        now: datetime | None = None) -> None:
        with self._write() as conn:
            conn.execute("UPDATE slack_channel_posts SET status = ?, ts = COALESCE(?, ts), error = ?,"
                         " closed_at = CASE WHEN ? = 'closed' THEN ? ELSE closed_at END WHERE id = ?",
                         (status, ts, error, status, _iso(now) if now else None, post_id))

    def claim_close(self, post_id: int, now: datetime) -> bool:
        """Move an open post to 'closing'; True for the one caller that gets to post the answer."""
        with self._write() as conn:
            cursor = conn.execute("UPDATE slack_channel_posts SET status = 'closing', attempts = 1,"
                                  " attempted_at = ? WHERE id = ? AND status = 'open'", (iso(now), post_id))
        return cursor.rowcount == 1

    def note_post_attempt(self, post_id: int, error: str) -> None:
        """Record why an attempt's outcome is unknown; the post stays as it is for reconciling."""
        with self._write() as conn:
            conn.execute("UPDATE slack_channel_posts SET error = ? WHERE id = ?", (error, post_id))

    def stale_posts(self, before: datetime) -> list[ChannelPost]:
        """Posts still 'claimed' or 'closing' whose latest attempt began at or before `before`."""
        with self._read() as conn:
            rows = conn.execute(f"SELECT {self._POST_COLUMNS} FROM slack_channel_posts WHERE status IN"
                                " ('claimed', 'closing') AND attempted_at <= ? ORDER BY id",
                                (iso(before),)).fetchall()
        return [self._post(r) for r in rows]

    def retake_post(self, post_id: int, status: str, attempts: int, now: datetime) -> bool:
        """Begin attempt `attempts + 1` of an unfinished post in `status`; False when another caller
        began one first (or the post moved on)."""
        with self._write() as conn:
            cursor = conn.execute("UPDATE slack_channel_posts SET attempts = attempts + 1, attempted_at = ?"
                                  " WHERE id = ? AND status = ? AND attempts = ?",
                                  (iso(now), post_id, status, attempts))
        return cursor.rowcount == 1

    def record_channel_answer(self, post_id: int, user_id: str, choice: int, correct: bool,
                              now: datetime) -> tuple[bool, ChannelAnswer]:
        """Store a member's answer to a post. Returns (stored, the answer that stands): stored is
        False when the member had already answered (the first answer stands)."""
        with self._write() as conn:
            cursor = conn.execute(
                "INSERT OR IGNORE INTO slack_channel_answers (post_id, user_id, choice, correct, answered_at)"
                " VALUES (?, ?, ?, ?, ?)", (post_id, user_id, choice, int(correct), _iso(now)))
            row = conn.execute("SELECT choice, correct FROM slack_channel_answers WHERE post_id = ?"
                               " AND user_id = ?", (post_id, user_id)).fetchone()
        return cursor.rowcount == 1, ChannelAnswer(post_id, user_id, row[0], bool(row[1]))

    def answer_counts(self, post_id: int) -> dict[int, int]:
        """How many members chose each option (0-based index), from the stored answers."""
        with self._read() as conn:
            rows = conn.execute("SELECT choice, COUNT(*) FROM slack_channel_answers WHERE post_id = ?"
                                " GROUP BY choice", (post_id,)).fetchall()
        return {choice: count for choice, count in rows}

"""SQL for the FSRS state of each (learner, card), the review log, undo, and what is due.

Recording a review is: read the state, insert the log row (UNIQUE (user, deck, card, seq) makes a
second insert of the same answer fail), write the new state, all inside one `transaction` that the
caller opens (BEGIN IMMEDIATE: two writers serialise, the second sees the first's row).
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from datetime import date, datetime
from typing import Any

import sqlite_utils

from storage.db import equal_to
from storage.timefmt import iso, parse, parse_optional

# The columns of card_states, in this order everywhere below.
_STATE_COLUMNS = ("user_id", "deck", "card_id", "state", "step", "stability", "difficulty", "due",
                  "last_review", "reps", "lapses", "seq", "suspended_at", "last_day")


@dataclass(frozen=True)
class CardState:
    """A learner's FSRS state of one card. `state` is fsrs.State's value; times are UTC. `last_day` is
    the learning day of the last review in the learner's zone then: FSRS counts elapsed time from it,
    in whole learning days (bot/srs.py)."""

    user_id: str
    deck: str
    card_id: str
    state: int
    step: int | None
    stability: float | None
    difficulty: float | None
    due: datetime
    last_review: datetime | None
    reps: int
    lapses: int
    seq: int  # the seq of the last review recorded
    suspended_at: datetime | None = None
    last_day: date | None = None

    def to_row(self) -> tuple[Any, ...]:
        return (self.user_id, self.deck, self.card_id, self.state, self.step, self.stability, self.difficulty,
                iso(self.due), None if self.last_review is None else iso(self.last_review), self.reps,
                self.lapses, self.seq, None if self.suspended_at is None else iso(self.suspended_at),
                None if self.last_day is None else self.last_day.isoformat())

    @classmethod
    def from_row(cls, row: Sequence[Any]) -> CardState:
        """From a row in _STATE_COLUMNS order (older undo snapshots lack `last_day`: None)."""
        last_day = row[13] if len(row) > 13 else None
        return cls(user_id=row[0], deck=row[1], card_id=row[2], state=row[3], step=row[4], stability=row[5],
                   difficulty=row[6], due=parse(row[7]), last_review=parse_optional(row[8]), reps=row[9],
                   lapses=row[10], seq=row[11], suspended_at=parse_optional(row[12]),
                   last_day=None if last_day is None else date.fromisoformat(last_day))

    def to_dict(self) -> dict[str, Any]:
        return dict(zip(_STATE_COLUMNS, self.to_row(), strict=True))

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CardState:
        return cls.from_row([data.get(c) for c in _STATE_COLUMNS])


@dataclass(frozen=True)
class ReviewRecord:
    """One row of the review log. `before` is the state the review replaced (None: the card was new)."""

    user_id: str
    deck: str
    card_id: str
    seq: int
    rating: int  # 1..4, fsrs.Rating
    choice: int | None
    correct: bool | None
    reviewed_at: datetime  # UTC
    learning_day: date  # in the learner's zone
    duration_ms: int | None
    source: str  # one of bot.tutor.SOURCES
    before: CardState | None
    due: datetime  # next due this review gave, UTC
    leech: bool
    id: int | None = None

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["before"] = None if self.before is None else self.before.to_dict()
        return data


_LOG_COLUMNS = ("id, user_id, deck, card_id, seq, rating, choice, correct, reviewed_at, learning_day,"
                " duration_ms, source, before, due, leech")


_IDENTITY = 3  # user_id, deck, card_id: the log row has them, the JSON of the state before does not


def _state_to_json(state: CardState) -> str:
    return json.dumps(state.to_row()[_IDENTITY:], separators=(",", ":"))


def _state_from_json(identity: Sequence[Any], text: str) -> CardState:
    return CardState.from_row([*identity, *json.loads(text)])


def _record(row: Sequence[Any]) -> ReviewRecord:
    return ReviewRecord(
        id=row[0], user_id=row[1], deck=row[2], card_id=row[3], seq=row[4], rating=row[5], choice=row[6],
        correct=None if row[7] is None else bool(row[7]), reviewed_at=parse(row[8]),
        learning_day=date.fromisoformat(row[9]), duration_ms=row[10], source=row[11],
        before=None if row[12] is None else _state_from_json(row[1:4], row[12]), due=parse(row[13]),
        leech=bool(row[14]))


def get_state(db: sqlite_utils.Database, user_id: str, deck: str, card_id: str) -> CardState | None:
    row = db.conn.execute(f"SELECT {', '.join(_STATE_COLUMNS)} FROM card_states"
                          " WHERE user_id = ? AND deck = ? AND card_id = ?",
                          (user_id, deck, card_id)).fetchone()
    return None if row is None else CardState.from_row(row)


def states_of(db: sqlite_utils.Database, user_id: str, deck: str | None = None) -> list[CardState]:
    where, params = equal_to({"user_id": user_id, "deck": deck})
    sql = f"SELECT {', '.join(_STATE_COLUMNS)} FROM card_states WHERE {where} ORDER BY deck, card_id"
    return [CardState.from_row(r) for r in db.conn.execute(sql, params)]


def _put_state(conn: Any, state: CardState) -> None:
    conn.execute(f"INSERT OR REPLACE INTO card_states ({', '.join(_STATE_COLUMNS)})"
                 f" VALUES ({', '.join('?' * len(_STATE_COLUMNS))})", state.to_row())


def _log_row(record: ReviewRecord) -> tuple[Any, ...]:
    return (record.user_id, record.deck, record.card_id, record.seq, record.rating, record.choice,
            None if record.correct is None else int(record.correct), iso(record.reviewed_at),
            record.learning_day.isoformat(), record.duration_ms, record.source,
            None if record.before is None else record.before.state,
            None if record.before is None else _state_to_json(record.before), iso(record.due),
            int(record.leech))


_INSERT_LOG = ("INSERT INTO review_log (user_id, deck, card_id, seq, rating, choice, correct, reviewed_at,"
               " learning_day, duration_ms, source, state_before, before, due, leech)"
               " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")


def record_review(db: sqlite_utils.Database, record: ReviewRecord, after: CardState) -> None:
    """Insert the log row and write the state after it. Call inside `transaction(db)`; raises
    sqlite3.IntegrityError when (user, deck, card, seq) is already recorded."""
    conn = db.conn
    if not conn.in_transaction:
        raise RuntimeError("record_review must run inside transaction(db)")
    conn.execute(_INSERT_LOG, _log_row(record))
    _put_state(conn, after)


def latest_review(db: sqlite_utils.Database, user_id: str, deck: str, card_id: str) -> ReviewRecord | None:
    row = db.conn.execute(f"SELECT {_LOG_COLUMNS} FROM review_log"
                          " WHERE user_id = ? AND deck = ? AND card_id = ? ORDER BY seq DESC LIMIT 1",
                          (user_id, deck, card_id)).fetchone()
    return None if row is None else _record(row)


def last_review_of_user(db: sqlite_utils.Database, user_id: str) -> ReviewRecord | None:
    """The review recorded last (not: with the latest time) by the learner."""
    row = db.conn.execute(f"SELECT {_LOG_COLUMNS} FROM review_log WHERE user_id = ?"
                          " ORDER BY id DESC LIMIT 1", (user_id,)).fetchone()
    return None if row is None else _record(row)


def reviews_of(db: sqlite_utils.Database, user_id: str, deck: str | None = None) -> list[ReviewRecord]:
    """The learner's review log, oldest first."""
    where, params = equal_to({"user_id": user_id, "deck": deck})
    sql = f"SELECT {_LOG_COLUMNS} FROM review_log WHERE {where} ORDER BY reviewed_at, id"
    return [_record(r) for r in db.conn.execute(sql, params)]


def undo_review(db: sqlite_utils.Database, record: ReviewRecord) -> None:
    """Delete the log row and put back the state before it (no row when the card was new).
    Call inside `transaction(db)`."""
    conn = db.conn
    if not conn.in_transaction:
        raise RuntimeError("undo_review must run inside transaction(db)")
    conn.execute("DELETE FROM review_log WHERE id = ?", (record.id,))
    if record.before is None:
        conn.execute("DELETE FROM card_states WHERE user_id = ? AND deck = ? AND card_id = ?",
                     (record.user_id, record.deck, record.card_id))
    else:
        _put_state(conn, record.before)


def set_suspended(db: sqlite_utils.Database, user_id: str, deck: str, card_id: str,
                  at: datetime | None) -> bool:
    conn = db.conn
    cursor = conn.execute("UPDATE card_states SET suspended_at = ?"
                          " WHERE user_id = ? AND deck = ? AND card_id = ?",
                          (None if at is None else iso(at), user_id, deck, card_id))
    return cursor.rowcount == 1


@dataclass(frozen=True)
class DueRow:
    user_id: str
    deck: str
    card_id: str
    due: datetime  # UTC
    seq: int  # of the last review; the next one is seq + 1


_ACTIVE = """JOIN enrollments e ON e.user_id = {t}.user_id AND e.deck = {t}.deck AND e.left_at IS NULL
    JOIN learners l ON l.user_id = e.user_id AND l.paused_at IS NULL"""


def due_review_rows(db: sqlite_utils.Database, *, before: datetime, user_id: str | None = None,
                    deck: str | None = None, include_paused: bool = False) -> list[DueRow]:
    """Scheduled cards (not reflection-only prompts) due before `before` (UTC) of active enrollments
    of unpaused (or, with include_paused, all) learners, not suspended nor retired, by learner then
    due time (most overdue first)."""
    active = _ACTIVE.format(t="s")
    if include_paused:
        active = active.replace(" AND l.paused_at IS NULL", "")
    sql = (f"SELECT s.user_id, s.deck, s.card_id, s.due, s.seq FROM card_states s {active}"
           " JOIN cards c ON c.deck = s.deck AND c.card_id = s.card_id"
           "  AND c.retired_at IS NULL AND c.scheduled = 1"
           " WHERE s.suspended_at IS NULL AND s.due < ?")
    params: list[Any] = [iso(before)]
    filters, values = equal_to({"s.user_id": user_id, "s.deck": deck})
    if filters:
        sql += " AND " + filters
        params += values
    rows = db.conn.execute(sql + " ORDER BY s.user_id, s.due, s.deck, s.card_id", params)
    return [DueRow(user_id=r[0], deck=r[1], card_id=r[2], due=parse(r[3]), seq=r[4]) for r in rows]


def day_reviews(db: sqlite_utils.Database, days: Iterable[date], *,
                user_id: str | None = None) -> list[tuple[str, str, str, int, date]]:
    """(user, deck, card_id, seq, learning day) of every review on those learning days."""
    day_list = sorted({d.isoformat() for d in days})
    if not day_list:
        return []
    sql = (f"SELECT user_id, deck, card_id, seq, learning_day FROM review_log"
           f" WHERE learning_day IN ({', '.join('?' * len(day_list))})")
    params: list[object] = list(day_list)
    filters, values = equal_to({"user_id": user_id})
    if filters:
        sql += " AND " + filters
        params += values
    return [(r[0], r[1], r[2], r[3], date.fromisoformat(r[4])) for r in db.conn.execute(sql, params)]


def due_load(db: sqlite_utils.Database, user_id: str, *, start: datetime, end: datetime,
             exclude: tuple[str, str]) -> list[tuple[datetime, int]]:
    """(due moment, cards) for the learner's cards not suspended due in [start, end) (UTC), leaving out
    `exclude` = (deck, card_id): the load each day already carries, for spreading a new due date."""
    rows = db.conn.execute(
        "SELECT due, count(*) FROM card_states WHERE user_id = ? AND suspended_at IS NULL"
        " AND due >= ? AND due < ? AND NOT (deck = ? AND card_id = ?) GROUP BY due",
        (user_id, iso(start), iso(end), *exclude))
    return [(parse(r[0]), r[1]) for r in rows]


def answer_times(db: sqlite_utils.Database, user_id: str, *, sources: Sequence[str],
                 limit: int) -> list[int]:
    """The learner's last `limit` answer times (ms) of right multiple-choice answers from `sources`."""
    marks = ", ".join("?" * len(sources))
    rows = db.conn.execute(
        f"SELECT duration_ms FROM review_log WHERE user_id = ? AND correct = 1 AND duration_ms IS NOT NULL"
        f" AND source IN ({marks}) ORDER BY id DESC LIMIT ?", (user_id, *sources, limit))
    return [r[0] for r in rows]


def due_state_rows(db: sqlite_utils.Database, *, before: str, user_id: str | None = None,
                   deck: str | None = None) -> list[tuple[str, str, str, str, int]]:
    """(user_id, deck, card_id, due as stored, seq) of the card states not suspended due before `before`
    (stored form, storage.timefmt), by learner then due time: every learner's, the enrollment, pause
    and card filters left to the caller (the daily planner has them in memory; joining them here cost
    more than the rest of the query)."""
    sql = "SELECT user_id, deck, card_id, due, seq FROM card_states WHERE suspended_at IS NULL AND due < ?"
    filters, params = equal_to({"user_id": user_id, "deck": deck})
    if filters:
        sql += " AND " + filters
    return db.conn.execute(sql + " ORDER BY user_id, due, deck, card_id", [before, *params]).fetchall()


def seen_cards(db: sqlite_utils.Database, *, user_id: str | None = None) -> dict[tuple[str, str], set[str]]:
    """(user_id, deck) -> the card ids the learner has a state of (reviewed at least once): one scan of
    card_states, from which the planner takes both the unseen cards and the concept flashcards learned."""
    filters, params = equal_to({"user_id": user_id})
    where = f" WHERE {filters}" if filters else ""
    seen: dict[tuple[str, str], set[str]] = defaultdict(set)
    for u, d, card_id in db.conn.execute(f"SELECT user_id, deck, card_id FROM card_states{where}", params):
        seen[u, d].add(card_id)
    return seen


@dataclass(frozen=True)
class RatedReview:
    """One review as a memory model sees it: which card, the grade, when, and on which learning day."""

    user_id: str
    deck: str
    card_id: str
    rating: int
    reviewed_at: datetime  # UTC
    learning_day: date


def rated_reviews(db: sqlite_utils.Database, *, user_id: str | None = None,
                  deck: str | None = None) -> list[RatedReview]:
    """The review log (of a learner, a deck, or both) oldest first, without the undo snapshots."""
    where, params = equal_to({"user_id": user_id, "deck": deck})
    sql = ("SELECT user_id, deck, card_id, rating, reviewed_at, learning_day FROM review_log"
           f"{' WHERE ' + where if where else ''} ORDER BY reviewed_at, id")
    return [RatedReview(user_id=r[0], deck=r[1], card_id=r[2], rating=r[3], reviewed_at=parse(r[4]),
                        learning_day=date.fromisoformat(r[5])) for r in db.conn.execute(sql, params)]


def review_count(db: sqlite_utils.Database, user_id: str) -> int:
    return int(db.conn.execute("SELECT count(*) FROM review_log WHERE user_id = ?", (user_id,)).fetchone()[0])


def review_counts(db: sqlite_utils.Database, by: str) -> dict[str, int]:
    """Reviews in the log per learner (`by="user_id"`) or per deck (`by="deck"`)."""
    if by not in ("user_id", "deck"):
        raise ValueError(f"count reviews by user_id or deck, not {by!r}")
    return dict(db.conn.execute(f"SELECT {by}, count(*) FROM review_log GROUP BY {by}").fetchall())


def member_deck_review_counts(db: sqlite_utils.Database, deck: str) -> dict[str, int]:
    """Reviews of the deck in the log per learner."""
    return dict(db.conn.execute("SELECT user_id, count(*) FROM review_log WHERE deck = ? GROUP BY user_id",
                                (deck,)).fetchall())


MemoryRow = tuple[float | None, float | None, str, str, str]  # stability, difficulty, user_id, deck, card_id


def set_memory(db: sqlite_utils.Database, rows: Iterable[MemoryRow]) -> None:
    """Set (stability, difficulty) of (user_id, deck, card_id) states, after new FSRS parameters were
    adopted (due dates are kept, as Anki keeps them). Call inside `transaction(db)`."""
    conn = db.conn
    if not conn.in_transaction:
        raise RuntimeError("set_memory must run inside transaction(db)")
    conn.executemany("UPDATE card_states SET stability = ?, difficulty = ?"
                     " WHERE user_id = ? AND deck = ? AND card_id = ?", rows)


def insert_history(db: sqlite_utils.Database, states: Iterable[CardState],
                   records: Iterable[ReviewRecord]) -> None:
    """Bulk load of states and log rows as they are (no scheduling), for benchmarks and migrations
    from another tool. Call inside `transaction(db)`."""
    conn = db.conn
    if not conn.in_transaction:
        raise RuntimeError("insert_history must run inside transaction(db)")
    conn.executemany(f"INSERT INTO card_states ({', '.join(_STATE_COLUMNS)})"
                     f" VALUES ({', '.join('?' * len(_STATE_COLUMNS))})", (s.to_row() for s in states))
    conn.executemany(_INSERT_LOG, (_log_row(r) for r in records))

"""SQL of the learning modes: answers written to open prompts, and "test this pattern" runs.

The reviews these make are in review_log (storage.reviews); these rows keep what the review log
cannot: the text of an answer and its concept grade, and which questions a test asked, in which
order, and what was chosen. Writes that belong with a review run inside the caller's
`transaction(db)`. Times are UTC.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlite_utils

from storage.timefmt import iso, parse, parse_optional


# open prompts ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class PromptAnswerRow:
    user_id: str
    deck: str
    card_id: str
    seq: int  # review_log's seq of the review the answer made
    answer: str
    grade: dict[str, Any]  # ConceptGrade.to_dict()
    source: str
    answered_at: datetime


def save_prompt_answer(db: sqlite_utils.Database, row: PromptAnswerRow) -> None:
    """Store an answer with its grade; an answer under the same seq (its review was undone) is
    replaced."""
    db.conn.execute(
        "INSERT OR REPLACE INTO prompt_answers (user_id, deck, card_id, seq, answer, concepts_covered,"
        " concepts_total, grader, grade, source, answered_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (row.user_id, row.deck, row.card_id, row.seq, row.answer, row.grade["covered"], row.grade["of"],
         row.grade["grader"], json.dumps(row.grade, ensure_ascii=False), row.source, iso(row.answered_at)))


def prompt_answer(db: sqlite_utils.Database, user_id: str, deck: str, card_id: str,
                  seq: int) -> PromptAnswerRow | None:
    found = db.conn.execute(
        "SELECT user_id, deck, card_id, seq, answer, grade, source, answered_at FROM prompt_answers"
        " WHERE user_id = ? AND deck = ? AND card_id = ? AND seq = ?",
        (user_id, deck, card_id, seq)).fetchone()
    if found is None:
        return None
    return PromptAnswerRow(user_id=found[0], deck=found[1], card_id=found[2], seq=found[3], answer=found[4],
                           grade=json.loads(found[5]), source=found[6], answered_at=parse(found[7]))


# test this pattern -------------------------------------------------------------------------
@dataclass(frozen=True)
class PatternTestRow:
    id: int
    user_id: str
    deck: str
    questions: tuple[tuple[str, str], ...]  # (card id, level), in the order asked
    source: str
    started_at: datetime
    finished_at: datetime | None
    score: int | None  # right answers, once finished

    @property
    def total(self) -> int:
        return len(self.questions)


@dataclass(frozen=True)
class PatternAnswerRow:
    test_id: int
    position: int
    card_id: str
    level: str
    choice: int
    correct: bool
    seq: int
    answered_at: datetime


_TEST_COLUMNS = "id, user_id, deck, questions, source, started_at, finished_at, score"


def _test(row: Sequence[Any]) -> PatternTestRow:
    return PatternTestRow(id=row[0], user_id=row[1], deck=row[2],
                   questions=tuple((str(c), str(lv)) for c, lv in json.loads(row[3])), source=row[4],
                   started_at=parse(row[5]), finished_at=parse_optional(row[6]), score=row[7])


def create_test(db: sqlite_utils.Database, *, user_id: str, deck: str,
                questions: Sequence[tuple[str, str]], source: str, now: datetime) -> int:
    cursor = db.conn.execute(
        "INSERT INTO pattern_tests (user_id, deck, questions, source, started_at, total)"
        " VALUES (?, ?, ?, ?, ?, ?)",
        (user_id, deck, json.dumps([list(q) for q in questions]), source, iso(now), len(questions)))
    assert cursor.lastrowid is not None
    return cursor.lastrowid


def get_test(db: sqlite_utils.Database, test_id: int) -> PatternTestRow | None:
    row = db.conn.execute(f"SELECT {_TEST_COLUMNS} FROM pattern_tests WHERE id = ?", (test_id,)).fetchone()
    return None if row is None else _test(row)


def record_test_answer(db: sqlite_utils.Database, answer: PatternAnswerRow) -> bool:
    """Store the answer to one question of a test; False when that question was already answered."""
    cursor = db.conn.execute(
        "INSERT OR IGNORE INTO pattern_test_answers (test_id, position, card_id, level, choice, correct, seq,"
        " answered_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (answer.test_id, answer.position, answer.card_id, answer.level, answer.choice, int(answer.correct),
         answer.seq, iso(answer.answered_at)))
    return cursor.rowcount == 1


def answers_of_test(db: sqlite_utils.Database, test_id: int) -> list[PatternAnswerRow]:
    rows = db.conn.execute(
        "SELECT test_id, position, card_id, level, choice, correct, seq, answered_at"
        " FROM pattern_test_answers WHERE test_id = ? ORDER BY position", (test_id,))
    return [PatternAnswerRow(test_id=r[0], position=r[1], card_id=r[2], level=r[3], choice=r[4],
                          correct=bool(r[5]), seq=r[6], answered_at=parse(r[7])) for r in rows]


def finish_test(db: sqlite_utils.Database, test_id: int, now: datetime) -> bool:
    """Mark the test finished with its score (the right answers); True only the first time."""
    cursor = db.conn.execute(
        "UPDATE pattern_tests SET finished_at = ?, score = (SELECT count(*) FROM pattern_test_answers a"
        " WHERE a.test_id = pattern_tests.id AND a.correct = 1) WHERE id = ? AND finished_at IS NULL",
        (iso(now), test_id))
    return cursor.rowcount == 1


def finished_tests(db: sqlite_utils.Database, user_id: str, *, limit: int = 5) -> list[PatternTestRow]:
    """The learner's finished tests, latest first."""
    rows = db.conn.execute(f"SELECT {_TEST_COLUMNS} FROM pattern_tests WHERE user_id = ?"
                           " AND finished_at IS NOT NULL ORDER BY finished_at DESC, id DESC LIMIT ?",
                           (user_id, limit))
    return [_test(r) for r in rows]


def latest_scores(db: sqlite_utils.Database, deck: str) -> list[tuple[str, int, int]]:
    """(user, score, total) of each learner's latest finished test of the deck."""
    rows = db.conn.execute(
        "SELECT user_id, score, total FROM (SELECT user_id, score, total, row_number() OVER"
        " (PARTITION BY user_id ORDER BY finished_at DESC, id DESC) AS n FROM pattern_tests"
        " WHERE deck = ? AND finished_at IS NOT NULL) WHERE n = 1 ORDER BY user_id", (deck,))
    return [(r[0], r[1], r[2]) for r in rows]


def missed_counts(db: sqlite_utils.Database, deck: str) -> list[tuple[str, int, int]]:
    """(card id, times missed, times asked) over every finished test of the deck, most missed first."""
    rows = db.conn.execute(
        "SELECT a.card_id, sum(1 - a.correct), count(*) FROM pattern_test_answers a"
        " JOIN pattern_tests t ON t.id = a.test_id WHERE t.deck = ? AND t.finished_at IS NOT NULL"
        " GROUP BY a.card_id ORDER BY sum(1 - a.correct) DESC, count(*) DESC, a.card_id", (deck,))
    return [(r[0], r[1], r[2]) for r in rows]

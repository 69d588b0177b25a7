"""Test this pattern: 10 questions across easy, medium and hard to know if a deck's pattern is strong.

The questions are the deck's multiple-choice questions with an answer key (a flashcard is graded by
its learner, who must see the answer, and a test shows no answer until the end). Levels come from
the deck: beginner counts as easy, intermediate as medium, advanced as hard; a question without a
known level counts as medium. The draw covers the levels: it takes one question of each level in
turn (easy, medium, hard) while any is left, until it has TEST_SIZE, picks at random within a level,
and asks them easy first. A deck with fewer questions tests on all it has (`PatternResult.short`).

Each answer is a real retrieval, so it is recorded as an FSRS review like any other (right Good,
wrong Again, through `Tutor.answer_choice`), in one transaction with the test's own row.

Verdict, from the share right and each level's share:
* strong: at least 80 % right overall and at least half right at every level asked;
* getting there: at least 50 % right overall (and not strong);
* needs review: below 50 %.
"""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from bot.tutor import Tutor, TutorError
from content.model import Card, Deck, MultipleChoice
from storage import learning as store
from storage.db import transaction

TEST_SIZE = 10
LEVELS = ("easy", "medium", "hard")
_BUCKET = {"beginner": "easy", "easy": "easy", "intermediate": "medium", "medium": "medium",
           "advanced": "hard", "hard": "hard"}
STRONG_SHARE = 0.8
PASSING_SHARE = 0.5
SOURCES = ("cli", "dm")


class Verdict(StrEnum):
    STRONG = "strong"
    GETTING_THERE = "getting there"
    NEEDS_REVIEW = "needs review"

    @property
    def rule(self) -> str:
        """The rule that gives this verdict, in words (shown with the result)."""
        return {Verdict.STRONG: "at least 80% right, and at least half right at every level",
                Verdict.GETTING_THERE: "at least half right",
                Verdict.NEEDS_REVIEW: "less than half right"}[self]


def level_of(card: Card) -> str:
    """easy, medium or hard (see the module docstring)."""
    return _BUCKET.get((card.level or "").casefold(), "medium")


def questions_of(deck: Deck) -> list[MultipleChoice]:
    """The deck's questions a test can ask, in deck order."""
    return [c for c in deck.cards if isinstance(c, MultipleChoice) and c.answer is not None
            and 0 <= c.answer < len(c.options)]


def draw(questions: list[MultipleChoice], size: int, rng: random.Random) -> list[tuple[MultipleChoice, str]]:
    """Up to `size` questions covering the levels (see the module docstring), easy first; within
    a level in deck order."""
    pools = {level: [q for q in questions if level_of(q) == level] for level in LEVELS}
    quota = dict.fromkeys(LEVELS, 0)
    while sum(quota.values()) < min(size, len(questions)):
        for level in LEVELS:
            if quota[level] < len(pools[level]) and sum(quota.values()) < size:
                quota[level] += 1
    chosen = []
    for level in LEVELS:
        picked = set(rng.sample(range(len(pools[level])), quota[level]))
        chosen += [(q, level) for i, q in enumerate(pools[level]) if i in picked]
    return chosen


def verdict(score: int, total: int, per_level: dict[str, tuple[int, int]]) -> Verdict:
    share = score / total
    if share >= STRONG_SHARE and all(2 * right >= asked for right, asked in per_level.values() if asked):
        return Verdict.STRONG
    return Verdict.GETTING_THERE if share >= PASSING_SHARE else Verdict.NEEDS_REVIEW


@dataclass(frozen=True)
class Question:
    position: int  # 0-based
    card: MultipleChoice
    level: str


@dataclass(frozen=True)
class Answered:
    choice: int
    correct: bool


@dataclass(frozen=True)
class PatternTest:
    """A test and the answers given so far; nothing here says whether an answer was right until
    the test is finished (`result`)."""

    id: int
    user_id: str
    deck: str
    deck_title: str
    questions: tuple[Question, ...]
    answers: dict[int, Answered]  # position -> answer
    finished: bool
    available: int  # test questions the deck has (fewer than TEST_SIZE: the test says so)

    @property
    def total(self) -> int:
        return len(self.questions)

    @property
    def next_question(self) -> Question | None:
        return next((q for q in self.questions if q.position not in self.answers), None)


@dataclass(frozen=True)
class PatternResult:
    test_id: int
    deck: str
    score: int
    total: int
    per_level: dict[str, tuple[int, int]]  # level -> (right, asked) for easy, medium, hard (asked may be 0)
    verdict: Verdict
    missed: tuple[tuple[MultipleChoice, int], ...]  # each question missed and the option chosen
    short: bool  # the deck has fewer than TEST_SIZE questions, so the test asked all it has
    finished_at: datetime | None

    def summary(self) -> str:
        """`7/10 · easy 4/5 · medium 2/4 · hard 1/1 · getting there`"""
        levels = " · ".join(f"{level} {right}/{asked}" for level, (right, asked) in self.per_level.items())
        return f"{self.score}/{self.total} · {levels} · {self.verdict.value}"

    def to_dict(self) -> dict[str, Any]:
        return {"test_id": self.test_id, "deck": self.deck, "score": self.score, "total": self.total,
                "levels": {level: {"right": r, "asked": a} for level, (r, a) in self.per_level.items()},
                "verdict": self.verdict.value, "short": self.short,
                "missed": [{"card_id": card.id, "question": card.question, "chosen": choice,
                            "answer": card.answer} for card, choice in self.missed],
                "finished_at": None if self.finished_at is None else self.finished_at.isoformat()}


@dataclass(frozen=True)
class DeckTestReport:
    """The team's tests of one deck: each member's latest score, and the questions missed most."""

    deck: str
    scores: dict[int, int]  # score -> members whose latest test scored it
    members: int
    total: int  # questions in the latest tests (the most common count)
    most_missed: tuple[tuple[str, int, int], ...]  # (question, times missed, times asked)


def start_test(tutor: Tutor, user_id: str, deck: str, *, now: datetime, source: str,
               rng: random.Random | None = None) -> PatternTest:
    """Draw and store a new test of `deck` for the learner (created if new)."""
    if source not in SOURCES:
        raise TutorError(f"unknown test source {source!r} (one of {', '.join(SOURCES)})")
    found = tutor.deck(deck)
    questions = questions_of(found)
    if not questions:
        raise TutorError(f"the deck {deck!r} has no multiple-choice question with an answer key to test on")
    drawn = draw(questions, TEST_SIZE, rng or random.Random())
    tutor.learner(user_id) or tutor.ensure_learner(user_id)
    with tutor.lock, transaction(tutor.db):
        test_id = store.create_test(tutor.db, user_id=user_id, deck=deck,
                                    questions=[(q.id, level) for q, level in drawn], source=source, now=now)
    return get_test(tutor, test_id)


def get_test(tutor: Tutor, test_id: int) -> PatternTest:
    with tutor.lock:
        row = store.get_test(tutor.db, test_id)
        if row is None:
            raise TutorError(f"there is no test {test_id}")
        given = store.answers_of_test(tutor.db, test_id)
    deck = tutor.deck(row.deck)
    questions = tuple(Question(position=i, card=_question(tutor, row.deck, card_id), level=level)
                      for i, (card_id, level) in enumerate(row.questions))
    return PatternTest(id=row.id, user_id=row.user_id, deck=row.deck, deck_title=deck.title,
                       questions=questions,
                       answers={a.position: Answered(a.choice, a.correct) for a in given},
                       finished=row.finished_at is not None, available=len(questions_of(deck)))


def _question(tutor: Tutor, deck: str, card_id: str) -> MultipleChoice:
    card = tutor.card(deck, card_id)
    if not isinstance(card, MultipleChoice):
        raise TutorError(f"{card_id} is not a multiple-choice question")
    return card


def answer_question(tutor: Tutor, test_id: int, position: int, choice: int, *, user_id: str, now: datetime,
                    source: str, duration_ms: int | None = None) -> PatternTest:
    """Record the answer to one question (once: answering it again changes nothing) as a review and
    as part of the test; the test is finished with its last answer."""
    test = get_test(tutor, test_id)
    if test.user_id != user_id:
        raise TutorError("this test belongs to someone else")
    if not 0 <= position < test.total:
        raise TutorError(f"the test has no question {position + 1}")
    question = test.questions[position]
    with tutor.lock, transaction(tutor.db):
        if position not in {a.position for a in store.answers_of_test(tutor.db, test_id)}:
            review = tutor.answer_choice(user_id, test.deck, question.card.id, choice,
                                         seq=tutor.next_seq(user_id, test.deck, question.card.id), now=now,
                                         duration_ms=duration_ms, source=source)
            store.record_test_answer(tutor.db, store.PatternAnswerRow(
                test_id=test_id, position=position, card_id=question.card.id, level=question.level,
                choice=choice, correct=bool(review.correct), seq=review.seq, answered_at=now))
            if len(store.answers_of_test(tutor.db, test_id)) == test.total:
                store.finish_test(tutor.db, test_id, now)
    return get_test(tutor, test_id)


def result(tutor: Tutor, test_id: int) -> PatternResult:
    """The finished test's score, per level, verdict and missed questions."""
    test = get_test(tutor, test_id)
    if not test.finished:
        raise TutorError(f"the test is not finished: {test.total - len(test.answers)} question(s) to go")
    with tutor.lock:
        row = store.get_test(tutor.db, test_id)
    assert row is not None
    return _result(test, row.finished_at)


def _result(test: PatternTest, finished_at: datetime | None) -> PatternResult:
    per_level: dict[str, tuple[int, int]] = {}
    for level in LEVELS:
        asked = [q for q in test.questions if q.level == level]
        per_level[level] = (sum(test.answers[q.position].correct for q in asked), len(asked))
    score = sum(a.correct for a in test.answers.values())
    missed = tuple((q.card, test.answers[q.position].choice) for q in test.questions
                   if not test.answers[q.position].correct)
    return PatternResult(test_id=test.id, deck=test.deck, score=score, total=test.total, per_level=per_level,
                      verdict=verdict(score, test.total, per_level), missed=missed,
                      short=test.available < TEST_SIZE, finished_at=finished_at)


def last_results(tutor: Tutor, user_id: str, *, limit: int = 3) -> list[PatternResult]:
    """The learner's latest finished tests, latest first."""
    with tutor.lock:
        rows = store.finished_tests(tutor.db, user_id, limit=limit)
    return [_result(get_test(tutor, row.id), row.finished_at) for row in rows]


def deck_report(tutor: Tutor, deck: str, *, most_missed: int = 5) -> DeckTestReport:
    with tutor.lock:
        latest = store.latest_scores(tutor.db, deck)
        missed = store.missed_counts(tutor.db, deck)
    totals = Counter(total for _, _, total in latest)
    questions: list[tuple[str, int, int]] = []
    for card_id, times_missed, asked in missed:
        if times_missed and len(questions) < most_missed:
            questions.append((tutor.card(deck, card_id).prompt_text, times_missed, asked))
    return DeckTestReport(deck=deck, scores=dict(sorted(Counter(score for _, score, _ in latest).items(),
                                                        reverse=True)),
                          members=len(latest), total=totals.most_common(1)[0][0] if totals else 0,
                          most_missed=tuple(questions))

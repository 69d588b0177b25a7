"""Decks built in code and a Tutor over a real SQLite file, for the learning-core tests."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path

from bot.tutor import Tutor
from content.model import Deck, Flashcard, MultipleChoice, Prompt
from storage.db import open_db

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
MONDAY = datetime(2025, 3, 3, 8, 30, tzinfo=UTC)  # a Monday; no DST change near it in Europe or the US
# py-fsrs's tests/review_logs_josh_1711744352250_to_1728234780857.csv (672 kB, not committed here):
# in ../shared/srs/ next to the clone, or wherever TUTOR_REVIEW_LOG points.
REVIEW_LOGS = ([Path(os.environ["TUTOR_REVIEW_LOG"])] if os.environ.get("TUTOR_REVIEW_LOG")
               else sorted(SHARED.glob("srs/*.csv")))
HAS_REVIEW_LOG = bool(REVIEW_LOGS) and REVIEW_LOGS[0].is_file()
NO_REVIEW_LOG = ("the real review log is not here: set TUTOR_REVIEW_LOG to py-fsrs's "
                 "tests/review_logs_josh_….csv (see README, Tests)")


def flashcard(i: int, deck: str = "d") -> Flashcard:
    return Flashcard(front=f"{deck} front {i}?", back=f"{deck} back {i}")


def mcq(i: int, deck: str = "d", *, hint: str | None = "think",
        solution: tuple[str, ...] = ("because",)) -> MultipleChoice:
    return MultipleChoice(question=f"{deck} question {i}?",
                          options=(f"right {i}", f"wrong {i}a", f"wrong {i}b", f"wrong {i}c"), answer=0,
                          solution=solution, hint=hint, mistakes=(f"mistake {i}",))


def make_deck(slug: str = "d", *, flashcards: int = 3, mcqs: int = 3, prompts: int = 1,
              retention: float = 0.9) -> Deck:
    """Flashcards first, then multiple choice (answer: option 1, 'right N'), then open prompts."""
    cards = ([flashcard(i, slug) for i in range(flashcards)] + [mcq(i, slug) for i in range(mcqs)]
             + [Prompt(question=f"{slug} reflect {i}?", guidance="say why") for i in range(prompts)])
    return Deck(slug=slug, title=f"Deck {slug}", cards=tuple(cards), desired_retention=retention)


def make_tutor(path: Path, *, default_tz: str = "UTC") -> Tutor:
    """A Tutor without fuzzing (exact, reproducible intervals) over a database file at `path`."""
    return Tutor(open_db(path), default_tz=default_tz, fuzzing=False)

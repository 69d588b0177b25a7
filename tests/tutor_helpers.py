"""Decks built in code and a Tutor over a real SQLite file, for the learning-core tests."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from bot.tutor import Tutor
from content.model import Deck, Flashcard, MultipleChoice, Prompt
from storage.db import open_db

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
MONDAY = datetime(2025, 3, 3, 8, 30, tzinfo=UTC)  # a Monday; no DST change near it in Europe or the US


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

"""The deck model: what a card says, independent of where it came from or who studies it.

Every card has a stable id derived from the text a learner is tested on, so importing the same
text twice keeps the id (and the review history keyed on it). Editing that text makes a new card;
the importer retires the old one rather than deleting it. Explanations (solution, hint, common
mistakes, guidance) are not part of the id: fixing a typo in a hint keeps the learner's history.

`concept` (optional, any card kind) names the idea a card tests; the flashcard and the
multiple-choice questions on one idea share it. The planner shows at most one card of a concept a
day to a member, and a concept's question only after its flashcard was reviewed on an earlier day
(bot/planning.py). It is not part of the id either.

A deck's `easy_days` are Anki's easy days: the share of a normal day's reviews each weekday should
get (Monday first; 1.0 normal, 0.5 reduced, 0.0 as few as possible). Due dates are spread inside
FSRS's fuzz range to honour them (bot/srs.py).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class CardKind(StrEnum):
    FLASHCARD = "flashcard"
    MCQ = "mcq"
    PROMPT = "prompt"


_SPACE = re.compile(r"\s+")

# Slack's limits on text, which lint checks: a button's label and a section's text.
BUTTON_TEXT_LIMIT = 75
SECTION_TEXT_LIMIT = 3000

# The level words recaps use: beginner/intermediate/advanced on flashcards, easy/medium/hard on
# practice questions. Other words are allowed but lint warns (typo protection).
LEVELS = ("beginner", "intermediate", "advanced", "easy", "medium", "hard")


class DeckFormatError(ValueError):
    """A deck source that cannot be read at all (not text, YAML syntax error, no cards); the
    message says what is wrong and, where there is one, on which line."""


def plural(count: int, word: str) -> str:
    """`1 card`, `3 cards`: a count with its noun, for every front end (terminal, Slack)."""
    return f"{count} {word}" if count == 1 else f"{count} {word}s"


def option_letter(index: int) -> str:
    """0 -> "A", 1 -> "B"…: how options are labelled in recaps, YAML decks and Slack."""
    if not 0 <= index < 26:
        raise ValueError(f"option index {index} has no letter (0-25)")
    return chr(ord("A") + index)


def option_button_text(letter: str, option: str) -> str:
    """The label of an option's answer button in Slack, "A. option"; lint measures this against
    BUTTON_TEXT_LIMIT, so a warning means exactly what the Slack app will do."""
    return f"{letter}. {option}"


def normalize_text(text: str) -> str:
    """Collapse runs of white space and trim; the form in which card text is stored and hashed."""
    return _SPACE.sub(" ", text).strip()


def card_id(kind: CardKind, *parts: str) -> str:
    """A short stable id: the kind's prefix and 12 hex digits of a SHA-1 of the normalised text."""
    digest = hashlib.sha1()
    digest.update(kind.value.encode())
    for part in parts:
        digest.update(b"\x1f")
        digest.update(normalize_text(part).casefold().encode())
    prefix = {CardKind.FLASHCARD: "fc", CardKind.MCQ: "mcq", CardKind.PROMPT: "op"}[kind]
    return f"{prefix}-{digest.hexdigest()[:12]}"


@dataclass(frozen=True)
class Flashcard:
    """A recall card, self-graded Again / Hard / Good / Easy."""

    front: str
    back: str
    level: str | None = None
    concept: str | None = None  # cards on one idea share it: at most one of them a day (see module doc)
    line: int | None = field(default=None, compare=False)  # where it starts in its source, 1-based

    kind = CardKind.FLASHCARD

    @property
    def id(self) -> str:
        return card_id(self.kind, self.front, self.back)

    @property
    def prompt_text(self) -> str:
        return self.front

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "kind": self.kind.value, "front": self.front, "back": self.back,
                "level": self.level, "concept": self.concept}


@dataclass(frozen=True)
class MultipleChoice:
    """A multiple-choice question. `answer` is the 0-based index of the right option, or None
    where the source gives no key (lint reports it; such a card cannot be imported)."""

    question: str
    options: tuple[str, ...]
    answer: int | None
    solution: tuple[str, ...] = ()
    hint: str | None = None
    mistakes: tuple[str, ...] = ()
    level: str | None = None
    concept: str | None = None
    line: int | None = field(default=None, compare=False)

    kind = CardKind.MCQ

    @property
    def id(self) -> str:
        key = "" if self.answer is None else str(self.answer)
        return card_id(self.kind, self.question, *self.options, key)

    @property
    def prompt_text(self) -> str:
        return self.question

    @property
    def answer_text(self) -> str | None:
        return None if self.answer is None else self.options[self.answer]

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "kind": self.kind.value, "question": self.question,
                "options": list(self.options), "answer": self.answer, "solution": list(self.solution),
                "hint": self.hint, "mistakes": list(self.mistakes), "level": self.level,
                "concept": self.concept}


@dataclass(frozen=True)
class Prompt:
    """An open question for reflection; not scheduled by default."""

    question: str
    guidance: str | None = None
    concepts: tuple[str, ...] = ()
    level: str | None = None
    concept: str | None = None
    line: int | None = field(default=None, compare=False)

    kind = CardKind.PROMPT

    @property
    def id(self) -> str:
        return card_id(self.kind, self.question)

    @property
    def prompt_text(self) -> str:
        return self.question

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "kind": self.kind.value, "question": self.question,
                "guidance": self.guidance, "concepts": list(self.concepts), "level": self.level,
                "concept": self.concept}


Card = Flashcard | MultipleChoice | Prompt


def card_from_dict(data: dict[str, Any]) -> Card:
    """Inverse of each card's `to_dict` (the `id` key, derived, is ignored)."""
    kind = CardKind(data["kind"])
    if kind is CardKind.FLASHCARD:
        return Flashcard(front=data["front"], back=data["back"], level=data.get("level"),
                         concept=data.get("concept"))
    if kind is CardKind.MCQ:
        return MultipleChoice(
            question=data["question"], options=tuple(data["options"]), answer=data.get("answer"),
            solution=tuple(data.get("solution") or ()), hint=data.get("hint"),
            mistakes=tuple(data.get("mistakes") or ()), level=data.get("level"), concept=data.get("concept"))
    return Prompt(question=data["question"], guidance=data.get("guidance"),
                  concepts=tuple(data.get("concepts") or ()), level=data.get("level"),
                  concept=data.get("concept"))


_SLUG = re.compile(r"[^a-z0-9]+")


def slugify(text: str) -> str:
    """`Why Pre-trained Models…` -> `why-pre-trained-models`; the form of a deck's id."""
    return _SLUG.sub("-", text.casefold()).strip("-")[:60] or "deck"


WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
NORMAL_WEEK: tuple[float, ...] = (1.0,) * 7


def easy_days_to_dict(week: tuple[float, ...]) -> dict[str, float]:
    """The lighter days only, by weekday name: {"sat": 0.5, "sun": 0.5}."""
    return {name: share for name, share in zip(WEEKDAYS, week, strict=True) if share != 1.0}


def easy_days_from_dict(data: dict[str, Any] | None) -> tuple[float, ...]:
    """Inverse of easy_days_to_dict; ValueError naming a bad day or share."""
    week = list(NORMAL_WEEK)
    for name, share in (data or {}).items():
        key = str(name).strip().casefold()[:3]
        if key not in WEEKDAYS:
            raise ValueError(f"{name!r} is not a weekday (use {', '.join(WEEKDAYS)})")
        value = float(share)
        if not 0.0 <= value <= 1.0:
            raise ValueError(f"the share of a normal day's reviews on {key} must be 0-1, not {share!r}")
        week[WEEKDAYS.index(key)] = value
    return tuple(week)


@dataclass(frozen=True)
class Deck:
    """A named, ordered set of cards. `slug` is the deck's id in commands (`/tutor join SLUG`)."""

    slug: str
    title: str
    cards: tuple[Card, ...]
    desired_retention: float = 0.9
    description: str | None = None
    easy_days: tuple[float, ...] = NORMAL_WEEK  # Monday first, see the module doc

    def card(self, card_id: str) -> Card | None:
        return next((c for c in self.cards if c.id == card_id), None)

    @property
    def scheduled_cards(self) -> tuple[Card, ...]:
        """Cards that take part in spaced repetition (open prompts are reflection only)."""
        return tuple(c for c in self.cards if c.kind is not CardKind.PROMPT)

    def to_dict(self) -> dict[str, Any]:
        return {"slug": self.slug, "title": self.title, "desired_retention": self.desired_retention,
                "description": self.description, "easy_days": easy_days_to_dict(self.easy_days),
                "cards": [c.to_dict() for c in self.cards]}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Deck:
        return cls(slug=data["slug"], title=data["title"],
                   cards=tuple(card_from_dict(c) for c in data["cards"]),
                   desired_retention=float(data.get("desired_retention", 0.9)),
                   description=data.get("description"), easy_days=easy_days_from_dict(data.get("easy_days")))

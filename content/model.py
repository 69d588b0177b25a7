"""The deck model: what a card says, independent of where it came from or who studies it.

Every card has a stable id derived from the text a learner is tested on, so importing the same
text twice keeps the id (and the review history keyed on it). Editing that text makes a new card;
the importer retires the old one rather than deleting it. Explanations (solution, hint, common
mistakes, guidance, key concepts, model answer) are not part of the id: fixing a typo in a hint
keeps the learner's history.

`concept` (optional, any card kind) names the idea a card tests; the flashcard and the
multiple-choice questions on one idea share it. The planner shows at most one card of a concept a
day to a member, and a concept's question only after its flashcard was reviewed on an earlier day
(bot/planning.py). It is not part of the id either. (A prompt's key `concepts` are something else:
the ideas its answer is graded on.)

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


class PromptMode(StrEnum):
    """What a deck does with its open prompts (the deck setting `prompts:`). GRADED: a prompt with key
    concepts is graded against them and scheduled by FSRS like any card (one without concepts stays
    reflection). REFLECTION: every prompt is reflection only: an answer is still checked against the
    concepts for feedback, but nothing is recorded and prompts are never due."""

    GRADED = "graded"
    REFLECTION = "reflection"


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
    concept: str | None = None  # cards on one idea share it: at most one of them a day (module doc)
    line: int | None = field(default=None, compare=False)  # where it starts in its source, 1-based

    kind = CardKind.FLASHCARD

    @property
    def id(self) -> str:
        return card_id(self.kind, self.front, self.back)

    @property
    def prompt_text(self) -> str:
        return self.front

    def to_dict(self) -> dict[str, Any]:
        return card_to_dict(self)


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
        return card_to_dict(self)


@dataclass(frozen=True)
class KeyConcept:
    """One idea an answer to an open prompt should contain: a short phrase (`text`, what the learner
    is shown when they miss it) and optional other wordings of it (`examples`) that help the grader
    recognise it however it is said."""

    text: str
    examples: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {"concept": self.text, "examples": list(self.examples)}


@dataclass(frozen=True)
class Prompt:
    """An open question answered in the learner's own words. With key `concepts` (in order) it is
    graded against them and, unless its deck says prompts are reflection only, scheduled by FSRS;
    without, it is reflection only. `model_answer` is shown after an answer (if absent, the
    guidance and the concepts are)."""

    question: str
    guidance: str | None = None
    concepts: tuple[KeyConcept, ...] = ()
    level: str | None = None
    model_answer: str | None = None
    concept: str | None = None
    line: int | None = field(default=None, compare=False)

    kind = CardKind.PROMPT

    def __post_init__(self) -> None:
        # The plain-phrase form (`concepts=("a", "b")`) is accepted and stored as KeyConcepts.
        object.__setattr__(self, "concepts", tuple(c if isinstance(c, KeyConcept) else KeyConcept(c)
                                                   for c in self.concepts))

    @property
    def id(self) -> str:
        return card_id(self.kind, self.question)

    @property
    def prompt_text(self) -> str:
        return self.question

    def to_dict(self) -> dict[str, Any]:
        return card_to_dict(self)


Card = Flashcard | MultipleChoice | Prompt


# What each field holds, declared once. The deck readers (content.yaml_deck, with line numbers)
# and card_from_dict (stored cards, JSON) check every value against these declarations, and
# to_dict and the YAML writer follow them: a new field is its dataclass attribute plus one line here.

class Shape(StrEnum):
    TEXT = "text"  # one string (None where optional and absent)
    TEXTS = "texts"  # a list of strings
    TEXT_OR_TEXTS = "text or texts"  # a list of strings; in a deck one string stands for a list of one
    ANSWER = "answer"  # the 0-based index of an option (decks may also give a letter or the option's text)
    CONCEPTS = "concepts"  # key concepts: each a phrase, or {concept: phrase, examples: [wordings…]}


@dataclass(frozen=True)
class Field:
    name: str  # the dataclass attribute, the key in to_dict and in a deck
    shape: Shape
    required: bool = False  # required text is "" when absent in a deck (lint reports it), never None


_LEVEL = Field("level", Shape.TEXT)
_CONCEPT = Field("concept", Shape.TEXT)  # the idea the card tests (see the module doc)
CARD_FIELDS: dict[CardKind, tuple[Field, ...]] = {
    CardKind.FLASHCARD: (_LEVEL, _CONCEPT, Field("front", Shape.TEXT, True), Field("back", Shape.TEXT, True)),
    CardKind.MCQ: (_LEVEL, _CONCEPT, Field("question", Shape.TEXT, True), Field("options", Shape.TEXTS),
                   Field("answer", Shape.ANSWER), Field("solution", Shape.TEXT_OR_TEXTS),
                   Field("hint", Shape.TEXT), Field("mistakes", Shape.TEXT_OR_TEXTS)),
    CardKind.PROMPT: (_LEVEL, _CONCEPT, Field("question", Shape.TEXT, True), Field("guidance", Shape.TEXT),
                      Field("concepts", Shape.CONCEPTS), Field("model_answer", Shape.TEXT)),
}
CARD_CLASSES: dict[CardKind, type[Flashcard] | type[MultipleChoice] | type[Prompt]] = {
    CardKind.FLASHCARD: Flashcard, CardKind.MCQ: MultipleChoice, CardKind.PROMPT: Prompt}


def card_to_dict(card: Card) -> dict[str, Any]:
    """`id`, `kind` and every declared field (tuples as lists): the stored and exported form."""
    out: dict[str, Any] = {"id": card.id, "kind": card.kind.value}
    for spec in CARD_FIELDS[card.kind]:
        value = getattr(card, spec.name)
        if spec.shape is Shape.CONCEPTS:
            value = [c.to_dict() for c in value]
        out[spec.name] = list(value) if isinstance(value, tuple) else value
    return out


def describe_value(value: object) -> str:
    """How a wrong value is named in an error: `the number 1.5`, `true`, `a list`…"""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return f"the number {value!r}"
    if isinstance(value, str):
        return f"the text {value[:40]!r}"
    return "a list" if isinstance(value, list | tuple) else f"a {type(value).__name__}"


def check_value(spec: Field, value: object) -> Any:
    """`value` as the field holds it (lists as tuples); DeckFormatError naming the field when its
    type is wrong. Used for stored cards and JSON, where values carry their own types."""
    wrong = DeckFormatError(f"{spec.name!r} must be {_EXPECTED[spec.shape]}, not {describe_value(value)}")
    if value is None:
        if spec.required:
            raise wrong
        return () if spec.shape in (Shape.TEXTS, Shape.TEXT_OR_TEXTS, Shape.CONCEPTS) else None
    if spec.shape is Shape.TEXT:
        if not isinstance(value, str):
            raise wrong
        return value
    if spec.shape is Shape.ANSWER:
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise wrong
        return value
    if not isinstance(value, list | tuple):
        raise wrong
    if spec.shape is Shape.CONCEPTS:
        return tuple(_concept_value(item, wrong) for item in value)
    if not all(isinstance(item, str) for item in value):
        raise wrong
    return tuple(value)


def _concept_value(item: object, wrong: DeckFormatError) -> KeyConcept:
    """One stored key concept: a phrase, or {"concept": phrase, "examples": [wordings…]}."""
    if isinstance(item, str):
        return KeyConcept(item)
    if not isinstance(item, dict) or set(item) - {"concept", "examples"}:
        raise wrong
    text, examples = item.get("concept"), item.get("examples") or []
    if not isinstance(text, str) or not isinstance(examples, list | tuple) or not all(
            isinstance(e, str) for e in examples):
        raise wrong
    return KeyConcept(text, tuple(examples))


_EXPECTED = {Shape.TEXT: "text", Shape.TEXTS: "a list of texts", Shape.TEXT_OR_TEXTS: "a list of texts",
             Shape.ANSWER: "the 0-based index of an option (a whole number)",
             Shape.CONCEPTS: "a list of key concepts (each a phrase, or an object with `concept` and "
                             "`examples`)"}


def card_from_dict(data: dict[str, Any]) -> Card:
    """Inverse of each card's `to_dict` (the `id` key, derived, is ignored). DeckFormatError when a
    value has the wrong type or `kind` is unknown."""
    if not isinstance(data, dict):
        raise DeckFormatError(f"a card must be an object, not {describe_value(data)}")
    try:
        kind = CardKind(str(data.get("kind")))
    except ValueError:
        raise DeckFormatError(f"unknown card kind {data.get('kind')!r} (use "
                              f"{', '.join(k.value for k in CardKind)})") from None
    values = {spec.name: check_value(spec, data.get(spec.name)) for spec in CARD_FIELDS[kind]}
    return CARD_CLASSES[kind](**values)


_SLUG = re.compile(r"[^a-z0-9]+")


def slugify(text: str) -> str:
    """`Why Pre-trained Models…` -> `why-pre-trained-models`; the form of a deck's id."""
    return _SLUG.sub("-", text.casefold()).strip("-")[:60] or "deck"


WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
NORMAL_WEEK: tuple[float, ...] = (1.0,) * 7


def easy_days_to_dict(week: tuple[float, ...]) -> dict[str, float]:
    """The lighter days only, by weekday name: {"sat": 0.5, "sun": 0.5}."""
    return {name: share for name, share in zip(WEEKDAYS, week, strict=True) if share != 1.0}


def easy_days_from_dict(data: dict[str, float] | None) -> tuple[float, ...]:
    """Inverse of easy_days_to_dict (a weekday may be spelt out: `Sunday`); ValueError naming a bad
    day or share."""
    week = list(NORMAL_WEEK)
    for name, share in (data or {}).items():
        key = str(name).strip().casefold()[:3]
        if key not in WEEKDAYS:
            raise ValueError(f"{name!r} is not a weekday (use {', '.join(WEEKDAYS)})")
        if isinstance(share, bool) or not isinstance(share, int | float) or not 0.0 <= share <= 1.0:
            raise ValueError(f"the share of a normal day's reviews on {key} must be a number 0-1, "
                             f"not {describe_value(share)}")
        week[WEEKDAYS.index(key)] = float(share)
    return tuple(week)


@dataclass(frozen=True)
class Deck:
    """A named, ordered set of cards. `slug` is the deck's id in commands (`/tutor join SLUG`)."""

    slug: str
    title: str
    cards: tuple[Card, ...]
    desired_retention: float = 0.9
    description: str | None = None
    prompts: PromptMode = PromptMode.GRADED
    easy_days: tuple[float, ...] = NORMAL_WEEK  # Monday first, see the module doc

    def card(self, card_id: str) -> Card | None:
        return next((c for c in self.cards if c.id == card_id), None)

    def is_graded(self, card: Card) -> bool:
        """Whether answering this open prompt is graded by its concepts and recorded as a review:
        it has concepts and the deck does not say prompts are reflection only."""
        return (isinstance(card, Prompt) and bool(card.concepts)
                and self.prompts is PromptMode.GRADED)

    def is_scheduled(self, card: Card) -> bool:
        """Whether the card takes part in spaced repetition: every flashcard and multiple-choice
        question, and the open prompts that are graded."""
        return card.kind is not CardKind.PROMPT or self.is_graded(card)

    @property
    def scheduled_cards(self) -> tuple[Card, ...]:
        """Cards that take part in spaced repetition (see `is_scheduled`)."""
        return tuple(c for c in self.cards if self.is_scheduled(c))

    def to_dict(self) -> dict[str, Any]:
        return {"slug": self.slug, "title": self.title, "desired_retention": self.desired_retention,
                "description": self.description, "prompts": self.prompts.value,
                "easy_days": easy_days_to_dict(self.easy_days), "cards": [c.to_dict() for c in self.cards]}

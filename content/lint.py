"""Checks on a deck that need only the model: what would break an import or a Slack message.

Errors fail an import (the importer refuses a deck with any); warnings are shown and do not. Each
issue carries the 1-based line of its card in the source where the source has lines (a recap page,
a YAML deck), and a short `code` naming the check, so a parser and lint can report the same problem
once (see `content.loader.merge_issues`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from content.model import (
    BUTTON_TEXT_LIMIT,
    LEVELS,
    SECTION_TEXT_LIMIT,
    Card,
    CardKind,
    Deck,
    Flashcard,
    MultipleChoice,
    Prompt,
    normalize_text,
    option_button_text,
    option_letter,
    slugify,
)

# FSRS's desired retention: below 0.7 reviews come too late to help, above 0.99 they come daily.
RETENTION_MIN = 0.7
RETENTION_MAX = 0.99
MAX_OPTIONS = 25  # one letter each, and Slack shows at most 25 buttons in a row
# Slack's markup in text: <!channel>, <!here>, <!everyone>, <!subteam^…>, <@U…>, <#C…>, <https://…|…>.
# The bot escapes all text, so members see these as typed; lint says so, since the author may
# have expected a mention or a link.
_SLACK_MARKUP = re.compile(r"<(?:[!@#]|(?:https?|mailto|tel):)[^<>\n]{0,200}+>", re.IGNORECASE)
MAX_CONCEPTS = 10  # key ideas of one answer; more is a checklist, not an explanation
CONCEPT_LENGTH = 120  # a concept is a short phrase (shown as one line of the result)


class Severity(StrEnum):
    ERROR = "error"
    WARNING = "warning"


@dataclass(frozen=True)
class LintIssue:
    """One finding. `line` is 1-based in the source, None where the source has no lines (a deck
    built in code, a JSON export) or the issue is about the whole deck. `code` names the check
    (e.g. "missing-key"); it is stable and meant for tools and tests, the message for people."""

    severity: Severity
    line: int | None
    message: str
    card_id: str | None = None
    code: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {"severity": self.severity.value, "line": self.line, "message": self.message,
                "card_id": self.card_id, "code": self.code}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> LintIssue:
        return cls(severity=Severity(data["severity"]), line=data.get("line"), message=data["message"],
                   card_id=data.get("card_id"), code=data.get("code") or "")

    def describe(self, source: str | None = None) -> str:
        """`deck.yaml:12: error: …`, the form compilers use, so editors can jump to the line."""
        where = "" if source is None else f"{source}:"
        if self.line is not None:
            where += f"{self.line}:"
        return f"{where} {self.severity.value}: {self.message}".lstrip()


def error(code: str, message: str, line: int | None, card: Card | None = None) -> LintIssue:
    return LintIssue(Severity.ERROR, line, message, None if card is None else card.id, code)


def warning(code: str, message: str, line: int | None, card: Card | None = None) -> LintIssue:
    return LintIssue(Severity.WARNING, line, message, None if card is None else card.id, code)


def missing_key_issue(card: MultipleChoice, line: int | None = None) -> LintIssue:
    """The one message for a question without a key, shared by the recap parser and lint."""
    return error("missing-key", "multiple-choice question has no answer key (a YAML deck gives it as "
                 "`answer: <letter>`)", card.line if line is None else line, card)


def retention_issue(value: float, line: int | None) -> LintIssue | None:
    if RETENTION_MIN <= value <= RETENTION_MAX:
        return None
    return error("retention", f"desired_retention {value:g} is outside {RETENTION_MIN:g}-{RETENTION_MAX:g}",
                 line)


def sort_issues(issues: Iterable[LintIssue]) -> list[LintIssue]:
    """By line (issues without one first: they are about the whole deck), stable otherwise."""
    return sorted(issues, key=lambda i: -1 if i.line is None else i.line)


def lint_deck(deck: Deck) -> list[LintIssue]:
    """Every problem the model alone shows, sorted by line."""
    issues: list[LintIssue] = list(_deck_issues(deck))
    first_by_text: dict[tuple[CardKind, str], Card] = {}
    for card in deck.cards:
        issues.extend(_card_issues(card))
        text = normalize_text(card.prompt_text).casefold()
        if not text:
            continue
        first = first_by_text.setdefault((card.kind, text), card)
        if first is not card:
            what = "flashcard front" if card.kind is CardKind.FLASHCARD else "question"
            where = f"line {first.line}" if first.line is not None else "an earlier card"
            code = "duplicate-front" if card.kind is CardKind.FLASHCARD else "duplicate-question"
            issues.append(error(code, f"duplicate {what}: same as the card at {where}", card.line, card))
    return sort_issues(issues)


def markup_issues(name: str, text: str, line: int | None, card: Card | None = None) -> Iterator[LintIssue]:
    """A warning when `text` holds Slack markup (a mention, a channel ping or a disguised link)."""
    found = _SLACK_MARKUP.search(text)
    if found:
        yield warning("slack-markup", f"{name} contains Slack markup {found.group()[:60]!r}; members see it "
                      "as typed text, not as a mention, a ping or a link", line, card)


def _deck_issues(deck: Deck) -> Iterator[LintIssue]:
    yield from markup_issues("deck title", deck.title, None)
    yield from markup_issues("deck description", deck.description or "", None)
    if not deck.slug or slugify(deck.slug) != deck.slug:
        yield error("slug", f"deck slug {deck.slug!r} is not a slug (lower-case letters, digits and '-'); "
                    f"use {slugify(deck.slug or deck.title)!r}", None)
    if not deck.title.strip():
        yield error("empty-text", "deck has no title", None)
    issue = retention_issue(deck.desired_retention, None)
    if issue:
        yield issue
    if not deck.cards:
        yield error("no-cards", "deck has no cards", None)
    by_concept: dict[str, list[Card]] = {}
    for card in deck.cards:
        if card.concept is not None:
            by_concept.setdefault(normalize_text(card.concept).casefold(), []).append(card)
    for concept, cards in by_concept.items():
        if len(cards) == 1:  # a concept groups cards on one idea: one card alone is likely a typo
            yield warning("lone-concept", f"concept {cards[0].concept!r} is on this card only; cards on one "
                          "idea share a concept (a typo?)", cards[0].line, cards[0])
        if not concept:
            yield error("empty-text", "`concept` is empty; leave it out or name the idea", cards[0].line,
                        cards[0])


def _card_issues(card: Card) -> Iterator[LintIssue]:
    line = card.line
    if card.level is not None and card.level not in LEVELS:
        yield warning("level", f"unknown level {card.level!r}; known levels: {', '.join(LEVELS)}", line, card)
    if isinstance(card, Flashcard):
        if not card.front.strip():
            yield error("empty-text", "flashcard has no front (empty or missing)", line, card)
        if not card.back.strip():
            yield error("empty-text", "flashcard has no back (empty or missing)", line, card)
    elif isinstance(card, MultipleChoice):
        yield from _mcq_issues(card)
    elif isinstance(card, Prompt):
        if not card.question.strip():
            yield error("empty-text", "open prompt has no question (empty or missing)", line, card)
        yield from _concept_issues(card)
    for name, text in _text_fields(card):
        yield from markup_issues(name, text, line, card)
        if len(text) > SECTION_TEXT_LIMIT:
            yield error("section-length", f"{name} is {len(text):,} characters, over Slack's "
                        f"{SECTION_TEXT_LIMIT:,} for a message section", line, card)


def _mcq_issues(card: MultipleChoice) -> Iterator[LintIssue]:
    line = card.line
    if not card.question.strip():
        yield error("empty-text", "multiple-choice question has no question text (empty or missing)",
                    line, card)
    if len(card.options) < 2:
        yield error("too-few-options", f"multiple-choice question has {len(card.options)} option(s); "
                    "it needs at least 2", line, card)
    if len(card.options) > MAX_OPTIONS:
        yield error("too-many-options", f"multiple-choice question has {len(card.options)} options; "
                    f"at most {MAX_OPTIONS} (A-{option_letter(MAX_OPTIONS - 1)}: Slack shows 25 buttons in a "
                    "row)", line, card)
    letters = [option_letter(i) if i < MAX_OPTIONS else str(i + 1) for i in range(len(card.options))]
    first_letter_by_text: dict[str, str] = {}
    too_long = []
    for letter, option in zip(letters, card.options, strict=True):
        text = normalize_text(option).casefold()
        if not text:
            yield error("empty-option", f"option {letter} is empty", line, card)
            continue
        if text in first_letter_by_text:
            yield error("duplicate-option", f"option {letter} repeats option {first_letter_by_text[text]}",
                        line, card)
        first_letter_by_text.setdefault(text, letter)
        yield from markup_issues(f"option {letter}", option, line, card)
        label = option_button_text(letter, option)
        if len(label) > BUTTON_TEXT_LIMIT:
            too_long.append(f"{letter} ({len(label)})")
    if too_long:
        yield warning("button-length", f"option(s) {', '.join(too_long)} longer than Slack's "
                      f"{BUTTON_TEXT_LIMIT} characters for a button, counting the \"A. \" before each: "
                      "the Slack app will list the options as numbered text and show short buttons "
                      "\"A\", \"B\"… instead", line, card)
        listed = card.question + "".join(f"\n{lt}. {o}" for lt, o in zip(letters, card.options, strict=True))
        if len(listed) > SECTION_TEXT_LIMIT:
            yield error("section-length", f"question with its options listed is {len(listed):,} characters, "
                        f"over Slack's {SECTION_TEXT_LIMIT:,} for a message section", line, card)
    if card.answer is None:
        yield missing_key_issue(card)
    elif not 0 <= card.answer < len(card.options):
        named = option_letter(card.answer) if 0 <= card.answer < MAX_OPTIONS else str(card.answer)
        span = f"A-{letters[-1]}" if card.options else "none"
        yield error("answer-range", f"answer {named} is outside the options ({span})", line, card)


def _concept_issues(card: Prompt) -> Iterator[LintIssue]:
    line = card.line
    if len(card.concepts) > MAX_CONCEPTS:
        yield warning("concepts", f"open prompt has {len(card.concepts)} concepts; an answer is graded well "
                      f"against a few key ideas (at most {MAX_CONCEPTS})", line, card)
    first: dict[str, int] = {}
    for number, concept in enumerate(card.concepts, 1):
        text = normalize_text(concept.text).casefold()
        if not text:
            yield error("empty-text", f"concept {number} is empty", line, card)
            continue
        if text in first:
            yield error("duplicate-concept", f"concept {number} repeats concept {first[text]}", line, card)
        first.setdefault(text, number)
        if len(concept.text) > CONCEPT_LENGTH:
            yield warning("concept-length", f"concept {number} is {len(concept.text)} characters; a concept "
                          f"is a short phrase (at most {CONCEPT_LENGTH}); put other wordings in `examples`",
                          line, card)
        for index, example in enumerate(concept.examples, 1):
            if not normalize_text(example):
                yield error("empty-text", f"example {index} of concept {number} is empty", line, card)


def _text_fields(card: Card) -> Iterator[tuple[str, str]]:
    """Each text that may fill a Slack section on its own, named for the message."""
    if isinstance(card, Flashcard):
        yield "front", card.front
        yield "back", card.back
    elif isinstance(card, MultipleChoice):
        yield "question", card.question
        for number, step in enumerate(card.solution, 1):
            yield f"solution step {number}", step
        if card.hint:
            yield "hint", card.hint
        for number, mistake in enumerate(card.mistakes, 1):
            yield f"common mistake {number}", mistake
    else:
        yield "question", card.question
        if card.guidance:
            yield "guidance", card.guidance
        for number, concept in enumerate(card.concepts, 1):
            yield f"concept {number}", concept.text
        if card.model_answer:
            yield "model answer", card.model_answer

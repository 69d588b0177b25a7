"""The YAML deck format: what an admin writes by hand, and what `tutor deck export` writes.

    deck: overfitting                  # the slug (defaults to the file name)
    title: Overfitting and regularization
    description: optional text
    desired_retention: 0.9             # optional, 0.7-0.99
    prompts: graded                    # optional: graded (default) | reflection
    easy_days: {sat: 0.5, sun: 0.5}    # optional: lighter weekdays, share of a normal day (0-1)
    cards:
      - type: flashcard                # flashcard | mcq | prompt
        level: beginner
        concept: overfitting           # optional, any card kind: cards on one idea share it
        front: What is overfitting?
        back: Fitting the training data's noise, so new data is predicted badly.
      - type: mcq
        concept: overfitting
        question: Which sign best indicates overfitting?
        options: [Training loss falls while validation loss rises, Both losses stay high]
        answer: A                      # a letter, or the exact text of an option
        solution: [Compare the two curves.]   # a list of steps, or one string
        hint: Look at the gap.
        mistakes: [Judging by training loss alone]
      - type: prompt
        question: How would you tell a model is overfitting?
        guidance: Think about training and validation curves.
        concepts:                      # key ideas of an answer, in order: a phrase, or a mapping
          - validation loss rises while training loss falls
          - concept: regularization
            examples: [dropout, weight decay]   # other wordings that help grading
        model_answer: optional text shown after an answer

A prompt with concepts is graded against them and scheduled like any card, unless the deck says
`prompts: reflection`; a prompt without concepts is reflection only.

The file is read from the YAML node tree (content.nodes) rather than through PyYAML's constructor,
for two reasons: each card keeps its line (lint reports it), and every value is read as the text it
is written as, so an option `No` or `1.0` stays that text instead of becoming a boolean or a float.

A JSON deck (the `Deck.to_dict` form that `tutor deck export … --format json` writes: `slug`,
`kind`, `answer` as a 0-based index) is read by the same reader from JSON nodes, where values keep
their JSON types: a number or `true` where text belongs is an error with its line, as is a wrong
type anywhere. What each card field holds is declared once, in `content.model.CARD_FIELDS`.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from content.lint import LintIssue, Severity, retention_issue, sort_issues
from content.model import (
    CARD_CLASSES,
    CARD_FIELDS,
    NORMAL_WEEK,
    Card,
    CardKind,
    Deck,
    DeckFormatError,
    Field,
    KeyConcept,
    PromptMode,
    Shape,
    easy_days_from_dict,
    easy_days_to_dict,
    normalize_text,
    option_letter,
    slugify,
)
from content.nodes import BOOL, FLOAT, INT, NULL, STR, compose_json, compose_yaml, line_of

DEFAULT_RETENTION = 0.9
_NULLS = {"", "~", "null", "Null", "NULL"}
_LETTER_ANSWER = re.compile(r"^(?:option\s++)?(?P<letter>[A-Za-z])[.)]?$", re.IGNORECASE)
_MAX_INDEX_DIGITS = 4  # an answer index beyond 9999 is out of range anyway (26 options at most)

_Entry = tuple[Node, Node]  # (key node, value node)
_Note = tuple[Severity, str, str, int]  # severity, code, message, line: an issue before its card exists


@dataclass(frozen=True)
class DeckSyntax:
    """How a deck format names things, and whether its values carry types (JSON) or are all text."""

    name: str
    slug_key: str
    kind_key: str
    derived_keys: tuple[str, ...]  # written by the exporter, read and ignored (the id is derived)
    typed: bool

    @property
    def top_keys(self) -> tuple[str, ...]:
        return (self.slug_key, "title", "description", "desired_retention", "prompts", "easy_days", "cards")

    def card_keys(self, kind: CardKind) -> tuple[str, ...]:
        return (self.kind_key, *self.derived_keys, *(spec.name for spec in CARD_FIELDS[kind]))


YAML = DeckSyntax("YAML deck", slug_key="deck", kind_key="type", derived_keys=(), typed=False)
JSON = DeckSyntax("JSON deck", slug_key="slug", kind_key="kind", derived_keys=("id",), typed=True)
TOP_KEYS = YAML.top_keys
CARD_KEYS = {kind: YAML.card_keys(kind) for kind in CardKind}
CONCEPT_KEYS = ("concept", "examples")


def _node_kind(node: Node) -> str:
    if isinstance(node, MappingNode):
        return "mapping"
    return "list" if isinstance(node, SequenceNode) else "single value"


def _unknown_key(key: str, allowed: tuple[str, ...], where: str) -> str:
    close = difflib.get_close_matches(key, allowed, n=1)
    advice = f"did you mean {close[0]!r}?" if close else f"known keys: {', '.join(allowed)}"
    return f"unknown key {key!r} in {where}, ignored; {advice}"


def _json_value(node: ScalarNode) -> str:
    """A JSON scalar named for an error message: `the number 1.5`, `the text '0.9'`, `true`."""
    if node.tag in (INT, FLOAT):
        return f"the number {node.value}"
    return f"the text {str(node.value)[:40]!r}" if node.tag == STR else str(node.value)


class _Reader:
    """Turns nodes into values, collecting issues as it goes."""

    def __init__(self, syntax: DeckSyntax) -> None:
        self.syntax = syntax
        self.issues: list[LintIssue] = []
        self.notes: list[_Note] = []  # the current card's issues, given its id once it is built

    def note(self, severity: Severity, code: str, message: str, line: int) -> None:
        self.notes.append((severity, code, message, line))

    def bad(self, message: str, node: Node) -> None:
        self.note(Severity.ERROR, "bad-value", message, line_of(node))

    def flush(self, card: Card | None) -> None:
        card_id = None if card is None else card.id
        self.issues.extend(LintIssue(s, line, m, card_id, c) for s, c, m, line in self.notes)
        self.notes = []

    def mapping(self, node: MappingNode) -> dict[str, _Entry]:
        fields: dict[str, _Entry] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, ScalarNode):
                self.bad(f"a key must be a single word, not a {_node_kind(key_node)}", key_node)
                continue
            key = str(key_node.value)
            if key in fields:
                self.note(Severity.ERROR, "duplicate-key", f"key {key!r} appears twice (lines "
                          f"{line_of(fields[key][0])} and {line_of(key_node)}); only the last is read",
                          line_of(key_node))
            fields[key] = (key_node, value_node)
        return fields

    def is_null(self, node: ScalarNode) -> bool:
        if self.syntax.typed:
            return node.tag == NULL
        return not node.style and node.value in _NULLS

    def scalar_text(self, node: ScalarNode, what: str) -> str | None:
        """The scalar as text (stripped), None for null; in JSON a number or boolean is an error."""
        if self.is_null(node):
            return None
        if self.syntax.typed and node.tag != STR:
            self.bad(f"{what} must be text (a JSON string in double quotes), not {_json_value(node)}", node)
            return None
        return str(node.value).strip()

    def text(self, fields: dict[str, _Entry], key: str) -> str | None:
        """A scalar as written (stripped); None when absent or null. A list or mapping is an error."""
        if key not in fields:
            return None
        node = fields[key][1]
        if not isinstance(node, ScalarNode):
            self.bad(f"{key!r} must be text, not a {_node_kind(node)}", node)
            return None
        return self.scalar_text(node, repr(key))

    def texts(self, fields: dict[str, _Entry], key: str, *, single_ok: bool) -> tuple[str, ...]:
        """A list of scalars (a single scalar too where `single_ok`); nulls in a list stay as ''."""
        if key not in fields:
            return ()
        node = fields[key][1]
        if isinstance(node, ScalarNode):
            if self.is_null(node):
                return ()
            if single_ok:
                value = self.scalar_text(node, repr(key))
                return () if value is None else (value,)
            self.bad(f"{key!r} must be a list (one '- item' per line, or [\"…\", \"…\"])", node)
            return ()
        if not isinstance(node, SequenceNode):
            self.bad(f"{key!r} must be a list, not a mapping", node)
            return ()
        values = []
        for item in node.value:
            if isinstance(item, ScalarNode):
                values.append(self.scalar_text(item, f"each item of {key!r}") or "")
            else:
                self.bad(f"each item of {key!r} must be text, not a {_node_kind(item)} (is there a ': ' "
                         "in it? then quote the item)", item)
        return tuple(values)

    def number(self, fields: dict[str, _Entry], key: str) -> float | None:
        """A number; None when absent or null; an error when it is not a number."""
        if key not in fields:
            return None
        node = fields[key][1]
        if not isinstance(node, ScalarNode):
            self.bad(f"{key} must be a number, not a {_node_kind(node)}; write e.g. 0.9", node)
            return None
        if self.is_null(node):
            return None
        if not self.syntax.typed or node.tag in (INT, FLOAT):
            try:
                return float(node.value)
            except ValueError:
                pass
        shown = _json_value(node) if self.syntax.typed else repr(node.value)
        self.bad(f"{key} {shown} is not a number; write e.g. 0.9", node)
        return None

    def field(self, fields: dict[str, _Entry], spec: Field) -> Any:
        """One declared field's value (answers are read by `_answer`, which needs the options)."""
        if spec.shape is Shape.TEXT:
            value = self.text(fields, spec.name)
            return "" if value is None and spec.required else value
        if spec.shape is Shape.ANSWER:
            return None
        if spec.shape is Shape.CONCEPTS:
            return self.concepts(fields, spec.name)
        return self.texts(fields, spec.name, single_ok=spec.shape is Shape.TEXT_OR_TEXTS)

    def concepts(self, fields: dict[str, _Entry], key: str) -> tuple[KeyConcept, ...]:
        """Key concepts: a list whose items are a phrase or a mapping {concept: phrase, examples:
        [...]}; a single phrase is one concept."""
        if key not in fields:
            return ()
        node = fields[key][1]
        if not isinstance(node, SequenceNode):
            return tuple(KeyConcept(t) for t in self.texts(fields, key, single_ok=True))
        found = []
        for item in node.value:
            if isinstance(item, ScalarNode):
                found.append(KeyConcept(self.scalar_text(item, f"each item of {key!r}") or ""))
                continue
            if not isinstance(item, MappingNode):
                self.bad("each concept is a phrase or a mapping with `concept` and `examples`, not a list",
                         item)
                continue
            parts = self.mapping(item)
            for part, (key_node, _) in parts.items():
                if part not in CONCEPT_KEYS:
                    self.note(Severity.WARNING, "unknown-key", _unknown_key(part, CONCEPT_KEYS, "a concept"),
                              line_of(key_node))
            text = self.text(parts, "concept")
            if text is None:
                self.note(Severity.ERROR, "empty-text", "a concept mapping needs `concept: <short phrase>` "
                          "(a phrase with ': ' in it must be quoted)", line_of(item))
            found.append(KeyConcept(text or "", self.texts(parts, "examples", single_ok=True)))
        return tuple(found)


def load_yaml_deck(text: str, *, default_slug: str) -> tuple[Deck, list[LintIssue]]:
    """The deck a YAML text describes and the problems seen reading it, with line numbers.

    Raises DeckFormatError when the text is not YAML, not a mapping, or has no cards list."""
    root = compose_yaml(text)
    if root is None:
        raise DeckFormatError("the YAML deck is empty")
    return read_deck(root, YAML, default_slug=default_slug)


def load_json_deck(text: str, *, default_slug: str) -> tuple[Deck, list[LintIssue]]:
    """The deck a JSON text (`Deck.to_dict`'s form) describes and the problems seen reading it,
    with line numbers. Raises DeckFormatError when it is not JSON or has no cards list."""
    return read_deck(compose_json(text), JSON, default_slug=default_slug)


def read_deck(root: Node, syntax: DeckSyntax, *, default_slug: str) -> tuple[Deck, list[LintIssue]]:
    """The deck in a node tree of either format (see DeckSyntax)."""
    if not isinstance(root, MappingNode):
        raise DeckFormatError(f"line {line_of(root)}: the top level of a {syntax.name} must be a mapping "
                              f"with `{syntax.slug_key}`, `title` and `cards`, not a {_node_kind(root)}")
    reader = _Reader(syntax)
    top = reader.mapping(root)
    for key, (key_node, _) in top.items():
        if key not in syntax.top_keys:
            reader.note(Severity.WARNING, "unknown-key", _unknown_key(key, syntax.top_keys, "the deck"),
                        line_of(key_node))

    slug = reader.text(top, syntax.slug_key) or slugify(default_slug)
    if slugify(slug) != slug:
        reader.note(Severity.WARNING, "slug", f"deck slug {slug!r} is not a slug; using {slugify(slug)!r}",
                    line_of(top[syntax.slug_key][1]))
        slug = slugify(slug)
    title = reader.text(top, "title")
    if title is None:
        reader.note(Severity.WARNING, "title", f"no `title`; the deck is titled {slug!r}", line_of(root))
    retention = reader.number(top, "desired_retention")
    if retention is not None:
        where = line_of(top["desired_retention"][1])
        issue = retention_issue(retention, where)
        if issue:
            reader.note(issue.severity, issue.code, issue.message, where)
    description = reader.text(top, "description")
    prompts = _prompt_mode(reader, top)
    easy_days = _easy_days(reader, top)
    reader.flush(None)

    if "cards" not in top:
        raise DeckFormatError(f"no cards found: a {syntax.name} needs a `cards` list")
    cards_node = top["cards"][1]
    if isinstance(cards_node, ScalarNode) and reader.is_null(cards_node) or (
            isinstance(cards_node, SequenceNode) and not cards_node.value):
        raise DeckFormatError(f"line {line_of(cards_node)}: no cards found: `cards` is empty")
    if not isinstance(cards_node, SequenceNode):
        raise DeckFormatError(f"line {line_of(cards_node)}: `cards` must be a list of cards "
                              f"(each with its `{syntax.kind_key}`), not a {_node_kind(cards_node)}")
    cards = []
    for card_node in cards_node.value:
        card = _card(reader, card_node)
        reader.flush(card)
        if card is not None:
            cards.append(card)
    deck = Deck(slug=slug, title=title or slug, cards=tuple(cards),
                desired_retention=DEFAULT_RETENTION if retention is None else retention,
                description=description, prompts=prompts, easy_days=easy_days)
    return deck, sort_issues(reader.issues)


def _easy_days(reader: _Reader, top: dict[str, _Entry]) -> tuple[float, ...]:
    """`easy_days: {sat: 0.5, sun: 0}`: weekday -> share of a normal day's reviews (0-1)."""
    node = top["easy_days"][1] if "easy_days" in top else None
    if node is None or isinstance(node, ScalarNode) and reader.is_null(node):
        return NORMAL_WEEK
    if not isinstance(node, MappingNode):
        reader.bad("easy_days must be a mapping of weekdays to the share of a normal day's reviews, e.g. "
                   "{sat: 0.5, sun: 0.5}", node)
        return NORMAL_WEEK
    days = reader.mapping(node)
    shares = {day: reader.number(days, day) for day in days}
    if any(share is None for share in shares.values()):
        return NORMAL_WEEK  # reader.number named the value that is not a number
    try:
        return easy_days_from_dict({day: share for day, share in shares.items() if share is not None})
    except ValueError as exc:
        reader.bad(f"easy_days: {exc}", node)
        return NORMAL_WEEK


def _prompt_mode(reader: _Reader, top: dict[str, _Entry]) -> PromptMode:
    raw = reader.text(top, "prompts")
    if raw is None:
        return PromptMode.GRADED
    try:
        return PromptMode(raw.casefold())
    except ValueError:
        modes = " or ".join(m.value for m in PromptMode)
        reader.note(Severity.ERROR, "bad-value", f"prompts {raw!r} is not a setting: write {modes} "
                    "(graded: prompts with concepts are graded and scheduled; reflection: never)",
                    line_of(top["prompts"][1]))
        return PromptMode.GRADED


def _card(reader: _Reader, node: Node) -> Card | None:
    line = line_of(node)
    if not isinstance(node, MappingNode):
        reader.bad(f"a card must be a mapping of keys ({reader.syntax.kind_key}, front, …), not a "
                   f"{_node_kind(node)}; card skipped", node)
        return None
    fields = reader.mapping(node)
    kind = _kind(reader, fields, line)
    if kind is None:
        return None
    allowed = reader.syntax.card_keys(kind)
    for key, (key_node, _) in fields.items():
        if key not in allowed:
            reader.note(Severity.WARNING, "unknown-key", _unknown_key(key, allowed, f"a {kind} card"),
                        line_of(key_node))
    values = {spec.name: reader.field(fields, spec) for spec in CARD_FIELDS[kind]}
    if kind is CardKind.MCQ:
        values["answer"] = _answer(reader, fields, values["options"])
    return CARD_CLASSES[kind](**values, line=line)


def _kind(reader: _Reader, fields: dict[str, _Entry], line: int) -> CardKind | None:
    key = reader.syntax.kind_key
    raw = reader.text(fields, key)
    if raw is None:
        guess = (CardKind.FLASHCARD if "front" in fields or "back" in fields
                 else CardKind.MCQ if "options" in fields or "answer" in fields else CardKind.PROMPT)
        reader.note(Severity.WARNING, "card-type", f"card has no `{key}`; read as {guess} from its keys",
                    line)
        return guess
    try:
        return CardKind(raw.casefold())
    except ValueError:
        kinds = [k.value for k in CardKind]
        close = difflib.get_close_matches(raw.casefold(), kinds, n=1)
        advice = f"; did you mean {close[0]!r}?" if close else ""
        reader.note(Severity.ERROR, "card-type", f"unknown card type {raw!r} (use {', '.join(kinds)})"
                    f"{advice}; card skipped", line_of(fields[key][1]))
        return None


def _answer(reader: _Reader, fields: dict[str, _Entry], options: tuple[str, ...]) -> int | None:
    """A letter ("C", "c", "C.", "Option C") or the exact text of an option -> 0-based index; in
    JSON also the index itself (as exported)."""
    if "answer" not in fields:
        return None  # lint reports the missing key
    node = fields["answer"][1]
    span = f"A-{option_letter(len(options) - 1)}" if 0 < len(options) <= 26 else "A, B…"
    if reader.syntax.typed and isinstance(node, ScalarNode) and node.tag in (INT, FLOAT, BOOL):
        if node.tag == INT and len(node.value.lstrip("-")) <= _MAX_INDEX_DIGITS:
            return int(node.value)  # lint checks that it names an option
        reader.note(Severity.ERROR, "bad-answer", f"answer {_json_value(node)} is neither an option's "
                    f"0-based index (a whole number), its letter ({span}) nor its exact text",
                    line_of(node))
        return None
    raw = reader.text(fields, "answer")
    if raw is None:
        return None
    where = line_of(node)
    by_text = next((i for i, o in enumerate(options) if normalize_text(o).casefold()
                    == normalize_text(raw).casefold()), None)
    letter = _LETTER_ANSWER.match(raw)
    if letter:
        index = ord(letter["letter"].upper()) - ord("A")
        if by_text is not None and by_text != index:
            reader.note(Severity.WARNING, "ambiguous-answer", f"answer {raw!r} is both letter "
                        f"{option_letter(index)} and the text of option {option_letter(by_text)}; read as "
                        "the letter", where)
        return index
    if by_text is not None:
        return by_text
    reader.note(Severity.ERROR, "bad-answer", f"answer {raw!r} is neither a letter ({span}) nor the exact "
                "text of an option", where)
    return None


# Writing ----------------------------------------------------------------------------------------

class _Dumper(yaml.SafeDumper):
    """Block style throughout, lists indented under their key, multi-line text as `|` blocks."""

    def increase_indent(self, flow: bool = False, indentless: bool = False) -> None:
        return super().increase_indent(flow, False)


def _represent_str(dumper: yaml.SafeDumper, data: str) -> yaml.ScalarNode:
    return dumper.represent_scalar("tag:yaml.org,2002:str", data, style="|" if "\n" in data else None)


_Dumper.add_representer(str, _represent_str)


def card_to_yaml_dict(card: Card) -> dict[str, Any]:
    """The mapping a card is written as: `type` first, the answer as a letter, empty values left out."""
    out: dict[str, Any] = {"type": card.kind.value}
    for spec in CARD_FIELDS[card.kind]:
        value = getattr(card, spec.name)
        if spec.shape is Shape.ANSWER and value is not None and 0 <= value < 26:
            value = option_letter(value)
        elif spec.shape is Shape.CONCEPTS:  # a phrase, or a mapping where it has example wordings
            value = [c.text if not c.examples else {"concept": c.text, "examples": list(c.examples)}
                     for c in value]
        out[spec.name] = list(value) if isinstance(value, tuple) else value
    return {k: v for k, v in out.items() if v is not None and v != []}


def dump_yaml_deck(deck: Deck) -> str:
    """The deck as YAML in the hand-written format; `load_yaml_deck(dump_yaml_deck(d))` equals `d`."""
    data: dict[str, Any] = {"deck": deck.slug, "title": deck.title}
    if deck.description is not None:
        data["description"] = deck.description
    data["desired_retention"] = deck.desired_retention
    if deck.prompts is not PromptMode.GRADED:  # the default is not written, as before the setting
        data["prompts"] = deck.prompts.value
    if deck.easy_days != NORMAL_WEEK:
        data["easy_days"] = easy_days_to_dict(deck.easy_days)
    data["cards"] = [card_to_yaml_dict(c) for c in deck.cards]
    return yaml.dump(data, Dumper=_Dumper, sort_keys=False, allow_unicode=True, default_flow_style=False,
                     width=1_000_000)

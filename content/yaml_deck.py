"""The YAML deck format: what an admin writes by hand, and what `tutor deck export` writes.

    deck: overfitting                  # the slug (defaults to the file name)
    title: Overfitting and regularization
    description: optional text
    desired_retention: 0.9             # optional, 0.7-0.99
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
        concepts: [validation curve]

The file is read from the YAML node tree rather than through PyYAML's constructor, for two reasons:
each card keeps its line (lint reports it), and every value is read as the text it is written as,
so an option `No` or `1.0` stays that text instead of becoming a boolean or a float.
"""

from __future__ import annotations

import difflib
import re
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from content.lint import LintIssue, Severity, retention_issue, sort_issues
from content.model import (
    NORMAL_WEEK,
    Card,
    CardKind,
    Deck,
    DeckFormatError,
    Flashcard,
    MultipleChoice,
    Prompt,
    easy_days_from_dict,
    easy_days_to_dict,
    normalize_text,
    option_letter,
    slugify,
)

TOP_KEYS = ("deck", "title", "description", "desired_retention", "easy_days", "cards")
CARD_KEYS: dict[CardKind, tuple[str, ...]] = {
    CardKind.FLASHCARD: ("type", "level", "concept", "front", "back"),
    CardKind.MCQ: ("type", "level", "concept", "question", "options", "answer", "solution", "hint",
                   "mistakes"),
    CardKind.PROMPT: ("type", "level", "concept", "question", "guidance", "concepts"),
}
DEFAULT_RETENTION = 0.9
_NULLS = {"", "~", "null", "Null", "NULL"}
_LETTER_ANSWER = re.compile(r"^(?:option\s+)?(?P<letter>[A-Za-z])[.)]?$", re.IGNORECASE)

_Field = tuple[Node, Node]  # (key node, value node)
_Note = tuple[Severity, str, str, int]  # severity, code, message, line: an issue before its card exists


def _line(node: Node) -> int:
    return node.start_mark.line + 1


def _node_kind(node: Node) -> str:
    if isinstance(node, MappingNode):
        return "mapping"
    return "list" if isinstance(node, SequenceNode) else "single value"


def _unknown_key(key: str, allowed: tuple[str, ...], where: str) -> str:
    close = difflib.get_close_matches(key, allowed, n=1)
    advice = f"did you mean {close[0]!r}?" if close else f"known keys: {', '.join(allowed)}"
    return f"unknown key {key!r} in {where}, ignored; {advice}"


class _Reader:
    """Turns nodes into values, collecting issues as it goes."""

    def __init__(self) -> None:
        self.issues: list[LintIssue] = []
        self.notes: list[_Note] = []  # the current card's issues, given its id once it is built

    def note(self, severity: Severity, code: str, message: str, line: int) -> None:
        self.notes.append((severity, code, message, line))

    def flush(self, card: Card | None) -> None:
        card_id = None if card is None else card.id
        self.issues.extend(LintIssue(s, line, m, card_id, c) for s, c, m, line in self.notes)
        self.notes = []

    def mapping(self, node: MappingNode) -> dict[str, _Field]:
        fields: dict[str, _Field] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, ScalarNode):
                self.note(Severity.ERROR, "bad-value", "a key must be a single word, not a "
                          f"{_node_kind(key_node)}", _line(key_node))
                continue
            key = key_node.value
            if key in fields:
                self.note(Severity.ERROR, "duplicate-key", f"key {key!r} appears twice (lines "
                          f"{_line(fields[key][0])} and {_line(key_node)}); only the last is read",
                          _line(key_node))
            fields[key] = (key_node, value_node)
        return fields

    def text(self, fields: dict[str, _Field], key: str, *, default: str | None = None) -> str | None:
        """A scalar as written (stripped); None when absent or null. A list or mapping is an error."""
        if key not in fields:
            return default
        node = fields[key][1]
        if not isinstance(node, ScalarNode):
            self.note(Severity.ERROR, "bad-value", f"{key!r} must be text, not a {_node_kind(node)}",
                      _line(node))
            return default
        return self.scalar(node)

    @staticmethod
    def scalar(node: ScalarNode) -> str | None:
        if not node.style and node.value in _NULLS:
            return None
        return str(node.value).strip()

    def texts(self, fields: dict[str, _Field], key: str, *, single_ok: bool) -> tuple[str, ...]:
        """A list of scalars (a single scalar too where `single_ok`); nulls in a list stay as ''."""
        if key not in fields:
            return ()
        node = fields[key][1]
        if isinstance(node, ScalarNode):
            value = self.scalar(node)
            if value is None:
                return ()
            if single_ok:
                return (value,)
            self.note(Severity.ERROR, "bad-value", f"{key!r} must be a list (one '- item' per line)",
                      _line(node))
            return ()
        if not isinstance(node, SequenceNode):
            self.note(Severity.ERROR, "bad-value", f"{key!r} must be a list, not a mapping", _line(node))
            return ()
        values = []
        for item in node.value:
            if isinstance(item, ScalarNode):
                values.append(self.scalar(item) or "")
            else:
                self.note(Severity.ERROR, "bad-value", f"each item of {key!r} must be text, not a "
                          f"{_node_kind(item)} (is there a ': ' in it? then quote the item)", _line(item))
        return tuple(values)


def load_yaml_deck(text: str, *, default_slug: str) -> tuple[Deck, list[LintIssue]]:
    """The deck a YAML text describes and the problems seen reading it, with line numbers.

    Raises DeckFormatError when the text is not YAML, not a mapping, or has no cards list."""
    root = _compose(text)
    reader = _Reader()
    top = reader.mapping(root)
    for key, (key_node, _) in top.items():
        if key not in TOP_KEYS:
            reader.note(Severity.WARNING, "unknown-key", _unknown_key(key, TOP_KEYS, "the deck"),
                        _line(key_node))

    slug = reader.text(top, "deck") or slugify(default_slug)
    if slugify(slug) != slug:
        reader.note(Severity.WARNING, "slug", f"deck slug {slug!r} is not a slug; using {slugify(slug)!r}",
                    _line(top["deck"][1]))
        slug = slugify(slug)
    title = reader.text(top, "title")
    if title is None:
        reader.note(Severity.WARNING, "title", f"no `title`; the deck is titled {slug!r}", _line(root))
    retention = DEFAULT_RETENTION
    raw_retention = reader.text(top, "desired_retention")
    if raw_retention is not None:
        where = _line(top["desired_retention"][1])
        try:
            retention = float(raw_retention)
        except ValueError:
            reader.note(Severity.ERROR, "bad-value", f"desired_retention {raw_retention!r} is not a number; "
                        "write e.g. 0.9", where)
        else:
            issue = retention_issue(retention, where)
            if issue:
                reader.note(issue.severity, issue.code, issue.message, where)
    description = reader.text(top, "description")
    easy_days = _easy_days(reader, top)
    reader.flush(None)

    if "cards" not in top:
        raise DeckFormatError("no cards found: a YAML deck needs a `cards:` list")
    cards_node = top["cards"][1]
    if isinstance(cards_node, ScalarNode) and reader.scalar(cards_node) is None or (
            isinstance(cards_node, SequenceNode) and not cards_node.value):
        raise DeckFormatError(f"line {_line(cards_node)}: no cards found: `cards:` is empty")
    if not isinstance(cards_node, SequenceNode):
        raise DeckFormatError(f"line {_line(cards_node)}: `cards` must be a list of cards "
                              f"(each starting with '- type: …'), not a {_node_kind(cards_node)}")
    cards = []
    for card_node in cards_node.value:
        card = _card(reader, card_node)
        reader.flush(card)
        if card is not None:
            cards.append(card)
    deck = Deck(slug=slug, title=title or slug, cards=tuple(cards), desired_retention=retention,
                description=description, easy_days=easy_days)
    return deck, sort_issues(reader.issues)


def _easy_days(reader: _Reader, top: dict[str, _Field]) -> tuple[float, ...]:
    """`easy_days: {sat: 0.5, sun: 0}`: weekday -> share of a normal day's reviews (0-1)."""
    node = top["easy_days"][1] if "easy_days" in top else None
    if node is None or isinstance(node, ScalarNode) and reader.scalar(node) is None:
        return NORMAL_WEEK
    if not isinstance(node, MappingNode):
        reader.note(Severity.ERROR, "bad-value", "easy_days must be a mapping of weekdays to the share of a "
                    "normal day's reviews, e.g. {sat: 0.5, sun: 0.5}", _line(node))
        return NORMAL_WEEK
    shares: dict[str, float] = {}
    for day, (_, value_node) in reader.mapping(node).items():
        raw = reader.scalar(value_node) if isinstance(value_node, ScalarNode) else None
        try:
            shares[day] = float(raw or "")
        except ValueError:
            reader.note(Severity.ERROR, "bad-value", f"easy_days: {day} needs the share of a normal day's "
                        "reviews, a number from 0 to 1 (e.g. sat: 0.5)", _line(value_node))
    try:
        return easy_days_from_dict(shares)
    except ValueError as exc:
        reader.note(Severity.ERROR, "bad-value", f"easy_days: {exc}", _line(node))
        return NORMAL_WEEK


def _compose(text: str) -> MappingNode:
    try:
        loader = yaml.SafeLoader(text)
        try:
            root = loader.get_single_node()
        finally:
            loader.dispose()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f" at line {mark.line + 1}" if mark is not None else ""
        problem = " ".join(filter(None, [exc.context, exc.problem])) or str(exc)
        raise DeckFormatError(f"YAML syntax error{where}: {problem}") from exc
    except yaml.YAMLError as exc:
        raise DeckFormatError(f"not valid YAML: {exc}") from exc
    if root is None:
        raise DeckFormatError("the YAML deck is empty")
    if not isinstance(root, MappingNode):
        raise DeckFormatError(f"line {_line(root)}: the top level of a YAML deck must be a mapping with "
                              f"`deck`, `title` and `cards`, not a {_node_kind(root)}")
    return root


def _card(reader: _Reader, node: Node) -> Card | None:
    line = _line(node)
    if not isinstance(node, MappingNode):
        reader.note(Severity.ERROR, "bad-value", f"a card must be a mapping of keys (type, front, …), not a "
                    f"{_node_kind(node)}; card skipped", line)
        return None
    fields = reader.mapping(node)
    kind = _kind(reader, fields, line)
    if kind is None:
        return None
    allowed = CARD_KEYS[kind]
    for key, (key_node, _) in fields.items():
        if key not in allowed:
            reader.note(Severity.WARNING, "unknown-key", _unknown_key(key, allowed, f"a {kind} card"),
                        _line(key_node))
    level = reader.text(fields, "level")
    concept = reader.text(fields, "concept")
    if kind is CardKind.FLASHCARD:
        return Flashcard(front=reader.text(fields, "front") or "", back=reader.text(fields, "back") or "",
                         level=level, concept=concept, line=line)
    if kind is CardKind.PROMPT:
        return Prompt(question=reader.text(fields, "question") or "",
                      guidance=reader.text(fields, "guidance"),
                      concepts=reader.texts(fields, "concepts", single_ok=True), level=level,
                      concept=concept, line=line)
    options = reader.texts(fields, "options", single_ok=False)
    return MultipleChoice(
        question=reader.text(fields, "question") or "", options=options,
        answer=_answer(reader, fields, options), solution=reader.texts(fields, "solution", single_ok=True),
        hint=reader.text(fields, "hint"), mistakes=reader.texts(fields, "mistakes", single_ok=True),
        level=level, concept=concept, line=line)


def _kind(reader: _Reader, fields: dict[str, _Field], line: int) -> CardKind | None:
    raw = reader.text(fields, "type")
    if raw is None:
        guess = (CardKind.FLASHCARD if "front" in fields or "back" in fields
                 else CardKind.MCQ if "options" in fields or "answer" in fields else CardKind.PROMPT)
        reader.note(Severity.WARNING, "card-type", f"card has no `type`; read as {guess} from its keys", line)
        return guess
    try:
        return CardKind(raw.casefold())
    except ValueError:
        kinds = [k.value for k in CardKind]
        close = difflib.get_close_matches(raw.casefold(), kinds, n=1)
        advice = f"; did you mean {close[0]!r}?" if close else ""
        reader.note(Severity.ERROR, "card-type", f"unknown card type {raw!r} (use {', '.join(kinds)})"
                    f"{advice}; card skipped", _line(fields["type"][1]))
        return None


def _answer(reader: _Reader, fields: dict[str, _Field], options: tuple[str, ...]) -> int | None:
    """A letter ("C", "c", "C.", "Option C") or the exact text of an option -> 0-based index."""
    raw = reader.text(fields, "answer")
    if raw is None:
        return None  # lint reports the missing key
    where = _line(fields["answer"][1])
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
    span = f"A-{option_letter(len(options) - 1)}" if 0 < len(options) <= 26 else "A, B…"
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
    """The mapping a card is written as: `type` first, empty values left out."""
    out: dict[str, Any] = {"type": card.kind.value, "level": card.level, "concept": card.concept}
    if isinstance(card, Flashcard):
        out.update(front=card.front, back=card.back)
    elif isinstance(card, MultipleChoice):
        answer = (option_letter(card.answer) if card.answer is not None and 0 <= card.answer < 26
                  else card.answer)
        out.update(question=card.question, options=list(card.options), answer=answer,
                   solution=list(card.solution), hint=card.hint, mistakes=list(card.mistakes))
    else:
        out.update(question=card.question, guidance=card.guidance, concepts=list(card.concepts))
    return {k: v for k, v in out.items() if v is not None and v != []}


def dump_yaml_deck(deck: Deck) -> str:
    """The deck as YAML in the hand-written format; `load_yaml_deck(dump_yaml_deck(d))` equals `d`."""
    data: dict[str, Any] = {"deck": deck.slug, "title": deck.title}
    if deck.description is not None:
        data["description"] = deck.description
    data["desired_retention"] = deck.desired_retention
    if deck.easy_days != NORMAL_WEEK:
        data["easy_days"] = easy_days_to_dict(deck.easy_days)
    data["cards"] = [card_to_yaml_dict(c) for c in deck.cards]
    return yaml.dump(data, Dumper=_Dumper, sort_keys=False, allow_unicode=True, default_flow_style=False,
                     width=1_000_000)

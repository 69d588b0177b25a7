"""Deck text (YAML or JSON) into a tree of YAML nodes, each with its line, in bounded work.

Both composers are loops over a stream of tokens with an explicit stack, never recursive, so a
file nested thousands of levels deep is refused with a sentence (at MAX_DECK_NESTING levels, far
more than a deck needs: deck, cards, a card, its list) instead of exhausting Python's stack. YAML
aliases (`*name`) are refused too: a few lines of them can stand for billions of values.

JSON scalars keep their type in the node's tag (str, int, float, bool, null), so a reader can tell
the string "1.5" from the number 1.5; YAML scalars are read as the text they are written as.
"""

from __future__ import annotations

import json
import re
from json.decoder import scanstring  # type: ignore[attr-defined]  # the C scanner json.loads uses
from typing import Any

import yaml
from yaml.error import Mark
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from content.model import DeckFormatError

MAX_DECK_NESTING = 16  # a deck nests 4 levels (deck, cards, card, a list); 6 with list items of mappings

TAG = "tag:yaml.org,2002:"
STR, INT, FLOAT, BOOL, NULL = (TAG + name for name in ("str", "int", "float", "bool", "null"))
SEQ, MAP = TAG + "seq", TAG + "map"

# libyaml (C) when PyYAML was built with it: the pure-Python scanner slows down with nesting depth.
_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def line_of(node: Node) -> int:
    """The node's 1-based line in its source."""
    return int(node.start_mark.line) + 1


def _too_deep(line: int) -> DeckFormatError:
    return DeckFormatError(f"line {line}: the deck is nested more than {MAX_DECK_NESTING} levels deep "
                           "(a deck needs 4: the deck, its cards, a card, a list); nothing was read")


class _Tree:
    """Nodes added in document order under an explicit stack of open collections."""

    def __init__(self) -> None:
        self.root: Node | None = None
        self.open: list[Node] = []
        self.keys: list[Node | None] = []  # per open mapping: the key whose value comes next

    def add(self, node: Node) -> None:
        if not self.open:
            self.root = node
        elif isinstance(self.open[-1], SequenceNode):
            self.open[-1].value.append(node)
        elif self.keys[-1] is None:
            self.keys[-1] = node
        else:
            self.open[-1].value.append((self.keys[-1], node))
            self.keys[-1] = None

    def push(self, node: Node) -> None:
        if len(self.open) >= MAX_DECK_NESTING:
            raise _too_deep(line_of(node))
        self.add(node)
        self.open.append(node)
        self.keys.append(None)

    def pop(self) -> Node:
        self.keys.pop()
        return self.open.pop()


def compose_yaml(text: str) -> Node | None:
    """The single document of `text` as nodes (None when it is empty). DeckFormatError names the
    line of a syntax error, of a second document, of an alias or of nesting too deep."""
    tree = _Tree()
    documents = 0
    loader = _Loader(text)
    try:
        while loader.check_event():
            event = loader.get_event()
            # libyaml's marks are its own type with the same fields as yaml.error.Mark
            start: Any = event.start_mark
            end: Any = event.end_mark
            line = start.line + 1
            if isinstance(event, yaml.DocumentStartEvent):
                documents += 1
                if documents > 1:
                    raise DeckFormatError(f"line {line}: a deck is one YAML document; remove the second "
                                          "`---` and what follows, or make it a deck file of its own")
            elif isinstance(event, yaml.AliasEvent):
                raise DeckFormatError(f"line {line}: YAML aliases (`*{event.anchor}`) are not read in a "
                                      "deck; write the text out where it is needed")
            elif isinstance(event, yaml.ScalarEvent):
                tree.add(ScalarNode(event.tag or STR, event.value, start, end,
                                    style=event.style))
            elif isinstance(event, yaml.SequenceStartEvent):
                tree.push(SequenceNode(event.tag or SEQ, [], start, end))
            elif isinstance(event, yaml.MappingStartEvent):
                tree.push(MappingNode(event.tag or MAP, [], start, end))
            elif isinstance(event, yaml.CollectionEndEvent):
                tree.pop()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f" at line {mark.line + 1}" if mark is not None else ""
        problem = " ".join(filter(None, [exc.context, exc.problem])) or str(exc)
        raise DeckFormatError(f"YAML syntax error{where}: {problem}") from exc
    except yaml.YAMLError as exc:
        raise DeckFormatError(f"not valid YAML: {exc}") from exc
    finally:
        loader.dispose()
    return tree.root


# JSON ------------------------------------------------------------------------------------------

_SPACE = re.compile(r"[ \t\n\r]*+")
_SPACE_CHARS = frozenset(" \t\n\r")
_NUMBER = re.compile(r"-?+(?:0|[1-9][0-9]*+)(?P<fraction>\.[0-9]++)?+(?P<exponent>[eE][+-]?+[0-9]++)?+")
_LITERALS = (("true", BOOL), ("false", BOOL), ("null", NULL))


class _JsonText:
    """A cursor over JSON text that knows its line (newlines occur only between tokens)."""

    def __init__(self, text: str) -> None:
        self.text, self.pos, self.line, self.line_start = text, 0, 0, 0

    def mark(self) -> Mark:
        return Mark("<json>", self.pos, self.line, self.pos - self.line_start, self.text, self.pos)

    def error(self, problem: str) -> DeckFormatError:
        return DeckFormatError(f"JSON syntax error at line {self.line + 1}: {problem}")

    def space(self) -> str:
        """Skip white space; the next character ('' at the end)."""
        char = self.text[self.pos:self.pos + 1]
        if char not in _SPACE_CHARS:  # most tokens follow one another directly
            return char
        match = _SPACE.match(self.text, self.pos)
        assert match is not None  # `*+` matches the empty string
        if newlines := match.group().count("\n"):
            self.line += newlines
            self.line_start = self.text.rindex("\n", 0, match.end()) + 1
        self.pos = match.end()
        return self.text[self.pos:self.pos + 1]

    def take(self, char: str) -> bool:
        if self.space() == char:
            self.pos += 1
            return True
        return False

    def string(self) -> ScalarNode:
        start = self.mark()
        if self.space() != '"':
            raise self.error("expected a string in double quotes")
        try:
            value, self.pos = scanstring(self.text, self.pos + 1, True)
        except json.JSONDecodeError as exc:
            raise self.error(exc.msg) from None
        return ScalarNode(STR, value, start, self.mark(), style='"')

    def scalar(self) -> ScalarNode:
        """A string, number, true, false or null at the cursor."""
        char = self.space()
        if char == '"':
            return self.string()
        start = self.mark()
        number = _NUMBER.match(self.text, self.pos)
        if number:
            self.pos = number.end()
            tag = FLOAT if number["fraction"] or number["exponent"] else INT
            return ScalarNode(tag, number.group(), start, self.mark())
        for word, tag in _LITERALS:
            if self.text.startswith(word, self.pos):
                self.pos += len(word)
                return ScalarNode(tag, word, start, self.mark())
        raise self.error("expected a value (a string, number, object, list, true, false or null)"
                         if char else "the text ends where a value should be")


def compose_json(text: str) -> Node:
    """The JSON value of `text` as nodes with lines. DeckFormatError names the line of a syntax
    error or of nesting too deep."""
    cursor = _JsonText(text)
    tree = _Tree()
    while True:
        # One value: a scalar, or the start of a list or object (then its first item or key).
        char = cursor.space()
        if char in ("[", "{"):
            start = cursor.mark()
            cursor.pos += 1
            node: Node = (SequenceNode(SEQ, [], start, start) if char == "[" else
                          MappingNode(MAP, [], start, start))
            tree.push(node)
            if not cursor.take("]" if char == "[" else "}"):
                if char == "{":
                    tree.add(_key(cursor))
                continue
            tree.pop()
        else:
            tree.add(cursor.scalar())
        # After a value: a comma and the next item or key, or the end of one or more collections.
        while tree.open:
            is_list = isinstance(tree.open[-1], SequenceNode)
            closer = "]" if is_list else "}"
            if cursor.take(","):
                if not is_list:
                    tree.add(_key(cursor))
                break
            if not cursor.take(closer):
                raise cursor.error(f"expected ',' or '{closer}'")
            tree.pop()
        else:
            if cursor.space():
                raise cursor.error("extra text after the end of the deck")
            assert tree.root is not None
            return tree.root


def _key(cursor: _JsonText) -> ScalarNode:
    key = cursor.string()
    if not cursor.take(":"):
        raise cursor.error("expected ':' after a key")
    return key

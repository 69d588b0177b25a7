"""Read a deck from a file or text of any supported format, and lint it in one go.

    .yaml / .yml      a YAML deck (content.yaml_deck)
    .json             a deck exported as JSON (Deck.to_dict, `tutor deck export … json`)
    anything else     a recap page (content.recap), e.g. .txt or .md

The importer refuses a deck whose `LoadedDeck.errors` is not empty; warnings are shown only.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path, PurePath

from content.lint import LintIssue, Severity, lint_deck, sort_issues
from content.model import CardKind, Deck, DeckFormatError, plural, slugify
from content.recap import parse_recap
from content.yaml_deck import load_json_deck, load_yaml_deck

__all__ = ["DeckFormatError", "LoadedDeck", "load_deck_file", "load_deck_text", "merge_issues",
           "shipped_decks", "DECKS_DIR", "MAX_DECK_BYTES"]

DECKS_DIR = Path(__file__).parent / "decks"
MAX_DECK_BYTES = 5 * 1024 * 1024  # a recap page is ~15 kB; anything this big is not a deck
YAML_SUFFIXES = (".yaml", ".yml")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0e-\x1f]")  # control characters other than tab, LF, FF, CR
_KIND_NAMES = ((CardKind.FLASHCARD, "flashcard"), (CardKind.MCQ, "multiple-choice question"),
               (CardKind.PROMPT, "open prompt"))


@dataclass(frozen=True)
class LoadedDeck:
    """A deck and every issue found in it (parse-level and lint), sorted by line."""

    deck: Deck
    issues: tuple[LintIssue, ...]

    @property
    def errors(self) -> tuple[LintIssue, ...]:
        return tuple(i for i in self.issues if i.severity is Severity.ERROR)

    @property
    def warnings(self) -> tuple[LintIssue, ...]:
        return tuple(i for i in self.issues if i.severity is Severity.WARNING)

    def summary(self) -> str:
        """`pretrained-models-cv: 17 cards (5 flashcards, 10 multiple-choice questions, 2 open prompts);
        0 errors, 0 warnings`: one line for `tutor deck lint` and for the admin's Slack reply."""
        counts = Counter(card.kind for card in self.deck.cards)
        kinds = ", ".join(plural(counts[kind], name) for kind, name in _KIND_NAMES if counts[kind])
        return (f"{self.deck.slug}: {plural(len(self.deck.cards), 'card')} ({kinds}); "
                f"{plural(len(self.errors), 'error')}, {plural(len(self.warnings), 'warning')}")

    def report(self, source: str | None = None) -> str:
        """Every issue as `source:line: severity: message`, then the summary line."""
        return "\n".join([*(issue.describe(source) for issue in self.issues), self.summary()])


def load_deck_text(text: str, *, filename: str) -> LoadedDeck:
    """Parse `text` in the format its file name says; the slug defaults to the name's stem.

    Raises DeckFormatError for text that holds no deck at all (empty, binary, YAML syntax error…)."""
    _require_text(text)
    name = PurePath(filename)
    suffix, default_slug = name.suffix.casefold(), slugify(name.stem)
    if suffix in YAML_SUFFIXES:
        deck, parsed = load_yaml_deck(text, default_slug=default_slug)
    elif suffix == ".json":
        deck, parsed = load_json_deck(text, default_slug=default_slug)
    else:
        deck, parsed = parse_recap(text, slug=default_slug)
    return LoadedDeck(deck=deck, issues=tuple(merge_issues(parsed, lint_deck(deck))))


def load_deck_file(path: str | Path) -> LoadedDeck:
    """Read and parse a deck file (UTF-8, a BOM is allowed). OSError when it cannot be read."""
    path = Path(path)
    size = path.stat().st_size
    if size > MAX_DECK_BYTES:
        raise DeckFormatError(f"{path.name} is {size / 1e6:.1f} MB; a deck is at most "
                              f"{MAX_DECK_BYTES // (1024 * 1024)} MiB of text")
    data = path.read_bytes()
    if b"\x00" in data:
        raise DeckFormatError(f"{path.name} is a binary file, not a deck: give a recap page (.txt) "
                              "or a YAML deck (.yaml)")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[:exc.start].count(b"\n") + 1
        raise DeckFormatError(f"{path.name} is not UTF-8 text (invalid byte at line {line}); save it as "
                              "UTF-8") from exc
    return load_deck_text(text, filename=path.name)


def shipped_decks() -> list[Path]:
    """The YAML decks that come with the package, by name."""
    return sorted(p for p in DECKS_DIR.iterdir() if p.suffix in YAML_SUFFIXES and p.is_file())


def merge_issues(parsed: Iterable[LintIssue], linted: Iterable[LintIssue]) -> list[LintIssue]:
    """Parse-level issues, then lint's, without reporting one problem twice: where the parser
    already reported a check for a card (or the deck), lint's report of it (which may lack the
    line) is dropped; a key the parser could not read (`bad-answer`) also covers `missing-key`."""
    parsed = list(parsed)
    covered = {(i.card_id, i.code) for i in parsed}
    covered |= {(i.card_id, "missing-key") for i in parsed if i.code == "bad-answer"}
    return sort_issues([*parsed, *(i for i in linted if (i.card_id, i.code) not in covered)])


def _require_text(text: str) -> None:
    if not text.strip():
        raise DeckFormatError("the file is empty")
    if len(text) > MAX_DECK_BYTES:
        raise DeckFormatError(f"the text is {len(text):,} characters; a deck is at most "
                              f"{MAX_DECK_BYTES:,}")
    controls = len(_CONTROL.findall(text))
    if "\x00" in text or controls > max(3, len(text) // 100):
        raise DeckFormatError("this is binary data, not a deck: give a recap page (.txt) or a YAML deck "
                              "(.yaml)")

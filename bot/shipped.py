"""The decks that ship with the package (`content/decks/*.yaml`), available from the first start.

`tutor serve` and every `tutor` command that opens the database call `sync_shipped_decks`: a shipped
deck missing from the database is imported, one whose file changed (a new release) is imported
again, which keeps the review history by card id like any import (edited questions retire the old
card, explanations update in place). A deck of the same name that came from somewhere else (an
admin's own `/tutor import` or `tutor deck import other.yaml`) is the admin's and is left alone.
TUTOR_SHIPPED_DECKS=0 turns this off.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from bot.tutor import ImportResult, Tutor
from content.loader import load_deck_file, shipped_decks
from content.model import DeckFormatError
from storage import decks as deck_store

log = logging.getLogger(__name__)

SOURCE_PREFIX = "shipped:"  # decks.source of a shipped deck: "shipped:<file name>"


class SyncAction(StrEnum):
    IMPORTED = "imported"  # was not in the database
    UPDATED = "updated"  # the shipped file changed since it was stored
    UNCHANGED = "unchanged"
    KEPT = "kept"  # a deck of this name from another source: not touched
    FAILED = "failed"  # the shipped file could not be loaded (a broken install)


@dataclass(frozen=True)
class ShippedDeck:
    deck: str
    action: SyncAction
    result: ImportResult | None = None
    detail: str | None = None  # where a kept deck came from, or why it failed


def is_shipped_source(source: str | None, path: Path) -> bool:
    """Whether a stored deck's `source` is this shipped file (by name, or the file's own path, as
    `tutor deck import content/decks/….yaml` stores it)."""
    if source is None:
        return False
    if source == SOURCE_PREFIX + path.name:
        return True
    try:
        return Path(source).resolve() == path.resolve()
    except (OSError, ValueError):
        return False


def sync_shipped_decks(tutor: Tutor, paths: list[Path] | None = None) -> list[ShippedDeck]:
    """Import or update each shipped deck (default: every file in content/decks/); one failure is
    reported and the other decks go on."""
    done = []
    for path in shipped_decks() if paths is None else paths:
        try:
            done.append(_sync_one(tutor, path))
        except (OSError, DeckFormatError, ValueError) as exc:
            log.error("the shipped deck %s could not be loaded: %s", path.name, exc)
            done.append(ShippedDeck(deck=path.stem, action=SyncAction.FAILED, detail=str(exc)))
    return done


def _sync_one(tutor: Tutor, path: Path) -> ShippedDeck:
    loaded = load_deck_file(path)
    deck = loaded.deck
    with tutor.lock:
        row = deck_store.deck_row(tutor.db, deck.slug)
    if row is not None and not is_shipped_source(row.source, path):
        return ShippedDeck(deck=deck.slug, action=SyncAction.KEPT, detail=row.source)
    if row is not None and tutor.deck(deck.slug).to_dict() == deck.to_dict():
        return ShippedDeck(deck=deck.slug, action=SyncAction.UNCHANGED)
    result = tutor.import_deck(deck, source=SOURCE_PREFIX + path.name)
    action = SyncAction.IMPORTED if row is None else SyncAction.UPDATED
    log.info("shipped deck %s %s: %d added, %d updated, %d retired", deck.slug, action.value, result.added,
             result.updated, result.retired)
    return ShippedDeck(deck=deck.slug, action=action, result=result)

"""SQL for decks and their cards: import (add, update, retire, restore in one transaction), listing.

A card is keyed by (deck, card_id) where card_id is content.model's stable id. A card that leaves the
deck is retired (retired_at set), never deleted, so its review history stays; when it comes back it
is restored. A card's `data` is its `to_dict()` as JSON; changing only explanation text updates it.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlite_utils

from storage.db import transaction
from storage.timefmt import iso, parse, parse_optional


@dataclass(frozen=True)
class CardRecord:
    """One card as the importer hands it to storage (data: the card's to_dict(); scheduled: whether
    it takes part in spaced repetition, content.model.Deck.is_scheduled)."""

    card_id: str
    kind: str
    data: dict[str, Any]
    scheduled: bool = True


@dataclass(frozen=True)
class StoredCard:
    deck: str
    card_id: str
    kind: str
    position: int
    data: dict[str, Any]
    retired_at: datetime | None  # UTC
    scheduled: bool = True  # takes part in spaced repetition (content.model.Deck.is_scheduled)


@dataclass(frozen=True)
class DeckRow:
    slug: str
    title: str
    description: str | None
    desired_retention: float
    source: str | None
    revision: int
    imported_at: datetime  # UTC
    active_cards: int
    learners: int  # enrolled now
    prompts: str = "graded"  # content.model.PromptMode's value
    easy_days: tuple[float, ...] | None = None  # share of a normal day's reviews, Monday first; None: normal


@dataclass(frozen=True)
class ImportCounts:
    added: int  # new ids, restored ones included
    restored: int  # ids that had been retired and are back
    updated: int  # same id, other data (explanations, level)
    retired: int
    unchanged: int


def _dump(data: dict[str, Any]) -> str:
    return json.dumps(data, sort_keys=True, ensure_ascii=False)


def import_cards(db: sqlite_utils.Database, *, slug: str, title: str, description: str | None,
                 desired_retention: float, source: str | None, cards: Sequence[CardRecord],
                 now: datetime, prompts: str = "graded",
                 easy_days: Sequence[float] | None = None) -> ImportCounts:
    """Store the deck and make `cards` (in deck order) its active cards, all in one transaction."""
    stamp = iso(now)
    normal = easy_days is None or all(share == 1.0 for share in easy_days)
    week = None if normal or easy_days is None else json.dumps(list(easy_days))
    added = restored = updated = unchanged = 0
    with transaction(db) as conn:
        exists = conn.execute("SELECT 1 FROM decks WHERE slug = ?", (slug,)).fetchone()
        if exists:
            conn.execute("UPDATE decks SET title = ?, description = ?, desired_retention = ?, source = ?,"
                         " imported_at = ?, prompts = ?, easy_days = ? WHERE slug = ?",
                         (title, description, desired_retention, source, stamp, prompts, week, slug))
        else:
            conn.execute("INSERT INTO decks (slug, title, description, desired_retention, source, revision,"
                         " imported_at, prompts, easy_days) VALUES (?, ?, ?, ?, ?, 1, ?, ?, ?)",
                         (slug, title, description, desired_retention, source, stamp, prompts, week))
        stored = {row[0]: row for row in conn.execute(
            "SELECT card_id, data, position, retired_at, scheduled FROM cards WHERE deck = ?", (slug,))}
        seen: set[str] = set()
        for position, card in enumerate(cards):
            if card.card_id in seen:  # the same text twice in one deck is one card
                continue
            seen.add(card.card_id)
            data = _dump(card.data)
            old = stored.get(card.card_id)
            if old is None:
                added += 1
                conn.execute("INSERT INTO cards (deck, card_id, kind, position, data, added_at, updated_at,"
                             " scheduled) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                             (slug, card.card_id, card.kind, position, data, stamp, stamp,
                              int(card.scheduled)))
                continue
            _, old_data, old_position, retired_at, old_scheduled = old
            if retired_at is not None:
                added += 1
                restored += 1
            elif old_data != data:
                updated += 1
            else:
                unchanged += 1
            if (retired_at is not None or old_data != data or old_position != position
                    or old_scheduled != int(card.scheduled)):
                conn.execute("UPDATE cards SET kind = ?, position = ?, data = ?, updated_at = ?,"
                             " retired_at = NULL, scheduled = ? WHERE deck = ? AND card_id = ?",
                             (card.kind, position, data, stamp, int(card.scheduled), slug, card.card_id))
        gone = [cid for cid, row in stored.items() if cid not in seen and row[3] is None]
        conn.executemany("UPDATE cards SET retired_at = ?, updated_at = ? WHERE deck = ? AND card_id = ?",
                         [(stamp, stamp, slug, cid) for cid in gone])
        if exists:  # positions may have moved too: caches reload on any import
            conn.execute("UPDATE decks SET revision = revision + 1 WHERE slug = ?", (slug,))
    return ImportCounts(added=added, restored=restored, updated=updated, retired=len(gone),
                        unchanged=unchanged)


_DECK_COLUMNS = """d.slug, d.title, d.description, d.desired_retention, d.source, d.revision, d.imported_at,
    (SELECT count(*) FROM cards c WHERE c.deck = d.slug AND c.retired_at IS NULL),
    (SELECT count(*) FROM enrollments e JOIN learners l ON l.user_id = e.user_id
      WHERE e.deck = d.slug AND e.left_at IS NULL), d.prompts, d.easy_days"""


def _deck_row(row: tuple[Any, ...]) -> DeckRow:
    return DeckRow(slug=row[0], title=row[1], description=row[2], desired_retention=row[3], source=row[4],
                   revision=row[5], imported_at=parse(row[6]), active_cards=row[7], learners=row[8],
                   prompts=row[9], easy_days=None if row[10] is None else tuple(json.loads(row[10])))


def deck_row(db: sqlite_utils.Database, slug: str) -> DeckRow | None:
    row = db.conn.execute(f"SELECT {_DECK_COLUMNS} FROM decks d WHERE d.slug = ?", (slug,)).fetchone()
    return None if row is None else _deck_row(row)


def list_decks(db: sqlite_utils.Database) -> list[DeckRow]:
    return [_deck_row(r) for r in db.conn.execute(f"SELECT {_DECK_COLUMNS} FROM decks d ORDER BY d.slug")]


def deck_revisions(db: sqlite_utils.Database) -> dict[str, tuple[int, float]]:
    """slug -> (revision, desired retention), for every deck: one cheap query to validate caches."""
    return {slug: (rev, ret) for slug, rev, ret in
            db.conn.execute("SELECT slug, revision, desired_retention FROM decks")}


def deck_cards(db: sqlite_utils.Database, slug: str) -> list[StoredCard]:
    """Every card of the deck, retired ones included, active ones first in deck order."""
    rows = db.conn.execute(
        "SELECT deck, card_id, kind, position, data, retired_at, scheduled FROM cards WHERE deck = ?"
        " ORDER BY retired_at IS NOT NULL, position, card_id", (slug,))
    return [StoredCard(deck=r[0], card_id=r[1], kind=r[2], position=r[3], data=json.loads(r[4]),
                       retired_at=parse_optional(r[5]), scheduled=bool(r[6])) for r in rows]

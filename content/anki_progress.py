"""A member's progress inside an Anki package: review history (revlog), due dates and FSRS memory state,
so that "continue in Anki" continues instead of starting over.

genanki writes notes and new cards; this module then edits the package's collection (Anki's schema
11, which every Anki imports) in place:

- `col.conf` gets `schedVer: 2`, so Anki reads the revlog's grades as the 4-button grades they are;
- `col.crt` (the collection's creation, which Anki counts review due days from) is set to noon of a
  fixed date in the member's zone, so the day numbers mean the same dates where they import it;
- each card the member has reviewed becomes a review card (suspended if it was): due day, interval,
  reps, lapses, and in `cards.data` the FSRS memory state as Anki keeps it (`s` stability, `d`
  difficulty, `dr` desired retention, `decay`, `lrt` last review time);
- every review goes into `revlog` (the first one of a card as a learning entry);
- the deck gets a deck options preset of its own holding the member's FSRS parameters and the
  deck's desired retention (imported with Anki's "import deck presets").

Import with Anki's scheduling kept (File > Import, "Import any learning progress"; in code
`ImportAnkiPackageOptions(with_scheduling=True, with_deck_configs=True)`): the cards come back due on
the same days with the same counts (tests/test_anki_progress.py imports into the real `anki`).
"""

from __future__ import annotations

import json
import sqlite3
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time
from pathlib import Path
from zoneinfo import ZoneInfo

import genanki

EPOCH_DAY = date(2014, 9, 19)  # the day col.crt is put on (genanki's own crt day)
REVLOG_LEARN, REVLOG_REVIEW = 0, 1
CARD_REVIEW, QUEUE_REVIEW, QUEUE_SUSPENDED = 2, 2, -1
MAX_REVLOG_MS = 60_000  # Anki caps a review's time at a minute


@dataclass(frozen=True)
class ReviewEntry:
    reviewed_at: datetime  # aware
    rating: int  # 1..4
    interval_days: int  # the interval this review gave
    duration_ms: int | None


@dataclass(frozen=True)
class CardProgress:
    """One card's scheduling, in learning days of the member's zone."""

    card_id: str  # content.model's id (the note's guid derives from it)
    due_day: date
    last_day: date
    stability: float | None
    difficulty: float | None
    reps: int
    lapses: int
    suspended: bool
    last_review: datetime | None
    reviews: tuple[ReviewEntry, ...] = ()


@dataclass(frozen=True)
class MemberProgress:
    user: str
    tz: str
    parameters: tuple[float, ...]  # FSRS-6, 21 weights
    desired_retention: float
    cards: Sequence[CardProgress] = field(default_factory=tuple)


def _crt(tz: str) -> int:
    return int(datetime.combine(EPOCH_DAY, time(12), tzinfo=ZoneInfo(tz)).timestamp())


def _preset_id(deck_id: int) -> int:
    return deck_id + 1  # next to the deck's own stable id, out of the way of Anki's default preset (1)


def add_progress(collection: Path, deck_id: int, progress: MemberProgress) -> None:
    """Write `progress` into a genanki-written collection file (see the module doc)."""
    db = sqlite3.connect(collection)
    try:
        conf = json.loads(db.execute("SELECT conf FROM col").fetchone()[0])
        conf["schedVer"] = 2
        dconf = json.loads(db.execute("SELECT dconf FROM col").fetchone()[0])
        decks = json.loads(db.execute("SELECT decks FROM col").fetchone()[0])
        preset = dict(dconf["1"], id=_preset_id(deck_id), name=f"tutor: {progress.user}",
                      fsrsParams6=list(progress.parameters), desiredRetention=progress.desired_retention)
        dconf[str(preset["id"])] = preset
        decks[str(deck_id)]["conf"] = preset["id"]
        db.execute("UPDATE col SET crt = ?, conf = ?, dconf = ?, decks = ?",
                   (_crt(progress.tz), json.dumps(conf), json.dumps(dconf), json.dumps(decks)))
        card_of_guid = dict(db.execute("SELECT n.guid, c.id FROM notes n JOIN cards c ON c.nid = n.id"))
        used_ids: set[int] = set()
        for card in progress.cards:
            anki_card = card_of_guid.get(genanki.guid_for(card.card_id))
            if anki_card is None:
                continue  # retired from the deck: not in the package
            _write_card(db, anki_card, card, progress)
            _write_revlog(db, anki_card, card, used_ids)
        db.commit()
    finally:
        db.close()


def _write_card(db: sqlite3.Connection, anki_card: int, card: CardProgress, progress: MemberProgress) -> None:
    data: dict[str, float | int] = {}
    if card.stability is not None and card.difficulty is not None:
        data = {"s": round(card.stability, 4), "d": round(card.difficulty, 4),
                "dr": progress.desired_retention, "decay": progress.parameters[20]}
    if card.last_review is not None:
        data["lrt"] = int(card.last_review.timestamp())
    db.execute("UPDATE cards SET type = ?, queue = ?, due = ?, ivl = ?, factor = 2500, reps = ?, lapses = ?,"
               " left = 0, data = ? WHERE id = ?",
               (CARD_REVIEW, QUEUE_SUSPENDED if card.suspended else QUEUE_REVIEW,
                (card.due_day - EPOCH_DAY).days, max(1, (card.due_day - card.last_day).days), card.reps,
                card.lapses, json.dumps(data), anki_card))


def _write_revlog(db: sqlite3.Connection, anki_card: int, card: CardProgress, used_ids: set[int]) -> None:
    last_interval = 0
    for index, review in enumerate(card.reviews):
        entry_id = int(review.reviewed_at.timestamp() * 1000)
        while entry_id in used_ids:  # the revlog id is the moment in ms: two reviews never share one
            entry_id += 1
        used_ids.add(entry_id)
        db.execute("INSERT INTO revlog (id, cid, usn, ease, ivl, lastIvl, factor, time, type)"
                   " VALUES (?, ?, -1, ?, ?, ?, ?, ?, ?)",
                   (entry_id, anki_card, review.rating, review.interval_days, last_interval,
                    0 if index == 0 else 2500, min(review.duration_ms or 0, MAX_REVLOG_MS),
                    REVLOG_LEARN if index == 0 else REVLOG_REVIEW))
        last_interval = review.interval_days


def with_progress(package: Path, deck_id: int, progress: MemberProgress, workdir: Path) -> None:
    """Rewrite the .apkg at `package` with the member's progress in its collection."""
    with zipfile.ZipFile(package) as archive:
        names = archive.namelist()
        archive.extractall(workdir)
    add_progress(workdir / "collection.anki2", deck_id, progress)
    with zipfile.ZipFile(package, "w", zipfile.ZIP_DEFLATED) as archive:
        for name in names:
            archive.write(workdir / name, name)

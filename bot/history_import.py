"""Bring a member's review history from another tool, so their memory model comes with them.

The file has the columns of `../shared/srs/*.csv` (py-fsrs's review log export): `card_id`,
`review_rating` (1 Again … 4 Easy), `review_time` (ISO 8601 with a zone, or Unix milliseconds) and
`review_duration` (ms, may be empty). Learning days are counted in the member's zone (or the one
given). A card the deck has (the same card id) and that the member has not reviewed here is
scheduled from its history, as if it had been reviewed here (source "import"); every other row is
kept as history only: it teaches the member's FSRS parameters (bot/memory_models.py), nothing else.
A bad row stops the import before anything is stored, naming its line; importing a file twice adds
nothing the second time.
"""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from bot import learning_day as days
from bot.tutor import Tutor, TutorError
from bot.tutor_types import Rating
from storage import imported_reviews as imported_store
from storage import reviews as review_store
from storage.db import transaction
from storage.imported_reviews import ImportedReview

COLUMNS = ("card_id", "review_rating", "review_time", "review_duration")


@dataclass(frozen=True)
class HistoryRow:
    line: int
    card_id: str
    rating: int
    reviewed_at: datetime  # UTC
    duration_ms: int | None


@dataclass(frozen=True)
class HistoryImport:
    """What an import did."""

    user_id: str
    rows: int  # in the file
    cards: int  # distinct cards in the file
    scheduled_cards: int  # cards of the deck now scheduled from their history
    scheduled_reviews: int
    history_only: int  # reviews newly kept as history only
    already_there: int  # reviews imported before (or reviewed here at the same moment)
    tz: str

    def to_dict(self) -> dict[str, Any]:
        return {"user_id": self.user_id, "rows": self.rows, "cards": self.cards,
                "scheduled_cards": self.scheduled_cards, "scheduled_reviews": self.scheduled_reviews,
                "history_only": self.history_only, "already_there": self.already_there, "tz": self.tz}


def parse_history(text: str) -> list[HistoryRow]:
    """The rows of a review-history CSV; TutorError naming the first bad line."""
    reader = csv.DictReader(io.StringIO(text))
    missing = [c for c in COLUMNS[:3] if c not in (reader.fieldnames or ())]
    if missing:
        raise TutorError(f"the file has no {', '.join(missing)} column; it needs the columns "
                         f"{', '.join(COLUMNS)} (review_duration may be empty)")
    rows = []
    for number, raw in enumerate(reader, start=2):
        rows.append(_row(number, raw))
    if not rows:
        raise TutorError("the file has a header but no reviews")
    return rows


def _row(line: int, raw: dict[str, str | None]) -> HistoryRow:
    card_id = (raw.get("card_id") or "").strip()
    if not card_id:
        raise TutorError(f"line {line}: card_id is empty")
    try:
        rating = Rating(int((raw.get("review_rating") or "").strip()))
    except ValueError:
        raise TutorError(f"line {line}: review_rating {raw.get('review_rating')!r} is not 1, 2, 3 "
                         "or 4") from None
    when = (raw.get("review_time") or "").strip()
    try:
        moment = (datetime.fromtimestamp(int(when) / 1000, UTC) if when.isdigit()
                  else datetime.fromisoformat(when))
    except (ValueError, OverflowError):
        raise TutorError(f"line {line}: review_time {when!r} is not an ISO date-time "
                         "(2024-03-29T20:32:32+00:00) nor Unix milliseconds") from None
    if moment.tzinfo is None:
        raise TutorError(f"line {line}: review_time {when!r} has no zone; add one, e.g. +00:00")
    duration = (raw.get("review_duration") or "").strip()
    if duration and not duration.isdigit():
        raise TutorError(f"line {line}: review_duration {duration!r} is not a number of milliseconds")
    return HistoryRow(line=line, card_id=card_id, rating=int(rating), reviewed_at=moment.astimezone(UTC),
                      duration_ms=int(duration) if duration else None)


def import_history(tutor: Tutor, user_id: str, rows: Iterable[HistoryRow], *, deck: str | None = None,
                   tz: str | None = None, file: str | None = None,
                   now: datetime | None = None) -> HistoryImport:
    """Store `rows` as `user_id`'s history (see the module doc), in one transaction."""
    rows = sorted(rows, key=lambda r: (r.reviewed_at, r.line))
    learner = tutor.learner(user_id) or tutor.ensure_learner(user_id, tz=tz)  # a new member gets `tz`
    zone_name = tz or learner.tz
    decks = [deck] if deck is not None else list(learner.decks)
    known: dict[str, str] = {}  # card id -> deck
    for name in decks:
        for card in tutor.deck(name).scheduled_cards:
            known.setdefault(card.id, name)
    by_card: dict[str, list[HistoryRow]] = defaultdict(list)
    for row in rows:
        by_card[row.card_id].append(row)
    moment = now or datetime.now(UTC)
    scheduled_cards = scheduled_reviews = already = 0
    history: list[ImportedReview] = []
    with tutor.lock, transaction(tutor.db):
        for card_id, card_rows in by_card.items():
            slug = known.get(card_id)
            if slug is not None and review_store.get_state(tutor.db, user_id, slug, card_id) is None:
                for seq, row in enumerate(card_rows, start=1):  # joins this transaction
                    tutor.record_imported(user_id, slug, card_id, Rating(row.rating), seq=seq,
                                          now=row.reviewed_at, duration_ms=row.duration_ms, tz=zone_name)
                scheduled_cards += 1
                scheduled_reviews += len(card_rows)
                continue
            here: set[datetime] = set()
            if slug is not None:  # reviewed here already: what is not in its log is history only
                here = {r.reviewed_at for r in review_store.reviews_of(tutor.db, user_id, slug)
                        if r.card_id == card_id}
            for row in card_rows:
                if row.reviewed_at in here:
                    already += 1
                else:
                    history.append(ImportedReview(user_id=user_id, source_card=card_id, rating=row.rating,
                                                  reviewed_at=row.reviewed_at,
                                                  learning_day=days.learning_day(row.reviewed_at, zone_name),
                                                  duration_ms=row.duration_ms))
        added = imported_store.insert_imported(tutor.db, history, file=file, now=moment)
    return HistoryImport(user_id=user_id, rows=len(rows), cards=len(by_card), scheduled_cards=scheduled_cards,
                         scheduled_reviews=scheduled_reviews, history_only=added,
                         already_there=already + len(history) - added, tz=zone_name)



"""FSRS scheduling of one card, between storage's CardState and the `fsrs` package.

The tutor works in days: no minute learning or relearning steps, so the first review puts a card in
Review state and every interval is a whole number of days (fsrs rounds). `fsrs` has no New state:
a card without a stored state is new and is reviewed as a fresh `fsrs.Card()`. fsrs counts neither
reps nor lapses; we do (a lapse is Again on a card already in Review state). At LEECH_LAPSES lapses
the card is suspended: it keeps failing, and showing it again only frustrates.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import fsrs

from storage.reviews import CardState

LEECH_LAPSES = 8
DEFAULT_PARAMETERS: tuple[float, ...] = tuple(fsrs.Scheduler().parameters)


@dataclass(frozen=True)
class Scheduled:
    after: CardState
    leech: bool  # this review suspended the card


class Srs:
    """FSRS schedulers per desired retention. `fuzzing` spreads due dates by a few percent (on in
    production, so cards learned together do not stay together; off for reproducible tests)."""

    def __init__(self, *, parameters: Sequence[float] = DEFAULT_PARAMETERS, fuzzing: bool = True) -> None:
        self.parameters = tuple(parameters)
        self.fuzzing = fuzzing
        self._schedulers: dict[tuple[float, bool], fsrs.Scheduler] = {}
        self._lock = threading.Lock()

    def scheduler(self, desired_retention: float, *, fuzzing: bool | None = None) -> fsrs.Scheduler:
        fuzz = self.fuzzing if fuzzing is None else fuzzing
        key = (desired_retention, fuzz)
        with self._lock:
            found = self._schedulers.get(key)
            if found is None:
                found = fsrs.Scheduler(parameters=self.parameters, desired_retention=desired_retention,
                                       learning_steps=(), relearning_steps=(), enable_fuzzing=fuzz)
                self._schedulers[key] = found
            return found

    def review(self, before: CardState | None, *, user_id: str, deck: str, card_id: str, rating: int,
               now: datetime, desired_retention: float, duration_ms: int | None = None) -> Scheduled:
        """The state after reviewing with `rating` (1-4) at `now` (any zone; fsrs gets UTC)."""
        moment = now.astimezone(UTC)
        card = to_fsrs(before, moment)
        scheduler = self.scheduler(desired_retention)
        reviewed, _ = scheduler.review_card(card, fsrs.Rating(rating), moment, duration_ms)
        lapse = before is not None and before.state == fsrs.State.Review and rating == fsrs.Rating.Again
        lapses = (before.lapses if before else 0) + int(lapse)
        suspended_at = before.suspended_at if before else None
        leech = suspended_at is None and lapse and lapses >= LEECH_LAPSES
        if leech:
            suspended_at = moment
        after = CardState(
            user_id=user_id, deck=deck, card_id=card_id, state=int(reviewed.state), step=reviewed.step,
            stability=reviewed.stability, difficulty=reviewed.difficulty, due=reviewed.due.astimezone(UTC),
            last_review=moment, reps=(before.reps if before else 0) + 1, lapses=lapses,
            seq=(before.seq if before else 0) + 1, suspended_at=suspended_at)
        return Scheduled(after=after, leech=leech)

    def preview(self, before: CardState | None, now: datetime,
                desired_retention: float) -> dict[int, timedelta]:
        """Rating (1-4) -> the interval it would give now, without fuzz (a button label must not
        promise a random number) and without storing anything."""
        moment = now.astimezone(UTC)
        scheduler = self.scheduler(desired_retention, fuzzing=False)
        out = {}
        for rating in fsrs.Rating:
            reviewed, _ = scheduler.review_card(to_fsrs(before, moment), rating, moment)
            out[int(rating)] = reviewed.due - moment
        return out


def to_fsrs(state: CardState | None, now: datetime) -> fsrs.Card:
    """fsrs's card for a stored state, or a fresh card (Learning, step 0) when there is none.
    card_id is given so fsrs does not sleep a millisecond to make one up."""
    if state is None:
        return fsrs.Card(card_id=0, due=now)
    return fsrs.Card(card_id=0, state=fsrs.State(state.state), step=state.step, stability=state.stability,
                     difficulty=state.difficulty, due=state.due, last_review=state.last_review)

"""FSRS scheduling of one card, between storage's CardState and the `fsrs` package, in learning days.

**Learning days.** FSRS's default parameters were fitted on whole days (Anki's day, with its 04:00
rollover), and py-fsrs counts elapsed time as floor(hours / 24): a card answered at 20:00 and again at
08:00 the next morning would have had "0 days". So fsrs is never given the real moments: it is given
the midnight (UTC) of each review's learning day in the learner's zone (`fsrs_moment`), which makes
every elapsed time a whole number of learning days, DST included. The review log keeps the exact
moments; the state keeps the learning day of its last review (`CardState.last_day`). A due date is
the start (04:00 local) of the learning day it falls on.

**Days, not steps.** No minute learning or relearning steps: the first review puts a card in Review
state. `fsrs` has no New state: a card without a stored state is new and is reviewed as a fresh
`fsrs.Card()`. fsrs counts neither reps nor lapses; we do (a lapse is Again on a card in Review
state). At LEECH_LAPSES lapses the card is suspended: it keeps failing, and showing it only frustrates.

**Fuzz you can preview.** Intervals of 3 days or more are spread over fsrs's own fuzz range, as
fsrs does, but the pick is deterministic: it is drawn from a hash of (learner, deck, card, seq), so
the interval a button previews is the interval the click gives. Within the range, days that already
carry many of the learner's due cards, and the deck's easy days (lighter weekdays), are less likely
(Anki's load balancer and easy days): each candidate day d (d days away) weighs
share(weekday) / ((cards due that day + 1)^2 * d).
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

import fsrs
from fsrs.scheduler import FUZZ_RANGES

from bot import learning_day as days
from content.model import NORMAL_WEEK
from storage.reviews import CardState

LEECH_LAPSES = 8
DEFAULT_PARAMETERS: tuple[float, ...] = tuple(fsrs.Scheduler().parameters)
MAXIMUM_INTERVAL = 36_500  # days, fsrs's default

LoadFunction = Callable[[date, date], Mapping[date, int]]


def fsrs_moment(day: date) -> datetime:
    """The moment fsrs is given for a review on learning day `day`: its midnight in UTC, so that
    fsrs's floor(hours / 24) is exactly the number of learning days in between."""
    return datetime.combine(day, time(0), tzinfo=UTC)


@dataclass(frozen=True)
class Plan:
    """What scheduling one learner's card depends on besides its state.

    `load(first, last)` gives the learner's cards already due on each learning day in [first, last]
    (this card left out); None spreads due dates without looking at the load."""

    tz: str
    desired_retention: float = 0.9
    parameters: tuple[float, ...] = DEFAULT_PARAMETERS
    easy_days: tuple[float, ...] = NORMAL_WEEK
    load: LoadFunction | None = None


@dataclass(frozen=True)
class Scheduled:
    after: CardState
    days: int  # learning days from this review's day to the due day
    leech: bool  # this review suspended the card


class Srs:
    """FSRS-6 schedulers per (parameters, desired retention). `fuzzing` spreads due dates (on in
    production, so cards learned together do not stay together; off for exact intervals in tests)."""

    def __init__(self, *, fuzzing: bool = True) -> None:
        self.fuzzing = fuzzing
        self._schedulers: dict[tuple[tuple[float, ...], float], fsrs.Scheduler] = {}
        self._lock = threading.Lock()

    def scheduler(self, parameters: Sequence[float], desired_retention: float) -> fsrs.Scheduler:
        """fsrs's scheduler without its own fuzz (we fuzz, deterministically) nor steps."""
        key = (tuple(parameters), desired_retention)
        with self._lock:
            found = self._schedulers.get(key)
            if found is None:
                if len(self._schedulers) > 256:  # parameters change weekly at most; keep it bounded
                    self._schedulers.clear()
                found = fsrs.Scheduler(parameters=key[0], desired_retention=desired_retention,
                                       learning_steps=(), relearning_steps=(), enable_fuzzing=False,
                                       maximum_interval=MAXIMUM_INTERVAL)
                self._schedulers[key] = found
            return found

    def review(self, before: CardState | None, *, user_id: str, deck: str, card_id: str, rating: int,
               now: datetime, plan: Plan) -> Scheduled:
        """The state after reviewing with `rating` (1-4) at `now` (any zone)."""
        moment = now.astimezone(UTC)
        today = days.learning_day(moment, plan.tz)
        seq = (before.seq if before else 0) + 1
        reviewed, interval = self._next(before, rating, today, plan, seed=_seed(user_id, deck, card_id, seq))
        lapse = before is not None and before.state == fsrs.State.Review and rating == fsrs.Rating.Again
        lapses = (before.lapses if before else 0) + int(lapse)
        suspended_at = before.suspended_at if before else None
        leech = suspended_at is None and lapse and lapses >= LEECH_LAPSES
        if leech:
            suspended_at = moment
        after = CardState(
            user_id=user_id, deck=deck, card_id=card_id, state=int(reviewed.state), step=reviewed.step,
            stability=reviewed.stability, difficulty=reviewed.difficulty,
            due=days.day_start(today + timedelta(days=interval), plan.tz), last_review=moment,
            reps=(before.reps if before else 0) + 1, lapses=lapses, seq=seq, suspended_at=suspended_at,
            last_day=today)
        return Scheduled(after=after, days=interval, leech=leech)

    def preview(self, before: CardState | None, *, user_id: str, deck: str, card_id: str, now: datetime,
                plan: Plan) -> dict[int, int]:
        """Rating (1-4) -> the learning days until due that rating would give now: exactly what
        `review` gives on the same learning day (same fuzz draw, same load), storing nothing."""
        today = days.learning_day(now, plan.tz)
        seed = _seed(user_id, deck, card_id, (before.seq if before else 0) + 1)
        return {int(r): self._next(before, int(r), today, plan, seed=seed)[1] for r in fsrs.Rating}

    def _next(self, before: CardState | None, rating: int, today: date, plan: Plan,
              seed: float) -> tuple[fsrs.Card, int]:
        scheduler = self.scheduler(plan.parameters, plan.desired_retention)
        reviewed = review_on_day(scheduler, to_fsrs(before, plan.tz), rating, today)
        interval = (reviewed.due - fsrs_moment(today)).days
        if self.fuzzing and reviewed.state == fsrs.State.Review:
            interval = spread(interval, today=today, seed=seed, easy_days=plan.easy_days, load=plan.load)
        return reviewed, interval


def review_on_day(scheduler: fsrs.Scheduler, card: fsrs.Card, rating: int, day: date) -> fsrs.Card:
    """fsrs's review of `card` on learning day `day` (the one place fsrs is called)."""
    reviewed, _ = scheduler.review_card(card, fsrs.Rating(rating), fsrs_moment(day))
    return reviewed


def replay(scheduler: fsrs.Scheduler,
           reviews: Iterable[tuple[int, date]]) -> Iterator[tuple[float | None, int, fsrs.Card]]:
    """One card's history of (rating, learning day), oldest first, as the engine schedules it: for each
    review, (fsrs's predicted recall probability just before it, None for the first; learning days
    since the previous review; the card after it)."""
    card: fsrs.Card | None = None
    previous: date | None = None
    for rating, day in reviews:
        if card is None or previous is None:
            recall, elapsed = None, 0
            card = fsrs.Card(card_id=0, due=fsrs_moment(day))
        else:
            elapsed = (day - previous).days
            recall = scheduler.get_card_retrievability(card, fsrs_moment(day))
        card = review_on_day(scheduler, card, rating, day)
        previous = day
        yield recall, elapsed, card


def to_fsrs(state: CardState | None, tz: str) -> fsrs.Card:
    """fsrs's card for a stored state, its last review at its learning day's fsrs moment, or a fresh
    card when there is none. card_id is given so fsrs does not sleep a millisecond to make one up."""
    if state is None:
        return fsrs.Card(card_id=0, due=fsrs_moment(date(2000, 1, 1)))
    last = None
    if state.last_review is not None:
        last = fsrs_moment(state.last_day or days.learning_day(state.last_review, tz))
    return fsrs.Card(card_id=0, state=fsrs.State(state.state), step=state.step, stability=state.stability,
                     difficulty=state.difficulty, due=state.due, last_review=last)


def fuzz_range(interval: int, maximum: int = MAXIMUM_INTERVAL) -> tuple[int, int]:
    """fsrs's fuzz range of an interval of `interval` days (fsrs.Scheduler._get_fuzzed_interval's)."""
    delta = 1.0
    for part in FUZZ_RANGES:
        delta += part["factor"] * max(min(float(interval), part["end"]) - part["start"], 0.0)
    low, high = max(2, round(interval - delta)), min(round(interval + delta), maximum)
    return min(low, high), high


def spread(interval: int, *, today: date, seed: float, easy_days: Sequence[float] = NORMAL_WEEK,
           load: LoadFunction | None = None) -> int:
    """The interval actually given: one day of the fuzz range, drawn with `seed` (0-1) among weights
    share(weekday) / ((cards due + 1)^2 * d); intervals under 2.5 days are kept, as fsrs keeps them."""
    if interval < 2.5:
        return interval
    low, high = fuzz_range(interval)
    candidates = range(low, high + 1)
    counts = load(today + timedelta(days=low), today + timedelta(days=high)) if load else {}
    weights = [easy_days[(today + timedelta(days=d)).weekday()]
               / ((counts.get(today + timedelta(days=d), 0) + 1) ** 2 * d) for d in candidates]
    if sum(weights) <= 0:  # every day in range is an easy day at 0: fall back to the plain fuzz
        weights = [1.0 / d for d in candidates]
    point, total = seed * sum(weights), 0.0
    for d, weight in zip(candidates, weights, strict=True):
        total += weight
        if point < total:
            return d
    return high


def _seed(user_id: str, deck: str, card_id: str, seq: int) -> float:
    """A number in [0, 1) fixed by the review: the same card's same review always draws the same."""
    digest = hashlib.sha256(f"{user_id}\x1f{deck}\x1f{card_id}\x1f{seq}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64

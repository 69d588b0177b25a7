"""Fit FSRS-6 parameters to a review history and score them, without torch.

- Fitting: `fsrs-rs-python` (Rust; ~0.02 s on 6,000 reviews), on the history in learning days: each
  review after a card's first is one training item (the card's history up to it), as fsrs-rs expects.
- Predicting: the engine's own replay (`bot.srs.replay`: the same learning days, the same fsrs calls
  that schedule the cards), so a score says how well these parameters would have scheduled.
- Scores, as open-spaced-repetition/srs-benchmark computes them, on reviews a day or more after the
  card's previous one: log loss; RMSE(bins), the root of the count-weighted mean squared gap between
  mean prediction and pass rate in bins of (elapsed days, review number, lapses), each binned on a log
  scale (bases 3.62, 1.89, 1.73); and AUC (ties count half). Passing is any grade but Again.

Pure functions of the reviews: storage and the bot's background job are in bot.memory_models.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Callable, Hashable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import fsrs_rs_python as fsrs_rs

from bot.srs import DEFAULT_PARAMETERS, Srs, replay

_EPSILON = 1e-7


class FitError(RuntimeError):
    """The history cannot be fitted (no card was reviewed on two learning days, or fsrs-rs failed)."""


@dataclass(frozen=True)
class HistoryReview:
    """One review of a history: `card` keys the card (unique within the history), `deck` picks the
    parameters in use for it (None: history without a deck, e.g. imported)."""

    card: Hashable
    deck: str | None
    rating: int  # 1..4
    reviewed_at: datetime
    day: date  # learning day


@dataclass(frozen=True)
class Prediction:
    recall: float  # predicted probability of passing
    passed: bool
    elapsed: int  # learning days since the card's previous review (>= 1)
    number: int  # this review's number for its card, 1-based
    lapses: int  # failed later-day reviews of the card before this one


@dataclass(frozen=True)
class Scores:
    log_loss: float
    rmse_bins: float
    auc: float | None  # None when every review passed (or none did)
    count: int

    def to_dict(self) -> dict[str, Any]:
        return {"log_loss": self.log_loss, "rmse_bins": self.rmse_bins, "auc": self.auc, "count": self.count}


def by_card(reviews: Iterable[HistoryReview]) -> dict[Hashable, list[HistoryReview]]:
    """Each card's reviews in time order."""
    cards: dict[Hashable, list[HistoryReview]] = defaultdict(list)
    for review in sorted(reviews, key=lambda r: r.reviewed_at):
        cards[review.card].append(review)
    return cards


def training_items(reviews: Iterable[HistoryReview]) -> list[fsrs_rs.FSRSItem]:
    """fsrs-rs's items: per card, its history up to each later review, in learning days."""
    items = []
    for history in by_card(reviews).values():
        steps: list[fsrs_rs.FSRSReview] = []
        for index, review in enumerate(history):
            elapsed = 0 if index == 0 else (review.day - history[index - 1].day).days
            steps.append(fsrs_rs.FSRSReview(review.rating, elapsed))
            if index:
                item = fsrs_rs.FSRSItem(list(steps))
                if item.long_term_review_cnt() > 0:  # fsrs-rs needs a review on a later day in it
                    items.append(item)
    return items


def fit(reviews: Iterable[HistoryReview]) -> tuple[float, ...]:
    """FSRS-6 parameters fitted to the history (starting from the defaults)."""
    items = training_items(reviews)
    if not items:
        raise FitError("no card was reviewed on two different learning days")
    try:
        fitted = fsrs_rs.FSRS(list(DEFAULT_PARAMETERS)).compute_parameters(items)
    except BaseException as exc:  # fsrs-rs reports bad input by panicking, which pyo3 raises as BaseException
        if isinstance(exc, KeyboardInterrupt | SystemExit):
            raise
        raise FitError(f"fsrs-rs could not fit the history: {exc}") from None
    if len(fitted) != len(DEFAULT_PARAMETERS) or not all(math.isfinite(w) for w in fitted):
        raise FitError(f"fsrs-rs returned {len(fitted)} parameters, not {len(DEFAULT_PARAMETERS)} finite "
                       "ones")
    return tuple(float(w) for w in fitted)


def predictions(reviews: Iterable[HistoryReview], parameters_for: Callable[[str | None], Sequence[float]],
                *, scored: Callable[[HistoryReview], bool] = lambda _: True, desired_retention: float = 0.9,
                srs: Srs | None = None) -> list[Prediction]:
    """Replay every card's whole history with the parameters of its deck and predict each review
    `scored` accepts that came a learning day or more after the card's previous one."""
    srs = srs or Srs(fuzzing=False)
    found = []
    for history in by_card(reviews).values():
        scheduler = srs.scheduler(parameters_for(history[0].deck), desired_retention)
        lapses = 0
        steps = replay(scheduler, ((r.rating, r.day) for r in history))
        for number, (review, (recall, elapsed, _)) in enumerate(zip(history, steps, strict=True), start=1):
            if recall is not None and elapsed > 0:
                if scored(review):
                    found.append(Prediction(recall=recall, passed=review.rating > 1, elapsed=elapsed,
                                            number=number, lapses=lapses))
                lapses += review.rating == 1
    return found


def scores(found: Sequence[Prediction]) -> Scores | None:
    """Log loss, RMSE(bins) and AUC of the predictions (None when there are none)."""
    if not found:
        return None
    log_loss = -sum(math.log(min(max(p.recall, _EPSILON), 1 - _EPSILON)) if p.passed
                    else math.log(1 - min(max(p.recall, _EPSILON), 1 - _EPSILON)) for p in found) / len(found)
    return Scores(log_loss=log_loss, rmse_bins=rmse_bins(found), auc=auc(found), count=len(found))


def _log_bin(value: int, scale: float, base: float, digits: int) -> float:
    return round(scale * base ** math.floor(math.log(value) / math.log(base)), digits)


def rmse_bins(found: Sequence[Prediction]) -> float:
    """srs-benchmark's RMSE(bins)."""
    bins: dict[tuple[float, float, float], list[float]] = defaultdict(lambda: [0.0, 0.0, 0.0])
    for p in found:
        key = (_log_bin(p.elapsed, 2.48, 3.62, 2), _log_bin(p.number, 1.99, 1.89, 0),
               _log_bin(p.lapses, 1.65, 1.73, 0) if p.lapses else 0.0)
        acc = bins[key]
        acc[0] += 1
        acc[1] += p.passed
        acc[2] += p.recall
    total = sum(n for n, _, _ in bins.values())
    return math.sqrt(sum(n * (passed / n - recall / n) ** 2 for n, passed, recall in bins.values()) / total)


def auc(found: Sequence[Prediction]) -> float | None:
    """The probability that a passed review was predicted higher than a failed one (ties: half)."""
    ranked = sorted(found, key=lambda p: p.recall)
    positives = sum(p.passed for p in ranked)
    negatives = len(ranked) - positives
    if not positives or not negatives:
        return None
    rank_sum, index = 0.0, 0
    while index < len(ranked):  # average ranks over runs of equal predictions
        end = index
        while end + 1 < len(ranked) and ranked[end + 1].recall == ranked[index].recall:
            end += 1
        average = (index + end) / 2 + 1
        rank_sum += average * sum(p.passed for p in ranked[index:end + 1])
        index = end + 1
    return (rank_sum - positives * (positives + 1) / 2) / (positives * negatives)

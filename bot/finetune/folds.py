"""How the demo judges accuracy: the held-out split, each arm's clock, and the running record.

Plain Python (no torch), so the rules are easy to read and test. With enough images per label a
stratified share is held out; with very few, every image is held out once (leave-one-out) and one
model per fold is trained, which is the honest cost of that estimate.
"""

from __future__ import annotations

import random
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field

HELD_OUT_SHARE = 0.25
LEAVE_ONE_OUT_BELOW = 5  # images in the smallest label
LEAVE_ONE_OUT_MAX_IMAGES = 40  # beyond this, one model per image costs too much: hold out a share


@dataclass(frozen=True)
class Fold:
    """Indices into the image list: train on train, predict test."""

    train: list[int]
    test: list[int]


def stratified_split(labels: Sequence[int], *, share: float = HELD_OUT_SHARE, seed: int = 0) -> Fold:
    """Hold out round(share * n) images of each label (at least 1, leaving at least 1 to train on)."""
    rng = random.Random(seed)
    by_label: dict[int, list[int]] = {}
    for index, label in enumerate(labels):
        by_label.setdefault(label, []).append(index)
    train: list[int] = []
    test: list[int] = []
    for label in sorted(by_label):
        members = by_label[label][:]
        rng.shuffle(members)
        n_test = min(max(1, int(share * len(members) + 0.5)), len(members) - 1)  # half rounds up
        test.extend(members[:n_test])
        train.extend(members[n_test:])
    return Fold(sorted(train), sorted(test))


def leave_one_out(n: int) -> list[Fold]:
    return [Fold([j for j in range(n) if j != i], [i]) for i in range(n)]


def choose_folds(labels: Sequence[int], *, seed: int = 0) -> tuple[str, list[Fold]]:
    """A description and the folds: leave-one-out when the smallest label has fewer than 5 images
    and there are at most 40 images in all; otherwise a stratified held-out share."""
    labels = list(labels)
    smallest = min(labels.count(c) for c in set(labels))
    if smallest < LEAVE_ONE_OUT_BELOW and len(labels) <= LEAVE_ONE_OUT_MAX_IMAGES:
        return "leave-one-out", leave_one_out(len(labels))
    return f"stratified {round(100 * HELD_OUT_SHARE)}% held out", [stratified_split(labels, seed=seed)]


class ArmClock:
    """Seconds on one arm's clock (time.perf_counter), starting at creation plus offset_s.

    Evaluation runs inside paused(): measuring held-out accuracy is the demo's overhead, not training.
    """

    def __init__(self, offset_s: float = 0.0) -> None:
        self._start = time.perf_counter() - offset_s
        self._paused_at: float | None = None

    def elapsed(self) -> float:
        now = self._paused_at if self._paused_at is not None else time.perf_counter()
        return now - self._start

    @contextmanager
    def paused(self) -> Iterator[None]:
        self._paused_at = time.perf_counter()
        try:
            yield
        finally:
            self._start += time.perf_counter() - self._paused_at
            self._paused_at = None


@dataclass
class Record:
    """Held-out accuracy over an arm's training. targets: the true label of each held-out
    prediction, folds' test items in order; predictions passed to add() follow the same order."""

    targets: list[int]
    num_classes: int
    curve: list[tuple[float, float]] = field(default_factory=list)
    best_accuracy: float = -1.0
    best_seconds: float = 0.0
    best_predictions: list[int] = field(default_factory=list)
    last_accuracy: float = 0.0

    def add(self, seconds: float, predictions: Sequence[int]) -> float:
        if len(predictions) != len(self.targets):
            raise ValueError(f"{len(predictions)} predictions for {len(self.targets)} held-out images")
        correct = sum(int(p == t) for p, t in zip(predictions, self.targets, strict=True))
        accuracy = correct / len(self.targets) if self.targets else 0.0
        self.curve.append((round(seconds, 3), accuracy))
        self.last_accuracy = accuracy
        if accuracy > self.best_accuracy:
            self.best_accuracy, self.best_seconds = accuracy, seconds
            self.best_predictions = list(predictions)
        return accuracy

    def confusion(self) -> list[list[int]]:
        """confusion[true][predicted] at the best point."""
        table = [[0] * self.num_classes for _ in range(self.num_classes)]
        for truth, guess in zip(self.targets, self.best_predictions, strict=True):
            table[truth][guess] += 1
        return table

    def per_class(self, classes: Sequence[str]) -> dict[str, float]:
        table = self.confusion()
        return {
            name: (row[i] / sum(row) if sum(row) else 0.0)
            for i, (name, row) in enumerate(zip(classes, table, strict=True))
        }


def held_out_targets(labels: Sequence[int], folds: Sequence[Fold]) -> list[int]:
    return [labels[i] for fold in folds for i in fold.test]

"""What a demo run found, as plain data (no torch): both arms' results and the words people read.

A FinetuneReport crosses the process boundary as a dict (to_dict / from_dict), so the bot process
never needs torch to read it. Times are seconds of wall clock on each arm's own clock.

The lesson is "pre-trained models save time", so besides both arms' accuracy at the same budget the
report says how long the scratch arm needed to reach the pre-trained arm's accuracy (if it did
within the budget): `scratch_matched_s`, `time_ratio` and the sentence `time_to_accuracy_text()`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from bot.finetune.images import SkippedFile, skip_counts

# The progress stage a demo reports once its pre-trained arm is done, so the result can be shown
# before the scratch arm has finished. Its data (bot/finetune/pipeline.run_demo): device, backbone,
# classes, images, images_per_class, held_out, split, budget_s, embed_s, load_s, image_size and
# pretrained (ArmResult.to_dict()).
PRETRAINED_STAGE = "pretrained"
# The stage reported once both arms are done, before the chart is drawn: its data is the report's
# to_dict(), so the comparison can be shown at the end of the budget.
COMPARED_STAGE = "compared"


@dataclass(frozen=True)
class ArmResult:
    """One arm of the comparison.

    accuracy: best held-out accuracy (0-1) seen during training; seconds: when the arm's clock first
    showed it (the pre-trained arm's clock includes loading the backbone and embedding the images).
    per_class: held-out accuracy per label at that point; confusion[true][predicted] counts, in the
    order of FinetuneReport.classes; curve: (seconds, accuracy) points as training went.
    """

    accuracy: float
    seconds: float
    per_class: dict[str, float]
    confusion: list[list[int]]
    curve: list[tuple[float, float]]
    method: str = ""  # what was trained, in words
    final_accuracy: float | None = None  # at the end of the arm's training
    steps: int = 0
    note: str = ""  # e.g. why it stopped before the budget ran out

    def first_reached(self, accuracy: float) -> float | None:
        """Seconds on this arm's clock when it first reached `accuracy` (0-1), or None if never."""
        return next((t for t, a in self.curve if a >= accuracy - 1e-9), None)

    def to_dict(self) -> dict[str, Any]:
        return {
            "accuracy": self.accuracy,
            "seconds": self.seconds,
            "per_class": dict(self.per_class),
            "confusion": [list(row) for row in self.confusion],
            "curve": [[t, a] for t, a in self.curve],
            "method": self.method,
            "final_accuracy": self.final_accuracy,
            "steps": self.steps,
            "note": self.note,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ArmResult:
        return cls(
            accuracy=float(data["accuracy"]),
            seconds=float(data["seconds"]),
            per_class={str(k): float(v) for k, v in data.get("per_class", {}).items()},
            confusion=[[int(x) for x in row] for row in data.get("confusion", [])],
            curve=[(float(t), float(a)) for t, a in data.get("curve", [])],
            method=str(data.get("method", "")),
            final_accuracy=None if data.get("final_accuracy") is None else float(data["final_accuracy"]),
            steps=int(data.get("steps", 0)),
            note=str(data.get("note", "")),
        )


@dataclass(frozen=True)
class FinetuneReport:
    """The outcome of one /finetune demo. device: "cpu" or e.g. "cuda (NVIDIA H200)"; budget_s: the
    most seconds each arm's clock could run; embed_s: the pre-trained arm's clock when its features
    were ready (embedding, plus loading when this run loaded the backbone: load_s, 0.0 in a warm
    worker); worker: the process that ran it (WorkerInfo.to_dict(): host, pid, engine, node)."""

    device: str
    classes: list[str]
    images: int
    images_per_class: dict[str, int]
    skipped: list[SkippedFile]
    pretrained: ArmResult
    scratch: ArmResult
    backbone: str
    budget_s: float
    split: str
    held_out: int = 0  # how many held-out predictions the accuracies are over
    embed_s: float = 0.0
    load_s: float = 0.0
    image_size: int = 224
    seed: int = 0
    notes: list[str] = field(default_factory=list)
    total_s: float = 0.0  # wall clock of the whole run in the worker
    worker: dict[str, Any] | None = None

    @property
    def ratio(self) -> float | None:
        """Pre-trained accuracy divided by scratch accuracy (None when scratch got nothing right)."""
        return self.pretrained.accuracy / self.scratch.accuracy if self.scratch.accuracy > 0 else None

    @property
    def scratch_matched_s(self) -> float | None:
        """Seconds the scratch arm needed to reach the pre-trained arm's best accuracy (None: not
        within the budget)."""
        return self.scratch.first_reached(self.pretrained.accuracy)

    @property
    def time_ratio(self) -> float | None:
        """scratch_matched_s over the pre-trained arm's seconds to its best (None when scratch never
        matched it, or the pre-trained arm was best at 0 s)."""
        matched = self.scratch_matched_s
        if matched is None or self.pretrained.seconds <= 0:
            return None
        return matched / self.pretrained.seconds

    def to_dict(self) -> dict[str, Any]:
        return {
            "device": self.device,
            "classes": list(self.classes),
            "images": self.images,
            "images_per_class": dict(self.images_per_class),
            "skipped": [s.to_dict() for s in self.skipped],
            "skipped_counts": skip_counts(self.skipped),
            "pretrained": self.pretrained.to_dict(),
            "scratch": self.scratch.to_dict(),
            "ratio": self.ratio,
            "scratch_matched_s": self.scratch_matched_s,
            "time_ratio": self.time_ratio,
            "backbone": self.backbone,
            "budget_s": self.budget_s,
            "split": self.split,
            "held_out": self.held_out,
            "embed_s": self.embed_s,
            "load_s": self.load_s,
            "image_size": self.image_size,
            "seed": self.seed,
            "notes": list(self.notes),
            "total_s": self.total_s,
            "worker": dict(self.worker) if self.worker is not None else None,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> FinetuneReport:
        return cls(
            device=str(data["device"]),
            classes=[str(c) for c in data["classes"]],
            images=int(data["images"]),
            images_per_class={str(k): int(v) for k, v in data.get("images_per_class", {}).items()},
            skipped=[SkippedFile.from_dict(s) for s in data.get("skipped", [])],
            pretrained=ArmResult.from_dict(data["pretrained"]),
            scratch=ArmResult.from_dict(data["scratch"]),
            backbone=str(data.get("backbone", "")),
            budget_s=float(data.get("budget_s", 0.0)),
            split=str(data.get("split", "")),
            held_out=int(data.get("held_out", 0)),
            embed_s=float(data.get("embed_s", 0.0)),
            load_s=float(data.get("load_s", 0.0)),
            image_size=int(data.get("image_size", 224)),
            seed=int(data.get("seed", 0)),
            notes=[str(n) for n in data.get("notes", [])],
            total_s=float(data.get("total_s", 0.0)),
            worker=dict(data["worker"]) if data.get("worker") else None,
        )

    def summary_text(self) -> str:
        """A few lines for people (the CLI and the Slack thread)."""
        per_class = ", ".join(f"{c} {n}" for c, n in self.images_per_class.items())
        lines = [
            f"Transfer-learning demo on {self.device}: {self.images} images of "
            f"{len(self.classes)} labels ({per_class})."
        ]
        if self.skipped:
            counts = "; ".join(f"{reason}: {n}" for reason, n in skip_counts(self.skipped).items())
            lines.append(f"Skipped {len(self.skipped)} file(s) ({counts}).")
        lines.append(
            f"Judged on {self.held_out} held-out predictions ({self.split}, seed {self.seed}); "
            f"each arm had {self.budget_s:g} s."
        )
        lines.append(
            f"Pre-trained {self.backbone} + new head: {_pct(self.pretrained.accuracy)} after "
            f"{self.pretrained.seconds:.1f} s (its clock includes {self.embed_s:.1f} s "
            f"{self.features_words()}{'; ' + self.pretrained.note if self.pretrained.note else ''})."
        )
        lines.append(
            f"From scratch ({self.scratch.method}): {_pct(self.scratch.accuracy)} after "
            f"{self.scratch.seconds:.1f} s{f' ({self.scratch.note})' if self.scratch.note else ''}."
        )
        lines.append(self.comparison_text())
        lines.append(self.time_to_accuracy_text())
        lines.extend(self.notes)
        return "\n".join(lines)

    def features_words(self) -> str:
        """What embed_s was spent on: "embedding" or "loading and embedding"."""
        return "loading and embedding" if self.load_s > 0 else "embedding"

    def time_to_accuracy_text(self) -> str:
        """The lesson in one sentence: how long the scratch arm needed to reach the pre-trained
        arm's accuracy, or that it did not within the budget."""
        pre, scratch = self.pretrained, self.scratch
        matched = self.scratch_matched_s
        pre_part = f"pre-trained had {_pct(pre.accuracy)} after {pre.seconds:.1f} s"
        if matched is None:
            return (f"From scratch needed {scratch.seconds:.1f} s to reach {_pct(scratch.accuracy)} and did "
                    f"not reach {_pct(pre.accuracy)} within {self.budget_s:g} s; {pre_part}.")
        ratio = self.time_ratio
        times = f" ({ratio:.1f}x the time)" if ratio is not None and ratio >= 1.05 else ""
        return f"From scratch needed {matched:.1f} s to reach {_pct(pre.accuracy)}; {pre_part}{times}."

    def comparison_text(self) -> str:
        """One sentence on what the two arms show, worded for the case at hand."""
        pre, scratch = self.pretrained, self.scratch
        if scratch.accuracy <= 0 < pre.accuracy:
            return "Training from scratch got none right in that time."
        if pre.accuracy > scratch.accuracy + 1e-9 and self.ratio is not None:
            return f"The pre-trained start is {self.ratio:.1f}x as accurate in the same time."
        if abs(pre.accuracy - scratch.accuracy) <= 1e-9:
            apart = "harder images or more labels pull them apart."
            if 0 < pre.seconds < scratch.seconds:
                return (f"Both reached {_pct(pre.accuracy)}; the pre-trained start got there "
                        f"{scratch.seconds / pre.seconds:.1f}x sooner: {apart}")
            return f"Both reached {_pct(pre.accuracy)} in this budget: {apart}"
        return ("This time training from scratch did better: with so few images, which ones are held out "
                "matters a lot. Add more images and run it again.")

    def details_text(self) -> str:
        """Per-class accuracy and confusion tables of both arms, in fixed-width text."""
        blocks = []
        for title, arm in (("pre-trained", self.pretrained), ("from scratch", self.scratch)):
            blocks.append(f"{title} ({arm.method}): per-class held-out accuracy")
            width = max(len(c) for c in self.classes)
            for c in self.classes:
                blocks.append(f"  {c:<{width}}  {_pct(arm.per_class.get(c, 0.0)):>4}")
            blocks.append(confusion_table(self.classes, arm.confusion))
        return "\n".join(blocks)


def _pct(value: float) -> str:
    return f"{100 * value:.0f}%"


def confusion_table(classes: list[str], confusion: list[list[int]]) -> str:
    """Rows: true label; columns: predicted label (first 8 characters of each name)."""
    names = [c[:8] for c in classes]
    width = max(max(len(n) for n in names), 4)
    head = " " * (width + 2) + " ".join(f"{n:>{width}}" for n in names) + "   <- predicted"
    rows = [head]
    for name, row in zip(names, confusion, strict=True):
        rows.append(f"  {name:<{width}}" + " ".join(f"{x:>{width}}" for x in row))
    return "\n".join(rows)

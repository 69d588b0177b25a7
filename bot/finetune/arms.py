"""The two arms of the comparison on the same images and folds (torch; the worker process only).

Clocks: the pre-trained arm's clock starts before its backbone is fetched, so embedding (and
loading, when this run is the one that loads it: a warm worker has it in memory already) count
against its budget; the scratch arm needs neither. Decoding and resizing the images is shared by
both arms and counted on neither. Each arm's clock stops at budget_s; the linear head stops earlier
when its fixed number of steps is done (it has converged).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch
from PIL import Image

from bot.finetune.backbone import Backbone, build_scratch_twin, cached_backbone
from bot.finetune.embedding import StageProgress, embed, to_tensor
from bot.finetune.folds import ArmClock, Fold, Record, held_out_targets
from bot.finetune.report import ArmResult
from bot.finetune.train import (
    LinearHeads,
    finetune_last_block,
    normalize,
    small_cnn,
    train_linear_heads,
    train_scratch,
)

# On a CPU the pre-trained arm embeds at 160 px, the smallest size that keeps its accuracy:
# bench/finetune.py's converged heads at 10 per label, 2 draws, on photos (15 labels) 224/192/160/128
# px gave 100.0/100.0/100.0/99.8% and on silhouettes 90.0/90.3/89.2/87.0% (an earlier idle run, 3
# draws: 88.0/88.4/88.1% at 224/192/160), while 160 px embeds about 3x as fast as 224 px (130 vs 46
# images/s idle). On a GPU it keeps the backbone's own size.
CPU_IMAGE_SIZE = 160
CPU_SCRATCH_SIZE = 64
SCRATCH_MEAN = SCRATCH_STD = (0.5, 0.5, 0.5)


@dataclass
class Comparison:
    pretrained: ArmResult
    scratch: ArmResult
    embed_s: float
    image_size: int
    held_out: int
    head: LinearHeads  # refit on all images, for classify
    backbone: Backbone
    load_s: float  # seconds this run spent loading the backbone (0.0: it was in memory already)


def pretrained_arm(
    backbone: Backbone,
    features: torch.Tensor,
    trunk: torch.Tensor | None,
    labels: torch.Tensor,
    folds: Sequence[Fold],
    classes: Sequence[str],
    clock: ArmClock,
    *,
    budget_s: float,
) -> ArmResult:
    """A linear head on features [N,D]; then, when trunk (the last block's cached input) is given and
    budget is left, the last block fine-tuned as well. clock already counts loading and embedding."""
    record = Record(held_out_targets(labels.tolist(), folds), len(classes))
    heads, steps = train_linear_heads(features, labels, folds, len(classes), clock, record, budget_s=budget_s)
    method = "linear head on frozen features"
    if trunk is not None and len(folds) == 1 and clock.elapsed() < budget_s:
        steps += finetune_last_block(
            backbone.tail,
            backbone.tail_modules(),
            heads.as_linear(0),
            trunk,
            labels,
            folds[0],
            clock,
            record,
            budget_s=budget_s,
            eval_every_s=_eval_every(budget_s),
        )
        method = "linear head, then last block fine-tuned"
    done_at = record.curve[-1][0] if record.curve else 0.0
    note = f"done at {done_at:.1f} s: the head had converged" if done_at < budget_s - 0.05 else ""
    return _arm_result(record, classes, method, steps, note)


def scratch_arm(
    pixels: torch.Tensor,
    labels: torch.Tensor,
    folds: Sequence[Fold],
    classes: Sequence[str],
    *,
    device: torch.device,
    backbone_name: str,
    budget_s: float,
    seed: int = 0,
    progress: StageProgress | None = None,
) -> ArmResult:
    """The same task from random initialisation on uint8 pixels [N,3,S,S]: on a GPU the backbone's
    own architecture, on a CPU a small CNN (pixels should then be CPU_SCRATCH_SIZE px)."""
    num_classes = len(classes)
    if device.type == "cuda":
        lr, method = 1e-3, f"{backbone_name}, random init, {pixels.shape[-1]} px"

        def make_model() -> torch.nn.Module:
            return build_scratch_twin(backbone_name, num_classes)
    else:
        lr, method = 3e-3, f"small CNN, {pixels.shape[-1]} px"

        def make_model() -> torch.nn.Module:
            return small_cnn(num_classes)

    images = normalize(pixels.to(device), SCRATCH_MEAN, SCRATCH_STD)
    record = Record(held_out_targets(labels.tolist(), folds), num_classes)
    steps = train_scratch(
        make_model,
        images,
        labels,
        folds,
        ArmClock(),
        record,
        budget_s=budget_s,
        eval_every_s=_eval_every(budget_s),
        lr=lr,
        seed=seed,
        progress=None if progress is None else (lambda seconds, accuracy: progress(
            "baseline", f"from scratch: {100 * accuracy:.0f}% after {seconds:.0f} s of {budget_s:g} s",
            {"seconds": round(seconds, 3), "accuracy": accuracy, "budget_s": budget_s})),
    )
    return _arm_result(record, classes, method, steps)


def _eval_every(budget_s: float) -> float:
    return max(0.1, budget_s / 60)


def compare_arms(
    images: Sequence[Image.Image],
    labels: Sequence[int],
    classes: Sequence[str],
    folds: Sequence[Fold],
    *,
    device: torch.device,
    backbone_name: str,
    budget_s: float,
    image_size: int | None = None,
    seed: int = 0,
    finetune: bool | None = None,
    progress: StageProgress | None = None,
    on_pretrained: Callable[[ArmResult, float, int, float], None] | None = None,
    on_scratch: Callable[[ArmResult], None] | None = None,
) -> Comparison:
    """Both arms on the same images and folds. finetune (None: on a GPU) also fine-tunes the last
    block of the backbone after the linear head (on a copy: the cached backbone stays as loaded),
    when there is a single fold. on_pretrained is called as soon as the pre-trained arm is done,
    before the scratch arm starts, with its result, the seconds its features took, the input size
    and the seconds spent loading the backbone; on_scratch with the scratch arm's result as soon as
    it is done (before the head is refit on all images for classify)."""
    note = progress or _no_progress
    targets = torch.tensor(list(labels), device=device)  # also starts CUDA: shared, on neither clock
    clock = ArmClock()
    backbone, load_s = cached_backbone(backbone_name, str(device))
    size = image_size or (backbone.input_size if device.type == "cuda" else CPU_IMAGE_SIZE)
    finetune = (device.type == "cuda") if finetune is None else finetune
    with clock.paused():  # decoding and resizing are shared work, counted on neither clock
        pixels = to_tensor(images, size, backbone.interpolation)
    keep_trunk = finetune and backbone.splittable and len(folds) == 1
    with clock.paused():  # copying the cached weights is the warm worker's cost, not the method's
        tuned = backbone.clone() if keep_trunk else backbone
    features, trunk = embed(tuned, pixels, device, keep_trunk=keep_trunk, progress=note)
    embed_s = clock.elapsed()
    note("training", f"training a new head on {backbone_name} features")
    pretrained = pretrained_arm(tuned, features, trunk, targets, folds, classes, clock, budget_s=budget_s)
    del trunk, tuned
    if on_pretrained is not None:
        on_pretrained(pretrained, embed_s, size, load_s)

    note("baseline", f"training from scratch for up to {budget_s:g} s")
    scratch_size = size if device.type == "cuda" else CPU_SCRATCH_SIZE
    small = to_tensor(images, scratch_size) if scratch_size != size else pixels
    scratch = scratch_arm(
        small,
        targets,
        folds,
        classes,
        device=device,
        backbone_name=backbone_name,
        budget_s=budget_s,
        seed=seed,
        progress=note,
    )

    if on_scratch is not None:
        on_scratch(scratch)

    everything = [Fold(list(range(len(labels))), [])]
    head, _ = train_linear_heads(
        features, targets, everything, len(classes), ArmClock(), None, budget_s=float("inf")
    )
    return Comparison(
        pretrained, scratch, embed_s, size, len(held_out_targets(list(labels), folds)), head, backbone, load_s
    )


def _no_progress(stage: str, message: str, data: dict | None = None) -> None:
    pass


def _arm_result(record: Record, classes: Sequence[str], method: str, steps: int, note: str = "") -> ArmResult:
    return ArmResult(
        accuracy=max(record.best_accuracy, 0.0),
        seconds=round(record.best_seconds, 3),
        per_class=record.per_class(classes),
        confusion=record.confusion(),
        curve=record.curve,
        method=method,
        final_accuracy=record.last_accuracy,
        steps=steps,
        note=note,
    )

"""The demo's work inside the worker (torch): decode the images a job carries, run both arms
(bot.finetune.arms), and return the report, the chart and the trained head as bytes; and label new
images with such a head. Nothing is read from or written to disk."""

from __future__ import annotations

import io
import os
import socket
import time
from collections.abc import Sequence
from typing import Any

import torch
from PIL import Image

from bot.finetune.arms import CPU_IMAGE_SIZE, CPU_SCRATCH_SIZE, Comparison, compare_arms
from bot.finetune.backbone import cached_backbone
from bot.finetune.chart import draw_chart
from bot.finetune.embedding import StageProgress, device_label, embed, resolve_device, to_tensor
from bot.finetune.folds import choose_folds
from bot.finetune.images import SkippedFile, SkipReason, decode_image, require_enough
from bot.finetune.report import COMPARED_STAGE, PRETRAINED_STAGE, ArmResult, FinetuneReport
from bot.finetune.request import DEFAULT_BACKBONE, DemoRequest, DemoResult, ImageData
from bot.finetune.train import small_cnn

# JPEG draft decoding may shrink a photo while both sides stay at least this large: the backbone's
# own input side, the largest any arm uses by default.
DECODE_MIN_SIDE = 224


def decode_labelled(
    images: Sequence[ImageData], min_size: int
) -> tuple[list[Image.Image], list[int], list[str], dict[str, int], list[SkippedFile], list[str]]:
    """Decode the labelled images: (pixels, label indices, classes used, images per class,
    skipped files, notes for people). Raises NotEnoughImages when too few can be used."""
    decoded: list[tuple[Image.Image, str]] = []
    skipped: list[SkippedFile] = []
    counts: dict[str, int] = {}
    for image in images:
        if image.label is None:
            continue
        counts.setdefault(image.label, 0)
        result = decode_image(image.data, min_size=min_size)
        if isinstance(result, SkipReason):
            skipped.append(SkippedFile(image.name, result))
            continue
        decoded.append((result, image.label))
        counts[image.label] += 1
    classes = require_enough(sorted(counts), counts)
    notes = [f"Label {c!r} was left out: it has {counts[c]} usable image(s), the demo needs 3."
             for c in sorted(counts) if c not in classes]
    pixels = [im for im, label in decoded if label in classes]
    labels = [classes.index(label) for _, label in decoded if label in classes]
    return pixels, labels, classes, {c: counts[c] for c in classes}, skipped, notes


def run_demo(request: DemoRequest, progress: StageProgress) -> DemoResult:
    """The whole demo for one request. progress gets the stages, the PRETRAINED_STAGE milestone as
    soon as the pre-trained arm is done, and COMPARED_STAGE with the report once both are."""
    started = time.perf_counter()
    device = resolve_device(request.device)
    label = device_label(device)
    torch.manual_seed(request.seed)
    progress("loading", f"decoding {len(request.images)} images")
    images, labels, classes, per_class, skipped, notes = decode_labelled(
        request.images, request.image_size or DECODE_MIN_SIDE)
    split, folds = choose_folds(labels, seed=request.seed)
    held_out = sum(len(fold.test) for fold in folds)
    preview: dict[str, Any] = {}
    here = {"host": socket.gethostname(), "pid": os.getpid()}  # the engine adds how it was reached

    def on_pretrained(arm: ArmResult, embed_s: float, size: int, load_s: float) -> None:
        preview.update(device=label, backbone=request.backbone, classes=classes, images=len(images),
                       images_per_class=per_class, held_out=held_out, split=split, budget_s=request.budget_s,
                       embed_s=round(embed_s, 3), load_s=round(load_s, 3), image_size=size,
                       pretrained=arm.to_dict())
        words = f"pre-trained: {100 * arm.accuracy:.0f}% after {arm.seconds:.1f} s"
        progress(PRETRAINED_STAGE, words, preview)

    def report_of(pretrained: ArmResult, scratch: ArmResult) -> FinetuneReport:
        return FinetuneReport(
            device=label, classes=list(classes), images=len(images), images_per_class=per_class,
            skipped=skipped, pretrained=pretrained, scratch=scratch, backbone=request.backbone,
            budget_s=request.budget_s, split=split, held_out=held_out, embed_s=preview["embed_s"],
            load_s=preview["load_s"], image_size=preview["image_size"], seed=request.seed, notes=notes,
            worker=here)

    def on_scratch(scratch: ArmResult) -> None:
        report = report_of(ArmResult.from_dict(preview["pretrained"]), scratch)
        progress(COMPARED_STAGE, report.comparison_text(), report.to_dict())

    result = compare_arms(images, labels, classes, folds, device=device, backbone_name=request.backbone,
                          budget_s=request.budget_s, image_size=request.image_size, seed=request.seed,
                          progress=progress, on_pretrained=on_pretrained, on_scratch=on_scratch)
    report = report_of(result.pretrained, result.scratch)
    progress("chart", "drawing the chart")
    chart = draw_chart(result.pretrained, result.scratch, backbone=request.backbone, embed_s=result.embed_s,
                       budget_s=request.budget_s, images=len(images), classes=len(classes), device=label,
                       features_words=report.features_words())
    head = head_bytes(result, classes)
    total = round(time.perf_counter() - started, 3)
    return DemoResult(report={**report.to_dict(), "total_s": total}, chart_png=chart, head=head)


def warm_up_backbone(device_name: str | None) -> None:
    """Load the default backbone and run it once (the first pass through a network on a CPU pays
    for choosing its kernels): what classify needs warm."""
    device = resolve_device(device_name)
    backbone, _ = cached_backbone(DEFAULT_BACKBONE, str(device))
    size = backbone.input_size if device.type == "cuda" else CPU_IMAGE_SIZE
    blank = [Image.new("RGB", (size, size), (128, 128, 128))] * 2
    embed(backbone, to_tensor(blank, size), device, keep_trunk=False)


def warm_up_demo(device_name: str | None) -> None:
    """What a warm worker does once, so the first demo is as fast as the next: the backbone
    (warm_up_backbone), the scratch arm's network once, and matplotlib."""
    from matplotlib import pyplot  # noqa: F401  (about half a second on first import)

    warm_up_backbone(device_name)
    device = resolve_device(device_name)
    model = small_cnn(2).to(device)
    x = torch.zeros(2, 3, CPU_SCRATCH_SIZE, CPU_SCRATCH_SIZE, device=device)
    torch.nn.functional.cross_entropy(model(x), torch.tensor([0, 1], device=device)).backward()


def head_bytes(result: Comparison, classes: Sequence[str]) -> bytes:
    """The head refit on all images, with what classify needs to rebuild the input pipeline
    (torch.save of plain tensors and strings: loadable with weights_only=True)."""
    linear = result.head.as_linear(0)
    out = io.BytesIO()
    torch.save({"backbone": result.backbone.name, "classes": list(classes), "image_size": result.image_size,
                "weight": linear.weight.detach().cpu(), "bias": linear.bias.detach().cpu()}, out)
    return out.getvalue()


def classify_images(head: bytes, images: Sequence[ImageData], *, top_k: int = 3,
                    device_name: str | None = None) -> list[list[tuple[str, float]]]:
    """Top-k (label, probability) for each image; [] for one that is not a usable image."""
    saved = torch.load(io.BytesIO(head), map_location="cpu", weights_only=True)
    device = resolve_device(device_name)
    backbone, _ = cached_backbone(saved["backbone"], str(device))
    classes: list[str] = saved["classes"]
    decoded = [decode_image(image.data, min_size=saved["image_size"]) for image in images]
    usable = [im for im in decoded if not isinstance(im, SkipReason)]
    ranked: list[list[tuple[str, float]]] = [[] for _ in images]
    if not usable:
        return ranked
    features, _ = embed(backbone, to_tensor(usable, saved["image_size"], backbone.interpolation), device,
                        keep_trunk=False)
    probabilities = (features.cpu() @ saved["weight"].t() + saved["bias"]).softmax(-1)
    k = min(top_k, len(classes))
    rows = iter(probabilities)
    for i, im in enumerate(decoded):
        if isinstance(im, SkipReason):
            continue
        values, indices = next(rows).topk(k)
        ranked[i] = [(classes[j], round(float(v), 4)) for v, j in zip(values, indices.tolist(), strict=True)]
    return ranked

"""The demo from folder to report (torch; child process only): read the images, run both arms
(bot.finetune.arms), save the head and the chart; and classify new images with a saved head."""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path

import torch
from PIL import Image

from bot.finetune.arms import Comparison, compare_arms
from bot.finetune.backbone import load_backbone
from bot.finetune.chart import draw_chart
from bot.finetune.embedding import StageProgress, device_label, embed, resolve_device, to_tensor
from bot.finetune.folds import choose_folds
from bot.finetune.images import (
    ImageFolder,
    SkippedFile,
    SkipReason,
    read_image_file,
    require_enough_images,
    scan_image_folder,
)
from bot.finetune.jobs import DemoRequest
from bot.finetune.report import FinetuneReport


def load_folder_images(
    request: DemoRequest, min_size: int, folder: ImageFolder | None = None
) -> tuple[list[Image.Image], list[int], list[str], list[SkippedFile], list[str]]:
    """Images and label indices of the usable labels, skipped files, classes, and notes for people.
    folder: the request's folder already scanned (else it is scanned here)."""
    folder = folder or scan_image_folder(request.image_dir, request.labels)
    classes = require_enough_images(folder)
    notes = [
        f"Label {c!r} was left out: it has {folder.counts[c]} usable image(s), the demo needs 3."
        for c in folder.classes
        if c not in classes
    ]
    images: list[Image.Image] = []
    labels: list[int] = []
    skipped = list(folder.skipped)
    for path, label in folder.items:
        if label not in classes:
            continue
        decoded = read_image_file(path, min_size=min_size)
        if isinstance(decoded, SkipReason):  # changed since the scan
            skipped.append(SkippedFile(f"{label}/{path.name}", decoded))
            continue
        images.append(decoded)
        labels.append(classes.index(label))
    return images, labels, classes, skipped, notes


def run_demo(
    request: DemoRequest, progress: StageProgress | None = None, folder: ImageFolder | None = None
) -> FinetuneReport:
    """The whole demo for one request; writes the chart and the head under request.out_dir.
    folder: request.image_dir already scanned, if it was."""
    started = time.perf_counter()
    note = progress or (lambda stage, message: None)
    device = resolve_device(request.device)
    torch.manual_seed(request.seed)
    if folder is None:
        note("loading", "reading the images")
    images, labels, classes, skipped, notes = load_folder_images(request, request.image_size or 224, folder)
    split, folds = choose_folds(labels, seed=request.seed)
    result = compare_arms(
        images,
        labels,
        classes,
        folds,
        device=device,
        backbone_name=request.backbone,
        budget_s=request.budget_s,
        image_size=request.image_size,
        seed=request.seed,
        progress=note,
    )
    out_dir = Path(request.out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    head_path = out_dir / "head.pt"
    save_head(head_path, result, classes)
    label = device_label(device)
    chart = draw_chart(
        out_dir / "finetune-chart.png",
        result.pretrained,
        result.scratch,
        backbone=request.backbone,
        embed_s=result.embed_s,
        budget_s=request.budget_s,
        images=len(images),
        classes=len(classes),
        device=label,
    )
    return FinetuneReport(
        device=label,
        classes=list(classes),
        images=len(images),
        images_per_class={c: labels.count(i) for i, c in enumerate(classes)},
        skipped=skipped,
        pretrained=result.pretrained,
        scratch=result.scratch,
        chart=str(chart),
        backbone=request.backbone,
        budget_s=request.budget_s,
        split=split,
        head_path=str(head_path),
        held_out=result.held_out,
        embed_s=round(result.embed_s, 3),
        image_size=result.image_size,
        seed=request.seed,
        notes=notes,
        total_s=round(time.perf_counter() - started, 3),
    )


def save_head(path: Path, result: Comparison, classes: Sequence[str]) -> None:
    """The head refit on all images, with what classify needs to rebuild the input pipeline."""
    linear = result.head.as_linear(0)
    torch.save(
        {
            "backbone": result.backbone.name,
            "classes": list(classes),
            "image_size": result.image_size,
            "weight": linear.weight.detach().cpu(),
            "bias": linear.bias.detach().cpu(),
        },
        path,
    )


def classify_images(
    head_path: Path, paths: Sequence[Path], *, top_k: int = 3, device_name: str | None = None
) -> list[list[tuple[str, float]]]:
    """Top-k (label, probability) for each image file; [] for a file that is not a usable image."""
    saved = torch.load(head_path, map_location="cpu", weights_only=True)
    device = resolve_device(device_name)
    backbone = load_backbone(saved["backbone"], str(device))
    classes: list[str] = saved["classes"]
    decoded = [read_image_file(Path(p), min_size=saved["image_size"]) for p in paths]
    usable = [im for im in decoded if not isinstance(im, SkipReason)]
    ranked: list[list[tuple[str, float]]] = [[] for _ in paths]
    if not usable:
        return ranked
    features, _ = embed(
        backbone, to_tensor(usable, saved["image_size"], backbone.interpolation), device, keep_trunk=False
    )
    logits = features.cpu() @ saved["weight"].t() + saved["bias"]
    probabilities = logits.softmax(-1)
    k = min(top_k, len(classes))
    rows = iter(probabilities)
    for i, im in enumerate(decoded):
        if isinstance(im, SkipReason):
            continue
        values, indices = next(rows).topk(k)
        ranked[i] = [(classes[j], round(float(v), 4)) for v, j in zip(values, indices.tolist(), strict=True)]
    return ranked

"""The worker's "classify" job: label the images of a reply with the head a demo trained.

A job module (see bot/worker/__init__.py): imported only in the worker process. It shares the demo's
warm backbone (bot.finetune.backbone.cached_backbone), so a warm worker answers in a fraction of a
second. run returns {"ranked": [[[label, probability], ...] per image]} ([] for an unusable image).
"""

from __future__ import annotations

from typing import Any

from bot.finetune.pipeline import classify_images, warm_up_backbone
from bot.finetune.request import ClassifyRequest
from bot.worker.protocol import JobProgress, WorkerConfig


def warm_up(config: WorkerConfig) -> None:
    warm_up_backbone(config.device)


def run(payload: dict[str, Any], progress: JobProgress) -> dict[str, Any]:
    request = ClassifyRequest.from_dict(payload)
    ranked = classify_images(request.head, request.images, top_k=request.top_k, device_name=request.device)
    return {"ranked": [[[label, p] for label, p in row] for row in ranked]}

"""The worker's "demo" job: pre-trained vs from scratch on the labelled images it carries.

A job module (see bot/worker/__init__.py): imported only in the worker process, where it may import
torch. warm_up loads what every demo needs; run returns DemoResult.to_dict() (report, chart, head).
"""

from __future__ import annotations

from typing import Any

from bot.finetune.pipeline import run_demo, warm_up_demo
from bot.finetune.request import DemoRequest
from bot.worker.protocol import JobProgress, WorkerConfig


def warm_up(config: WorkerConfig) -> None:
    warm_up_demo(config.device)


def run(payload: dict[str, Any], progress: JobProgress) -> dict[str, Any]:
    return run_demo(DemoRequest.from_dict(payload), progress).to_dict()

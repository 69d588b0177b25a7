"""What every listener needs, built once by `build_app` and passed to each `register(app, ctx)`."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

import sqlite_utils

from bot.config import Settings
from bot.tutor import Tutor
from bot.worker.protocol import WorkerClient


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass
class AppContext:
    settings: Settings
    db: sqlite_utils.Database
    tutor: Tutor
    clock: Callable[[], datetime] = field(default=utc_now)  # tests drive a simulated week with it
    # Where jobs run (/finetune's, the concept grader's): bot.worker.client.make_worker_client.
    # None: build_app makes one (a local worker starts its process on the first job); serve() makes
    # it itself, to warm it at start and close it at shutdown.
    worker: WorkerClient | None = None

"""What every listener needs, built once by `build_app` and passed to each `register(app, ctx)`."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

import sqlite_utils

from bot.config import Settings
from bot.tutor import Tutor


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass
class AppContext:
    settings: Settings
    db: sqlite_utils.Database
    tutor: Tutor
    clock: Callable[[], datetime] = field(default=utc_now)  # tests drive a simulated week with it

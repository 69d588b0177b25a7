"""A job module for the worker engine's tests (registered by the tests, not by bot/worker/registry):
each payload names something a real job can do to a real worker process, fail included.

    {"do": "echo", "value": x}   progress, then {"echo": x, "pid": worker pid}
    {"do": "sleep", "s": 2.0}    sleeps, then {"slept": 2.0, "pid": ...}
    {"do": "abort"}              SIGABRT, as a native library's assertion would
    {"do": "kill"}               SIGKILL, what the kernel's out-of-memory killer sends
    {"do": "memory"}             a real allocation that cannot succeed: MemoryError
    {"do": "exit"}               the process exits with status 3
    {"do": "refuse"}             JobInputError: a request the job cannot serve
    {"do": "raise"}              a bug: RuntimeError
"""

from __future__ import annotations

import os
import signal
import time
from typing import Any

from bot.worker.protocol import JobInputError, JobProgress, WorkerConfig

WARMED: list[str | None] = []


def warm_up(config: WorkerConfig) -> None:
    WARMED.append(config.device)


def run(payload: dict[str, Any], progress: JobProgress) -> dict[str, Any]:
    action = payload["do"]
    if action == "echo":
        progress("step", "echoing", {"warmed": list(WARMED)})
        return {"echo": payload.get("value"), "pid": os.getpid()}
    if action == "sleep":
        progress("step", f"sleeping {payload['s']} s")
        time.sleep(float(payload["s"]))
        return {"slept": payload["s"], "pid": os.getpid()}
    if action == "abort":
        os.abort()
    if action == "kill":
        os.kill(os.getpid(), signal.SIGKILL)
    if action == "memory":
        bytearray(1 << 62)
    if action == "exit":
        os._exit(3)
    if action == "refuse":
        raise JobInputError("that cannot be done: ask for something else")
    raise RuntimeError(f"boom ({action})")

"""The worker process itself: started with multiprocessing "spawn" by WarmWorker (bot/worker/engine.py).

It imports every registered job module once and calls its warm_up() (torch, the backbone, the text
model: whatever the job keeps loaded), says "ready", then runs the jobs it is sent, one thread per
lane, so a short job runs next to a long one instead of behind it. It exits at once when told to,
or when the process that started it is gone (an orphan must not hold memory for ever).

Messages to the supervisor, over one duplex pipe (each a tuple):
    ("ready", {"pid": int, "warm_s": float, "unavailable": {kind: [FailureKind value, why]}})
    ("progress", job_id, Progress.to_dict())
    ("result", job_id, result dict)
    ("error", job_id, FailureKind value, message in plain words)
From the supervisor: ("job", job_id, kind, payload) and ("stop",).
"""

from __future__ import annotations

import importlib
import multiprocessing
import os
import queue
import sys
import threading
import time
import traceback
from multiprocessing.connection import Connection
from typing import Any

from bot.worker.protocol import FailureKind, JobInputError, JobKind, Lane, Progress, WorkerConfig

_PARENT_CHECK_S = 0.5


def _is_out_of_memory(exc: BaseException) -> bool:
    return (
        isinstance(exc, MemoryError)
        or type(exc).__name__ == "OutOfMemoryError"  # torch.cuda.OutOfMemoryError, without importing torch
        or (isinstance(exc, RuntimeError) and "out of memory" in str(exc).lower())
    )


def describe_start_failure(module: str, exc: BaseException) -> tuple[FailureKind, str]:
    """Why job module `module` could not be imported or warmed up, in plain words, and the kind of
    failure its jobs will report."""
    if isinstance(exc, JobInputError):  # e.g. a GPU asked for on a machine without one
        return FailureKind.BAD_INPUT, str(exc)
    if isinstance(exc, ModuleNotFoundError) and exc.name == module:
        return FailureKind.UNAVAILABLE, f"the worker has no job module {module} (check the job registry)"
    if isinstance(exc, ModuleNotFoundError) and exc.name and not exc.name.startswith("bot."):
        return FailureKind.UNAVAILABLE, (f"the worker cannot import {exc.name}: install the finetune extra "
                                         f"(pip install 'tutor[finetune]')")
    return FailureKind.UNAVAILABLE, f"the worker could not start: {type(exc).__name__}: {exc}"


class _Sender:
    """Sends to the supervisor from several threads, one message at a time."""

    def __init__(self, conn: Connection) -> None:
        self._conn = conn
        self._lock = threading.Lock()

    def __call__(self, message: tuple) -> None:
        with self._lock:
            try:
                self._conn.send(message)
            except (OSError, EOFError):  # the supervisor is gone: the main loop exits soon
                pass


def _run_one(module: Any, kind: JobKind, job_id: str, payload: dict[str, Any], send: _Sender) -> None:
    def progress(stage: str, message: str, data: dict[str, Any] | None = None) -> None:
        send(("progress", job_id, Progress(stage, message, data).to_dict()))

    try:
        result = module.run(payload, progress)
        send(("result", job_id, result))
    except JobInputError as exc:
        send(("error", job_id, FailureKind.BAD_INPUT.value, str(exc)))
    except BaseException as exc:  # report everything: the supervisor decides what to tell people
        if _is_out_of_memory(exc):
            send(("error", job_id, FailureKind.OUT_OF_MEMORY.value, f"{kind.noun} ran out of memory"))
        else:
            traceback.print_exc(file=sys.stderr)
            send(("error", job_id, FailureKind.CRASH.value,
                  f"{kind.noun} crashed: {type(exc).__name__}: {exc}"))


def _lane_loop(jobs: queue.Queue, send: _Sender) -> None:
    while True:
        module, kind, job_id, payload = jobs.get()
        _run_one(module, kind, job_id, payload, send)
        del payload  # the images of a finished job are not kept while the lane waits


def main(conn: Connection, specs: dict[str, JobKind], worker_config: WorkerConfig) -> None:
    """The worker process's entry point: warm up every kind in specs, then serve jobs on conn."""
    # Before torch loads OpenMP: idle OpenMP threads sleep instead of spinning. The worker shares
    # its cores with the bot and runs two lanes at once; spinning threads then starve each other
    # (measured on 2 busy cores: 300 steps of a linear head 9.9 s spinning, 0.6 s passive).
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    send = _Sender(conn)
    started = time.monotonic()
    modules: dict[str, Any] = {}
    unavailable: dict[str, tuple[str, str]] = {}
    warmed: dict[str, Any] = {}  # module name -> module, so two kinds sharing one warm up once
    for name, spec in specs.items():
        try:
            if spec.module not in warmed:
                module = importlib.import_module(spec.module)
                module.warm_up(worker_config)
                warmed[spec.module] = module
            modules[name] = warmed[spec.module]
        except BaseException as exc:  # one job kind that cannot start must not stop the others
            failure, why = describe_start_failure(spec.module, exc)
            if failure is not FailureKind.BAD_INPUT:
                traceback.print_exc(file=sys.stderr)
            unavailable[name] = (failure.value, why)
    send(("ready", {"pid": os.getpid(), "warm_s": round(time.monotonic() - started, 3),
                    "unavailable": unavailable}))

    lanes: dict[Lane, queue.Queue] = {}
    for lane in Lane:
        lanes[lane] = queue.Queue()
        threading.Thread(target=_lane_loop, args=(lanes[lane], send), name=f"lane-{lane.value}",
                         daemon=True).start()
    parent = multiprocessing.parent_process()
    while True:
        try:
            if not conn.poll(_PARENT_CHECK_S):
                if parent is not None and not parent.is_alive():
                    break
                continue
            message = conn.recv()
        except (EOFError, OSError):  # the supervisor's end closed: its process is gone
            break
        if message[0] == "stop":
            break
        _, job_id, kind, payload = message
        spec = specs[kind]
        if kind in unavailable:
            send(("error", job_id, *unavailable[kind]))
            continue
        lanes[spec.lane].put((modules[kind], spec, job_id, payload))
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)  # at once: lane threads may be inside a long torch call

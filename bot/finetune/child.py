"""The child process's entry point (DemoRunner starts it with multiprocessing "spawn").

Importing this module does not import torch; main() does. Every message to the parent is a tuple:
("ready",) once the imports are done, ("progress", stage, message), ("result", data) or ("error",
FailureKind value, message).
"""

from __future__ import annotations

import multiprocessing
import os
import queue
import signal
import sys
import traceback
from typing import Any

# Test-only fault injection, read in the child: makes it fail the ways real demos can fail, so the
# tests can check that the bot survives each. Never set it in production.
FAULT_ENV = "TUTOR_FINETUNE_FAULT"


def _inject_fault() -> None:
    fault = os.environ.get(FAULT_ENV, "")
    if fault == "abort":
        os.abort()  # SIGABRT, as a native library's assertion would
    elif fault == "kill":
        os.kill(os.getpid(), signal.SIGKILL)  # what the kernel's out-of-memory killer does
    elif fault == "memory":
        bytearray(1 << 62)  # a real allocation that cannot succeed: MemoryError
    elif fault == "exit":
        os._exit(3)


def _classify_user_error(exc: BaseException) -> bool:
    from bot.finetune.images import NotEnoughImages

    names = {"BackboneUnavailable", "DeviceUnavailable"}
    return (
        isinstance(exc, NotEnoughImages | NotADirectoryError | FileNotFoundError)
        or type(exc).__name__ in names
    )


def _is_out_of_memory(exc: BaseException) -> bool:
    return (
        isinstance(exc, MemoryError)
        or type(exc).__name__ == "OutOfMemoryError"
        or (isinstance(exc, RuntimeError) and "out of memory" in str(exc).lower())
    )


def _wait_for_payload(jobs: Any) -> dict[str, Any] | None:
    """The job's payload, or None when there is nothing to do or the bot process has gone (an
    orphan must not wait for ever)."""
    parent = multiprocessing.parent_process()
    while True:
        try:
            payload: dict[str, Any] | None = jobs.get(timeout=1.0)
            return payload
        except queue.Empty:
            if parent is not None and not parent.is_alive():
                return None


def main(job: str, jobs: Any, messages: Any) -> None:
    """Import what `job` ("demo" or "classify") needs, then take its payload from jobs (None: exit
    at once, nothing to do) and send its result or error to messages."""
    from bot.finetune.jobs import FailureKind

    try:
        _inject_fault()
        # The seconds torch and timm take to import pass while the parent prepares the payload.
        import bot.finetune.pipeline  # noqa: F401

        messages.put(("ready",))
        payload = _wait_for_payload(jobs)
        if payload is None:
            return
        if job == "demo":
            from bot.finetune.images import require_enough_images, scan_image_folder
            from bot.finetune.jobs import DemoRequest

            def progress(stage: str, message: str) -> None:
                messages.put(("progress", stage, message))

            request = DemoRequest.from_dict(payload)
            progress("loading", "reading the images")
            folder = scan_image_folder(request.image_dir, request.labels)
            require_enough_images(folder)
            from bot.finetune.pipeline import run_demo

            report = run_demo(request, progress, folder=folder)
            messages.put(("result", report.to_dict()))
        elif job == "classify":
            from pathlib import Path

            from bot.finetune.pipeline import classify_images

            ranked = classify_images(
                Path(payload["head_path"]),
                [Path(p) for p in payload["images"]],
                top_k=int(payload.get("top_k", 3)),
            )
            messages.put(("result", {"ranked": ranked}))
        else:
            raise ValueError(f"unknown job {job!r}")
    except BaseException as exc:  # report everything; the parent decides what to tell people
        if _is_out_of_memory(exc):
            messages.put(("error", FailureKind.OUT_OF_MEMORY.value, "the demo ran out of memory"))
        elif _classify_user_error(exc):
            messages.put(("error", FailureKind.BAD_INPUT.value, str(exc)))
        else:
            traceback.print_exc(file=sys.stderr)
            messages.put(("error", FailureKind.CRASH.value, f"the demo crashed: {type(exc).__name__}: {exc}"))
    finally:
        messages.close()
        messages.join_thread()  # flush before the process exits

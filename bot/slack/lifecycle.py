"""Stopping `tutor serve` cleanly on SIGTERM (what Heroku, Docker and systemd send) or Ctrl-C.

The order: stop taking requests (close the listening socket or the Socket Mode connection; requests
being acknowledged finish), let the listeners' work in progress finish, stop the scheduler (a tick
that is running completes), close the database, exit 0. All of it within `SHUTDOWN_GRACE_S`, under
Docker's default of 10 s between SIGTERM and SIGKILL; work still running then is abandoned, and
logged, and the process exits anyway (`exit_now`: worker threads of a thread pool would otherwise
hold the interpreter at exit until they finish).
"""

from __future__ import annotations

import logging
import os
import signal
import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from types import FrameType
from typing import Any

log = logging.getLogger(__name__)

SHUTDOWN_GRACE_S = 8.0
STEP_FLOOR_S = 1.0  # each step of the stop gets at least this, even once the grace period is over


class TrackedExecutor(ThreadPoolExecutor):
    """A thread pool that counts the work queued or running in it, so a stopping server can wait for
    that work within a bound (`wait_idle`). Bolt runs the listeners on it."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._pending = 0
        self._changed = threading.Condition()

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        with self._changed:
            self._pending += 1
        try:
            future = super().submit(fn, *args, **kwargs)
        except BaseException:
            self._finished(None)
            raise
        future.add_done_callback(self._finished)
        return future

    def _finished(self, _future: object) -> None:
        with self._changed:
            self._pending -= 1
            self._changed.notify_all()

    @property
    def pending(self) -> int:
        with self._changed:
            return self._pending

    def wait_idle(self, timeout_s: float) -> bool:
        """Wait until nothing is queued or running, at most `timeout_s`; True when idle."""
        with self._changed:
            return self._changed.wait_for(lambda: self._pending == 0, timeout=max(0.0, timeout_s))


class StopSignal:
    """Set by SIGTERM or SIGINT; the main thread waits on it while other threads serve."""

    def __init__(self) -> None:
        self._event = threading.Event()
        self.reason: str | None = None

    def install(self) -> StopSignal:
        """Handle SIGTERM and SIGINT (call from the main thread)."""
        for number in (signal.SIGTERM, signal.SIGINT):
            signal.signal(number, self._on_signal)
        return self

    def _on_signal(self, number: int, _frame: FrameType | None) -> None:
        self.set(signal.Signals(number).name)

    def set(self, reason: str) -> None:
        self.reason = self.reason or reason
        self._event.set()

    def wait(self) -> str:
        """Block until a stop is asked for; returns why (e.g. "SIGTERM")."""
        while not self._event.wait(0.5):  # short waits: signal handlers run between them
            pass
        return self.reason or "stop"


class Deadline:
    """The time left of one grace period."""

    def __init__(self, seconds: float) -> None:
        self._end = time.monotonic() + seconds

    def left(self) -> float:
        return max(0.0, self._end - time.monotonic())


def run_bounded(what: str, work: Callable[[], object], deadline: Deadline) -> bool:
    """Run `work` in a thread and wait for it until the deadline; False (and a warning) if it did not
    finish. For calls with no timeout of their own, such as APScheduler's shutdown(wait=True)."""
    done = threading.Event()

    def target() -> None:
        try:
            work()
        except Exception:
            log.exception("%s failed while stopping", what)
        finally:
            done.set()

    threading.Thread(target=target, name=f"stop-{what}", daemon=True).start()
    if done.wait(max(deadline.left(), STEP_FLOOR_S)):
        return True
    log.warning("gave up waiting for %s: the grace period of %.0f s is over", what, SHUTDOWN_GRACE_S)
    return False


def exit_now(code: int) -> None:
    """End the process at once with `code`, after flushing the logs and output: for a stop that
    abandoned work, whose threads would keep a normal exit waiting."""
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)

"""Running the demo from the bot: in a child process, one job at a time per machine (no torch here).

The child is started with multiprocessing "spawn" (a fresh interpreter: no copied threads or sockets
from the bot), reports progress over a queue, and is killed when it passes the time limit. Whatever
happens to it (an exception, running out of memory, a segfault, a kill) comes back as a DemoOutcome
with a plain error; the bot keeps running. A file lock (fcntl) keeps jobs from several threads or
processes on one machine from running at the same time; waiters take numbered tickets (FIFO).
A demo whose images still have to be fetched (run_prepared) starts its child first: the seconds the
child spends importing torch and timm pass while the parent downloads.
"""

from __future__ import annotations

import fcntl
import multiprocessing
import os
import queue
import signal
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

from bot.finetune.report import FinetuneReport

DEFAULT_BACKBONE = "tf_efficientnet_lite0"
_POLL_S = 0.2


@dataclass(frozen=True)
class DemoRequest:
    """One demo: image_dir/<label>/<images>; outputs (chart, head) go to out_dir. budget_s: seconds
    each arm may train; device None picks cuda when present, else cpu; labels limits the sub-folders
    used; image_size overrides the pre-trained arm's input side in pixels (None: the backbone's own)."""

    image_dir: Path
    out_dir: Path
    budget_s: float = 10.0
    device: str | None = None
    backbone: str = DEFAULT_BACKBONE
    labels: tuple[str, ...] | None = None
    seed: int = 0
    image_size: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "image_dir": str(self.image_dir),
            "out_dir": str(self.out_dir),
            "budget_s": self.budget_s,
            "device": self.device,
            "backbone": self.backbone,
            "labels": list(self.labels) if self.labels is not None else None,
            "seed": self.seed,
            "image_size": self.image_size,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> DemoRequest:
        labels = data.get("labels")
        return cls(
            image_dir=Path(data["image_dir"]),
            out_dir=Path(data["out_dir"]),
            budget_s=float(data.get("budget_s", 10.0)),
            device=data.get("device"),
            backbone=str(data.get("backbone", DEFAULT_BACKBONE)),
            labels=tuple(labels) if labels is not None else None,
            seed=int(data.get("seed", 0)),
            image_size=None if data.get("image_size") is None else int(data["image_size"]),
        )


@dataclass(frozen=True)
class Progress:
    """stage: "queued" | "loading" | "embedding" | "training" | "baseline" | "done"; message: words
    for people; queue_position: while queued, 1 = next to run."""

    stage: str
    message: str
    queue_position: int | None = None


class FailureKind(StrEnum):
    BAD_INPUT = "bad input"  # the request cannot be served: too few images, unknown backbone, no GPU
    OUT_OF_MEMORY = "out of memory"
    TIME_LIMIT = "time limit"
    CRASH = "crash"


@dataclass(frozen=True)
class DemoOutcome:
    """ok with a report, or not ok with an error in plain words (and what kind of failure)."""

    ok: bool
    report: FinetuneReport | None
    error: str | None
    failure: FailureKind | None = None
    seconds: float = 0.0  # wall clock from handing the child its job to its end (not queueing, preparing)


class DemoError(RuntimeError):
    """A child-process job that failed; the message is in plain words."""


class MachineLock:
    """An exclusive lock per machine (fcntl.flock on lock_path) with a FIFO queue of tickets.

    Tickets are files in <lock_path>.queue named <time_ns>-<pid>-<random>; the ticket of a process
    that died is removed by the next waiter that sees it, and the flock dies with its holder.
    """

    def __init__(self, lock_path: Path) -> None:
        self.lock_path = Path(lock_path)
        self.queue_dir = self.lock_path.with_name(self.lock_path.name + ".queue")

    def _position(self, ticket: Path) -> int:
        ahead = 0
        for other in sorted(self.queue_dir.iterdir()):
            if other.name >= ticket.name:
                break
            try:
                pid = int(other.name.split("-")[1])
                os.kill(pid, 0)
            except (ValueError, IndexError, ProcessLookupError):
                other.unlink(missing_ok=True)  # not a ticket, or its process is gone
                continue
            except PermissionError:
                pass  # alive, another user's process
            ahead += 1
        return ahead + 1

    @contextmanager
    def held(self, on_wait: Callable[[int], None] | None = None) -> Iterator[None]:
        """Hold the lock for the with-block; on_wait(position) is called when waiting and whenever the
        position changes (1 = next)."""
        self.lock_path.parent.mkdir(parents=True, exist_ok=True)
        self.queue_dir.mkdir(exist_ok=True)
        ticket = self.queue_dir / f"{time.time_ns():020d}-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        ticket.touch()
        fd = os.open(self.lock_path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            last = None
            while True:
                position = self._position(ticket)
                if position == 1:
                    try:
                        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                        break
                    except BlockingIOError:
                        pass
                if position != last and on_wait is not None:
                    on_wait(position)
                last = position
                time.sleep(_POLL_S)
            ticket.unlink(missing_ok=True)
            yield
        finally:
            ticket.unlink(missing_ok=True)
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)


def _signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return f"signal {number}"


class DemoRunner:
    """Runs demos and classifications in a child process, one at a time per machine (per lock_path).

    time_limit_s: wall-clock seconds a child may run (from its start, imports included) before it is
    killed. Thread-safe: call run() from a worker thread; it blocks until the child is done.
    """

    def __init__(self, *, lock_path: Path | None = None, time_limit_s: float = 300.0) -> None:
        default = Path(tempfile.gettempdir()) / f"tutor-finetune-{os.getuid()}.lock"
        self.lock = MachineLock(lock_path or default)
        self.time_limit_s = time_limit_s
        self._context = multiprocessing.get_context("spawn")
        self._start_lock = threading.Lock()  # spawn start-up is not safe from many threads at once

    def run(self, request: DemoRequest, on_progress: Callable[[Progress], None] | None = None) -> DemoOutcome:
        """Run the demo for request and return its outcome (never raises for a failed demo)."""
        outcome = self.run_prepared(lambda: request, on_progress)
        assert outcome is not None  # only a prepare that returns None gives None
        return outcome

    def run_prepared(
        self,
        prepare: Callable[[], DemoRequest | None],
        on_progress: Callable[[Progress], None] | None = None,
    ) -> DemoOutcome | None:
        """Like run, for a request that needs work first (downloading its images): once this job's
        turn comes, the child is started and imports torch while prepare() runs here. prepare returns
        the request, or None when there is nothing to run (then so does this). An exception from
        prepare stops the child and is raised here."""

        def emit(progress: Progress) -> None:
            if on_progress is not None:
                on_progress(progress)

        def queued(position: int) -> None:
            ahead = "1 demo is" if position == 1 else f"{position} demos are"
            emit(Progress("queued", f"waiting: {ahead} ahead of this one", queue_position=position))

        with self.lock.held(queued):
            outcome = self._run_child("demo", prepare, emit)
        if outcome is None:
            return None
        if outcome.ok:
            report = FinetuneReport.from_dict(outcome.report_data)
            emit(Progress("done", f"done in {outcome.seconds:.1f} s"))
            return DemoOutcome(True, report, None, None, outcome.seconds)
        return DemoOutcome(False, None, outcome.error, outcome.failure, outcome.seconds)

    def classify(
        self, head_path: Path, images: list[Path], *, top_k: int = 3
    ) -> list[list[tuple[str, float]]]:
        """Top-k (label, probability 0-1) for each image with the head a demo saved; an empty list for
        an image that cannot be used. Raises DemoError when the job fails."""
        payload = {"head_path": str(head_path), "images": [str(p) for p in images], "top_k": top_k}
        with self.lock.held():
            outcome = self._run_child("classify", lambda: payload, lambda progress: None)
        assert outcome is not None  # the payload is never None
        if not outcome.ok:
            raise DemoError(outcome.error or "classification failed")
        return [[(str(label), float(p)) for label, p in ranked] for ranked in outcome.report_data["ranked"]]

    def _run_child(
        self,
        job: str,
        prepare: Callable[[], DemoRequest | dict[str, Any] | None],
        emit: Callable[[Progress], None],
    ) -> _ChildResult | None:
        """Start the child, then hand it prepare()'s payload (None: tell it to exit, and return None)."""
        from bot.finetune import child  # no torch at import: the child imports it

        messages, jobs = self._context.Queue(), self._context.Queue()
        process = self._context.Process(target=child.main, args=(job, jobs, messages), daemon=True)
        with self._start_lock:
            process.start()
        result: _ChildResult | None = None
        try:
            try:
                prepared = prepare()
            except BaseException:
                jobs.put(None)
                raise
            payload = prepared.to_dict() if isinstance(prepared, DemoRequest) else prepared
            jobs.put(payload)
            if payload is None:  # nothing to run: the child exits once its imports are done
                return None
            started = time.monotonic()  # the time limit counts from here, not from the preparing
            deadline = started + self.time_limit_s
            while result is None:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    limit = f"{self.time_limit_s:g} s"
                    result = _ChildResult.failed(
                        f"the demo took longer than {limit} and was stopped", FailureKind.TIME_LIMIT
                    )
                    break
                try:
                    message = messages.get(timeout=min(_POLL_S, remaining))
                except queue.Empty:
                    if process.is_alive():
                        continue
                    try:  # it may have exited right after sending its last message (already in the pipe)
                        message = messages.get(timeout=0.25)
                    except queue.Empty:
                        result = self._death(process)
                        break
                result = self._handle(message, emit)
        finally:
            self._stop(process, graceful=result is not None and result.failure is not FailureKind.TIME_LIMIT)
            messages.close()
            jobs.close()
        return _ChildResult(
            result.ok, result.report_data, result.error, result.failure, time.monotonic() - started
        )

    @staticmethod
    def _handle(message: tuple, emit: Callable[[Progress], None]) -> _ChildResult | None:
        kind = message[0]
        if kind == "ready":  # imports done; it may already have been waiting for its job
            return None
        if kind == "progress":
            try:
                emit(Progress(stage=message[1], message=message[2]))
            except Exception:  # a failing progress callback must not lose the demo
                pass
            return None
        if kind == "result":
            return _ChildResult(True, message[1], None, None)
        return _ChildResult.failed(str(message[2]), FailureKind(message[1]))

    @staticmethod
    def _death(process: Any) -> _ChildResult:
        process.join(timeout=5)
        code = process.exitcode
        if code == -signal.SIGKILL:
            return _ChildResult.failed(
                "the demo was killed by the system, most likely because it ran out of memory",
                FailureKind.OUT_OF_MEMORY,
            )
        if code is not None and code < 0:
            return _ChildResult.failed(f"the demo crashed ({_signal_name(-code)})", FailureKind.CRASH)
        return _ChildResult.failed(f"the demo crashed (exit code {code})", FailureKind.CRASH)

    @staticmethod
    def _stop(process: Any, *, graceful: bool) -> None:
        if graceful:
            process.join(timeout=2)  # it has sent its last word and is exiting
        if process.is_alive():
            process.terminate()
            process.join(timeout=3)
        if process.is_alive():
            process.kill()
            process.join(timeout=5)


@dataclass(frozen=True)
class _ChildResult:
    ok: bool
    report_data: Any
    error: str | None
    failure: FailureKind | None
    seconds: float = 0.0

    @classmethod
    def failed(cls, error: str, failure: FailureKind) -> _ChildResult:
        return cls(False, None, error, failure)

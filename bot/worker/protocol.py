"""The job protocol between the bot and its worker: what a job kind is, how progress and outcomes
come back, and how failures are named.

Plain data (no torch, no Celery): the bot reads it without the worker's dependencies, and each
value crosses a process or host boundary as a dict (`to_dict` / `from_dict`). Times are seconds of
wall clock (time.monotonic on the side that measured them).
"""

from __future__ import annotations

import os
import socket
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any


class Lane(StrEnum):
    """Where a job waits. Each lane runs one job at a time; a short job never waits behind a long one."""

    LONG = "long"  # the demo: seconds to minutes
    SHORT = "short"  # classify a reply, grade an answer: well under a second when warm


class FailureKind(StrEnum):
    BAD_INPUT = "bad input"  # the request cannot be served: too few images, unknown backbone, no GPU
    OUT_OF_MEMORY = "out of memory"
    TIME_LIMIT = "time limit"
    CRASH = "crash"  # the job raised, or the worker process died under it
    LOST = "worker lost"  # a remote worker stopped answering mid-job
    UNAVAILABLE = "unavailable"  # no worker can take the job (cannot start, none running, shutting down)


@dataclass(frozen=True)
class JobKind:
    """One kind of job the worker runs. module: the job module (imported only in the worker
    process), which defines `warm_up(config)` and `run(payload, progress)`; lane: where it waits;
    time_limit_s: the default hard limit of one run; noun: how messages name it ("the demo");
    retry_on_restart: run it once more when the worker restarted under it for another job's fault
    (true for short jobs, which are idempotent and cheap); requires: top-level packages it imports
    that an installation may lack (an extra): without them its jobs are refused at once, and no
    process is started for them."""

    module: str
    lane: Lane
    time_limit_s: float
    noun: str = "the job"
    retry_on_restart: bool = False
    requires: tuple[str, ...] = ()

    def missing(self) -> str | None:
        """Why this kind cannot run in this installation (a required package is absent), or None.
        Looks the packages up without importing them."""
        import importlib.util

        absent = [name for name in self.requires if importlib.util.find_spec(name) is None]
        if not absent:
            return None
        return (f"{self.noun} needs {', '.join(absent)}, which this installation lacks: install the finetune "
                f"extra (pip install 'tutor[finetune]') where the worker runs")


@dataclass(frozen=True)
class WorkerConfig:
    """What a worker process is told when it starts. device: None picks cuda when present."""

    device: str | None = None


@dataclass(frozen=True)
class Progress:
    """A step of a running job. stage: a word the caller may show ("queued", "embedding",
    "pretrained", "baseline"...); message: words for people; data: a milestone's numbers (the
    pre-trained arm's result); queue_position: while queued, 1 = next to run."""

    stage: str
    message: str
    data: dict[str, Any] | None = None
    queue_position: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"stage": self.stage, "message": self.message, "data": self.data,
                "queue_position": self.queue_position}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Progress:
        position = data.get("queue_position")
        return cls(stage=str(data["stage"]), message=str(data["message"]), data=data.get("data"),
                   queue_position=None if position is None else int(position))


ProgressSink = Callable[[Progress], None]
# What a job module's run() gets to report with: progress(stage, message, data=None).
JobProgress = Callable[..., None]


@dataclass(frozen=True)
class WorkerInfo:
    """Which process ran a job: host name, process id, engine ("local": the bot's own warm worker;
    "celery": a `tutor worker`) and, for Celery, the worker's node name."""

    host: str
    pid: int
    engine: str = "local"
    node: str = ""

    @classmethod
    def here(cls, pid: int | None = None, *, engine: str = "local", node: str = "") -> WorkerInfo:
        return cls(host=socket.gethostname(), pid=os.getpid() if pid is None else pid, engine=engine,
                   node=node)

    def to_dict(self) -> dict[str, Any]:
        return {"host": self.host, "pid": self.pid, "engine": self.engine, "node": self.node}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> WorkerInfo:
        return cls(host=str(data["host"]), pid=int(data["pid"]), engine=str(data.get("engine", "local")),
                   node=str(data.get("node", "")))


@dataclass(frozen=True)
class JobOutcome:
    """ok with the job's result, or not ok with an error in plain words and its kind. seconds: from
    handing the job to a worker process to its end (queueing not counted)."""

    ok: bool
    result: dict[str, Any] | None
    error: str | None = None
    failure: FailureKind | None = None
    seconds: float = 0.0
    worker: WorkerInfo | None = None

    @classmethod
    def failed(cls, error: str, failure: FailureKind, *, seconds: float = 0.0,
               worker: WorkerInfo | None = None) -> JobOutcome:
        return cls(False, None, error, failure, seconds, worker)

    def to_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "result": self.result, "error": self.error,
                "failure": self.failure.value if self.failure else None, "seconds": self.seconds,
                "worker": self.worker.to_dict() if self.worker else None}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> JobOutcome:
        failure = data.get("failure")
        worker = data.get("worker")
        return cls(ok=bool(data["ok"]), result=data.get("result"), error=data.get("error"),
                   failure=FailureKind(failure) if failure else None, seconds=float(data.get("seconds", 0.0)),
                   worker=WorkerInfo.from_dict(worker) if worker else None)


class JobInputError(ValueError):
    """Raised by a job for a request it cannot serve (too few images, unknown backbone, no GPU); the
    message, in plain words, goes back to whoever asked."""


class WorkerClient:
    """What the bot holds to run jobs: the local warm worker (bot.worker.engine.WarmWorker) or
    Celery (bot.worker.celery_client.CeleryWorkerClient). Both guarantee that run() returns: a
    dead, lost or stuck worker comes back as a failed outcome in plain words, never a hang."""

    def start(self) -> None:
        """Get ready ahead of the first job (the local worker spawns and warms its process)."""

    def run(self, kind: str, payload: dict[str, Any], *, on_progress: ProgressSink | None = None,
            time_limit_s: float | None = None) -> JobOutcome:
        """Run one job of `kind` and return its outcome; on_progress is called on this thread, in
        order, before the outcome is returned. Never raises for a failed job."""
        raise NotImplementedError

    def close(self) -> None:
        """Stop: jobs still waiting or running end as failed ("shutting down")."""

"""The bot's side of Celery (TUTOR_BROKER_URL): send a job to its lane's queue, replay its progress
from the task state, and stop waiting as soon as there is no one to wait for.

run() returns in every case (see bot/worker/celery_app.py for the heartbeats):
- the task finished: its JobOutcome (a failed job comes back in the worker engine's own words);
- queued, but no `tutor worker` heartbeat for its lane for `no_worker_after_s`: "no worker";
- started, and its worker's heartbeat stopped (or names another process) for `lost_after_s`: the
  worker was lost mid-job;
- no answer within the job's time limit plus `grace_s` after it started (a stuck engine), or
  `queue_wait_s` in the queue: given up, in plain words.
"""

from __future__ import annotations

import json
import logging
import time
from typing import Any
from urllib.parse import urlsplit

import redis
from celery.result import AsyncResult
from kombu.exceptions import OperationalError

from bot.worker.celery_app import QUEUES, TASK_NAME, beacon_key, make_celery
from bot.worker.protocol import FailureKind, JobKind, JobOutcome, Progress, ProgressSink, WorkerClient
from bot.worker.registry import JOB_KINDS

log = logging.getLogger(__name__)
# Redis away or gone mid-job; Celery's result store raises RuntimeError once its retries run out.
_ENGINE_ERRORS = (OperationalError, redis.RedisError, OSError, RuntimeError)


class CeleryWorkerClient(WorkerClient):
    """Runs jobs on `tutor worker` processes through Celery and Redis at broker_url."""

    def __init__(self, broker_url: str, *, poll_s: float = 0.2, lost_after_s: float = 3.0,
                 no_worker_after_s: float = 15.0, queue_wait_s: float = 1800.0,
                 grace_s: float = 30.0) -> None:
        self.broker_url = broker_url
        self.app = make_celery(broker_url)
        self.redis = redis.Redis.from_url(broker_url, socket_timeout=5, socket_connect_timeout=5)
        self.poll_s, self.lost_after_s, self.no_worker_after_s = poll_s, lost_after_s, no_worker_after_s
        self.queue_wait_s, self.grace_s = queue_wait_s, grace_s

    def start(self) -> None:
        try:
            self.redis.ping()
        except _ENGINE_ERRORS as exc:  # said now, in the log; each job says it again if it persists
            log.warning("the job engine at %s cannot be reached yet: %s", self._where(), exc)

    def close(self) -> None:
        self.redis.close()
        self.app.close()

    def run(self, kind: str, payload: dict[str, Any], *, on_progress: ProgressSink | None = None,
            time_limit_s: float | None = None) -> JobOutcome:
        spec = JOB_KINDS.get(kind)
        if spec is None:
            return JobOutcome.failed(f"no worker runs {kind!r} jobs", FailureKind.UNAVAILABLE)
        limit = time_limit_s or spec.time_limit_s
        queue = QUEUES[spec.lane]
        try:
            self.redis.ping()  # a quick answer when Redis is away (Celery's own retries take a while)
            result = self.app.send_task(TASK_NAME, args=[kind, payload, limit], queue=queue,
                                        expires=self.queue_wait_s)
        except _ENGINE_ERRORS:
            return JobOutcome.failed(self._unreachable(), FailureKind.UNAVAILABLE)
        try:
            return self._wait(result, spec, queue, limit, on_progress or (lambda progress: None))
        except _ENGINE_ERRORS:
            return JobOutcome.failed(self._unreachable(), FailureKind.UNAVAILABLE)
        finally:
            try:
                result.forget()  # the outcome (images, head, chart) is not kept in Redis once read
            except _ENGINE_ERRORS:
                pass

    def _wait(self, result: AsyncResult, spec: JobKind, queue: str, limit: float,
              emit: ProgressSink) -> JobOutcome:
        sent = time.monotonic()
        started: float | None = None
        last_alive = sent
        seen = 0
        said_queued = False
        while True:
            state, info = result.state, result.info
            now = time.monotonic()
            if state == "SUCCESS":
                return JobOutcome.from_dict(result.result)
            if state in ("FAILURE", "REVOKED"):
                return JobOutcome.failed(f"the worker could not run {spec.noun}: {info}", FailureKind.CRASH)
            if state in ("STARTED", "PROGRESS"):
                meta = info if isinstance(info, dict) else {}
                events = meta.get("events") or []
                for event in events[seen:]:
                    emit(Progress.from_dict(event))
                seen = max(seen, len(events))
                started = started or now
                node = str(meta.get("node") or meta.get("hostname") or "")
                if self._lane_alive(queue, node, meta.get("pid")):
                    last_alive = now
                elif now - last_alive > self.lost_after_s:
                    result.revoke()
                    return JobOutcome.failed(
                        f"the worker running {spec.noun} ({node}) stopped answering mid-job: it was stopped, "
                        "killed or lost its connection", FailureKind.LOST)
                if now - started > limit + self.grace_s:
                    result.revoke()
                    return JobOutcome.failed(f"{spec.noun} got no answer from its worker within {limit:g} s",
                                             FailureKind.TIME_LIMIT)
            else:  # PENDING: in the queue, or not yet taken
                if not said_queued:
                    emit(Progress("queued", "waiting for a worker to take it"))
                    said_queued = True
                if self._lanes(queue):
                    last_alive = now
                elif now - last_alive > self.no_worker_after_s:
                    result.revoke()
                    return JobOutcome.failed(
                        f"no worker is serving {spec.noun}'s queue ({queue}): start `tutor worker`, or unset "
                        "TUTOR_BROKER_URL so the bot runs jobs in its own worker", FailureKind.UNAVAILABLE)
                if now - sent > self.queue_wait_s:
                    result.revoke()
                    return JobOutcome.failed(f"{spec.noun} waited {self.queue_wait_s:g} s for a free worker",
                                             FailureKind.UNAVAILABLE)
            time.sleep(self.poll_s)

    def _lanes(self, queue: str) -> list[bytes]:
        """The heartbeat keys of the workers serving `queue` now."""
        return list(self.redis.scan_iter(match=beacon_key(queue, "*"), count=100))

    def _lane_alive(self, queue: str, node: str, pid: Any) -> bool:
        """Whether worker `node` still beats, as the process `pid` that took the job (a restarted
        worker under the same name is not the one that ran it)."""
        raw = self.redis.get(beacon_key(queue, node)) if node else None
        if raw is None:
            return False
        try:
            return pid is None or int(json.loads(raw).get("pid", -1)) == int(pid)
        except (ValueError, TypeError):
            return False

    def _where(self) -> str:
        """host:port/db of the broker (never its password)."""
        parts = urlsplit(self.broker_url)
        return f"{parts.hostname}:{parts.port or 6379}{parts.path}"

    def _unreachable(self) -> str:
        return (f"the job engine (Redis at {self._where()}) cannot be reached: start Redis, or unset "
                "TUTOR_BROKER_URL so the bot runs jobs in its own worker")

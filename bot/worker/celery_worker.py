"""One lane of `tutor worker`: a Celery worker with the solo pool (one task at a time, in this
process) whose task hands each job to this process's WarmWorker, so the models stay loaded between
jobs and a job that crashes or runs out of memory takes down only the job process, which the engine
restarts. A thread writes this lane's heartbeat to Redis (see bot/worker/celery_app.py).

Imports Celery and redis (the `queue` extra); torch only in the WarmWorker's process.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import threading
from dataclasses import replace
from typing import Any

import redis

from bot.worker.celery_app import BEACON_EVERY_S, BEACON_TTL_S, QUEUES, TASK_NAME, beacon_key, make_celery
from bot.worker.engine import WarmWorker
from bot.worker.protocol import Lane, Progress, WorkerConfig, WorkerInfo
from bot.worker.registry import kinds_for

log = logging.getLogger(__name__)


class Beacon:
    """Refreshes this lane's heartbeat key in Redis every BEACON_EVERY_S until stopped: pid, host,
    whether the engine has warmed up, and the task it is running."""

    def __init__(self, client: redis.Redis, key: str, engine: WarmWorker) -> None:
        self.client, self.key, self.engine = client, key, engine
        self.busy: str | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="tutor-beacon", daemon=True)

    def start(self) -> Beacon:
        self._thread.start()
        return self

    def _loop(self) -> None:
        while not self._stop.is_set():
            value = {"pid": os.getpid(), "host": socket.gethostname(), "busy": self.busy,
                     "ready": self.engine.wait_ready(0)}
            try:
                self.client.set(self.key, json.dumps(value), ex=BEACON_TTL_S)
            except redis.RedisError as exc:  # Redis away for a moment: the next beat tries again
                log.warning("heartbeat not written: %s", exc)
            self._stop.wait(BEACON_EVERY_S)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        try:
            self.client.delete(self.key)
        except redis.RedisError:
            pass


def run_lane(broker_url: str, lane: Lane, *, device: str | None = None, loglevel: str = "info") -> int:
    """Serve `lane`'s queue until stopped (SIGTERM: Celery's warm shutdown; the job process goes
    with this one). Returns the exit status."""
    app = make_celery(broker_url)
    queue = QUEUES[lane]
    node = f"{lane.value}-{os.getpid()}@{socket.gethostname()}"
    engine = WarmWorker(kinds=kinds_for(lane), config=WorkerConfig(device=device))
    engine.start()  # warms up while Celery connects
    client = redis.Redis.from_url(broker_url, socket_timeout=5)
    beacon = Beacon(client, beacon_key(queue, node), engine).start()

    @app.task(name=TASK_NAME, bind=True)
    def run_job(self: Any, kind: str, payload: dict[str, Any], time_limit_s: float | None) -> dict[str, Any]:
        events: list[dict[str, Any]] = []
        meta = {"events": events, "pid": os.getpid(), "node": node}
        beacon.busy = self.request.id

        def on_progress(progress: Progress) -> None:
            events.append(progress.to_dict())
            self.update_state(state="PROGRESS", meta=meta)

        try:
            outcome = engine.run(kind, payload, on_progress=on_progress, time_limit_s=time_limit_s)
        finally:
            beacon.busy = None
        pid = outcome.worker.pid if outcome.worker else os.getpid()
        return replace(outcome, worker=WorkerInfo.here(pid, engine="celery", node=node)).to_dict()

    argv = ["worker", "--pool=solo", f"--queues={queue}", f"--hostname={node}", f"--loglevel={loglevel}",
            "--without-gossip", "--without-mingle"]
    try:
        app.worker_main(argv)
    finally:
        beacon.stop()
        engine.close()
    return 0

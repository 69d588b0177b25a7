"""WarmWorker: the bot's own long-lived worker process, and the supervisor that keeps it honest.

One process (bot/worker/process.py, started with multiprocessing "spawn": a fresh interpreter, no
copied threads or sockets) imports torch once and keeps its models loaded between jobs. A
supervisor thread here (no torch) queues jobs per lane, hands each to the process when its lane is
free, relays progress, and enforces each job's time limit. When the process dies (a crash, the
kernel's out-of-memory killer, a kill for a time limit) every job it held gets a plain-words
outcome, short jobs caught up in another job's failure are run once more, and a new process is
started. run() therefore always returns: nothing waits on a dead worker.

Thread-safe: call run() from any number of threads; progress callbacks run on the caller's thread.
"""

from __future__ import annotations

import fcntl
import itertools
import logging
import multiprocessing
import os
import queue
import signal
import threading
import time
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from multiprocessing.connection import Connection, wait
from typing import Any

from bot.worker.protocol import (
    FailureKind,
    JobKind,
    JobOutcome,
    Lane,
    Progress,
    ProgressSink,
    WorkerClient,
    WorkerConfig,
    WorkerInfo,
)
from bot.worker.registry import JOB_KINDS

log = logging.getLogger(__name__)

START_TIMEOUT_S = 180.0  # a process that is not ready by then is stuck: killed, reported
RESTART_BACKOFF_S = 15.0  # after the process failed to start twice in a row
SHUTTING_DOWN = "the worker was stopped (the bot is shutting down)"
_POLL_S = 0.5
_ids = itertools.count(1)


def _signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return f"signal {number}"


@dataclass(eq=False)
class _Job:
    kind: str
    spec: JobKind
    payload: dict[str, Any] | None
    time_limit_s: float
    id: str = field(default_factory=lambda: f"job-{os.getpid()}-{next(_ids)}")
    events: queue.SimpleQueue = field(default_factory=queue.SimpleQueue)  # Progress, then one JobOutcome
    started: float | None = None  # time.monotonic() when handed to the process
    retried: bool = False
    last_position: int | None = None

    def finish(self, outcome: JobOutcome) -> None:
        self.payload = None
        self.events.put(outcome)


class WarmWorker(WorkerClient):
    """The local warm worker. kinds: the job kinds it runs (default: the registry); config: what
    its process is told (the device); keep_warm: start the process at start() and keep one running
    (False: start it on the first job)."""

    def __init__(self, *, kinds: Mapping[str, JobKind] = JOB_KINDS, config: WorkerConfig | None = None,
                 keep_warm: bool = True) -> None:
        self.kinds = dict(kinds)
        # Kinds this installation cannot run (a missing extra): refused at once, never started.
        self.missing = {name: why for name, kind in self.kinds.items() if (why := kind.missing())}
        self.config = config or WorkerConfig()
        self.keep_warm = keep_warm
        self._context = multiprocessing.get_context("spawn")
        self._lock = threading.Lock()
        self._waiting: dict[Lane, deque[_Job]] = {lane: deque() for lane in Lane}
        self._running: dict[Lane, _Job | None] = {lane: None for lane in Lane}
        self._process: Any = None
        self._conn: Connection | None = None
        self._spawned_at = 0.0
        self._ready = threading.Event()
        self._unavailable: dict[str, tuple[FailureKind, str]] = {}  # kinds whose warm-up failed
        self._start_failures = 0
        self._broken: str | None = None  # why the process cannot start, while backing off
        self._broken_until = 0.0
        self._restart_when_idle = False
        self._killed_for: tuple[str | None, str] | None = None  # (job id, why) when we killed it
        self._thread: threading.Thread | None = None
        self._closed = False
        self._wake_r, self._wake_w = os.pipe()
        fcntl.fcntl(self._wake_w, fcntl.F_SETFL, fcntl.fcntl(self._wake_w, fcntl.F_GETFL) | os.O_NONBLOCK)
        self.restarts = 0  # processes started after the first (tests and the bench read it)
        self.warm_s: float | None = None  # how long the current process took to import and warm up

    # the public side ------------------------------------------------------------------------------
    @property
    def pid(self) -> int | None:
        """The worker process's id while one runs."""
        process = self._process
        return process.pid if process is not None else None

    def wait_ready(self, timeout_s: float) -> bool:
        """Start if needed and wait until the process has warmed up; False on timeout."""
        self.start()
        return self._ready.wait(timeout_s)

    def start(self) -> None:
        with self._lock:
            if self._closed:
                return
            if self._thread is None:
                self._thread = threading.Thread(target=self._supervise, name="tutor-worker-supervisor",
                                                daemon=True)
                self._thread.start()
        self._wake()

    def run(self, kind: str, payload: dict[str, Any], *, on_progress: ProgressSink | None = None,
            time_limit_s: float | None = None) -> JobOutcome:
        job = self.submit(kind, payload, time_limit_s=time_limit_s)
        while True:
            event = job.events.get()
            if isinstance(event, JobOutcome):
                return event
            if on_progress is not None:
                try:
                    on_progress(event)
                except Exception:  # a failing progress callback must not lose the job
                    log.exception("progress callback of %s failed", kind)

    def submit(self, kind: str, payload: dict[str, Any], *, time_limit_s: float | None = None) -> _Job:
        """Queue a job; its events (Progress, then one JobOutcome) arrive on job.events."""
        spec = self.kinds.get(kind)
        job = _Job(kind, spec or JobKind("", Lane.SHORT, 0.0), payload,
                   time_limit_s or (spec.time_limit_s if spec else 0.0))
        if spec is None or kind in self.missing:
            why = self.missing.get(kind) or f"this worker runs no {kind!r} jobs"
            job.finish(JobOutcome.failed(why, FailureKind.UNAVAILABLE))
            return job
        with self._lock:
            refusal = (FailureKind.UNAVAILABLE, SHUTTING_DOWN) if self._closed else self._refusal(kind)
            if refusal is None:
                self._waiting[spec.lane].append(job)
                self._announce_positions(spec.lane)
        if refusal is not None:
            job.finish(JobOutcome.failed(refusal[1], refusal[0]))
            return job
        self.start()
        return job

    def close(self) -> None:
        """Stop the process; jobs still waiting or running end as failed. Idempotent."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            thread = self._thread
        self._wake()
        if thread is not None:
            thread.join(timeout=15)
        else:
            self._fail_all(SHUTTING_DOWN, FailureKind.UNAVAILABLE)
        for fd in (self._wake_r, self._wake_w):
            try:
                os.close(fd)
            except OSError:
                pass

    # the supervisor thread -------------------------------------------------------------------------
    def _wake(self) -> None:
        try:
            os.write(self._wake_w, b"x")
        except OSError:  # full (a wake-up is pending anyway) or closed
            pass

    def _refusal(self, kind: str) -> tuple[FailureKind, str] | None:
        """Why a job of `kind` cannot be taken now (caller holds the lock), or None."""
        if self._ready.is_set() and kind in self._unavailable:
            return self._unavailable[kind]
        if self._broken is not None and time.monotonic() < self._broken_until:
            return FailureKind.UNAVAILABLE, self._broken
        return None

    def _supervise(self) -> None:
        try:
            while True:
                with self._lock:
                    if self._closed:
                        return
                try:
                    self._step()
                except Exception:  # the supervisor must outlive any bug: reset and go on
                    log.exception("the worker's supervisor hit an error; restarting the worker")
                    self._kill(None, "the worker's supervisor hit an error")
                    self._after_death()
        finally:
            self._stop_process()
            self._fail_all(SHUTTING_DOWN, FailureKind.UNAVAILABLE)

    def _step(self) -> None:
        self._ensure_process()
        self._dispatch()
        waitables: list[Any] = [self._wake_r]
        if self._process is not None and self._conn is not None:
            waitables += [self._conn, self._process.sentinel]
        for ready in wait(waitables, timeout=self._timeout()):
            if ready == self._wake_r:
                os.read(self._wake_r, 4096)
        died = self._drain()
        if self._process is not None and (died or not self._process.is_alive()):
            self._after_death()
        self._check_deadlines()

    def _pending(self) -> bool:
        return any(self._waiting[lane] or self._running[lane] for lane in Lane)

    def _ensure_process(self) -> None:
        with self._lock:
            if self._process is not None or self._closed:
                return
            if self._broken is not None:
                if time.monotonic() < self._broken_until:
                    return
                self._broken = None
            if not (self.keep_warm or self._pending()) or len(self.missing) == len(self.kinds):
                return
        from bot.worker import process as worker_process  # no torch: the process imports it

        parent, child = self._context.Pipe(duplex=True)
        runnable = {name: kind for name, kind in self.kinds.items() if name not in self.missing}
        process = self._context.Process(target=worker_process.main, args=(child, runnable, self.config),
                                        name="tutor-worker", daemon=True)
        process.start()
        child.close()
        with self._lock:
            self._process, self._conn, self._spawned_at = process, parent, time.monotonic()
        log.info("worker process %d started", process.pid)

    def _dispatch(self) -> None:
        if not self._ready.is_set() or self._conn is None:
            return
        with self._lock:
            if self._restart_when_idle and not any(self._running.values()):
                self._restart_when_idle = False
                idle_restart = True
            else:
                idle_restart = False
        if idle_restart:  # after a job ran out of memory: a fresh process, once nothing runs
            self._kill(None, "restart after running out of memory")
            self._after_death()
            return
        for lane in Lane:
            with self._lock:
                if self._running[lane] is not None or not self._waiting[lane] or self._restart_when_idle:
                    continue
                job = self._waiting[lane].popleft()
                self._running[lane] = job
                job.started = time.monotonic()
                self._announce_positions(lane)
            try:
                self._conn.send(("job", job.id, job.kind, job.payload))
            except (OSError, EOFError):  # it died while taking the job: found out by the caller
                return

    def _timeout(self) -> float:
        now = time.monotonic()
        times = [_POLL_S]
        with self._lock:
            for job in self._running.values():
                if job is not None and job.started is not None:
                    times.append(job.started + job.time_limit_s - now)
            if self._broken is not None and self._pending():
                times.append(self._broken_until - now)
        return max(0.0, min(times))

    def _drain(self) -> bool:
        """Handle every message waiting in the pipe; True when the pipe says the process is gone."""
        conn = self._conn
        if conn is None:
            return False
        try:
            while conn.poll(0):
                self._on_message(conn.recv())
        except (EOFError, OSError):
            return True
        return False

    def _on_message(self, message: tuple) -> None:
        kind = message[0]
        if kind == "ready":
            info = message[1]
            with self._lock:
                self._unavailable = {name: (FailureKind(failure), why)
                                     for name, (failure, why) in (info.get("unavailable") or {}).items()}
                self._start_failures = 0
                self.warm_s = float(info.get("warm_s", 0.0))
                refused = [(lane, waiting) for lane in Lane for waiting in self._waiting[lane]
                           if waiting.kind in self._unavailable]
                for lane, waiting in refused:
                    self._waiting[lane].remove(waiting)
            for _, refused_job in refused:
                failure, why = self._unavailable[refused_job.kind]
                refused_job.finish(JobOutcome.failed(why, failure))
            for name, (_, why) in self._unavailable.items():
                log.warning("worker cannot run %s jobs: %s", name, why)
            self._ready.set()
            log.info("worker process %s ready in %.1f s", info.get("pid"), self.warm_s)
            return
        job = self._job(message[1])
        if job is None:  # a job already given up on (its time limit passed as it finished)
            return
        if kind == "progress":
            job.events.put(Progress.from_dict(message[2]))
            return
        with self._lock:
            self._running[job.spec.lane] = None
        seconds = time.monotonic() - (job.started or time.monotonic())
        worker = WorkerInfo.here(self.pid)
        if kind == "result":
            job.finish(JobOutcome(True, message[2], None, None, seconds, worker))
            return
        failure = FailureKind(message[2])
        if failure is FailureKind.OUT_OF_MEMORY:
            with self._lock:
                self._restart_when_idle = True
        job.finish(JobOutcome.failed(str(message[3]), failure, seconds=seconds, worker=worker))

    def _job(self, job_id: str) -> _Job | None:
        with self._lock:
            for job in self._running.values():
                if job is not None and job.id == job_id:
                    return job
        return None

    def _check_deadlines(self) -> None:
        now = time.monotonic()
        with self._lock:
            late = [job for job in self._running.values()
                    if job is not None and job.started is not None and now >= job.started + job.time_limit_s]
            stuck = (self._process is not None and not self._ready.is_set()
                     and now - self._spawned_at > START_TIMEOUT_S)
        if late:
            job = late[0]
            self._kill(job.id, f"{job.spec.noun} took longer than {job.time_limit_s:g} s and was stopped")
            self._after_death()
        elif stuck:
            self._kill(None, f"the worker did not start within {START_TIMEOUT_S:g} s")
            self._after_death()

    def _kill(self, job_id: str | None, why: str) -> None:
        process = self._process
        if process is None:
            return
        self._killed_for = (job_id, why)
        if process.is_alive():
            process.kill()
        process.join(timeout=10)

    def _after_death(self) -> None:
        """The process is gone: settle every job it held, then let _ensure_process start another."""
        process, conn = self._process, self._conn
        if process is None:
            return
        self._drain()  # a result sent just before it exited is still in the pipe
        process.join(timeout=10)
        code = process.exitcode
        killed_for, self._killed_for = self._killed_for, None
        was_ready = self._ready.is_set()
        self._ready.clear()
        with self._lock:
            self._process, self._conn = None, None
            held = [job for job in self._running.values() if job is not None]
            self._running = {lane: None for lane in Lane}
        if conn is not None:
            conn.close()
        self.restarts += 1
        log.warning("worker process %s ended (exit code %s)%s", process.pid, code,
                    f": {killed_for[1]}" if killed_for else "")
        for job in held:
            self._settle(job, code, killed_for)
        if not was_ready and killed_for is None:
            self._start_failed(code)
        elif not was_ready and killed_for is not None:
            self._start_failed(None, killed_for[1])

    def _settle(self, job: _Job, code: int | None, killed_for: tuple[str | None, str] | None) -> None:
        seconds = time.monotonic() - (job.started or time.monotonic())
        if killed_for is not None and killed_for[0] == job.id:
            job.finish(JobOutcome.failed(killed_for[1], FailureKind.TIME_LIMIT, seconds=seconds))
            return
        if job.spec.retry_on_restart and not job.retried:
            job.retried, job.started = True, None
            with self._lock:
                self._waiting[job.spec.lane].appendleft(job)
            return
        if killed_for is not None:
            error, failure = (f"the worker was restarted while {job.spec.noun} ran ({killed_for[1]})",
                              FailureKind.CRASH)
        elif code == -signal.SIGKILL:
            error, failure = (f"the worker running {job.spec.noun} was killed by the system, most likely "
                              "because it ran out of memory; it has been restarted",
                              FailureKind.OUT_OF_MEMORY)
        elif code is not None and code < 0:
            error, failure = (f"the worker running {job.spec.noun} crashed ({_signal_name(-code)}); it has "
                              "been restarted", FailureKind.CRASH)
        else:
            error, failure = (f"the worker running {job.spec.noun} stopped (exit code {code}); it has been "
                              "restarted", FailureKind.CRASH)
        job.finish(JobOutcome.failed(error, failure, seconds=seconds))

    def _start_failed(self, code: int | None, why: str | None = None) -> None:
        """The process ended before it was ready: try once more at once, then back off."""
        self._start_failures += 1
        if self._start_failures < 2:
            return
        reason = why or (f"it exited during start-up ({_signal_name(-code)})" if code is not None and code < 0
                         else f"it exited during start-up (exit code {code})")
        message = f"the worker could not start: {reason}; see the bot's log"
        with self._lock:
            self._broken, self._broken_until = message, time.monotonic() + RESTART_BACKOFF_S
        self._fail_waiting(message, FailureKind.UNAVAILABLE)

    def _announce_positions(self, lane: Lane) -> None:
        """Tell waiting jobs of `lane` their place when it changed (caller holds the lock)."""
        ahead = 1 if self._running[lane] is not None else 0
        for job in self._waiting[lane]:
            position = ahead + 1
            if position != job.last_position:
                if ahead:
                    word = "job is" if ahead == 1 else "jobs are"
                    job.events.put(Progress("queued", f"waiting: {ahead} {word} ahead of this one",
                                            queue_position=ahead))
                elif not self._ready.is_set():
                    job.events.put(Progress("starting", "the worker is starting (loading its models)"))
                job.last_position = position
            ahead += 1

    def _fail_waiting(self, error: str, failure: FailureKind) -> None:
        with self._lock:
            waiting = [job for lane in Lane for job in self._waiting[lane]]
            for lane in Lane:
                self._waiting[lane].clear()
        for job in waiting:
            job.finish(JobOutcome.failed(error, failure))

    def _fail_all(self, error: str, failure: FailureKind) -> None:
        with self._lock:
            running = [job for job in self._running.values() if job is not None]
            self._running = {lane: None for lane in Lane}
        for job in running:
            job.finish(JobOutcome.failed(error, failure))
        self._fail_waiting(error, failure)

    def _stop_process(self) -> None:
        process, conn = self._process, self._conn
        if process is None:
            return
        try:
            if conn is not None:
                conn.send(("stop",))
        except (OSError, EOFError):
            pass
        process.join(timeout=3)
        if process.is_alive():
            process.kill()
            process.join(timeout=5)
        if conn is not None:
            conn.close()
        self._process, self._conn = None, None
        self._ready.clear()

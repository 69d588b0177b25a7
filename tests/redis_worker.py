"""A real Redis server and real `tutor worker` processes for the Celery tests.

`redis_server(tmp)` runs Debian's redis-server on a free local port (no persistence) and yields its
URL; `.ci/run` installs redis-server where it is missing. `worker_lane(url, lane)` runs `tutor worker
--lane LANE` and yields the process once its heartbeat says it is warm (bot/worker/celery_app.py).
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import redis

REPO = Path(__file__).resolve().parents[1]
WARM_TIMEOUT_S = 240


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def redis_server(tmp: Path) -> Iterator[str]:
    executable = shutil.which("redis-server")
    assert executable, "redis-server is not installed: `apt-get install -y redis-server` (.ci/run does it)"
    port = free_port()
    process = subprocess.Popen([executable, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                                "--appendonly", "no", "--dir", str(tmp)], stdout=subprocess.DEVNULL)
    url = f"redis://127.0.0.1:{port}/0"
    client = redis.Redis.from_url(url)
    try:
        deadline = time.monotonic() + 15
        while True:
            try:
                client.ping()
                break
            except redis.ConnectionError:
                if time.monotonic() > deadline or process.poll() is not None:
                    raise
                time.sleep(0.05)
        yield url
    finally:
        client.close()
        process.terminate()
        process.wait(10)


def beacons(url: str, queue: str) -> list[dict[str, Any]]:
    """The heartbeats of the workers serving `queue` now."""
    client = redis.Redis.from_url(url)
    try:
        found = []
        for key in client.scan_iter(match=f"tutor:worker:{queue}:*"):
            raw = client.get(key)
            if raw is not None:
                found.append({**json.loads(raw), "key": key.decode()})
        return found
    finally:
        client.close()


def wait_for_beacon(url: str, queue: str, *, pid: int | None = None, exclude: int | None = None,
                    timeout: float = WARM_TIMEOUT_S) -> dict[str, Any]:
    """The first warm heartbeat on `queue` (of process `pid`, or of any process but `exclude`)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for beacon in beacons(url, queue):
            if beacon["ready"] and (pid is None or beacon["pid"] == pid) and beacon["pid"] != exclude:
                return beacon
        time.sleep(0.2)
    raise AssertionError(f"no warm worker on {queue} within {timeout} s")


def worker_env(url: str) -> dict[str, str]:
    return dict(os.environ, TUTOR_BROKER_URL=url, PYTHONPATH=str(REPO), TUTOR_FINETUNE_DEVICE="cpu")


@contextmanager
def worker_lane(url: str, lane: str) -> Iterator[subprocess.Popen]:
    command = [sys.executable, "-m", "bot", "worker", "--lane", lane, "--loglevel", "warning"]
    process = subprocess.Popen(command, env=worker_env(url))
    try:
        wait_for_beacon(url, f"tutor.{lane}", pid=process.pid)
        yield process
    finally:
        stop(process)


def stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)

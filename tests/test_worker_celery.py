"""The job engine past one machine: a real Redis server, real `tutor worker` processes, the bot's
Celery client (TUTOR_BROKER_URL). A demo and a reply run through them from Slack with nothing
shared on disk (the head comes back with the result and goes out again with the classify job); a
worker killed mid-job is reported, not waited on; no worker, or no Redis, is said at once.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from finetune_photos import make_photo_folder
from finetune_world import BOB, cat, finetune_world
from procs import children, running
from redis_worker import beacons, free_port, redis_server, stop, wait_for_beacon, worker_env, worker_lane

from bot.finetune.images import folder_images, scan_image_folder
from bot.finetune.request import DemoRequest
from bot.worker.celery_client import CeleryWorkerClient
from bot.worker.protocol import FailureKind, JobOutcome, Progress
from storage import images as store
from storage.images import RunStatus

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with redis_server(tmp_path_factory.mktemp("redis")) as url:
        yield url


@pytest.fixture(scope="module")
def lanes(broker: str) -> Iterator[dict[str, subprocess.Popen]]:
    with worker_lane(broker, "long") as long, worker_lane(broker, "short") as short:
        yield {"long": long, "short": short}


def test_a_demo_and_a_reply_from_slack_through_celery(tmp_path: Path, broker: str,
                                                      lanes: dict[str, subprocess.Popen]) -> None:
    client = CeleryWorkerClient(broker)
    try:
        with finetune_world(tmp_path, client) as world:
            world.post_photos()
            world.command()
            world.wait_thread("*Pre-trained*")  # streamed through the task's state
            world.wait_thread("*Results*")
            world.wait_idle()
            run, = world.runs()
            assert run.status is RunStatus.DONE and run.report is not None
            worker = run.report["worker"]
            assert worker["engine"] == "celery" and worker["node"].startswith(f"long-{lanes['long'].pid}@")
            assert worker["pid"] in children(lanes["long"].pid)  # the lane's warm job process ran it
            assert store.head_for_run(world.ctx.db, run.id)  # the head came back and is kept by the bot
            assert world.slack.uploaded_files(world.channel)  # so did the chart
            world.post(("mystery.jpg", cat(5)), thread_ts=run.thread_ts, user=BOB)
            world.wait_thread("`mystery.jpg`: *cat*", timeout=60)  # the short lane, with the stored head
            world.wait_idle()
    finally:
        client.close()


def _demo_request(tmp_path: Path, budget_s: float) -> DemoRequest:
    folder = make_photo_folder(tmp_path / "photos", {"cat": 4, "coffee": 4})
    images, _ = folder_images(scan_image_folder(folder))
    return DemoRequest(images=tuple(images), budget_s=budget_s, device="cpu")


def test_no_worker_or_no_redis_is_said_at_once(tmp_path: Path, broker: str) -> None:
    payload = _demo_request(tmp_path, 1.0).to_dict()
    nobody = CeleryWorkerClient(broker.replace("/0", "/1"), no_worker_after_s=1.0)  # no lane serves db 1
    started = time.monotonic()
    outcome = nobody.run("demo", payload)
    nobody.close()
    assert time.monotonic() - started < 10
    assert outcome.failure is FailureKind.UNAVAILABLE
    assert outcome.error == ("no worker is serving the demo's queue (tutor.long): start `tutor worker`, or "
                             "unset TUTOR_BROKER_URL so the bot runs jobs in its own worker")
    closed = CeleryWorkerClient(f"redis://127.0.0.1:{free_port()}/0")
    outcome = closed.run("classify", {"head": b"", "images": []})
    closed.close()
    assert outcome.failure is FailureKind.UNAVAILABLE and outcome.error is not None
    assert outcome.error.startswith("the job engine (Redis at 127.0.0.1:")
    assert outcome.error.endswith(") cannot be reached: start Redis, or unset TUTOR_BROKER_URL so the bot "
                                  "runs jobs in its own worker")


def test_a_worker_killed_mid_demo_is_reported_not_waited_on(tmp_path: Path, broker: str,
                                                            lanes: dict[str, subprocess.Popen]) -> None:
    long = lanes["long"]
    job_processes = children(long.pid)
    client = CeleryWorkerClient(broker)
    outcome: list[JobOutcome] = []
    killed_at: list[float] = []

    def on_progress(progress: Progress) -> None:
        if progress.stage == "pretrained" and not killed_at:  # mid-job: training from scratch now
            os.kill(long.pid, signal.SIGKILL)
            killed_at.append(time.monotonic())

    thread = threading.Thread(target=lambda: outcome.append(
        client.run("demo", _demo_request(tmp_path, 20.0).to_dict(), on_progress=on_progress)))
    thread.start()
    thread.join(180)
    client.close()
    assert killed_at and outcome, "the demo never reached its pre-trained result"
    waited = time.monotonic() - killed_at[0]
    print(f"worker killed mid-demo: reported {waited:.1f} s later")
    assert outcome[0].failure is FailureKind.LOST and waited < 15  # not the 20 s budget, not for ever
    assert outcome[0].error == (f"the worker running the demo (long-{long.pid}@{os.uname().nodename}) "
                                "stopped answering mid-job: it was stopped, killed or lost its connection")
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and any(running(pid) for pid in job_processes):
        time.sleep(0.2)
    assert not any(running(pid) for pid in job_processes), "the lane's job process outlived it"


def test_tutor_worker_runs_both_lanes_and_starts_a_dead_one_again(broker: str) -> None:
    url = broker.replace("/0", "/2")  # its own database: no other test's lanes in sight
    parent = subprocess.Popen([sys.executable, "-m", "bot", "worker", "--loglevel", "warning"],
                              env=worker_env(url))
    try:
        short = wait_for_beacon(url, "tutor.short")
        long = wait_for_beacon(url, "tutor.long")
        assert {short["pid"], long["pid"]} <= set(children(parent.pid))
        os.kill(short["pid"], signal.SIGKILL)
        again = wait_for_beacon(url, "tutor.short", exclude=short["pid"])
        assert again["pid"] in children(parent.pid)
        parent.send_signal(signal.SIGTERM)
        assert parent.wait(90) == 0
        assert not running(long["pid"]) and not running(again["pid"])
        time.sleep(0.5)
        assert beacons(url, "tutor.long") == [] and beacons(url, "tutor.short") == []
    finally:
        stop(parent)

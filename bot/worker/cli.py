"""`tutor worker`: run the job worker for Celery (TUTOR_BROKER_URL), on this host or a GPU host.

    tutor worker                  both lanes: a process for demos and one for short jobs
    tutor worker --lane long      demos only (e.g. on the GPU host)
    tutor worker --lane short     classify and grade only (e.g. next to the bot)

Each lane is a Celery worker with the solo pool and its own warm job process (celery_worker.py).
With both lanes, this process starts the two as child processes, starts one again if it dies, and
stops both on SIGTERM or Ctrl-C. Imports nothing heavy until a lane runs.
"""

from __future__ import annotations

import argparse
import importlib.util
import logging
import os
import signal
import subprocess
import sys
import time
from typing import Any

from bot.config import ConfigError, load_settings
from bot.worker.protocol import Lane

log = logging.getLogger(__name__)

RESPAWN_DELAY_S = 2.0


def add_parser(commands: Any) -> None:
    """Add `tutor worker` to the `tutor` command's subparsers."""
    help_text = "run the job worker that Celery sends demos and short jobs to (needs TUTOR_BROKER_URL)"
    parser = commands.add_parser("worker", help=help_text, description=help_text)
    parser.add_argument("--lane", choices=["all", *[lane.value for lane in Lane]], default="all",
                        help="which jobs to take: long (demos), short (classify, grade) or all (default: "
                             "one process for each)")
    parser.add_argument("--broker", metavar="URL",
                        help="the Redis URL, e.g. redis://localhost:6379/0 (default: $TUTOR_BROKER_URL)")
    parser.add_argument("--device", choices=["cpu", "cuda"], default=None,
                        help="where the models run (default: $TUTOR_FINETUNE_DEVICE, else cuda when present)")
    parser.add_argument("--loglevel", default="info", choices=["debug", "info", "warning", "error"],
                        help="Celery's log level (default info)")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    try:
        settings = load_settings()
    except ConfigError as exc:
        print(f"tutor worker: {exc}", file=sys.stderr)
        return 2
    broker = args.broker or settings.broker_url
    if not broker:
        print("tutor worker: set TUTOR_BROKER_URL (e.g. redis://localhost:6379/0) or pass --broker; without "
              "a broker the bot runs its jobs in its own worker and needs no `tutor worker`", file=sys.stderr)
        return 2
    if importlib.util.find_spec("celery") is None:
        print("tutor worker: Celery is not installed here: pip install 'tutor[queue]'", file=sys.stderr)
        return 2
    device = args.device or settings.finetune_device
    if not logging.getLogger().handlers:
        logging.basicConfig(level=args.loglevel.upper(),
                            format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if args.lane != "all":
        from bot.worker.celery_worker import run_lane

        return run_lane(broker, Lane(args.lane), device=device, loglevel=args.loglevel)
    return _supervise(broker, device, args.loglevel)


def _lane_command(lane: Lane, device: str | None, loglevel: str) -> list[str]:
    command = [sys.executable, "-m", "bot", "worker", "--lane", lane.value, "--loglevel", loglevel]
    return command + (["--device", device] if device else [])


def _supervise(broker: str, device: str | None, loglevel: str) -> int:
    """Both lanes as child processes until SIGTERM or SIGINT; a lane that dies is started again."""
    env = dict(os.environ, TUTOR_BROKER_URL=broker)  # the URL may hold a password: not on a command line
    stopping = False

    def stop(signum: int, frame: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    lanes = {lane: subprocess.Popen(_lane_command(lane, device, loglevel), env=env) for lane in Lane}
    log.info("tutor worker: lanes %s", ", ".join(f"{lane.value} (pid {p.pid})" for lane, p in lanes.items()))
    while not stopping:
        time.sleep(0.5)
        for lane, process in list(lanes.items()):
            if process.poll() is not None and not stopping:
                log.warning("lane %s (pid %d) exited with %s; starting it again", lane.value, process.pid,
                            process.returncode)
                time.sleep(RESPAWN_DELAY_S)
                lanes[lane] = subprocess.Popen(_lane_command(lane, device, loglevel), env=env)
    for process in lanes.values():
        if process.poll() is None:
            process.terminate()  # Celery's warm shutdown: the running job may finish
    deadline = time.monotonic() + 60
    for process in lanes.values():
        try:
            process.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    return 0

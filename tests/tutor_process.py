"""Run the real `tutor` command in a subprocess (the console script pip installed, else `python -c`),
for tests where the process matters: exit codes, stderr, signals, a server that keeps running."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
STRIPPED = ("SLACK_", "TUTOR_", "PORT")  # the developer's own settings must not leak in


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def tutor_command() -> list[str]:
    script = Path(sys.executable).with_name("tutor")
    if script.exists():
        return [str(script)]
    return [sys.executable, "-c", "import sys; from bot.cli import main; sys.exit(main())"]


def tutor_env(**settings: str) -> dict[str, str]:
    """os.environ without Slack/tutor settings, plus `settings`, with this checkout importable."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(STRIPPED)}
    env["PYTHONPATH"] = str(REPO) + os.pathsep + env.get("PYTHONPATH", "")
    env.update(settings)
    return env


def run_tutor(*args: str, env: dict[str, str], cwd: Path | None = None, timeout: float = 120,
              **kwargs: Any) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*tutor_command(), *args], env=env, cwd=cwd or REPO, capture_output=True,
                          text=True, timeout=timeout, **kwargs)


class TutorServer:
    """`tutor serve …` in the background, its output in a log file; a context manager that makes sure
    the process is gone afterwards."""

    def __init__(self, args: list[str], env: dict[str, str], log_path: Path, *,
                 command: list[str] | None = None, cwd: Path = REPO) -> None:
        self.log_path = log_path
        self._log = log_path.open("wb")
        self.process = subprocess.Popen([*(command or tutor_command()), "serve", *args], env=env, cwd=cwd,
                                        stdout=self._log, stderr=subprocess.STDOUT)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def wait_for_log(self, text: str, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while text not in self.log():
            if self.process.poll() is not None:
                raise AssertionError(f"tutor serve exited with {self.process.returncode}:\n{self.log()}")
            if time.monotonic() > deadline:
                raise AssertionError(f"{text!r} not in the log after {timeout}s:\n{self.log()}")
            time.sleep(0.05)

    def wait_healthy(self, port: int, timeout: float = 60.0) -> None:
        """Wait until `tutor serve --http` answers GET /healthz on `port`."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1):
                    return
            except OSError:
                if self.process.poll() is not None:
                    raise AssertionError(f"tutor serve exited with {self.process.returncode}:\n"
                                         f"{self.log()}") from None
                if time.monotonic() > deadline:
                    raise AssertionError(f"tutor serve did not start in {timeout}s:\n{self.log()}") from None
                time.sleep(0.1)

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 20.0) -> int:
        """Send `sig` and wait for the exit status."""
        self.process.send_signal(sig)
        return self.process.wait(timeout=timeout)

    def __enter__(self) -> TutorServer:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)
        self._log.close()

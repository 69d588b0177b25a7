"""`tutor serve --http` as a real process against the Slack stand-in this test process hosts: for the
tests that start the bot as production does, and kill it.

The bot gets what a deployment gives it in its environment (SLACK_API_URL, SLACK_BOT_TOKEN,
SLACK_SIGNING_SECRET, TUTOR_DB, PORT; pacing off) and runs its scheduler on the real clock, so the
first tick runs at start-up. Within `running_bots(slack, folder)`, `bots.start()` starts one; on the
way out, whatever the test did, every one started is killed::

    @pytest.fixture
    def bots(tmp_path):
        with SlackStandin() as slack, running_bots(slack, tmp_path) as started:
            yield started
"""

from __future__ import annotations

import http.client
import os
import signal
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from slack_harness import SECRET
from slack_requests import SlackSender
from slack_standin import SlackStandin
from tutor_process import free_port, tutor_command

ROOT = Path(__file__).resolve().parent.parent
START_TIMEOUT_S = 30.0


def serve_command() -> list[str]:
    """`tutor serve --http`: the console script pip installed, or the same entry point via python."""
    return [*tutor_command(), "serve", "--http"]


class BotProcess:
    """One `tutor serve --http` process; its output goes to `log_path`."""

    def __init__(self, slack: SlackStandin, db_path: Path, log_path: Path,
                 env: dict[str, str] | None = None) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = log_path
        env = {**os.environ, "TUTOR_DB": str(db_path), "SLACK_BOT_TOKEN": slack.bot_token,
               "SLACK_SIGNING_SECRET": SECRET, "SLACK_API_URL": slack.api_url, "PORT": str(self.port),
               "SLACK_APP_TOKEN": "", "TUTOR_DM_RATE": "0",
               # These bots test delivery, not the demo: no warm worker process (torch) at each start.
               "TUTOR_WORKER_PREWARM": "0", **(env or {})}
        self._log = log_path.open("ab")
        self.process = subprocess.Popen(serve_command(), env=env, cwd=ROOT, stdout=self._log,
                                        stderr=subprocess.STDOUT)
        self.sender = SlackSender(self.url + "/slack/events", SECRET, slack=slack)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def rss_bytes(self) -> int:
        """The process's resident memory now (VmRSS in /proc/PID/status)."""
        status = Path(f"/proc/{self.process.pid}/status").read_text()
        kib = next(line.split()[1] for line in status.splitlines() if line.startswith("VmRSS:"))
        return int(kib) * 1024

    def wait_until_serving(self) -> BotProcess:
        """Block until GET /healthz answers (AssertionError with the log if the process dies or stalls)."""
        deadline = time.monotonic() + START_TIMEOUT_S
        while True:
            try:
                with urllib.request.urlopen(self.url + "/healthz", timeout=1):
                    return self
            except OSError:
                assert self.process.poll() is None, f"tutor serve exited:\n{self.log()}"
                assert time.monotonic() < deadline, f"tutor serve did not start:\n{self.log()}"
                time.sleep(0.05)

    def kill(self) -> None:
        """SIGKILL: no shutdown code runs, as when the machine or the OOM killer takes the process."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)
        self._log.close()

    def stop(self) -> None:
        """SIGTERM, then SIGKILL if it does not end within 10 s."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.kill()
        self._log.close()


class Bots:
    """Starts bot processes for one test and remembers them, so the fixture can end them all."""

    def __init__(self, slack: SlackStandin, db_path: Path, log_dir: Path) -> None:
        self.slack, self.db_path, self.log_dir = slack, db_path, log_dir
        self.started: list[BotProcess] = []

    def start(self, *, wait: bool = True, env: dict[str, str] | None = None) -> BotProcess:
        """A new bot; env adds to or overrides its environment."""
        bot = BotProcess(self.slack, self.db_path, self.log_dir / f"serve-{len(self.started) + 1}.log", env)
        self.started.append(bot)
        return bot.wait_until_serving() if wait else bot


@contextmanager
def running_bots(slack: SlackStandin, folder: Path) -> Iterator[Bots]:
    """Bots over folder/tutor.db, logging to folder/serve-N.log; all killed when the block ends."""
    started = Bots(slack, folder / "tutor.db", folder)
    try:
        yield started
    finally:
        for bot in started.started:
            bot.kill()


def post_stream(port: int, total_bytes: int, *, chunked: bool = False, send: bool = True,
                chunk: bytes = b"{" * (1 << 20), path: str = "/slack/events") -> int | None:
    """POST `total_bytes` of `chunk` repeated, unsigned, streamed (the caller never holds the body);
    with `send=False` only the headers are sent, declaring the length. The HTTP status, or None
    when the server closed the connection before answering (it stopped reading early)."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        connection.putrequest("POST", path)
        connection.putheader("Content-Type", "application/json")
        if chunked:
            connection.putheader("Transfer-Encoding", "chunked")
        else:
            connection.putheader("Content-Length", str(total_bytes))
        connection.endheaders()
        sent = 0
        while send and sent < total_bytes:
            piece = chunk[:total_bytes - sent]
            connection.send(b"%x\r\n%s\r\n" % (len(piece), piece) if chunked else piece)
            sent += len(piece)
        if chunked and send:
            connection.send(b"0\r\n\r\n")
        return connection.getresponse().status
    except (BrokenPipeError, ConnectionResetError, http.client.RemoteDisconnected):
        return None
    finally:
        connection.close()

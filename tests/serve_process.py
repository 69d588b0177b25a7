"""`tutor serve --http` as a real process against the Slack stand-in, for tests and benchmarks that
need the production process itself (its memory, its handling of large or hostile requests)."""

from __future__ import annotations

import http.client
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from slack_harness import SECRET
from slack_standin import SlackStandin

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class ServeProcess:
    process: subprocess.Popen[bytes]
    port: int
    log_file: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def rss_bytes(self) -> int:
        """The process's resident memory now (VmRSS in /proc/PID/status)."""
        status = Path(f"/proc/{self.process.pid}/status").read_text()
        kib = next(line.split()[1] for line in status.splitlines() if line.startswith("VmRSS:"))
        return int(kib) * 1024

    def post_stream(self, total_bytes: int, *, chunked: bool = False) -> int | None:
        """POST `total_bytes` unsigned to /slack/events (see `post_stream`)."""
        return post_stream(self.port, total_bytes, chunked=chunked)


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


@contextmanager
def serve_http(slack: SlackStandin, db_path: Path, tmp_path: Path) -> Iterator[ServeProcess]:
    """Start `tutor serve --http` on a free port against `slack`; stop it at the end."""
    port = free_port()
    env = {**os.environ, "TUTOR_DB": str(db_path), "SLACK_BOT_TOKEN": slack.bot_token,
           "SLACK_SIGNING_SECRET": SECRET, "SLACK_API_URL": slack.api_url, "PORT": str(port),
           "SLACK_APP_TOKEN": ""}
    script = Path(sys.executable).with_name("tutor")  # the console script pip installed
    command = [str(script)] if script.exists() else [
        sys.executable, "-c", "import sys; from bot.cli import main; sys.exit(main())"]
    log_file = tmp_path / "serve.log"
    with log_file.open("wb") as output:
        process = subprocess.Popen([*command, "serve", "--http"], env=env, cwd=ROOT, stdout=output,
                                   stderr=subprocess.STDOUT)
        try:
            served = ServeProcess(process, port, log_file)
            deadline = time.monotonic() + 30
            while True:
                try:
                    with urllib.request.urlopen(served.url + "/healthz", timeout=1):
                        break
                except OSError:
                    assert process.poll() is None, log_file.read_text()
                    assert time.monotonic() < deadline, "tutor serve did not start"
                    time.sleep(0.1)
            yield served
        finally:
            process.terminate()
            process.wait(timeout=10)

"""The bot's HTTP server outlives waitress closing its listening socket after an error in a handler
(its wake-up pipe goes with it while open connections keep the loop running): it listens again on
the same port, and a stop still ends the loop."""

from __future__ import annotations

import logging
import socket
import threading
import time
import urllib.request
from collections.abc import Iterable
from typing import Any

import pytest

from bot.slack.http_server import HttpServer


def hello(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"hello"]


def get(url: str) -> bytes:
    with urllib.request.urlopen(url + "/", timeout=5) as response:
        return response.read()


def test_a_listening_socket_closed_by_an_error_is_opened_again(caplog: pytest.LogCaptureFixture) -> None:
    server = HttpServer(hello).start()
    idle = socket.create_connection((server.host, server.port))  # an open connection keeps the loop alive
    try:
        assert get(server.url) == b"hello"
        waitress = server._server
        failed = threading.Event()

        def broken_channel(*args: Any, **kwargs: Any) -> Any:
            failed.set()
            raise RuntimeError("a bug in accepting a connection")

        waitress.channel_class = broken_channel  # waitress's handle_error then closes the server
        with caplog.at_level(logging.ERROR, logger="bot.slack.http_server"):
            refused = socket.create_connection((server.host, server.port))
            assert failed.wait(5)
            deadline = time.monotonic() + 5
            while server.reopened == 0 and time.monotonic() < deadline:
                time.sleep(0.05)
            refused.close()
        assert server.reopened == 1 and server._server is not waitress
        assert waitress.trigger._closed  # the pipe a stop would have used to wake the loop is gone
        assert get(server.url) == b"hello"  # the same port answers again
        assert "stopped listening after an error" in caplog.text
    finally:
        idle.close()
        started = time.monotonic()
        server.close()
    assert time.monotonic() - started < 3 and not server._thread.is_alive()
    with pytest.raises(OSError):
        get(server.url)


def test_close_stops_the_loop_and_every_connection() -> None:
    server = HttpServer(hello).start()
    idle = socket.create_connection((server.host, server.port))
    assert get(server.url) == b"hello"
    server.close()
    assert not server._thread.is_alive()
    idle.settimeout(2)
    assert idle.recv(1) == b""  # the server closed its end
    idle.close()
    server.close()  # idempotent

"""The bot's HTTP server: waitress serving a WSGI app from a loop thread this module owns.

waitress's own `run()` loops until its socket map is empty, and its listening dispatcher closes
itself (with the loop's wake-up pipe) on any uncaught error in its handlers while the open
connections keep that loop alive: a bot that then answers nothing, and whose stop could no longer
wake the loop. So the loop here polls one round at a time, stops when `close()` sets its flag (the
wake-up pipe only makes that prompt), and reopens the listening socket on the same port when it
finds it closed while serving, saying so in the log.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any

from bot.slack.http_guard import MAX_BODY_BYTES

log = logging.getLogger(__name__)

WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]
HTTP_THREADS = 16  # Bolt acks on the request thread and works on its own pool
LOOP_TIMEOUT_S = 1.0  # one poll round at most: how late a stop is seen if the wake-up pipe is gone
REOPEN_PAUSE_S = 1.0  # between attempts to listen again when the port cannot be bound at once
# waitress refuses a body of max_request_body_size bytes or more: one over the guard's limit.
WAITRESS_BODY_LIMIT = MAX_BODY_BYTES + 1


class HttpServer:
    """waitress serving `wsgi` on HOST:PORT (port 0: a free one) from a daemon thread; `url` is
    http://HOST:PORT. `reopened` counts the times the listening socket had to be opened again."""

    def __init__(self, wsgi: WsgiApp, *, host: str = "127.0.0.1", port: int = 0,
                 threads: int = HTTP_THREADS) -> None:
        from waitress.task import ThreadedTaskDispatcher

        self._wsgi, self.host = wsgi, host
        # One pool of request threads for the server's whole life: a reopened socket keeps it.
        self._dispatcher = ThreadedTaskDispatcher()
        self._dispatcher.set_thread_count(threads)
        try:
            self._server: Any = self._listen(port)  # OSError when the port is taken: said before starting
        except OSError:
            self._dispatcher.shutdown()
            raise
        self.port = int(self._server.effective_port)
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._serve, name="tutor-http", daemon=True)
        self.reopened = 0

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> HttpServer:
        self._thread.start()
        return self

    def close(self) -> None:
        """Stop accepting, let requests being answered finish (waitress's 5 s), close every connection
        and stop the worker threads. Idempotent."""
        self._dispatcher.shutdown()  # first: the loop still writes out the answers being made
        self._stopping.set()
        if self._thread.is_alive():
            try:
                self._server.pull_trigger()  # wake the loop now rather than at its next poll timeout
            except OSError:  # its wake-up pipe went with a listening socket waitress closed
                pass
            self._thread.join(timeout=LOOP_TIMEOUT_S + 5)
        if not self._thread.is_alive():  # never started, or ended: nothing else touches its sockets
            _close_all(self._server)

    def __enter__(self) -> HttpServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    # the loop thread ------------------------------------------------------------------------------
    def _listen(self, port: int) -> Any:
        from waitress.server import create_server

        return create_server(self._wsgi, _dispatcher=self._dispatcher, host=self.host, port=port,
                             connection_limit=1000, backlog=1024, clear_untrusted_proxy_headers=True,
                             max_request_body_size=WAITRESS_BODY_LIMIT)

    def _serve(self) -> None:
        from waitress import wasyncore

        try:
            while not self._stopping.is_set():
                server = self._server
                try:
                    wasyncore.loop(timeout=LOOP_TIMEOUT_S, map=server._map, count=1)
                except Exception:  # select() on a socket closed under it, or a bug in a handler
                    log.exception("the HTTP server's loop failed")
                    _close_all(server)
                if not self._stopping.is_set() and not _listening(server):
                    self._reopen(server)
        finally:
            _close_all(self._server)  # in this thread: sockets closed under its select() fail it

    def _reopen(self, old: Any) -> None:
        log.error("the HTTP server stopped listening after an error (see above); listening again on "
                  "port %d", self.port)
        _close_all(old)
        while not self._stopping.is_set():
            try:
                self._server = self._listen(self.port)
            except OSError as exc:
                log.error("cannot listen on %s:%d again (%s); retrying", self.host, self.port, exc)
                time.sleep(REOPEN_PAUSE_S)
                continue
            self.reopened += 1
            return


def _listening(server: Any) -> bool:
    """waitress's listening dispatcher and its wake-up pipe are both still in its map."""
    return server._map.get(server._fileno) is server and not server.trigger._closed


def _close_all(server: Any) -> None:
    """Close the open connections, the listening socket and the wake-up pipe (each close is
    idempotent in waitress)."""
    for channel in list(server._map.values()):
        if channel is not server and channel is not server.trigger:
            channel.handle_close()
    server.close()

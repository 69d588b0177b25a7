"""Slack's Socket Mode for the stand-in (`tests/slack_standin.py`), as Slack speaks it.

An app in Socket Mode calls `apps.connections.open` with its app-level token (xapp-…, the stand-in's
`app_token`); the answer's `url` is a WebSocket here (ws://127.0.0.1:PORT/link/?ticket=…&app_id=…).
On connecting, the server says `{"type": "hello", …}`; it then sends envelopes

    {"envelope_id": "…", "type": "slash_commands" | "interactive" | "events_api",
     "payload": {…}, "accepts_response_payload": true | false, ("retry_attempt": 0, "retry_reason": "")}

where `payload` is what Slack would POST over HTTP (a slash command's fields as an object, the
interaction payload, the `event_callback` envelope), and waits for the app's ack
`{"envelope_id": "…", "payload": {…}?}`. `refresh()` sends `{"type": "disconnect", "reason":
"refresh_requested", …}`, as Slack does every few hours: the app opens a new connection with
another `apps.connections.open`, and the old one is closed once it has, or after `REFRESH_GRACE_S`.

`SocketSender` sends what members do (commands, clicks, events) to the newest connection and returns
the ack, like `SlackSender` over HTTP; it builds the payloads with SlackSender's builders, so
response_url and trigger_id are the stand-in's. Uses the `websockets` package (sync server).

Choices where Slack is unclear (documented so tests can rely on them):
* A ticket works once; an unknown or used one is refused in the handshake with HTTP 401.
* `accepts_response_payload` is true for slash commands and false for block actions and events.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

from slack_requests import ACK_DEADLINE_S, SlackSender
from slack_standin import SlackStandin
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response
from websockets.sync.server import Server, ServerConnection, serve

Json = dict[str, Any]
ACK_TIMEOUT_S = 10.0
REFRESH_GRACE_S = 10.0  # Slack closes a refreshed connection about 10 seconds after `disconnect`


@dataclass(frozen=True)
class SocketAck:
    """The app's acknowledgement of one envelope: its payload (None when it sent none), seconds taken."""

    envelope_id: str
    payload: Json | None
    elapsed_s: float

    @property
    def acked_in_time(self) -> bool:
        return self.elapsed_s < ACK_DEADLINE_S


class SocketModeServer:
    """The WebSocket end of Socket Mode, attached to a stand-in (`slack.socket_mode`). A context manager."""

    def __init__(self, slack: SlackStandin) -> None:
        self.slack = slack
        self._lock = threading.Condition()
        self._tickets: dict[str, bool] = {}  # ticket -> still unused
        self._connections: list[ServerConnection] = []  # open ones, oldest first
        self._acks: dict[str, Json] = {}
        self.opened = 0  # connections accepted so far
        self.hellos: list[Json] = []
        self._server: Server = serve(self._handle, "127.0.0.1", 0, process_request=self._check_ticket)
        self._thread = threading.Thread(target=self._server.serve_forever, name="slack-socket-mode",
                                        daemon=True)

    # ---- lifecycle

    def start(self) -> SocketModeServer:
        self.slack.socket_mode = self
        self._thread.start()
        return self

    def stop(self) -> None:
        self.slack.socket_mode = None
        self._server.shutdown()
        self._thread.join(5)

    def __enter__(self) -> SocketModeServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        return int(self._server.socket.getsockname()[1])

    def new_url(self) -> str:
        """A one-use WebSocket URL, as apps.connections.open answers it."""
        ticket = uuid.uuid4().hex
        with self._lock:
            self._tickets[ticket] = True
        return f"ws://127.0.0.1:{self.port}/link/?ticket={ticket}&app_id={self.slack.app_id}"

    # ---- the connection

    def _check_ticket(self, connection: ServerConnection, request: Request) -> Response | None:
        ticket = (parse_qs(urlsplit(request.path).query).get("ticket") or [""])[0]
        with self._lock:
            if not self._tickets.get(ticket):
                return connection.respond(401, "invalid or used ticket\n")
            self._tickets[ticket] = False
        return None

    def _handle(self, connection: ServerConnection) -> None:
        hello = {"type": "hello", "num_connections": len(self._connections) + 1,
                 "debug_info": {"host": "applink-standin", "build_number": 1,
                                "approximate_connection_time": 18060},
                 "connection_info": {"app_id": self.slack.app_id}}
        connection.send(json.dumps(hello))
        with self._lock:
            self._connections.append(connection)
            self.opened += 1
            self.hellos.append(hello)
            self._lock.notify_all()
        try:
            for raw in connection:
                self._on_message(raw)
        except ConnectionClosed:
            pass
        finally:
            with self._lock:
                if connection in self._connections:
                    self._connections.remove(connection)
                self._lock.notify_all()

    def _on_message(self, raw: str | bytes) -> None:
        try:
            message = json.loads(raw)
        except ValueError:
            return  # Slack ignores what is not JSON
        if isinstance(message, dict) and message.get("envelope_id"):
            with self._lock:
                self._acks[str(message["envelope_id"])] = message
                self._lock.notify_all()

    def wait_connected(self, *, opened: int = 1, timeout: float = 20.0) -> None:
        """Wait until `opened` connections were accepted in all and one is open."""
        with self._lock:
            if not self._lock.wait_for(lambda: self.opened >= opened and self._connections, timeout):
                raise AssertionError(f"no Socket Mode connection #{opened} within {timeout}s "
                                     f"(opened so far: {self.opened}; errors: {self.slack.errors[-3:]})")

    @property
    def open_connections(self) -> int:
        with self._lock:
            return len(self._connections)

    # ---- what Slack sends

    def send(self, kind: str, payload: Json, *, accepts_response_payload: bool = False,
             timeout: float = ACK_TIMEOUT_S) -> SocketAck:
        """Send one envelope on the newest connection and wait for its ack."""
        envelope: Json = {"envelope_id": str(uuid.uuid4()), "type": kind, "payload": payload,
                          "accepts_response_payload": accepts_response_payload}
        if kind == "events_api":
            envelope.update(retry_attempt=0, retry_reason="")
        with self._lock:
            if not self._lock.wait_for(lambda: self._connections, timeout):
                raise AssertionError("no open Socket Mode connection to send on")
            connection = self._connections[-1]
        started = time.perf_counter()
        connection.send(json.dumps(envelope))
        with self._lock:
            if not self._lock.wait_for(lambda: envelope["envelope_id"] in self._acks, timeout):
                raise AssertionError(f"no ack for the {kind} envelope within {timeout}s")
            ack = self._acks.pop(envelope["envelope_id"])
        return SocketAck(envelope["envelope_id"], ack.get("payload"), time.perf_counter() - started)

    def refresh(self, *, grace_s: float = REFRESH_GRACE_S) -> None:
        """Ask the app to reconnect (`disconnect`, `refresh_requested`); the old connection is closed
        when a new one is open, or after `grace_s`."""
        with self._lock:
            if not self._connections:
                raise AssertionError("no open Socket Mode connection to refresh")
            old, opened = self._connections[-1], self.opened
        old.send(json.dumps({"type": "disconnect", "reason": "refresh_requested",
                             "debug_info": {"host": "applink-standin"}}))

        def close_later() -> None:
            with self._lock:
                self._lock.wait_for(lambda: self.opened > opened, grace_s)
            old.close()

        threading.Thread(target=close_later, name="socket-mode-refresh", daemon=True).start()


class SocketSender:
    """What members do, delivered over Socket Mode: the same calls as SlackSender, answered by acks."""

    def __init__(self, server: SocketModeServer) -> None:
        self.server = server
        self._payloads = SlackSender("http://unused.invalid/", "unused", slack=server.slack)

    def command(self, command: str, text: str = "", *, user_id: str, channel_id: str) -> SocketAck:
        fields = self._payloads.command_fields(command, text, user_id=user_id, channel_id=channel_id)
        return self.server.send("slash_commands", fields, accepts_response_payload=True)

    def block_action(self, *, user_id: str, channel_id: str, message: Json, action_id: str,
                     value: str | None = None) -> SocketAck:
        payload = self._payloads.block_action_payload(user_id=user_id, channel_id=channel_id, message=message,
                                                      action_id=action_id, value=value)
        return self.server.send("interactive", payload)

    def event(self, event: Json) -> SocketAck:
        return self.server.send("events_api", self._payloads.event_callback(event))

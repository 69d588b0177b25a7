"""Send Slack's own requests to an app over real HTTP, signed like Slack, for end-to-end tests.

`SlackSender(app_url, signing_secret, slack=standin)` posts slash commands, block actions (message
buttons and App Home buttons) and Events API callbacks to the app's request URL (e.g.
http://127.0.0.1:PORT/slack/events) with Slack's v0 signature: header X-Slack-Request-Timestamp and
X-Slack-Signature = "v0=" + hex HMAC-SHA256(signing secret, "v0:{timestamp}:{raw body}"). Payload shapes
follow Slack's docs and the Events API spec (`../shared/slack-api/slack_events_api_async_v1.json`):
commands are form-encoded fields, interactions a form field `payload` holding JSON, events a JSON
`event_callback` envelope. With `slack=` (a `SlackStandin`) the response_url and trigger_id in a request
are served by the stand-in, so `respond()` and `views.open` work and are recorded there.

`WsgiServer(wsgi_app)` serves any WSGI app (e.g. `slack_bolt.adapter.wsgi.SlackRequestHandler(app)`) on
127.0.0.1 in a daemon thread, so a real Bolt app can be driven over HTTP::

    with SlackStandin() as slack, WsgiServer(SlackRequestHandler(app)) as server:
        sender = SlackSender(server.url + "/slack/events", SECRET, slack=slack)
        reply = sender.command("/tutor", "stats", user_id="U0ALICE01", channel_id=general)
        assert reply.status == 200 and reply.acked_in_time

Every call returns a `SlackReply`: status, body text, headers and the seconds the app took to answer.
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from socketserver import ThreadingMixIn
from typing import Any
from urllib.parse import urlencode
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from slack_standin import SlackStandin

Json = dict[str, Any]
ACK_DEADLINE_S = 3.0  # Slack shows an error (and retries events) when an app answers later than this
VERIFICATION_TOKEN = "legacy-verification-token"  # still sent by Slack; Bolt ignores it
_SELECT_TYPES = ("static_select", "overflow", "radio_buttons", "external_select")


def sign(signing_secret: str, body: str | bytes, timestamp: int | str) -> str:
    """Slack's v0 request signature of `body` sent at `timestamp` (Unix seconds)."""
    raw = body.encode() if isinstance(body, str) else body
    digest = hmac.new(signing_secret.encode(), b"v0:" + str(timestamp).encode() + b":" + raw, hashlib.sha256)
    return "v0=" + digest.hexdigest()


@dataclass(frozen=True)
class SlackReply:
    """What the app answered: HTTP status, body text, headers (lower-case names), seconds taken."""

    status: int
    text: str
    headers: dict[str, str]
    elapsed_s: float

    def json(self) -> Any:
        """The body parsed as JSON (ValueError if it is not)."""
        return json.loads(self.text)

    @property
    def acked_in_time(self) -> bool:
        """Whether the app answered within Slack's 3-second acknowledgement deadline."""
        return self.elapsed_s < ACK_DEADLINE_S


class SlackSender:
    """Posts Slack-signed requests to one app URL. See the module docstring."""

    def __init__(self, app_url: str, signing_secret: str, *, slack: SlackStandin | None = None,
                 team_id: str = SlackStandin.team_id, api_app_id: str = SlackStandin.app_id,
                 timeout_s: float = 30.0) -> None:
        self.app_url, self.signing_secret, self.slack = app_url, signing_secret, slack
        self.team_id, self.api_app_id, self.timeout_s = team_id, api_app_id, timeout_s
        self._ids = itertools.count(1)

    def sign(self, body: str | bytes, timestamp: int | str) -> str:
        """This sender's signature for `body` at `timestamp` (see module-level `sign`)."""
        return sign(self.signing_secret, body, timestamp)

    def post(self, body: str, content_type: str, *, timestamp: int | None = None,
             signature: str | None = None, headers: dict[str, str] | None = None) -> SlackReply:
        """POST a raw body, signed now unless `timestamp`/`signature` override (for bad-request tests)."""
        ts = int(time.time()) if timestamp is None else timestamp
        request = urllib.request.Request(self.app_url, data=body.encode(), method="POST", headers={
            "Content-Type": content_type, "User-Agent": "Slackbot 1.0 (+https://api.slack.com/robots)",
            "X-Slack-Request-Timestamp": str(ts),
            "X-Slack-Signature": signature if signature is not None else self.sign(body, ts),
            **(headers or {})})
        started = time.perf_counter()
        try:
            with urllib.request.urlopen(request, timeout=self.timeout_s) as response:
                status, raw, got = response.status, response.read(), response.headers
        except urllib.error.HTTPError as err:
            status, raw, got = err.code, err.read(), err.headers
        elapsed = time.perf_counter() - started
        return SlackReply(status, raw.decode("utf-8", "replace"), {k.lower(): v for k, v in got.items()},
                          elapsed)

    # ---- slash commands

    def command(self, command: str, text: str = "", *, user_id: str, channel_id: str,
                user_name: str | None = None, channel_name: str | None = None, team_id: str | None = None,
                response_url: str | None = None, trigger_id: str | None = None) -> SlackReply:
        """A slash command (`command` like "/finetune") typed by `user_id` in `channel_id`."""
        fields = self.command_fields(command, text, user_id=user_id, channel_id=channel_id,
                                     user_name=user_name, channel_name=channel_name, team_id=team_id,
                                     response_url=response_url, trigger_id=trigger_id)
        return self.post(urlencode(fields), "application/x-www-form-urlencoded")

    def command_fields(self, command: str, text: str = "", *, user_id: str, channel_id: str,
                       user_name: str | None = None, channel_name: str | None = None,
                       team_id: str | None = None, response_url: str | None = None,
                       trigger_id: str | None = None) -> dict[str, str]:
        """The fields Slack sends for a slash command (form-encoded over HTTP, an object in Socket Mode)."""
        return {
            "token": VERIFICATION_TOKEN, "team_id": team_id or self.team_id, "team_domain": "tutor-test",
            "channel_id": channel_id, "channel_name": channel_name or self._channel_name(channel_id),
            "user_id": user_id, "user_name": user_name or self._user_name(user_id), "command": command,
            "text": text, "api_app_id": self.api_app_id, "is_enterprise_install": "false",
            "response_url": response_url or self._response_url(channel_id, user_id, None),
            "trigger_id": trigger_id or self._trigger_id(user_id),
        }

    # ---- interactivity

    def block_action(self, *, user_id: str, channel_id: str, message: Json, action_id: str,
                     value: str | None = None, block_id: str | None = None, container: Json | None = None,
                     response_url: str | None = None, trigger_id: str | None = None,
                     action_ts: float | None = None) -> SlackReply:
        """`user_id` clicks/selects the element `action_id` in `message` (as the stand-in stored it).

        The element must exist in the message's blocks (ValueError otherwise): a test cannot click a
        button the app never sent. `value` defaults to the button's value; for selects it picks the
        option with that value. Ephemeral messages (`is_ephemeral`) get Slack's ephemeral container.
        `action_ts` (epoch seconds) is when Slack says the click happened (default: now, as Slack does).
        """
        return self._send_payload(self.block_action_payload(
            user_id=user_id, channel_id=channel_id, message=message, action_id=action_id, value=value,
            block_id=block_id, container=container, response_url=response_url, trigger_id=trigger_id,
            action_ts=action_ts))

    def block_action_payload(self, *, user_id: str, channel_id: str, message: Json, action_id: str,
                             value: str | None = None, block_id: str | None = None,
                             container: Json | None = None, response_url: str | None = None,
                             trigger_id: str | None = None, action_ts: float | None = None) -> Json:
        """The `block_actions` payload of a click on `action_id` in `message` (see block_action)."""
        block, element = _find_element(message.get("blocks", []), action_id, block_id)
        ephemeral = bool(message.get("is_ephemeral"))
        payload = self._interaction(user_id, actions=[_action(block, element, value, action_ts)])
        where: Json = {"type": "message", "message_ts": message["ts"], "channel_id": channel_id,
                       "is_ephemeral": ephemeral}
        if message.get("thread_ts"):
            where["thread_ts"] = message["thread_ts"]
        payload.update(
            container=container or where,
            channel={"id": channel_id, "name": self._channel_name(channel_id)},
            response_url=response_url or self._response_url(channel_id, user_id, message["ts"]),
        )
        if not ephemeral:  # Slack leaves the message out of clicks on ephemeral messages
            payload["message"] = {k: v for k, v in message.items() if k not in ("channel", "recipient")}
        if trigger_id:
            payload["trigger_id"] = trigger_id
        return payload

    def home_action(self, *, user_id: str, action_id: str, value: str | None = None,
                    block_id: str | None = None, view: Json | None = None) -> SlackReply:
        """`user_id` clicks `action_id` in their App Home (default: the view last published for them)."""
        if view is None:
            if self.slack is None or (view := self.slack.home_view(user_id)) is None:
                raise ValueError(f"no App Home view published for {user_id}; pass view=")
        block, element = _find_element(view.get("blocks", []), action_id, block_id)
        payload = self._interaction(user_id, actions=[_action(block, element, value)])
        payload.update(container={"type": "view", "view_id": view["id"]}, view=view)
        return self._send_payload(payload)

    def view_submission(self, *, user_id: str, values: dict[str, dict[str, Json]],
                        view: Json | None = None) -> SlackReply:
        """`user_id` submits a modal (default: the last one views.open showed them) with `values`:
        Slack's `view.state.values` shape, {block_id: {action_id: {"type": …, "value": …}}}.
        An app that rejects input answers 200 with JSON {"response_action": "errors", …}: see `.json()`."""
        if view is None:
            opened = self.slack.modal_views(user_id) if self.slack is not None else []
            if not opened:
                raise ValueError(f"no modal was opened for {user_id}; pass view=")
            view = opened[-1]["view"]
        submitted = {**view, "state": {"values": values}}
        payload = self._interaction(user_id, type="view_submission", view=submitted, response_urls=[])
        return self._send_payload(payload)

    # ---- Events API

    def event(self, event: Json, *, retry_num: int | None = None, retry_reason: str = "http_timeout",
              event_id: str | None = None) -> SlackReply:
        """An `event_callback` carrying `event`; pass the same `event_id` with `retry_num` for a retry."""
        envelope = self.event_callback(event, event_id=event_id)
        headers = {}
        if retry_num is not None:
            headers = {"X-Slack-Retry-Num": str(retry_num), "X-Slack-Retry-Reason": retry_reason}
        return self.post(json.dumps(envelope), "application/json", headers=headers)

    def event_callback(self, event: Json, *, event_id: str | None = None) -> Json:
        """The Events API `event_callback` envelope of `event` (the HTTP body; Socket Mode's payload)."""
        now = time.time()
        event = {"event_ts": event.get("ts") or f"{now:.6f}", **event}
        envelope = {
            "token": VERIFICATION_TOKEN, "team_id": self.team_id, "api_app_id": self.api_app_id,
            "event": event, "type": "event_callback",
            "event_id": event_id or f"Ev{next(self._ids):08d}{uuid.uuid4().hex[:6].upper()}",
            "event_time": int(now), "event_context": uuid.uuid4().hex,
            "authed_users": [SlackStandin.bot_user_id], "is_ext_shared_channel": False,
            "authorizations": [{"enterprise_id": None, "team_id": self.team_id, "is_bot": True,
                                "user_id": SlackStandin.bot_user_id, "is_enterprise_install": False}],
        }
        return envelope

    def app_home_opened(self, user_id: str) -> SlackReply:
        """The `app_home_opened` event for `user_id` opening the Home tab."""
        return self.event(self.app_home_opened_event(user_id))

    def app_home_opened_event(self, user_id: str) -> Json:
        event: Json = {"type": "app_home_opened", "user": user_id, "tab": "home"}
        if self.slack is not None:
            event["channel"] = self.slack.open_dm(user_id)  # every member has a DM with the app
            if (view := self.slack.home_view(user_id)) is not None:
                event["view"] = view
        return event

    def url_verification(self, challenge: str) -> SlackReply:
        """Slack's check of a new Request URL; the app must echo `challenge`."""
        body = {"token": VERIFICATION_TOKEN, "challenge": challenge, "type": "url_verification"}
        return self.post(json.dumps(body), "application/json")

    # ---- helpers

    def _interaction(self, user_id: str, **fields: Any) -> Json:
        name = self._user_name(user_id)
        base: Json = {
            "type": "block_actions", "api_app_id": self.api_app_id, "token": VERIFICATION_TOKEN,
            "user": {"id": user_id, "username": name, "name": name, "team_id": self.team_id},
            "trigger_id": self._trigger_id(user_id),
            "team": {"id": self.team_id, "domain": "tutor-test"}, "enterprise": None,
            "is_enterprise_install": False, "state": {"values": {}},
        }
        return {**base, **fields}

    def _send_payload(self, payload: Json) -> SlackReply:
        return self.post(urlencode({"payload": json.dumps(payload)}), "application/x-www-form-urlencoded")

    def _user_name(self, user_id: str) -> str:
        user = self.slack.user(user_id) if self.slack is not None else None
        return user["name"] if user else user_id.lower()

    def _channel_name(self, channel_id: str) -> str:
        if self.slack is None:
            return channel_id
        conversation = self.slack.conversation(channel_id)
        return conversation.get("name", "directmessage") if conversation else channel_id

    def _response_url(self, channel_id: str, user_id: str, message_ts: str | None) -> str:
        if self.slack is None:
            return f"https://hooks.slack.com/commands/{self.team_id}/{next(self._ids)}/{uuid.uuid4().hex}"
        return self.slack.new_response_url(channel_id=channel_id, user_id=user_id, message_ts=message_ts)

    def _trigger_id(self, user_id: str) -> str:
        if self.slack is None:
            return f"{next(self._ids)}.{int(time.time())}.{uuid.uuid4().hex}"
        return self.slack.new_trigger_id(user_id)


def _elements(blocks: Iterable[Json]) -> Iterable[tuple[Json, Json]]:
    for block in blocks:
        for element in block.get("elements", []) if block.get("type") == "actions" else []:
            yield block, element
        if "accessory" in block:
            yield block, block["accessory"]
        if block.get("type") == "input" and isinstance(block.get("element"), dict):
            yield block, block["element"]


def _find_element(blocks: list[Json], action_id: str, block_id: str | None) -> tuple[Json, Json]:
    found = [(b, e) for b, e in _elements(blocks)
             if e.get("action_id") == action_id and block_id in (None, b.get("block_id"))]
    if not found:
        present = sorted(str(e.get("action_id")) for _, e in _elements(blocks))
        raise ValueError(f"no element with action_id {action_id!r} (block_id {block_id!r}); "
                         f"the blocks have: {present}")
    return found[0]


def _action(block: Json, element: Json, value: str | None, action_ts: float | None = None) -> Json:
    moment = time.time() if action_ts is None else action_ts
    action: Json = {"action_id": element["action_id"], "block_id": block.get("block_id", ""),
                    "type": element["type"], "action_ts": f"{moment:.6f}"}
    if element["type"] == "button":
        action.update(text=element["text"], value=value if value is not None else element.get("value", ""))
        if "style" in element:
            action["style"] = element["style"]
    elif element["type"] in _SELECT_TYPES:
        groups = element.get("option_groups", [])
        options = element.get("options") or [o for g in groups for o in g["options"]]
        chosen = [o for o in options if o.get("value") == value]
        if not chosen and element["type"] != "external_select":
            raise ValueError(f"{element['action_id']!r} has no option with value {value!r}")
        action["selected_option"] = chosen[0] if chosen else {"text": {"type": "plain_text", "text": value},
                                                              "value": value}
    else:
        raise ValueError(f"clicking a {element['type']!r} is not simulated (tests/slack_requests.py)")
    return action


class _ThreadingWsgiServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True
    request_queue_size = 256


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        pass


class WsgiServer:
    """Serve a WSGI app on 127.0.0.1 (free port) in a daemon thread; a context manager."""

    def __init__(self, app: Callable[..., Any]) -> None:
        self._server = make_server("127.0.0.1", 0, app, server_class=_ThreadingWsgiServer,
                                   handler_class=_QuietHandler)
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,), name="wsgi-app",
                                        daemon=True)

    @property
    def url(self) -> str:
        """http://127.0.0.1:PORT (append the app's path, e.g. "/slack/events")."""
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def __enter__(self) -> WsgiServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

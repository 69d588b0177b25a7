"""A local stand-in for Slack's Web API over real HTTP, for end-to-end tests.

`SlackStandin` is a `ThreadingHTTPServer` on 127.0.0.1 (a free port) in a daemon thread that answers
the Web API methods the tutor uses the way slack.com does, keeps the workspace's state (users,
channels, DMs, messages and threads, ephemerals, App Home views, modals, files) and lets tests look at
it. Point a real `slack_sdk.WebClient` (or a Bolt `App`'s client) at it::

    with SlackStandin() as slack:
        slack.add_user("U0ALICE01", name="alice", tz="Europe/Berlin")
        general = slack.add_channel("general", members=["U0ALICE01"])
        client = WebClient(base_url=slack.api_url, token=slack.bot_token)
        client.chat_postMessage(channel="U0ALICE01", text="Your review is ready")
        assert slack.dm_messages("U0ALICE01")[0]["text"] == "Your review is ready"

Served paths (all under `slack.base_url`): `/api/<method>` (form, query or JSON arguments; the bot
token as `Authorization: Bearer`), `/files-pri/<team>-<file>/[download/]<name>` (file downloads, bearer
token required like Slack: otherwise, or with `files_need_scope = True`, Slack's HTML login page),
`/upload/v1/<key>` (files_upload_v2's raw upload), `/response/<id>` (response_url posts, applied like
Slack: ephemeral by default, `in_channel`, `replace_original`, `delete_original`; 5 uses per URL).

Checks made on every call, answered the way Slack answers: a method missing from Slack's spec ->
HTTP 404 `unknown_method`; no/wrong token -> `not_authed` / `invalid_auth`; the app-level token
(`app_token`, xapp-…) where a bot token belongs, or the other way round -> `not_allowed_token_type`
(only `apps.connections.open` takes the app-level token); after `revoke()` -> `token_revoked`; a
required argument (per the
spec, see `tests/slack_spec.py`) missing -> `invalid_arguments`; bad Block Kit -> `invalid_blocks`
(`invalid_arguments` for views, as Slack does); a method in the spec that the stand-in does not
implement -> `standin_unsupported` (so a test fails loudly instead of passing on a fake answer).

Every answer to a call with the bot token carries Slack's `x-oauth-scopes` header: the scopes granted
to the token, comma-separated (`scopes`, by default the bot scopes manifest.yml asks for; a test
removes one to play a workspace that did not grant it). Socket Mode (`apps.connections.open` and the
WebSocket it points at) is served by `tests/slack_socket.py`'s SocketModeServer once one is attached.

Choices where Slack is unclear or this is stricter than Slack (documented so tests can rely on them):
* A deleted (deactivated) member: `conversations.open` answers `user_disabled` (the spec's name), but
  `chat.postMessage` to their existing DM succeeds, as Slack does (python-slack-sdk#1156): a bot must
  check `users.info` -> `deleted` itself. `users.info` for them has no tz fields, like Slack.
  chat.postMessage to a deleted member's user id with no DM open yet answers `user_disabled` too.
* `thread_ts` naming no message answers `thread_not_found` (Slack may post it unthreaded).
* `files.upload` (v1) answers `method_deprecated`: Slack retired it in 2025; use files_upload_v2.
* A 6th post to one response_url answers HTTP 404 `used_url`.
* `views.open` takes a trigger_id once, within 3 seconds of the interaction that made it (Slack's
  documented lifetime): later it answers `expired_trigger_id`, a second time `exchanged_trigger_id`.
  Views are checked by `slack_spec.view_problems` (a modal's title, submit and close, the metadata
  limits, the input elements) as well as the blocks' rules.
* `apps.connections.open` without a SocketModeServer attached answers `standin_unsupported`.
* Message `metadata` (chat.postMessage, chat.update), which the 2020 spec predates, follows Slack's
  docs (docs.slack.dev/messaging/message-metadata): an object with a string `event_type` and an
  object `event_payload` (else `invalid_metadata_schema`; not an object or not JSON:
  `invalid_metadata_format`), stored on the message and returned by conversations.history /
  .replies only with `include_all_metadata`; the posted message in chat.postMessage's answer has it.
  chat.update without `metadata` keeps the message's metadata (as it keeps blocks), `{}` removes it.
* A member's `tz` may be a zone this machine's tz database lacks (Slack's is newer): give its
  `tz_offset` to `add_user`, and users.info shows the zone name as its `tz_label`.
* `hold(method, from_call=N, after_store=…)` holds every call of a method from the Nth on, before
  Slack acts on it or after, so a test can kill the app at exactly that moment (`HeldCalls`).

The stand-in never calls the app: what members do (post, click, type a command, open the Home tab) is
sent by the test with `tests/slack_requests.py`'s SlackSender, e.g.
`sender.event(slack.message_event(channel, slack.post_user_message(channel, user, "hi")))`.

Everything is thread-safe (one lock); introspection returns deep copies. Times are Unix seconds (UTC);
message `ts` strings are "1700000000.000100"-shaped, unique and increasing, from `clock`.
"""

from __future__ import annotations

import copy
import itertools
import json
import mimetypes
import re
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import parse_qsl, urlsplit
from zoneinfo import ZoneInfo

from slack_methods import METHODS, HeldCalls, PendingUpload, SlackError, is_top_level, json_arg
from slack_spec import block_problems, method_spec

Json = dict[str, Any]
T = TypeVar("T")

LOGIN_PAGE = (b"<!DOCTYPE html><html><head><title>Slack</title></head><body>"
              b"<h1>Sign in to Slack</h1><form action=\"/signin\">Workspace URL</form></body></html>")
_TZ_NAMES = {  # Slack's tz_label is the long name of the zone's current abbreviation
    "UTC": "Coordinated Universal Time", "GMT": "Greenwich Mean Time", "BST": "British Summer Time",
    "CET": "Central European Time", "CEST": "Central European Summer Time",
    "EET": "Eastern European Time", "EEST": "Eastern European Summer Time",
    "EST": "Eastern Standard Time", "EDT": "Eastern Daylight Time", "CST": "Central Standard Time",
    "CDT": "Central Daylight Time", "MST": "Mountain Standard Time", "MDT": "Mountain Daylight Time",
    "PST": "Pacific Standard Time", "PDT": "Pacific Daylight Time", "IST": "India Standard Time",
    "JST": "Japan Standard Time", "AEST": "Australian Eastern Standard Time",
    "AEDT": "Australian Eastern Daylight Time",
}
_USER_ID = re.compile(r"^[UW][A-Z0-9]{2,}$")
RESPONSE_URL_USES = 5
APP_TOKEN_METHODS = frozenset({"apps.connections.open"})  # the methods that take an app-level token


def manifest_scopes() -> tuple[str, ...]:
    """The bot scopes manifest.yml asks for: what a workspace grants when the app is installed."""
    import yaml

    manifest = yaml.safe_load((Path(__file__).resolve().parents[1] / "manifest.yml").read_text())
    return tuple(manifest["oauth_config"]["scopes"]["bot"])


@dataclass
class _User:
    id: str
    name: str
    tz: str
    is_admin: bool
    is_owner: bool
    deleted: bool
    is_bot: bool
    bot_id: str | None = None
    tz_offset: int | None = None  # given for a zone this machine's tz database lacks


@dataclass
class _Channel:
    id: str
    name: str
    created: int
    members: set[str]
    creator: str
    is_private: bool = False
    im_user: str | None = None  # the member of a DM (D…) with the bot


@dataclass
class _ResponseUrl:
    channel_id: str
    user_id: str
    message_ts: str | None  # the message an action came from (replace_original/delete_original)
    uses: int = 0


@dataclass
class _Switches:
    rate_limits: dict[str, list[int]] = field(default_factory=dict)  # method -> [times, retry_after]
    failures: dict[str, list[str]] = field(default_factory=dict)  # method -> errors still to answer
    dm_failures: dict[str, str] = field(default_factory=dict)  # user id -> error
    holds: dict[str, HeldCalls] = field(default_factory=dict)  # method -> calls being held
    revoked: bool = False


class SlackStandin:
    """A Slack workspace with one installed bot, served over HTTP on 127.0.0.1. See the module doc."""

    team_id = "T0TUTORTEAM"
    team_name = "Tutor Test"
    bot_user_id = "U0TUTORBOT"
    bot_id = "B0TUTORBOT"
    app_id = "A0TUTORAPP"

    def __init__(self, *, bot_token: str = "xoxb-test", app_token: str = "xapp-test", bot_name: str = "tutor",
                 clock: Callable[[], float] = time.time) -> None:
        self.bot_token, self.app_token, self.bot_name, self.clock = bot_token, app_token, bot_name, clock
        self.scopes: set[str] = set(manifest_scopes())  # granted to the bot token (x-oauth-scopes)
        self.socket_mode: Any = None  # a tests/slack_socket.SocketModeServer, once attached
        self.files_need_scope = False  # True: file downloads get Slack's login page (no files:read)
        self._lock = threading.RLock()
        self._ids = itertools.count(1)
        self._last_ts_us = 0
        self._users: dict[str, _User] = {}
        self._channels: dict[str, _Channel] = {}
        self._dms: dict[str, str] = {}  # user id -> D… id
        self._messages: dict[str, list[Json]] = {}  # channel id -> every message, oldest first
        self._ephemerals: list[Json] = []
        self._home: dict[str, Json] = {}
        self._modals: list[Json] = []
        self._files: dict[str, Json] = {}
        self._content: dict[str, bytes] = {}
        self._uploads: dict[str, PendingUpload] = {}  # upload key -> pending upload
        self._bot_files: list[str] = []  # ids of files the bot completed, in order
        self._response_urls: dict[str, _ResponseUrl] = {}
        self._response_posts: list[Json] = []
        self._triggers: dict[str, tuple[str | None, float]] = {}  # id -> (user, issued at); None once used
        self._switches = _Switches()
        self._calls: list[tuple[str, Json]] = []
        self._errors: list[tuple[str, str]] = []
        self._users[self.bot_user_id] = _User(self.bot_user_id, bot_name, "America/Los_Angeles", False,
                                              False, False, True, self.bot_id)
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # ---- lifecycle

    def start(self) -> SlackStandin:
        """Bind a free port on 127.0.0.1 and serve in a daemon thread."""
        server = _Server(("127.0.0.1", 0), _Handler)
        server.standin = self
        self._server = server
        self._thread = threading.Thread(target=server.serve_forever, args=(0.05,), name="slack-standin",
                                        daemon=True)  # a short poll interval makes stop() quick
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and free the port (idempotent); held calls are released."""
        with self._lock:
            holds = list(self._switches.holds.values())
            self._switches.holds.clear()
        for hold in holds:
            hold.release()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(5)
            self._thread = None

    def __enter__(self) -> SlackStandin:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        """http://127.0.0.1:PORT (no trailing slash)."""
        if self._server is None:
            raise RuntimeError("SlackStandin is not started: use `with SlackStandin() as slack:` or start()")
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    @property
    def api_url(self) -> str:
        """The base URL for `WebClient(base_url=...)` / SLACK_API_URL; ends with "/api/"."""
        return f"{self.base_url}/api/"

    # ---- building the workspace

    def add_user(self, user_id: str, *, name: str, tz: str = "UTC", is_admin: bool = False,
                 is_owner: bool = False, deleted: bool = False, is_bot: bool = False,
                 tz_offset: int | None = None) -> Json:
        """Add (or replace) a member; `tz` is an IANA zone, or with `tz_offset` (seconds east of UTC)
        one this machine's tz database lacks. Returns users.info's user object."""
        if not _USER_ID.match(user_id):
            raise ValueError(f"{user_id!r} is not a Slack user id (U or W, then capitals/digits)")
        if tz_offset is None:
            ZoneInfo(tz)  # a bad zone name fails here, in the test's setup
        with self._lock:
            bot_id = self._new_id("B") if is_bot else None
            self._users[user_id] = _User(user_id, name, tz, is_admin, is_owner, deleted, is_bot, bot_id,
                                         tz_offset)
            return self._user_json(self._users[user_id])

    def set_deleted(self, user_id: str, deleted: bool = True) -> None:
        """Deactivate (or reactivate) a member, as a workspace admin would."""
        with self._lock:
            self._users[user_id].deleted = deleted

    def add_channel(self, name: str, *, members: Iterable[str] = (), is_private: bool = False,
                    bot_is_member: bool = True) -> str:
        """Create a channel (C…) with these members (and the bot unless told otherwise); returns its id."""
        members = list(members)
        with self._lock:
            unknown = [m for m in members if m not in self._users]
            if unknown:
                raise ValueError(f"add_user() these first: {unknown}")
            channel_id = self._new_id("C")
            people = set(members) | ({self.bot_user_id} if bot_is_member else set())
            creator = members[0] if members else self.bot_user_id
            self._channels[channel_id] = _Channel(channel_id, name, int(self.clock()), people, creator,
                                                  is_private)
            self._messages[channel_id] = []
            return channel_id

    def add_member(self, channel_id: str, user_id: str, *, inviter: str | None = None) -> Json:
        """A member joins a channel; returns the `member_joined_channel` event Slack then sends to
        apps in the channel (pass it to SlackSender.event)."""
        with self._lock:
            if user_id not in self._users:
                raise ValueError(f"add_user({user_id!r}) first")
            channel = self._channel(channel_id)
            channel.members.add(user_id)
            event: Json = {"type": "member_joined_channel", "user": user_id, "channel": channel_id,
                           "channel_type": "G" if channel.is_private else "C", "team": self.team_id,
                           "event_ts": f"{self.clock():.6f}"}
            if inviter:
                event["inviter"] = inviter
            return event

    def add_file(self, content: bytes, *, name: str, mimetype: str, filetype: str | None = None,
                 user: str, title: str | None = None) -> Json:
        """A file a member uploaded (not yet shared anywhere); returns Slack's file object (F…)."""
        with self._lock:
            return copy.deepcopy(self._new_file(content, name=name, mimetype=mimetype, filetype=filetype,
                                                user=user, title=title))

    def post_user_message(self, channel_id: str, user_id: str, text: str = "", *,
                          files: Iterable[Json] = (), thread_ts: str | None = None) -> Json:
        """A member posts in a channel or DM (to feed the bot with `SlackSender.event`); returns it."""
        with self._lock:
            channel = self._channel(channel_id)
            if user_id not in channel.members:
                raise ValueError(f"{user_id} is not a member of {channel_id}")
            message: Json = {"type": "message", "user": user_id, "text": text, "team": self.team_id,
                             "client_msg_id": str(uuid.uuid4())}
            files = list(files)
            unknown = [f.get("id") for f in files if f.get("id") not in self._files]
            if unknown:
                raise ValueError(f"add_file() these first: {unknown}")
            shared = [self._share_file(f["id"], channel_id) for f in files]
            if shared:
                message.update(subtype="file_share", files=shared, upload=False, display_as_bot=False)
            return copy.deepcopy(self._append(channel_id, message, thread_ts))

    def post_file_message(self, channel_id: str, user_id: str, files: Iterable[Json], text: str = "",
                          thread_ts: str | None = None) -> Json:
        """A member posts images/files (from `add_file`) with an optional caption; returns the message."""
        return self.post_user_message(channel_id, user_id, text, files=files, thread_ts=thread_ts)

    def message_event(self, channel_id: str, message: Json, *, files_need_info: bool = False) -> Json:
        """The Events API `message` event Slack sends for `message` (pass it to SlackSender.event).

        `files_need_info`: files come as Slack sometimes sends them (e.g. in shared channels), only
        {"id", "mode": "file_access", "file_access": "check_file_info", …}: the app must call files.info.
        """
        with self._lock:
            channel = self._channel(channel_id)
        kind = "im" if channel.im_user else "group" if channel.is_private else "channel"
        thread_keys = ("reply_count", "reply_users", "latest_reply", "reply_users_count", "is_locked",
                       "subscribed")
        event = {k: v for k, v in message.items() if k not in thread_keys}
        if files_need_info and "files" in event:
            event["files"] = [{"id": f["id"], "mode": "file_access", "file_access": "check_file_info",
                               "created": 0, "timestamp": 0, "user": f["user"]} for f in event["files"]]
        return {**event, "channel": channel_id, "channel_type": kind, "event_ts": message["ts"]}

    # ---- switches for failures

    def rate_limit(self, method: str, times: int = 1, retry_after: int = 1) -> None:
        """The next `times` calls of `method` answer HTTP 429 with `Retry-After: retry_after` (seconds)."""
        with self._lock:
            self._switches.rate_limits[method] = [times, retry_after]

    def fail(self, method: str, error: str, times: int = 1) -> None:
        """The next `times` calls of `method` answer {"ok": false, "error": error}."""
        with self._lock:
            self._switches.failures.setdefault(method, []).extend([error] * times)

    def hold(self, method: str, *, from_call: int = 1, after_store: bool = False) -> HeldCalls:
        """Hold every call of `method` from the `from_call`-th on (counted from now), before Slack acts
        on it or, with `after_store`, after; see `HeldCalls`. Release it before holding it again."""
        with self._lock:
            hold = self._switches.holds[method] = HeldCalls(method, from_call, after_store)
        return hold

    def revoke(self) -> None:
        """The bot token is revoked (an admin removed the app): every call answers `token_revoked`."""
        with self._lock:
            self._switches.revoked = True

    def fail_dm(self, user_id: str, error: str | None = "channel_not_found") -> None:
        """Opening or posting to this member's DM answers `error` from now on (None: works again)."""
        with self._lock:
            if error is None:
                self._switches.dm_failures.pop(user_id, None)
            else:
                self._switches.dm_failures[user_id] = error

    def new_response_url(self, *, channel_id: str, user_id: str, message_ts: str | None = None) -> str:
        """A response_url served here, bound to a channel, the acting member and the source message."""
        with self._lock:
            key = uuid.uuid4().hex
            self._response_urls[key] = _ResponseUrl(channel_id, user_id, message_ts)
        return f"{self.base_url}/response/{key}"

    def new_trigger_id(self, user_id: str) -> str:
        """A trigger_id views.open accepts once, for this member, within 3 seconds (as Slack)."""
        with self._lock:
            issued = self.clock()
            trigger = f"{next(self._ids)}.{int(issued)}.{uuid.uuid4().hex[:16]}"
            self._triggers[trigger] = (user_id, issued)
        return trigger

    # ---- introspection (deep copies; safe from any thread)

    @property
    def calls(self) -> list[tuple[str, Json]]:
        """Every Web API call received, in order: (method, arguments without the token); values are
        strings from form/query bodies and JSON values (lists, dicts) from JSON bodies, as sent."""
        with self._lock:
            return copy.deepcopy(self._calls)

    def calls_to(self, method: str) -> list[Json]:
        """The arguments of each call of `method`, in order."""
        return [args for name, args in self.calls if name == method]

    @property
    def errors(self) -> list[tuple[str, str]]:
        """Every error answered, in order: (method, error)."""
        with self._lock:
            return list(self._errors)

    def messages(self, channel_id: str) -> list[Json]:
        """Top-level messages (thread parents and broadcasts included), oldest first."""
        with self._lock:
            return copy.deepcopy([m for m in self._messages.get(channel_id, []) if is_top_level(m)])

    def replies(self, channel_id: str, thread_ts: str) -> list[Json]:
        """The replies in a thread (parent excluded), oldest first."""
        with self._lock:
            return copy.deepcopy([m for m in self._messages.get(channel_id, [])
                                  if m.get("thread_ts") == thread_ts and m["ts"] != thread_ts])

    def user(self, user_id: str) -> Json | None:
        """users.info's user object for this id, or None."""
        with self._lock:
            user = self._users.get(user_id)
            return self._user_json(user) if user else None

    def conversation(self, channel_id: str) -> Json | None:
        """conversations.info's channel object for this id, or None."""
        with self._lock:
            channel = self._channels.get(channel_id)
            return self._conversation_json(channel) if channel else None

    def open_dm(self, user_id: str) -> str:
        """The D… id of the bot's DM with this member, opening it as Slack would (SlackError if it can't)."""
        with self._lock:
            return self._open_dm(user_id)

    def dm_channel(self, user_id: str) -> str | None:
        """The D… id of the bot's DM with this member, if one was opened."""
        with self._lock:
            return self._dms.get(user_id)

    def dm_messages(self, user_id: str) -> list[Json]:
        """Top-level messages in the bot's DM with this member, oldest first ([] if none)."""
        channel_id = self.dm_channel(user_id)
        return self.messages(channel_id) if channel_id else []

    def ephemerals(self, channel_id: str | None = None, user_id: str | None = None) -> list[Json]:
        """Ephemeral messages (dicts with "channel", "recipient", "is_ephemeral": true), oldest first."""
        with self._lock:
            return copy.deepcopy([e for e in self._ephemerals if channel_id in (None, e["channel"])
                                  and user_id in (None, e["recipient"])])

    def home_view(self, user_id: str) -> Json | None:
        """The App Home view last published for this member (as views.publish answered it)."""
        with self._lock:
            return copy.deepcopy(self._home.get(user_id))

    def modal_views(self, user_id: str | None = None) -> list[Json]:
        """Modals opened with views.open: {"user": …, "view": …}, oldest first."""
        with self._lock:
            return copy.deepcopy([m for m in self._modals if user_id in (None, m["user"])])

    def uploaded_files(self, channel_id: str | None = None) -> list[Json]:
        """Files the bot uploaded (files_upload_v2), optionally only those shared in `channel_id`."""
        with self._lock:
            found = [self._files[f] for f in self._bot_files]
            if channel_id is not None:
                found = [f for f in found if channel_id in f["channels"] + f["groups"] + f["ims"]]
            return copy.deepcopy(found)

    def file_content(self, file_id: str) -> bytes:
        """The bytes of a stored file."""
        with self._lock:
            return self._content[file_id]

    def responses(self) -> list[Json]:
        """Bodies posted to response_urls: {"url": …, "channel": …, "user": …, "body": {…}}, in order."""
        with self._lock:
            return copy.deepcopy(self._response_posts)

    def wait_for(self, predicate: Callable[[], T], timeout: float = 10.0, *, what: str = "") -> T:
        """Poll `predicate` until it returns something truthy, and return that; AssertionError on timeout."""
        deadline = time.monotonic() + timeout
        while True:
            value = predicate()
            if value:
                return value
            if time.monotonic() > deadline:
                recent = [f"{m}({', '.join(sorted(a))})" for m, a in self.calls[-10:]]
                raise AssertionError(f"timed out after {timeout}s waiting for {what or repr(predicate)}; "
                                     f"last Web API calls: {recent}; errors answered: {self.errors[-5:]}")
            time.sleep(0.02)

    # ---- HTTP entry points (called by _Handler)

    def handle_api(self, method: str, args: Json, authorization: str | None
                   ) -> tuple[int, dict[str, str], Json]:
        """Answer one Web API call: (HTTP status, extra headers, JSON body)."""
        spec = method_spec()
        if method not in spec:
            return 404, {}, {"ok": False, "error": "unknown_method", "req_method": method}
        token = args.pop("token", None)
        if authorization and authorization.startswith("Bearer "):
            token = authorization.removeprefix("Bearer ").strip()
        with self._lock:
            hold = self._switches.holds.get(method)
            held = hold is not None and hold.admit()
        if hold is None or not held:
            return self._answer(method, spec[method], args, token)
        dropped: tuple[int, dict[str, str], Json] = (200, {}, {"ok": False, "error": "standin_dropped"})
        answer = self._answer(method, spec[method], args, token) if hold.after_store else dropped
        hold.wait_here()  # held before: dropped on release, as if it never arrived
        return answer

    def _answer(self, method: str, required: tuple[str, ...], args: Json, token: str | None
                ) -> tuple[int, dict[str, str], Json]:
        with self._lock:
            self._calls.append((method, copy.deepcopy(args)))
            limit = self._switches.rate_limits.get(method)
            if limit and limit[0] > 0:
                limit[0] -= 1
                self._errors.append((method, "ratelimited"))
                return 429, {"Retry-After": str(limit[1])}, {"ok": False, "error": "ratelimited"}
            headers: dict[str, str] = {}
            try:
                self._check_token(method, token)
                if token == self.bot_token:
                    headers["x-oauth-scopes"] = ",".join(sorted(self.scopes))
                missing = [a for a in required if args.get(a) in (None, "")]
                if missing:
                    raise SlackError("invalid_arguments", response_metadata={
                        "messages": [f"[ERROR] missing required field: {a}" for a in missing]})
                failures = self._switches.failures.get(method)
                if failures:
                    raise SlackError(failures.pop(0))
                handler = METHODS.get(method)
                if handler is None:
                    raise SlackError("standin_unsupported", detail=f"{method} is in Slack's spec; "
                                     "the stand-in does not implement it (add it to tests/slack_methods.py)")
                return 200, headers, {"ok": True, **handler(self, args)}
            except SlackError as err:
                self._errors.append((method, err.error))
                return 200, headers, {"ok": False, "error": err.error, **err.extra}
            except Exception as err:  # a stand-in bug or an argument of a type Slack would refuse
                self._errors.append((method, "standin_crashed"))
                return 500, {}, {"ok": False, "error": "standin_crashed", "detail": repr(err)}

    def _check_token(self, method: str, token: str | None) -> None:
        """Raise Slack's error for a missing, wrong, revoked or wrong-kind token (lock held)."""
        wanted, other = ((self.app_token, self.bot_token) if method in APP_TOKEN_METHODS
                         else (self.bot_token, self.app_token))
        if not token:
            raise SlackError("not_authed")
        if token == other:
            raise SlackError("not_allowed_token_type")
        if token != wanted:
            raise SlackError("invalid_auth")
        if token == self.bot_token and self._switches.revoked:
            raise SlackError("token_revoked")

    def handle_download(self, path: str, authorization: str | None) -> tuple[int, str, bytes]:
        """GET /files-pri/…: (status, content type, body)."""
        match = re.match(r"^/files-pri/T[A-Z0-9]+-(F[A-Z0-9]+)/(?:download/)?[^/]+$", path)
        with self._lock:
            if not match or match[1] not in self._content:
                return 404, "text/plain", b"file not found"
            if self.files_need_scope or authorization != f"Bearer {self.bot_token}":
                return 200, "text/html; charset=utf-8", LOGIN_PAGE
            return 200, self._files[match[1]]["mimetype"], self._content[match[1]]

    def handle_upload(self, key: str, body: bytes) -> tuple[int, bytes]:
        """POST /upload/v1/<key>: the bytes of a pending files_upload_v2 upload."""
        with self._lock:
            upload = self._uploads.get(key)
            if upload is None:
                return 404, b"upload_not_found"
            upload.content = body
            return 200, f"OK - {len(body)}".encode()

    def handle_response_url(self, key: str, body: Json) -> tuple[int, bytes]:
        """POST /response/<key>: record and apply a response_url message like Slack."""
        with self._lock:
            url = self._response_urls.get(key)
            if url is None:
                return 404, b"no_such_url"
            url.uses += 1
            if url.uses > RESPONSE_URL_USES:
                return 404, b"used_url"
            self._response_posts.append({"url": key, "channel": url.channel_id, "user": url.user_id,
                                         "body": copy.deepcopy(body)})
            original = self._find_any(url.channel_id, url.message_ts) if url.message_ts else None
            try:
                content = self._content_of(body, required=not body.get("delete_original"))
                if body.get("delete_original") and original is not None:
                    if original.get("is_ephemeral"):
                        self._ephemerals.remove(original)
                    else:
                        self._delete(url.channel_id, original)
                elif body.get("replace_original") and original is not None:
                    original.update(content)
                    if "blocks" not in content:
                        original.pop("blocks", None)
                elif body.get("response_type") == "in_channel":
                    self._append(url.channel_id, self._bot_message(content), body.get("thread_ts"))
                else:
                    self._ephemerals.append({**self._bot_message(content), "ts": self._next_ts(),
                                             "channel": url.channel_id, "recipient": url.user_id,
                                             "is_ephemeral": True})
            except SlackError as err:
                return 400, err.error.encode()
            return 200, b"ok"

    # ---- state helpers (call with the lock held)

    def _new_id(self, prefix: str) -> str:
        return f"{prefix}{next(self._ids):010d}"

    def _next_ts(self) -> str:
        us = max(int(self.clock() * 1_000_000), self._last_ts_us + 1)
        self._last_ts_us = us
        return f"{us // 1_000_000}.{us % 1_000_000:06d}"

    def _channel(self, channel_id: str) -> _Channel:
        channel = self._channels.get(channel_id)
        if channel is None:
            raise SlackError("channel_not_found")
        return channel

    def _resolve_channel(self, name_or_id: str, *, for_post: bool) -> _Channel:
        """A C…/D… id, "#name", or (chat.postMessage) a member's U… id meaning their DM."""
        if _USER_ID.match(name_or_id) and for_post:
            return self._channels[self._open_dm(name_or_id)]
        if name_or_id in self._channels:
            channel = self._channels[name_or_id]
        else:
            named = [c for c in self._channels.values() if c.name == name_or_id.lstrip("#") and not c.im_user]
            channel = named[0] if named else self._channel(name_or_id)
        if for_post and channel.im_user in self._switches.dm_failures:
            raise SlackError(self._switches.dm_failures[channel.im_user or ""])
        if channel.is_private and self.bot_user_id not in channel.members:
            raise SlackError("channel_not_found")
        return channel

    def _member_channel(self, name_or_id: str, *, for_post: bool = False) -> _Channel:
        channel = self._resolve_channel(name_or_id, for_post=for_post)
        if self.bot_user_id not in channel.members:
            raise SlackError("not_in_channel")
        return channel

    def _open_dm(self, user_id: str) -> str:
        user = self._users.get(user_id)
        if user is None:
            raise SlackError("user_not_found")
        if user.is_bot:
            raise SlackError("cannot_dm_bot")
        if user_id in self._switches.dm_failures:
            raise SlackError(self._switches.dm_failures[user_id])
        if user_id not in self._dms:
            if user.deleted:
                raise SlackError("user_disabled")
            channel_id = self._new_id("D")
            self._channels[channel_id] = _Channel(channel_id, user_id, int(self.clock()),
                                                  {user_id, self.bot_user_id}, user_id, True, im_user=user_id)
            self._messages[channel_id] = []
            self._dms[user_id] = channel_id
        return self._dms[user_id]

    def _find(self, channel_id: str, ts: str | None) -> Json:
        for message in self._messages.get(channel_id, []):
            if message["ts"] == ts:
                return message
        raise SlackError("message_not_found")

    def _find_any(self, channel_id: str, ts: str) -> Json | None:
        for message in self._ephemerals:
            if message["channel"] == channel_id and message["ts"] == ts:
                return message
        try:
            return self._find(channel_id, ts)
        except SlackError:
            return None

    def _append(self, channel_id: str, message: Json, thread_ts: str | None,
                broadcast: bool = False) -> Json:
        message["ts"] = self._next_ts()
        if thread_ts:
            try:
                parent = self._find(channel_id, thread_ts)
            except SlackError:
                raise SlackError("thread_not_found") from None
            root = parent.get("thread_ts", parent["ts"])
            parent = self._find(channel_id, root)
            message["thread_ts"] = root
            message["parent_user_id"] = parent.get("user")
            if broadcast:
                message["subtype"] = "thread_broadcast"
            users = parent.setdefault("reply_users", [])
            if message.get("user") not in users:
                users.append(message.get("user"))
            parent.update(thread_ts=root, reply_count=parent.get("reply_count", 0) + 1,
                          reply_users_count=len(users), latest_reply=message["ts"], is_locked=False,
                          subscribed=False)
        self._messages[channel_id].append(message)
        return message

    def _delete(self, channel_id: str, message: Json) -> None:
        if message.get("reply_count") and message["ts"] == message.get("thread_ts"):
            message.update(subtype="tombstone", text="This message was deleted.", hidden=True)
            message.pop("blocks", None)
            return
        self._messages[channel_id].remove(message)
        if message.get("thread_ts") and message["thread_ts"] != message["ts"]:
            parent = self._find(channel_id, message["thread_ts"])
            parent["reply_count"] -= 1
            if parent["reply_count"] == 0:
                for key in ("reply_count", "reply_users", "reply_users_count", "latest_reply", "thread_ts",
                            "is_locked", "subscribed"):
                    parent.pop(key, None)

    def _bot_message(self, content: Json) -> Json:
        return {"type": "message", "user": self.bot_user_id, "bot_id": self.bot_id, "app_id": self.app_id,
                "team": self.team_id, **content,
                "bot_profile": {"id": self.bot_id, "app_id": self.app_id, "name": self.bot_name,
                                "deleted": False, "updated": 1700000000, "team_id": self.team_id,
                                "icons": {"image_36": "", "image_48": "", "image_72": ""}}}

    def _content_of(self, args: Json, *, required: bool = True) -> Json:
        """Validated text/blocks of a message; raises SlackError like chat.postMessage."""
        content: Json = {}
        if args.get("text") is not None:
            content["text"] = str(args["text"])
            if len(content["text"]) > 40_000:
                raise SlackError("msg_too_long")
        blocks = json_arg(args, "blocks", "invalid_blocks_format")
        if blocks is not None:
            problems = block_problems(blocks)
            if problems:
                raise SlackError("invalid_blocks", errors=problems,
                                 response_metadata={"messages": [f"[ERROR] {p}" for p in problems]})
            for i, block in enumerate(blocks):
                block.setdefault("block_id", f"b{next(self._ids)}x{i}")  # Slack names anonymous blocks
            content["blocks"] = blocks
        attachments = json_arg(args, "attachments", "invalid_attachments")
        if attachments:
            content["attachments"] = attachments
        if required and not content.get("text") and not content.get("blocks") and not attachments:
            raise SlackError("no_text")
        content.setdefault("text", "")
        return content

    def _new_file(self, content: bytes, *, name: str, mimetype: str, filetype: str | None, user: str,
                  title: str | None, file_id: str | None = None) -> Json:
        file_id = file_id or self._new_id("F")
        now = int(self.clock())
        kind = filetype or (mimetypes.guess_extension(mimetype) or ".bin").lstrip(".").replace("jpeg", "jpg")
        url = f"{self.base_url}/files-pri/{self.team_id}-{file_id}"
        info = {"id": file_id, "created": now, "timestamp": now, "name": name, "title": title or name,
                "mimetype": mimetype, "filetype": kind, "pretty_type": kind.upper(), "user": user,
                "editable": False, "size": len(content), "mode": "hosted", "is_external": False,
                "external_type": "", "is_public": False, "public_url_shared": False, "display_as_bot": False,
                "username": "", "url_private": f"{url}/{name}",
                "url_private_download": f"{url}/download/{name}",
                "permalink": f"https://tutor-test.slack.com/files/{user}/{file_id}/{name}",
                "channels": [], "groups": [], "ims": [], "comments_count": 0}
        self._files[file_id] = info
        self._content[file_id] = content
        return info

    def _share_file(self, file_id: str, channel_id: str) -> Json:
        info = self._files.get(file_id)
        if info is None:
            raise SlackError("file_not_found")
        channel = self._channels[channel_id]
        where = "ims" if channel.im_user else "groups" if channel.is_private else "channels"
        if channel_id not in info[where]:
            info[where].append(channel_id)
        info["is_public"] = bool(info["channels"])
        return copy.deepcopy(info)

    def _user_json(self, user: _User) -> Json:
        profile = {"real_name": user.name, "display_name": user.name, "real_name_normalized": user.name,
                   "display_name_normalized": user.name, "avatar_hash": "", "title": "", "phone": "",
                   "skype": "", "status_text": "", "status_emoji": "", "fields": {}, "team": self.team_id}
        if user.bot_id:
            profile.update(bot_id=user.bot_id, api_app_id=self.app_id if user.id == self.bot_user_id else "")
        out: Json = {"id": user.id, "team_id": self.team_id, "name": user.name, "deleted": user.deleted,
                     "profile": profile, "is_bot": user.is_bot, "is_app_user": False, "updated": 1700000000}
        if user.deleted:
            return out  # Slack drops tz, admin flags and names from deactivated accounts
        if user.tz_offset is not None:
            offset_s, label = user.tz_offset, user.tz
        else:
            now = datetime.fromtimestamp(self.clock(), UTC).astimezone(ZoneInfo(user.tz))
            offset, abbreviation = now.utcoffset(), now.tzname() or user.tz
            offset_s = int(offset.total_seconds()) if offset else 0
            label = _TZ_NAMES.get(abbreviation, abbreviation)
        out.update(real_name=user.name, color="9f69e7", tz=user.tz, tz_label=label, tz_offset=offset_s,
                   is_admin=user.is_admin, is_owner=user.is_owner, is_primary_owner=False,
                   is_restricted=False, is_ultra_restricted=False)
        return out

    def _conversation_json(self, channel: _Channel) -> Json:
        if channel.im_user:
            user = self._users[channel.im_user]
            return {"id": channel.id, "created": channel.created, "is_im": True, "is_org_shared": False,
                    "user": channel.im_user, "priority": 0, "is_user_deleted": user.deleted,
                    "is_archived": False, "is_open": True}
        return {"id": channel.id, "name": channel.name, "name_normalized": channel.name,
                "created": channel.created, "creator": channel.creator, "is_archived": False,
                "is_channel": True, "is_general": False, "is_mpim": False, "is_group": channel.is_private,
                "is_im": False, "is_org_shared": False, "is_shared": False, "is_private": channel.is_private,
                "is_member": self.bot_user_id in channel.members, "num_members": len(channel.members),
                "topic": {"value": "", "creator": "", "last_set": 0},
                "purpose": {"value": "", "creator": "", "last_set": 0}}


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 256  # a hundred members clicking at once must not be refused
    standin: SlackStandin

    def handle_error(self, request: Any, client_address: Any) -> None:
        if isinstance(sys.exc_info()[1], ConnectionError):
            return  # the app went away (a test killed it) before its answer was written
        super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002  (quiet test output)
        pass

    def _reply(self, status: int, body: bytes, content_type: str,
               headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(body)

    def _api(self, query: str, body: bytes) -> None:
        method = urlsplit(self.path).path.removeprefix("/api/")
        args: Json = dict(parse_qsl(query, keep_blank_values=True))
        content_type = self.headers.get("Content-Type", "")
        try:
            if content_type.startswith("application/json") and body:
                args.update(json.loads(body))
            elif content_type.startswith("multipart/"):
                pass  # only files.upload (v1) sends multipart: it is answered method_deprecated
            elif body:
                args.update(parse_qsl(body.decode(), keep_blank_values=True))
        except (ValueError, TypeError, UnicodeDecodeError):  # TypeError: JSON that is not an object
            self._reply(200, b'{"ok":false,"error":"invalid_json"}', "application/json")
            return
        standin = self.server.standin
        status, headers, answer = standin.handle_api(method, args, self.headers.get("Authorization"))
        self._reply(status, json.dumps(answer).encode(), "application/json; charset=utf-8", headers)

    def do_GET(self) -> None:  # noqa: N802
        parts = urlsplit(self.path)
        if parts.path.startswith("/api/"):
            self._api(parts.query, b"")
        else:
            standin = self.server.standin
            status, kind, body = standin.handle_download(parts.path, self.headers.get("Authorization"))
            self._reply(status, body, kind)

    def do_POST(self) -> None:  # noqa: N802
        parts = urlsplit(self.path)
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        standin = self.server.standin
        if parts.path.startswith("/api/"):
            self._api(parts.query, body)
        elif parts.path.startswith("/upload/v1/"):
            status, text = standin.handle_upload(parts.path.removeprefix("/upload/v1/"), body)
            self._reply(status, text, "text/plain; charset=utf-8")
        elif parts.path.startswith("/response/"):
            try:
                payload = json.loads(body or b"{}")
            except ValueError:
                payload = None
            if not isinstance(payload, dict):
                self._reply(400, b"invalid_payload", "text/plain")
                return
            status, text = standin.handle_response_url(parts.path.removeprefix("/response/"), payload)
            self._reply(status, text, "text/plain; charset=utf-8")
        else:
            self._reply(404, b"not found", "text/plain")

"""The Web API methods of the Slack stand-in (`tests/slack_standin.py`), one function each.

Each takes the stand-in, whose lock the caller holds, and the call's arguments (strings from form or
query bodies, real JSON values from JSON bodies) and returns the answer without "ok"; a Slack error is
raised as `SlackError(name, **extra)`. `METHODS` maps Slack's method names to them; a method in Slack's
spec but not here is answered `standin_unsupported` by the stand-in.
"""

from __future__ import annotations

import base64
import copy
import json
import mimetypes
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from slack_spec import view_problems

if TYPE_CHECKING:
    from slack_standin import SlackStandin

T = TypeVar("T")
Json = dict[str, Any]


class SlackError(Exception):
    """A Slack error answer: {"ok": false, "error": error, **extra}."""

    def __init__(self, error: str, **extra: Any) -> None:
        super().__init__(error)
        self.error, self.extra = error, extra


@dataclass
class PendingUpload:
    file_id: str
    filename: str
    length: int
    alt_txt: str | None
    content: bytes | None = None


class HeldCalls:
    """Calls of one method the stand-in holds (`SlackStandin.hold`): the moment a test kills the app.

    Every call from the `from_call`-th on (1-based) waits, before Slack acts on it or, with
    `after_store`, after it did and before the answer goes out. `wait_held(n)` blocks until n calls
    wait; `release()` ends the hold: a call held before is then dropped (answered `standin_dropped`,
    nothing done, as if it never arrived), one held after gets its answer as usual.
    """

    def __init__(self, method: str, from_call: int, after_store: bool) -> None:
        self.method, self.from_call, self.after_store = method, from_call, after_store
        self.seen = 0  # calls of the method so far
        self.held = 0
        self.released = False
        self._changed = threading.Condition()

    def admit(self) -> bool:
        """Count a call (the stand-in's lock held); True when it is to be held."""
        self.seen += 1
        return not self.released and self.seen >= self.from_call

    def wait_here(self) -> None:
        with self._changed:
            self.held += 1
            self._changed.notify_all()
            self._changed.wait_for(lambda: self.released)

    def wait_held(self, count: int = 1, timeout: float = 20.0) -> None:
        with self._changed:
            if not self._changed.wait_for(lambda: self.held >= count, timeout):
                raise AssertionError(f"{self.held} of {count} {self.method} calls held after {timeout}s")

    def release(self) -> None:
        with self._changed:
            self.released = True
            self._changed.notify_all()


def is_top_level(message: Json) -> bool:
    return message.get("thread_ts") in (None, message["ts"]) or message.get("subtype") == "thread_broadcast"


def json_arg(args: Json, name: str, error: str) -> Any:
    """An argument that is JSON in form bodies and a real object in JSON bodies."""
    value = args.get(name)
    if isinstance(value, str):
        try:
            return json.loads(value)
        except json.JSONDecodeError:
            raise SlackError(error, detail=f"{name} is not valid JSON") from None
    return copy.deepcopy(value)


def _flag(value: Any) -> bool:
    return value in (True, 1, "1", "true", "True")


def message_metadata(args: Json, *, update: bool) -> Json | None:
    """The `metadata` argument of chat.postMessage / chat.update, checked as Slack checks it: JSON
    (a string in form bodies) that is an object -> else `invalid_metadata_format`; with a non-empty
    string `event_type` and an object `event_payload` -> else `invalid_metadata_schema`. None when
    not given; {} (chat.update only) removes the message's metadata."""
    if args.get("metadata") in (None, ""):
        return None
    value = json_arg(args, "metadata", "invalid_metadata_format")
    if not isinstance(value, dict):
        raise SlackError("invalid_metadata_format")
    if update and value == {}:
        return {}
    event_type, payload = value.get("event_type"), value.get("event_payload")
    if not isinstance(event_type, str) or not event_type.strip() or not isinstance(payload, dict):
        raise SlackError("invalid_metadata_schema")
    return {"event_type": event_type, "event_payload": payload}


def _shown(messages: list[Json], args: Json) -> list[Json]:
    """Messages as conversations.history / .replies return them: metadata only with include_all_metadata."""
    if _flag(args.get("include_all_metadata")):
        return messages
    return [{k: v for k, v in m.items() if k != "metadata"} for m in messages]


def _page(items: list[T], args: Json, default: int = 100) -> tuple[list[T], str]:
    """One page of `items` by Slack's cursor/limit arguments, and the next cursor ("" at the end)."""
    try:
        limit = int(args.get("limit") or default) or default
        cursor = args.get("cursor") or ""
        start = int(base64.b64decode(cursor).decode().removeprefix("offset:")) if cursor else 0
    except ValueError:
        raise SlackError("invalid_cursor") from None
    end = start + min(limit, 1000)
    return items[start:end], base64.b64encode(f"offset:{end}".encode()).decode() if end < len(items) else ""


# ---- the Web API methods: each takes the stand-in (lock held) and the arguments, returns the answer

Method = Callable[["SlackStandin", Json], Json]
METHODS: dict[str, Method] = {}


def _method(name: str) -> Callable[[Method], Method]:
    def register(fn: Method) -> Method:
        METHODS[name] = fn
        return fn
    return register


@_method("auth.test")
def _auth_test(s: SlackStandin, args: Json) -> Json:
    return {"url": "https://tutor-test.slack.com/", "team": s.team_name, "user": s.bot_name,
            "team_id": s.team_id, "user_id": s.bot_user_id, "bot_id": s.bot_id,
            "is_enterprise_install": False}


@_method("apps.connections.open")
def _apps_connections_open(s: SlackStandin, args: Json) -> Json:
    if s.socket_mode is None:
        raise SlackError("standin_unsupported", detail="attach a tests/slack_socket.SocketModeServer first")
    return {"url": s.socket_mode.new_url()}


@_method("users.info")
def _users_info(s: SlackStandin, args: Json) -> Json:
    user = s._users.get(args.get("user", ""))
    if user is None:
        raise SlackError("user_not_found")
    answer = s._user_json(user)
    if _flag(args.get("include_locale")):
        answer["locale"] = "en-US"
    return {"user": answer}


@_method("users.list")
def _users_list(s: SlackStandin, args: Json) -> Json:
    page, cursor = _page([s._user_json(u) for u in s._users.values()], args, default=1000)
    return {"members": page, "cache_ts": int(s.clock()), "response_metadata": {"next_cursor": cursor}}


@_method("conversations.open")
def _conversations_open(s: SlackStandin, args: Json) -> Json:
    users = [u for u in str(args.get("users") or "").split(",") if u]
    if args.get("channel"):
        channel = s._resolve_channel(args["channel"], for_post=False)
    elif not users:
        raise SlackError("users_list_not_supplied")
    elif len(users) > 1:
        raise SlackError("standin_unsupported", detail="group DMs (mpim) are not simulated")
    else:
        existed = users[0] in s._dms
        channel = s._channels[s._open_dm(users[0])]
        if not _flag(args.get("return_im")):
            reopened = {"no_op": True, "already_open": True} if existed else {}
            return {"channel": {"id": channel.id}, **reopened}
    return {"channel": s._conversation_json(channel)}


@_method("conversations.list")
def _conversations_list(s: SlackStandin, args: Json) -> Json:
    kinds = set(str(args.get("types") or "public_channel").split(","))
    visible = [c for c in s._channels.values()
               if ("im" if c.im_user else "private_channel" if c.is_private else "public_channel") in kinds
               and (not c.is_private or s.bot_user_id in c.members)]
    page, cursor = _page([s._conversation_json(c) for c in visible], args)
    return {"channels": page, "response_metadata": {"next_cursor": cursor}}


@_method("conversations.info")
def _conversations_info(s: SlackStandin, args: Json) -> Json:
    return {"channel": s._conversation_json(s._resolve_channel(args.get("channel", ""), for_post=False))}


@_method("conversations.join")
def _conversations_join(s: SlackStandin, args: Json) -> Json:
    channel = s._resolve_channel(args.get("channel", ""), for_post=False)
    if channel.im_user or channel.is_private:
        raise SlackError("method_not_supported_for_channel_type")
    channel.members.add(s.bot_user_id)
    return {"channel": s._conversation_json(channel)}


@_method("conversations.members")
def _conversations_members(s: SlackStandin, args: Json) -> Json:
    channel = s._resolve_channel(args.get("channel", ""), for_post=False)
    page, cursor = _page(sorted(channel.members), args)
    return {"members": page, "response_metadata": {"next_cursor": cursor}}


def _ts_window(messages: list[Json], args: Json) -> list[Json]:
    inclusive = _flag(args.get("inclusive"))
    try:
        oldest, latest = float(args.get("oldest") or 0), float(args.get("latest") or 9e12)
    except ValueError:
        raise SlackError("invalid_ts_oldest") from None
    return [m for m in messages if (oldest <= float(m["ts"]) <= latest if inclusive
                                    else oldest < float(m["ts"]) < latest)]


@_method("conversations.history")
def _conversations_history(s: SlackStandin, args: Json) -> Json:
    channel = s._member_channel(args.get("channel", ""))
    newest_first = _ts_window([m for m in s._messages[channel.id] if is_top_level(m)], args)[::-1]
    page, cursor = _page(_shown(newest_first, args), args)
    return {"messages": page, "has_more": bool(cursor), "pin_count": 0, "channel_actions_ts": None,
            "channel_actions_count": 0, "response_metadata": {"next_cursor": cursor}}


@_method("conversations.replies")
def _conversations_replies(s: SlackStandin, args: Json) -> Json:
    channel = s._member_channel(args.get("channel", ""))
    try:
        parent = s._find(channel.id, args.get("ts"))
    except SlackError:
        raise SlackError("thread_not_found") from None
    root = parent.get("thread_ts", parent["ts"])
    thread = [m for m in s._messages[channel.id] if m["ts"] == root or m.get("thread_ts") == root]
    window = _ts_window(thread, args) if ("oldest" in args or "latest" in args) else thread
    page, cursor = _page(_shown(window, args), args)
    return {"messages": page, "has_more": bool(cursor), "response_metadata": {"next_cursor": cursor}}


@_method("chat.postMessage")
def _chat_post_message(s: SlackStandin, args: Json) -> Json:
    channel = s._member_channel(args["channel"], for_post=True)
    metadata = message_metadata(args, update=False)
    message = s._bot_message(s._content_of(args))
    if metadata:
        message["metadata"] = metadata
    s._append(channel.id, message, args.get("thread_ts"), _flag(args.get("reply_broadcast")))
    return {"channel": channel.id, "ts": message["ts"], "message": copy.deepcopy(message)}


@_method("chat.update")
def _chat_update(s: SlackStandin, args: Json) -> Json:
    channel = s._member_channel(args["channel"])
    message = s._find(channel.id, args["ts"])
    if message.get("bot_id") != s.bot_id:
        raise SlackError("cant_update_message")
    content = s._content_of(args, required=False)
    metadata = message_metadata(args, update=True)
    if "text" not in args or args["text"] is None:  # Slack keeps what an update leaves out
        content.pop("text")
    if not content:
        raise SlackError("no_text")
    message.update(content, edited={"user": s.bot_user_id, "ts": s._next_ts()})
    if metadata == {}:
        message.pop("metadata", None)
    elif metadata:
        message["metadata"] = metadata
    return {"channel": channel.id, "ts": message["ts"], "text": message["text"],
            "message": copy.deepcopy(message)}


@_method("chat.postEphemeral")
def _chat_post_ephemeral(s: SlackStandin, args: Json) -> Json:
    channel = s._member_channel(args["channel"])
    if args["user"] not in channel.members:
        raise SlackError("user_not_in_channel")
    message = {**s._bot_message(s._content_of(args)), "ts": s._next_ts(), "channel": channel.id,
               "recipient": args["user"], "is_ephemeral": True}
    if args.get("thread_ts"):
        message["thread_ts"] = args["thread_ts"]
    s._ephemerals.append(message)
    return {"message_ts": message["ts"]}


@_method("chat.delete")
def _chat_delete(s: SlackStandin, args: Json) -> Json:
    channel = s._member_channel(args.get("channel", ""))
    message = s._find(channel.id, args.get("ts"))
    if message.get("bot_id") != s.bot_id:
        raise SlackError("cant_delete_message")
    s._delete(channel.id, message)
    return {"channel": channel.id, "ts": message["ts"]}


@_method("reactions.add")
def _reactions_add(s: SlackStandin, args: Json) -> Json:
    channel = s._member_channel(args["channel"])
    message = s._find(channel.id, args["timestamp"])
    reactions = message.setdefault("reactions", [])
    reaction = next((r for r in reactions if r["name"] == args["name"]), None)
    if reaction is None:
        reaction = {"name": args["name"], "users": [], "count": 0}
        reactions.append(reaction)
    if s.bot_user_id in reaction["users"]:
        raise SlackError("already_reacted")
    reaction["users"].append(s.bot_user_id)
    reaction["count"] += 1
    return {}


def _view(s: SlackStandin, args: Json, kind: str) -> Json:
    view = json_arg(args, "view", "invalid_arguments")
    problems = view_problems(view, kind)
    if problems:
        raise SlackError("invalid_arguments",
                         response_metadata={"messages": [f"[ERROR] {p}" for p in problems]})
    for i, block in enumerate(view.get("blocks", [])):
        block.setdefault("block_id", f"b{next(s._ids)}x{i}")
    view_id = s._new_id("V")
    defaults = {"private_metadata": "", "callback_id": "", "external_id": "", "clear_on_close": False,
                "notify_on_close": False, "close": None, "submit": None, "previous_view_id": None}
    return {**defaults, **view, "id": view_id, "team_id": s.team_id, "state": {"values": {}},
            "hash": f"{int(s.clock())}.{uuid.uuid4().hex[:8]}", "root_view_id": view_id, "app_id": s.app_id,
            "app_installed_team_id": s.team_id, "bot_id": s.bot_id}


@_method("views.publish")
def _views_publish(s: SlackStandin, args: Json) -> Json:
    user = s._users.get(args["user_id"])
    if user is None or user.is_bot:
        raise SlackError("user_not_found")
    old = s._home.get(user.id)
    if args.get("hash") and (old is None or old["hash"] != args["hash"]):
        raise SlackError("hash_conflict")
    view = _view(s, args, "home")
    if old is not None:
        view["id"] = view["root_view_id"] = old["id"]  # one Home view per member, updated in place
    s._home[user.id] = view
    return {"view": copy.deepcopy(view)}


TRIGGER_LIFETIME_S = 3.0  # Slack: a trigger_id expires 3 seconds after the interaction


@_method("views.open")
def _views_open(s: SlackStandin, args: Json) -> Json:
    if args["trigger_id"] not in s._triggers:
        raise SlackError("invalid_trigger_id")
    user_id, issued = s._triggers[args["trigger_id"]]
    if user_id is None:
        raise SlackError("exchanged_trigger_id")
    if s.clock() - issued > TRIGGER_LIFETIME_S:
        raise SlackError("expired_trigger_id")
    view = _view(s, args, "modal")
    s._triggers[args["trigger_id"]] = (None, issued)
    s._modals.append({"user": user_id, "view": view})
    return {"view": copy.deepcopy(view)}


@_method("files.info")
def _files_info(s: SlackStandin, args: Json) -> Json:
    info = s._files.get(args.get("file", ""))
    if info is None:
        raise SlackError("file_not_found")
    return {"file": copy.deepcopy(info), "comments": [], "response_metadata": {"next_cursor": ""}}


@_method("files.upload")
def _files_upload(s: SlackStandin, args: Json) -> Json:
    raise SlackError("method_deprecated", detail="files.upload is retired; use WebClient.files_upload_v2")


@_method("files.getUploadURLExternal")
def _files_get_upload_url(s: SlackStandin, args: Json) -> Json:
    try:
        length = int(args["length"])
    except ValueError:
        raise SlackError("invalid_arguments", detail="length must be an integer") from None
    key = uuid.uuid4().hex
    s._uploads[key] = PendingUpload(s._new_id("F"), args["filename"], length, args.get("alt_txt"))
    return {"upload_url": f"{s.base_url}/upload/v1/{key}", "file_id": s._uploads[key].file_id}


@_method("files.completeUploadExternal")
def _files_complete_upload(s: SlackStandin, args: Json) -> Json:
    wanted = json_arg(args, "files", "invalid_arguments")
    by_id = {u.file_id: (key, u) for key, u in s._uploads.items()}
    if not isinstance(wanted, list) or not all(isinstance(f, dict) and f.get("id") in by_id for f in wanted):
        raise SlackError("file_not_found")
    channel_ids = [c for c in [args.get("channel_id"), *str(args.get("channels") or "").split(",")] if c]
    channels = [s._member_channel(c) for c in channel_ids]
    if args.get("thread_ts"):
        for channel in channels:
            s._find(channel.id, args["thread_ts"])
    empty = [u.file_id for _, u in (by_id[f["id"]] for f in wanted) if u.content is None]
    if empty:  # checked before anything changes: a failed call completes nothing
        raise SlackError("file_not_found", detail=f"nothing was uploaded for {empty}")
    infos = []
    for item in wanted:
        key, upload = by_id[item["id"]]
        assert upload.content is not None
        mimetype = mimetypes.guess_type(upload.filename)[0] or "application/octet-stream"
        s._new_file(upload.content, name=upload.filename, mimetype=mimetype, filetype=None,
                    user=s.bot_user_id, title=item.get("title"), file_id=upload.file_id)
        del s._uploads[key]
        s._bot_files.append(upload.file_id)
        infos.append(upload.file_id)
    for channel in channels:
        shared = [s._share_file(f, channel.id) for f in infos]
        content = {"text": args.get("initial_comment") or "", "files": shared, "upload": True,
                   "display_as_bot": False}
        s._append(channel.id, s._bot_message(content), args.get("thread_ts"))
    return {"files": [copy.deepcopy(s._files[f]) for f in infos]}

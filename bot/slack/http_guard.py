"""What the bot refuses over HTTP before Bolt sees a request, in this order:

1. A body over MAX_BODY_BYTES (Slack's requests are a few kB): 413, decided from Content-Length
   before the body is read, and from the bytes read where there is none (waitress itself refuses
   bodies over the limit too, see serve.py, so a 50 MB upload is never buffered).
2. No valid Slack signature (X-Slack-Signature over the timestamp and the raw bytes, checked by
   slack_sdk's SignatureVerifier; malformed headers, a timestamp over 5 minutes off, a body that is
   not UTF-8): 401, before anything is parsed, so junk costs no more than an HMAC.
3. A signed body that cannot be parsed (not a form or JSON object as Slack sends, JSON nested
   deeper than MAX_JSON_DEPTH, counted in linear time before json parses it), or that Bolt fails
   to read (its fields of the wrong types): 400.
4. A signed request of another workspace (its team id is not the one auth.test gave this bot):
   403, logged.
5. A replay: the same signed request again within the signature's window (storage.seen_requests):
   200 and nothing done.

Anything else goes to Bolt with the bytes already read.
"""

from __future__ import annotations

import io
import json
import logging
import re
import time
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import parse_qs

from slack_sdk.signature import SignatureVerifier

from bot.numbers import whole_number
from storage.seen_requests import SeenRequests

log = logging.getLogger(__name__)

MAX_BODY_BYTES = 1 << 20  # 1 MiB; Slack's largest payloads (a view with its state) are tens of kB
MAX_JSON_DEPTH = 64  # Block Kit inside a message inside a payload nests about 15 deep
MAX_FORM_FIELDS = 100

_TIMESTAMP = re.compile(r"[0-9]{1,12}")
_SIGNATURE = re.compile(r"v0=[0-9a-f]{64}")
# A JSON string (an unterminated one runs to the end), and every character that is not a bracket.
_JSON_STRING = re.compile(r'"(?:[^"\\]++|\\.)*+(?:"|\\?\Z)', re.DOTALL)
_NOT_BRACKET = re.compile(r"[^\[\]{}]++")

WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


class Refused(Exception):
    """A request answered by the guard: HTTP status and a short reason."""

    def __init__(self, status: str, reason: str) -> None:
        super().__init__(reason)
        self.status, self.reason = status, reason


def json_depth_within(text: str, limit: int) -> bool:
    """Whether JSON `text` nests at most `limit` lists/objects deep (False also for brackets that
    do not pair up). Linear in the text and in `limit`; never recursive."""
    brackets = _NOT_BRACKET.sub("", _JSON_STRING.sub("", text)).replace("{", "[").replace("}", "]")
    for _ in range(limit + 1):  # each pass removes the innermost pairs: one level
        if not brackets:
            return True
        shorter = brackets.replace("[]", "")
        if shorter == brackets:
            return False
        brackets = shorter
    return False


def _json_object(text: str) -> dict[str, Any]:
    if not json_depth_within(text, MAX_JSON_DEPTH):
        raise Refused("400 Bad Request", f"JSON nested over {MAX_JSON_DEPTH} levels deep, or unbalanced")
    try:
        data = json.loads(text)
    except ValueError:
        raise Refused("400 Bad Request", "malformed JSON") from None
    if not isinstance(data, dict):
        raise Refused("400 Bad Request", "JSON that is not an object")
    return data


def parse_body(text: str, content_type: str) -> dict[str, Any]:
    """The body as Bolt will read it (JSON when it says so or looks so, else a form with an optional
    JSON `payload`); Refused(400) when it is neither."""
    if content_type.startswith("application/json") or text.startswith("{"):
        return _json_object(text)
    try:
        fields = parse_qs(text, keep_blank_values=True, max_num_fields=MAX_FORM_FIELDS)
    except ValueError:
        raise Refused("400 Bad Request", "malformed form") from None
    form: dict[str, Any] = {key: values[0] for key, values in fields.items()}
    if "payload" in form:
        form["payload"] = _json_object(form["payload"])
    return form


# Fields Bolt reads without checking their types (slack_bolt.request.internals, its logger): in
# the body, its `payload` and its `event`. An id is a string in events and an object in payloads.
_OBJECTS = ("view", "event")  # an object whenever the key is there
_IDS_OR_OBJECTS = ("team", "enterprise", "user", "channel")
_LISTS_OF_OBJECTS = ("actions", "authorizations")


def check_shape(body: dict[str, Any]) -> None:
    """Refused(400) where a field Bolt reads has a type Slack never sends."""
    levels = [body, *([body["payload"]] if isinstance(body.get("payload"), dict) else [])]
    levels += [level["event"] for level in levels if isinstance(level.get("event"), dict)]
    for level in levels:
        wrong = [key for key in _OBJECTS if key in level and not isinstance(level[key], dict)]
        wrong += [key for key in _IDS_OR_OBJECTS if not isinstance(level.get(key), str | dict | None)]
        wrong += [key for key in _LISTS_OF_OBJECTS if key in level and not (
            isinstance(level[key], list) and all(isinstance(item, dict) for item in level[key]))]
        if wrong:
            raise Refused("400 Bad Request", f"`{wrong[0]}` has a type Slack does not send")


def team_of(body: dict[str, Any]) -> str | None:
    """The workspace a request comes from: `team_id` (commands, events) or the payload's team."""
    payload = body.get("payload")
    if isinstance(payload, dict):
        team, user = payload.get("team"), payload.get("user")
        found = (team.get("id") if isinstance(team, dict) else None) or (
            user.get("team_id") if isinstance(user, dict) else None)
    else:
        found = body.get("team_id")
    return found if isinstance(found, str) and found else None


class RequestGuard:
    """WSGI middleware in front of Bolt's handler for POST requests (see the module docstring)."""

    def __init__(self, inner: WsgiApp, *, signing_secret: str, team_id: str, seen: SeenRequests,
                 clock: Callable[[], float] = time.time) -> None:
        self.inner, self.team_id, self.seen, self.clock = inner, team_id, seen, clock
        self.verifier = SignatureVerifier(signing_secret)

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if environ.get("REQUEST_METHOD") != "POST":
            return self.inner(environ, start_response)
        try:
            body = self.read_body(environ)
            text, timestamp, signature = self.verify(environ, body)
            parsed = parse_body(text, environ.get("CONTENT_TYPE") or "")
            check_shape(parsed)
            team = team_of(parsed)
            if team is not None and team != self.team_id:
                log.warning("refused a signed request of workspace %s (this bot is installed in %s)",
                            team, self.team_id)
                raise Refused("403 Forbidden", "this app is not installed in that workspace")
            if not self.seen.first_time(signature, int(timestamp), self.clock()):
                log.info("ignored a replayed request (signed at %s)", timestamp)
                raise Refused("200 OK", "")
        except Refused as refused:
            reply = refused.reason.encode()
            start_response(refused.status, [("Content-Type", "text/plain; charset=utf-8"),
                                            ("Content-Length", str(len(reply)))])
            return [reply]
        environ["wsgi.input"] = io.BytesIO(body)
        environ["CONTENT_LENGTH"] = str(len(body))
        try:
            return self.inner(environ, start_response)
        except Exception:  # Bolt reads payload fields without checking their types
            log.exception("Bolt could not read a signed request; answered 400")
            reply = b"a request of a shape Slack does not send"
            start_response("400 Bad Request", [("Content-Type", "text/plain; charset=utf-8"),
                                               ("Content-Length", str(len(reply)))])
            return [reply]

    @staticmethod
    def read_body(environ: dict[str, Any]) -> bytes:
        """At most MAX_BODY_BYTES of the body, or Refused(413)."""
        declared = (environ.get("CONTENT_LENGTH") or "").strip()
        stream = environ["wsgi.input"]
        if declared:
            if not (declared.isascii() and declared.isdigit()):
                raise Refused("400 Bad Request", "malformed Content-Length")
            length = whole_number(declared, high=MAX_BODY_BYTES)
            if length is None:
                raise Refused("413 Request Entity Too Large", f"the body is over {MAX_BODY_BYTES} bytes")
            return bytes(stream.read(length))
        if "chunked" not in (environ.get("HTTP_TRANSFER_ENCODING") or "").lower():
            return b""  # no Content-Length and not chunked: HTTP says there is no body
        body = bytes(stream.read(MAX_BODY_BYTES + 1))
        if len(body) > MAX_BODY_BYTES:
            raise Refused("413 Request Entity Too Large", f"the body is over {MAX_BODY_BYTES} bytes")
        return body

    def verify(self, environ: dict[str, Any], body: bytes) -> tuple[str, str, str]:
        """(body text, timestamp, signature) of a request Slack signed; else Refused(401)."""
        timestamp = environ.get("HTTP_X_SLACK_REQUEST_TIMESTAMP") or ""
        signature = environ.get("HTTP_X_SLACK_SIGNATURE") or ""
        invalid = Refused("401 Unauthorized", "invalid request signature")
        if not (_TIMESTAMP.fullmatch(timestamp) and _SIGNATURE.fullmatch(signature)):
            raise invalid
        try:
            text = body.decode("utf-8")  # Slack sends UTF-8; other bytes cannot carry its signature
        except UnicodeDecodeError:
            raise invalid from None
        if not self.verifier.is_valid(body=text, timestamp=timestamp, signature=signature):
            raise invalid
        return text, timestamp, signature

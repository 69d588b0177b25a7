"""The tutor's Slack app served for real (waitress, /slack/events) against the Slack stand-in, with a
simulated clock: what the end-to-end tests of the Slack app share.

Nothing is mocked: the app's WebClient talks HTTP to the stand-in (settings.slack_api_url), requests
to the app are signed like Slack's, and the database is a real SQLite file in tmp_path.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from slack_bolt import App
from slack_requests import SlackReply, SlackSender
from slack_sdk import WebClient
from slack_standin import SlackStandin

from bot.config import Settings
from bot.slack.app import build_app, executor_of, services_of
from bot.slack.client import make_client
from bot.slack.context import AppContext
from bot.slack.http_server import HttpServer
from bot.slack.serve import start_http
from bot.slack.services import SlackServices
from bot.tutor import Tutor
from bot.worker.protocol import WorkerClient
from content.model import Deck, Flashcard, MultipleChoice
from storage.db import open_db

SECRET = "test-signing-secret"
Json = dict[str, Any]


class SimClock:
    """A settable, thread-safe clock (timezone-aware UTC)."""

    def __init__(self, start: datetime) -> None:
        self._now = start.astimezone(UTC)
        self._lock = threading.Lock()

    def __call__(self) -> datetime:
        with self._lock:
            return self._now

    def set(self, moment: datetime) -> None:
        with self._lock:
            self._now = moment.astimezone(UTC)

    def advance(self, delta: timedelta) -> datetime:
        with self._lock:
            self._now += delta
            return self._now


def sample_deck(slug: str = "basics") -> Deck:
    """Two flashcards and two multiple-choice questions (one with options too long for buttons)."""
    long_options = tuple(f"Option {c}: " + "a rather long explanation of a choice " * 2 for c in "ABCD")
    return Deck(slug=slug, title=f"Transfer learning {slug}", cards=(
        Flashcard(front="What does a pre-trained backbone give you?",
                  back="Features learned on a large dataset"),
        MultipleChoice(question="Which layer do you replace first when fine-tuning?",
                       options=("The input layer", "The classification head", "Batch norm", "Nothing"),
                       answer=1, solution=("The head maps features to *your* classes.",),
                       hint="Think of the last layer.", mistakes=("Replacing the input layer",)),
        Flashcard(front="Why freeze early layers?", back="They hold generic features (edges, textures)"),
        MultipleChoice(question="Which learning rate suits fine-tuning?", options=long_options, answer=2,
                       solution=("A small rate keeps the pre-trained weights.", "Large rates destroy them."),
                       hint="Small steps.", mistakes=("Using the from-scratch rate",)),
    ))


@dataclass
class Harness:
    slack: SlackStandin
    settings: Settings
    clock: SimClock
    ctx: AppContext
    app: App
    svc: SlackServices
    client: WebClient
    server: HttpServer
    sender: SlackSender
    owns_worker: bool = True  # the app made its worker (closed with the harness), or a test gave one

    def close(self) -> None:
        """Stop as `tutor serve` does: no new requests, the listeners' work finished, the worker, then
        the database (closing a connection while a listener's query runs on it can crash SQLite)."""
        self.server.close()
        assert executor_of(self.app).wait_idle(30), "listeners still running 30 s after the server closed"
        if self.owns_worker and self.ctx.worker is not None:
            self.ctx.worker.close()
        self.ctx.db.conn.close()

    def restart(self) -> Harness:
        """A new process over the same database file: new connections, app, services and server (and
        the test's own worker, if it gave one: a worker outlives a bot's restart)."""
        self.close()
        return make_harness(self.slack, self.settings, self.clock,
                            worker=None if self.owns_worker else self.ctx.worker)

    # ---- helpers for tests

    def command(self, text: str, *, user: str, channel: str) -> Json:
        """Run `/tutor text` and return the reply the user got (the body posted to response_url)."""
        before = len(self.slack.responses())
        reply = self.sender.command("/tutor", text, user_id=user, channel_id=channel)
        assert reply.status == 200, reply.text
        assert reply.acked_in_time
        found = self.slack.wait_for(lambda: self.slack.responses()[before:], what=f"reply to /tutor {text}")
        return found[0]["body"]

    def click(self, user: str, channel: str, message: Json, action_id: str, *, value: str | None = None,
              retry_num: int | None = None, at: datetime | None = None) -> SlackReply:
        """Click a button of `message`; with `retry_num`, send it as Slack's retry (X-Slack-Retry-Num);
        `at`: the click's moment as Slack's action_ts says it (default: the real clock, as Slack's)."""
        if retry_num is None:
            reply = self.sender.block_action(user_id=user, channel_id=channel, message=message,
                                             action_id=action_id, value=value,
                                             action_ts=None if at is None else at.timestamp())
        else:
            reply = self.sender.post(block_action_body(self.slack, user, channel, message, action_id),
                                     "application/x-www-form-urlencoded",
                                     headers={"X-Slack-Retry-Num": str(retry_num),
                                              "X-Slack-Retry-Reason": "http_timeout"})
        assert reply.status == 200, reply.text
        return reply

    def dm(self, user: str) -> Json:
        messages = self.slack.dm_messages(user)
        assert messages, f"no DM to {user}"
        return messages[-1]

    def wait_dm(self, user: str, predicate: Any, what: str) -> Json:
        return self.slack.wait_for(lambda: (m := self.slack.dm_messages(user)) and predicate(m[-1]) and m[-1],
                                   what=what)


def block_action_body(slack: SlackStandin, user: str, channel: str, message: Json, action_id: str) -> str:
    """The form body Slack posts for a click on `action_id` (for sending the same click again)."""
    block, element = next((b, e) for b in message["blocks"] if b["type"] == "actions"
                          for e in b["elements"] if e["action_id"] == action_id)
    payload = {"type": "block_actions", "user": {"id": user, "username": user, "team_id": slack.team_id},
               "api_app_id": slack.app_id, "team": {"id": slack.team_id, "domain": "tutor-test"},
               "container": {"type": "message", "message_ts": message["ts"], "channel_id": channel},
               "channel": {"id": channel, "name": "directmessage"}, "message": message,
               "response_url": slack.new_response_url(channel_id=channel, user_id=user,
                                                      message_ts=message["ts"]),
               "trigger_id": slack.new_trigger_id(user),
               "actions": [{"action_id": action_id, "block_id": block["block_id"], "type": "button",
                            "value": element.get("value", ""), "text": element["text"],
                            "action_ts": "1700000000.000001"}]}
    return urlencode({"payload": json.dumps(payload)})


def harness_settings(slack: SlackStandin, db_path: Path, *, admins: tuple[str, ...] = (),
                     tz: str = "UTC") -> Settings:
    return Settings(db_path=str(db_path), admins=frozenset(admins), timezone=tz,
                    slack_bot_token=slack.bot_token, slack_signing_secret=SECRET, slack_api_url=slack.api_url,
                    dm_rate_per_s=0.0)


def make_harness(slack: SlackStandin, settings: Settings, clock: SimClock, *,
                 worker: WorkerClient | None = None) -> Harness:
    """A bot over `settings` behind a real HTTP server; `worker`: where its jobs run (default: the
    app makes its own local worker, whose process starts on the first job)."""
    db = open_db(settings.db_path)
    ctx = AppContext(settings=settings, db=db, tutor=Tutor(db, default_tz=settings.timezone, fuzzing=False),
                     clock=clock, worker=worker)
    client = make_client(settings)
    app = build_app(ctx, client=client)
    server = start_http(app)
    sender = SlackSender(server.url + "/slack/events", SECRET, slack=slack)
    return Harness(slack=slack, settings=settings, clock=clock, ctx=ctx, app=app, svc=services_of(app),
                   client=client, server=server, sender=sender, owns_worker=worker is None)


def buttons(message: Json) -> dict[str, Json]:
    """action_id -> element, for every element in the message's actions blocks."""
    return {e["action_id"]: e for b in message.get("blocks", []) if b["type"] == "actions"
            for e in b["elements"]}


def text_of(message: Json) -> str:
    """All visible text of a message (fallback, sections, fields, context), joined."""
    parts = [message.get("text", "")]
    for block in message.get("blocks", []):
        if "text" in block and isinstance(block["text"], dict):
            parts.append(block["text"]["text"])
        parts += [f["text"] for f in block.get("fields", [])]
        if block["type"] == "context":
            parts += [e.get("text", "") for e in block["elements"]]
        if block["type"] == "actions":
            parts += [e["text"]["text"] for e in block["elements"] if "text" in e]
    return "\n".join(parts)

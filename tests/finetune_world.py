"""What the /finetune end-to-end tests share: the app served over HTTP, Slack-signed requests
(tests/slack_requests.py), a Slack stand-in over HTTP (tests/slack_standin.py), a real SQLite file,
and a real worker (the bot's own WarmWorker, or Celery through `tutor worker` processes). Images are
crops of scikit-image's shipped photos: chelsea() is a cat, coffee() a cup of coffee.
"""

from __future__ import annotations

import io
import struct
import time
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image
from skimage import data as photos
from slack_bolt import App
from slack_bolt.adapter.wsgi import SlackRequestHandler
from slack_requests import SlackSender, WsgiServer
from slack_standin import SlackStandin

from bot.config import Settings
from bot.slack.app import build_app, executor_of
from bot.slack.context import AppContext
from bot.slack.finetune.flow import FinetuneFlow
from bot.tutor import Tutor
from bot.worker.protocol import WorkerClient
from storage import images as store
from storage.db import open_db

SECRET = "finetune-test-signing-secret"
ALICE, BOB = "U0ALICE001", "U0BOB00001"
DEMO_TIMEOUT_S = 240


def _jpeg(array: np.ndarray, box: tuple[int, int, int, int], size: int = 96) -> bytes:
    out = io.BytesIO()
    Image.fromarray(array).crop(box).resize((size, size)).save(out, "JPEG", quality=85)
    return out.getvalue()


def cat(i: int) -> bytes:
    """Crops around Chelsea's face, shifted a little each time."""
    return _jpeg(photos.chelsea(), (60 + 12 * i, 10 + 6 * i, 300 + 12 * i, 250 + 6 * i))


def coffee(i: int) -> bytes:
    return _jpeg(photos.coffee(), (60 + 20 * i, 20 + 10 * i, 420 + 20 * i, 380 + 10 * i))


def png_claiming(width: int, height: int) -> bytes:
    """A valid PNG header (and a tiny IDAT) for an image of width x height pixels: a 60-byte file."""
    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\0" * 16)) + \
        chunk(b"IEND", b"")


@dataclass
class World:
    slack: SlackStandin
    sender: SlackSender
    app: App
    ctx: AppContext
    channel: str
    tmp: Path

    @property
    def flow(self) -> FinetuneFlow:
        return self.app.finetune_flow  # type: ignore[attr-defined,no-any-return]

    def post(self, *files: tuple[str, bytes], text: str = "", user: str = ALICE, thread_ts: str | None = None,
             mimetype: str = "image/jpeg", send: bool = True, channel: str | None = None) -> dict[str, Any]:
        """A member posts files; the app gets the message event unless `send` is False."""
        channel = channel or self.channel
        shared = [self.slack.add_file(content, name=name, mimetype=mimetype, user=user)
                  for name, content in files]
        message = self.slack.post_user_message(channel, user, text, files=shared, thread_ts=thread_ts)
        event = self.slack.message_event(channel, message)
        if send:
            reply = self.sender.event(event)
            assert reply.status == 200 and reply.acked_in_time
        return event

    def post_photos(self, cats: int = 3, coffees: int = 3, channel: str | None = None) -> None:
        for i in range(cats):
            self.post((f"cat_{i}.jpg", cat(i)), channel=channel)
        for i in range(coffees):
            self.post((f"coffee_{i}.jpg", coffee(i)), channel=channel)
        self.wait_recorded({"cat": cats, "coffee": coffees}, channel=channel)

    def command(self, text: str = "", user: str = ALICE, channel: str | None = None) -> Any:
        reply = self.sender.command("/finetune", text, user_id=user, channel_id=channel or self.channel)
        assert reply.status == 200 and reply.acked_in_time, reply
        return reply

    def wait_recorded(self, counts: dict[str, int], channel: str | None = None) -> None:
        """Events are acknowledged before the listener runs: wait for the records to land."""
        channel = channel or self.channel
        self.slack.wait_for(lambda: store.label_counts(self.ctx.db, channel) == counts, 10,
                            what=f"recorded labels {counts}")

    def wait_idle(self, timeout: float = DEMO_TIMEOUT_S) -> None:
        self.slack.wait_for(self.flow.idle, timeout, what="the /finetune work to finish")

    def runs(self, channel: str | None = None) -> list[store.DemoRun]:
        return store.runs_in_channel(self.ctx.db, channel or self.channel)

    def thread_texts(self, run: store.DemoRun) -> list[str]:
        return [m.get("text", "") for m in self.slack.replies(run.channel, run.thread_ts)]

    def wait_thread(self, needle: str, *, channel: str | None = None, timeout: float = DEMO_TIMEOUT_S,
                    index: int = -1) -> float:
        """Wait until the thread of the channel's run number `index` has a message containing needle;
        returns time.monotonic() when it was seen."""
        def found() -> bool:
            runs = self.runs(channel)
            if not -len(runs) <= index < len(runs):
                return False
            return any(needle in text for text in self.thread_texts(runs[index]))
        self.slack.wait_for(found, timeout, what=f"{needle!r} in the demo's thread")
        return time.monotonic()


@contextmanager
def finetune_world(tmp_path: Path, worker: WorkerClient, *, budget_s: float = 3.0,
                   time_limit_s: float = 120.0) -> Iterator[World]:
    """A World whose app runs its jobs on `worker` (not closed here: the caller owns it)."""
    with SlackStandin() as slack:
        slack.add_user(ALICE, name="alice")
        slack.add_user(BOB, name="bob")
        channel = slack.add_channel("vision", members=[ALICE, BOB])
        settings = Settings(db_path=str(tmp_path / "tutor.db"), slack_bot_token=slack.bot_token,
                            slack_signing_secret=SECRET, slack_api_url=slack.api_url,
                            finetune_budget_s=budget_s, finetune_time_limit_s=time_limit_s,
                            finetune_device="cpu")
        db = open_db(settings.db_path)
        ctx = AppContext(settings=settings, db=db, tutor=Tutor(db), worker=worker)
        app = build_app(ctx)
        try:
            with WsgiServer(SlackRequestHandler(app)) as server:
                sender = SlackSender(server.url + "/slack/events", SECRET, slack=slack)
                world = World(slack, sender, app, ctx, channel, tmp_path)
                yield world
        finally:  # stop as `tutor serve` does: requests, then the listeners and demos, then the database
            assert executor_of(app).wait_idle(30), "listeners still running 30 s after the server closed"
            app.finetune_flow.shutdown(wait=True)  # type: ignore[attr-defined]
            db.conn.close()

"""Hostile requests to the bot's HTTP endpoint: size first (413 before the body is read), the
Slack signature next (401 for anything unsigned, before any parsing), then the body (400 for a
signed one that cannot be parsed), the workspace (403) and replays (nothing happens twice). Never a
500, and a real `tutor serve --http` keeps its memory flat under a 50 MB body."""

from __future__ import annotations

import io
import json
import logging
import random
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime
from urllib.parse import urlencode

import pytest
from bot_process import post_stream, running_bots
from slack_harness import SECRET, Harness, SimClock, harness_settings, make_harness, sample_deck
from slack_requests import sign
from slack_standin import SlackStandin

from bot.slack.http_guard import MAX_BODY_BYTES, MAX_JSON_DEPTH, json_depth_within
from bot.slack.serve import make_wsgi_app
from bot.tutor import Tutor
from storage.db import open_db

ALICE = "U0ALICE01"
FORM = "application/x-www-form-urlencoded"
DEEP_JSON = "[" * 100_000 + "]" * 100_000


@pytest.fixture
def h(tmp_path) -> Iterator[Harness]:
    with SlackStandin() as slack:
        slack.add_user(ALICE, name="alice", tz="Europe/Berlin")
        harness = make_harness(slack, harness_settings(slack, tmp_path / "tutor.db"),
                               SimClock(datetime.now(UTC)))
        harness.ctx.tutor.import_deck(sample_deck())
        yield harness
        harness.close()


def raw_post(url: str, body: bytes, headers: dict[str, str]) -> tuple[int, str]:
    request = urllib.request.Request(url, data=body, method="POST", headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as err:
        return err.code, err.read().decode("utf-8", "replace")


def command_body(h: Harness, text: str, *, team_id: str | None = None) -> str:
    return urlencode({"token": "t", "team_id": team_id or h.slack.team_id, "team_domain": "tutor-test",
                      "channel_id": "D0ALICE01", "channel_name": "directmessage", "user_id": ALICE,
                      "user_name": "alice", "command": "/tutor", "text": text, "api_app_id": h.slack.app_id,
                      "response_url": h.slack.new_response_url(channel_id="D0ALICE01", user_id=ALICE),
                      "trigger_id": h.slack.new_trigger_id(ALICE)})


def test_unsigned_junk_is_401_never_500(h: Harness) -> None:
    url, now = h.sender.app_url, int(time.time())
    good = command_body(h, "help")

    def signed(timestamp: str, signature: str) -> dict[str, str]:
        return {"X-Slack-Request-Timestamp": timestamp, "X-Slack-Signature": signature}

    cases: list[tuple[bytes, dict[str, str]]] = [
        (b'{"type": "url_verification", "challenge": "x"}', {}),  # no signature at all
        (b"{not json", signed(str(now), "v0=" + "0" * 64)),
        (DEEP_JSON.encode(), signed(str(now), "v0=" + "a" * 64)),
        (b"payload=%7Bbroken", signed(str(now), "v0=" + "1" * 64)),
        (good.encode(), signed("yesterday", sign(SECRET, good, now))),
        (good.encode(), signed("\u00b2", sign(SECRET, good, now))),
        (good.encode(), signed(str(now - 3600), sign(SECRET, good, now - 3600))),  # signed an hour ago
        (good.encode(), signed(str(now), "v0=\u00e9" + "0" * 63)),
        (b"\xff\xfe\x00junk", signed(str(now), "v0=" + "0" * 64)),
    ]
    for body, headers in cases:
        status, _ = raw_post(url, body, {"Content-Type": "application/json", **headers})
        assert status == 401, (body[:40], headers)
    assert h.slack.responses() == []  # nothing was run


def test_a_body_over_the_limit_is_413_before_it_is_read(h: Harness) -> None:
    # waitress answers from the headers alone: the body is never sent, let alone read
    assert post_stream(h.server.port, MAX_BODY_BYTES + 1, send=False) == 413
    assert post_stream(h.server.port, 50_000_000, send=False) == 413
    assert post_stream(h.server.port, 3 * MAX_BODY_BYTES, chunked=True) in (413, None)  # stops reading
    fits = "text=" + "x" * (MAX_BODY_BYTES - 5)  # exactly at the limit: read, then refused unsigned
    assert raw_post(h.sender.app_url, fits.encode(), {"Content-Type": FORM})[0] == 401


class CountingInput(io.BytesIO):
    """wsgi.input that counts what the app reads of it."""

    taken = 0

    def read(self, size: int | None = -1) -> bytes:
        data = super().read(size)
        self.taken += len(data)
        return data


def test_the_guard_itself_caps_what_it_reads(h: Harness) -> None:
    """Behind a server without waitress's limit, the guard still never reads past the limit."""
    guard = make_wsgi_app(h.app)
    statuses: list[str] = []
    for extra in ({"CONTENT_LENGTH": str(10 * MAX_BODY_BYTES)}, {"HTTP_TRANSFER_ENCODING": "chunked"}):
        stream = CountingInput(b"{" * (10 * MAX_BODY_BYTES))
        environ = {"REQUEST_METHOD": "POST", "PATH_INFO": "/slack/events", "SERVER_PROTOCOL": "HTTP/1.1",
                   "CONTENT_TYPE": "application/json", "wsgi.input": stream, **extra}
        b"".join(guard(environ, lambda status, headers: statuses.append(status)))
        assert stream.taken <= MAX_BODY_BYTES + 1
    assert statuses == ["413 Request Entity Too Large"] * 2


def test_a_signed_body_that_cannot_be_parsed_is_400(h: Harness) -> None:
    for body, kind in [("{not json", "application/json"), ("[1, 2]", "application/json"),
                       (DEEP_JSON, "application/json"), ("payload=%7Bbroken", FORM),
                       ("payload=" + "%5B" * 5000 + "%5D" * 5000, FORM), ("payload=%5B%5D", FORM),
                       ("&".join(f"f{i}=x" for i in range(500)), FORM)]:
        reply = h.sender.post(body, kind)
        assert reply.status == 400, (body[:40], reply.status, reply.text)


def test_signed_odd_shapes_never_give_500(h: Harness) -> None:
    """Signed JSON and forms of every shape Slack never sends: Bolt may say 404, never 500."""
    chooser = random.Random(8)
    values = [None, True, 0, -1, 1.5, "", "x", [], {}, [1], {"a": None}, "U0ALICE01"]
    keys = ["type", "team_id", "event", "payload", "command", "user", "team", "actions", "view", "text",
            "challenge", "event_id", "trigger_id", "api_app_id", "user_id"]
    for _ in range(100):
        shape = {chooser.choice(keys): chooser.choice(values) for _ in range(chooser.randint(0, 5))}
        if chooser.random() < 0.5:
            shape["type"] = chooser.choice(["event_callback", "block_actions", "view_submission",
                                            "url_verification", "shortcut", "message_action"])
        if chooser.random() < 0.5:
            body, kind = json.dumps(shape), "application/json"
        else:
            fields = {k: json.dumps(v) if k == "payload" else str(v) for k, v in shape.items()}
            body, kind = urlencode(fields), FORM
        reply = h.sender.post(body, kind)
        assert reply.status < 500, (body, reply.status, reply.text)


def test_another_workspace_is_refused_and_logged(h: Harness, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="bot.slack.http_guard")
    reply = h.sender.post(command_body(h, "review", team_id="T0OTHERTEAM"), FORM)
    assert reply.status == 403
    assert "workspace T0OTHERTEAM" in caplog.text
    time.sleep(0.3)
    assert h.slack.responses() == [] and h.ctx.tutor.learner(ALICE) is None  # nothing ran
    assert h.sender.command("/tutor", "help", user_id=ALICE, channel_id="D0ALICE01").status == 200


def test_a_replayed_request_changes_nothing(h: Harness) -> None:
    h.ctx.tutor.ensure_learner(ALICE, tz="Europe/Berlin")
    h.ctx.tutor.join(ALICE, "basics")
    body, signed_at = command_body(h, "review"), int(time.time())
    replies = [h.sender.post(body, FORM, timestamp=signed_at) for _ in range(3)]  # byte for byte
    assert [r.status for r in replies] == [200, 200, 200]
    h.slack.wait_for(lambda: h.slack.responses(), what="the reply to /tutor review")
    time.sleep(0.5)  # a second session would have been posted by now
    sessions = h.ctx.db.conn.execute("SELECT COUNT(*) FROM slack_review_sessions").fetchone()[0]
    assert sessions == 1 and len(h.slack.dm_messages(ALICE)) == 1 and len(h.slack.responses()) == 1
    fresh = h.sender.post(command_body(h, "stats"), FORM)  # a new request is served as ever
    assert fresh.status == 200


def test_json_depth_is_counted_without_recursion() -> None:
    assert json_depth_within('{"a": [1, {"b": "[[[[["}]}', 3)
    assert not json_depth_within('{"a": [1, {"b": []}]}', 3)
    assert not json_depth_within(DEEP_JSON, MAX_JSON_DEPTH) and not json_depth_within("[" * 10, 64)
    assert json_depth_within('["\\"]", "\\\\", "}"]', 1)  # escapes inside strings


@pytest.mark.slow
def test_the_bot_process_stays_flat_under_a_50_mb_body(tmp_path) -> None:
    with SlackStandin() as slack, running_bots(slack, tmp_path) as bots:
        slack.add_user(ALICE, name="alice")
        db = open_db(bots.db_path)
        Tutor(db).import_deck(sample_deck())
        db.conn.close()
        bot = bots.start()
        assert bot.sender.command("/tutor", "help", user_id=ALICE, channel_id="D0ALICE01").status == 200
        before = bot.rss_bytes()
        statuses = [post_stream(bot.port, 50_000_000), post_stream(bot.port, 50_000_000, chunked=True)]
        after = bot.rss_bytes()
        assert all(s in (413, None) for s in statuses), statuses  # refused (or cut off) early
        assert after - before < 20_000_000, f"RSS {before / 1e6:.0f} MB -> {after / 1e6:.0f} MB"
        reply = bot.sender.command("/tutor", "help", user_id=ALICE, channel_id="D0ALICE01")
        assert reply.status == 200 and reply.acked_in_time  # and it still answers

"""kill -9 at any point of a 50-member daily delivery, then a restart: every member has exactly one
DM, carrying its delivery's metadata, and every delivery ends 'sent' (issue 8, finding 4).

A real `tutor serve --http` is killed with SIGKILL at the moment the stand-in holds a chat.postMessage
(before Slack stored the message, or after it did but before the bot saw the answer), then started
again. Before the restart the unfinished claims are aged by two minutes, as if the restart came
later: the reconciler leaves claims younger than a minute alone, since they may be in flight in
another process.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from bot_process import Bots, running_bots
from slack_harness import Harness, SimClock, harness_settings, make_harness, sample_deck
from slack_methods import HeldCalls
from slack_standin import SlackStandin

from bot.config import Settings
from bot.slack.client import CONNECTION_RETRIES, make_client
from bot.slack.delivery import run_due_deliveries
from bot.slack.marks import MAX_ATTEMPTS, daily_review
from bot.tutor import Tutor
from storage import learners as learner_store
from storage.db import open_db
from storage.slack_state import Delivery, SlackState
from storage.timefmt import iso

MEMBERS = [f"U0M{i:06d}" for i in range(50)]


@pytest.fixture
def bots(tmp_path: Path) -> Iterator[Bots]:
    with SlackStandin() as slack, running_bots(slack, tmp_path) as started:
        now = datetime.now(UTC)
        db = open_db(started.db_path)
        Tutor(db).import_deck(sample_deck())
        # 04:00 local, the start of every learning day: everyone's delivery is due the moment the bot starts.
        learner_store.insert_learners(db, [(u, u.lower(), "UTC", "04:00") for u in MEMBERS], now)
        learner_store.insert_enrollments(db, [(u, "basics", 5, 30) for u in MEMBERS], now)
        db.conn.close()
        for user in MEMBERS:
            slack.add_user(user, name=user.lower())
        yield started


def deliveries(bots: Bots) -> list[Delivery]:
    db = open_db(bots.db_path, migrate=False)
    try:
        return SlackState(db).deliveries()
    finally:
        db.conn.close()


def age_unfinished_claims(db_path: Path) -> None:
    with sqlite3.connect(db_path) as conn:
        conn.execute("UPDATE slack_deliveries SET attempted_at = ? WHERE status = 'claimed'",
                     (iso(datetime.now(UTC) - timedelta(minutes=2)),))


def kill_when_held(bots: Bots, hold: HeldCalls) -> None:
    """Start the bot, SIGKILL it once the stand-in holds one of its calls, then let the call go."""
    bot = bots.start(wait=False)
    hold.wait_held(1)
    bot.kill()
    hold.release()


def restart_and_check(bots: Bots) -> None:
    """Restart; wait until every delivery is settled; stop; then exactly one marked DM each."""
    age_unfinished_claims(bots.db_path)
    bot = bots.start()
    def settled() -> bool:
        rows = deliveries(bots)
        return len(rows) == len(MEMBERS) and all(r.status == "sent" for r in rows)

    bots.slack.wait_for(settled, timeout=30, what="every delivery sent")
    bot.stop()
    rows = {d.user_id: d for d in deliveries(bots)}
    for user in MEMBERS:
        [dm] = bots.slack.dm_messages(user)
        assert dm["metadata"] == daily_review(rows[user].id).metadata(), user
        assert (rows[user].status, rows[user].ts) == ("sent", dm["ts"])
    assert "review_show" in str(bots.slack.dm_messages(MEMBERS[0])[0]["blocks"])


def dms(bots: Bots) -> int:
    return sum(len(bots.slack.dm_messages(u)) for u in MEMBERS)


def test_killed_before_any_post(bots: Bots) -> None:
    kill_when_held(bots, bots.slack.hold("chat.postMessage"))
    assert dms(bots) == 0
    assert any(d.status == "claimed" for d in deliveries(bots))  # claimed, never posted
    restart_and_check(bots)


def test_killed_midway_through_the_posts(bots: Bots) -> None:
    kill_when_held(bots, bots.slack.hold("chat.postMessage", from_call=26))
    assert dms(bots) == 25
    states = [d.status for d in deliveries(bots)]
    assert states.count("sent") >= 21 and "claimed" in states
    restart_and_check(bots)


def test_killed_after_slack_stored_the_message_before_the_bot_saw_the_answer(bots: Bots) -> None:
    kill_when_held(bots, bots.slack.hold("chat.postMessage", from_call=26, after_store=True))
    stored = {u for u in MEMBERS if bots.slack.dm_messages(u)}
    assert len(stored) >= 26
    unfinished = [d for d in deliveries(bots) if d.user_id in stored and d.status == "claimed"]
    assert unfinished  # posted, but the bot died before it could record it
    restart_and_check(bots)
    assert len(bots.slack.calls_to("conversations.history")) >= len(unfinished)  # found, not sent again


# ---- the same reconciliation in process, with a simulated clock: answers Slack leaves unsure

START = datetime(2025, 3, 3, 8, 30, tzinfo=UTC)  # 08:30 UTC, everyone's delivery time
USERS = MEMBERS[:3]


@pytest.fixture
def h(tmp_path: Path) -> Iterator[Harness]:
    with SlackStandin() as slack:
        harness = make_harness(slack, harness_settings(slack, tmp_path / "tutor.db"), SimClock(START))
        harness.ctx.tutor.import_deck(sample_deck())
        for user in USERS:
            slack.add_user(user, name=user.lower())
            harness.ctx.tutor.ensure_learner(user, tz="UTC")
            harness.ctx.tutor.join(user, "basics")
        yield harness
        harness.close()


def row(h: Harness, user: str) -> Delivery:
    [found] = h.svc.state.deliveries(user_id=user)
    return found


def test_an_unsure_answer_is_looked_up_then_sent(h: Harness) -> None:
    """fatal_error ("some aspect may have succeeded"): not marked failed, not sent again blindly."""
    h.slack.fail("chat.postMessage", "fatal_error")
    report = run_due_deliveries(h.svc, h.client)
    assert (report.sent, report.pending) == (2, 1)
    [unsure] = [u for u in USERS if not h.slack.dm_messages(u)]
    assert (row(h, unsure).status, row(h, unsure).error) == ("claimed", "fatal_error")
    assert run_due_deliveries(h.svc, h.client).sent == 0  # under a minute old: maybe in flight elsewhere
    h.clock.advance(timedelta(minutes=2))
    again = run_due_deliveries(h.svc, h.client)
    assert again.sent == 1 and again.users_sent == [unsure]
    [dm] = h.slack.dm_messages(unsure)
    assert dm["metadata"] == daily_review(row(h, unsure).id).metadata() and row(h, unsure).status == "sent"


def test_a_lost_answer_is_found_in_the_history_and_its_updates_keep_the_mark(h: Harness) -> None:
    client = make_client(h.settings)
    client.timeout = 0.5
    held = h.slack.hold("chat.postMessage", from_call=2, after_store=True)
    try:
        report = run_due_deliveries(h.svc, client)  # posts 2 and 3 are stored, their answers never come
    finally:
        held.release()
    assert report.pending == 2 and all("Timeout" in e for e in report.errors.values())
    assert all(len(h.slack.dm_messages(u)) == 1 for u in USERS)
    h.clock.advance(timedelta(minutes=2))
    assert run_due_deliveries(h.svc, h.client).recovered == 2
    assert len(h.slack.calls_to("chat.postMessage")) == 3 and all(row(h, u).status == "sent" for u in USERS)
    user = USERS[0]
    h.click(user, h.slack.dm_channel(user) or "", h.dm(user), "review_show")
    h.slack.wait_for(lambda: h.slack.calls_to("chat.update"), what="the card turned over")
    assert h.slack.calls_to("chat.update")[0]["metadata"] == daily_review(row(h, user).id).metadata()


def test_an_unsent_claim_expires_with_its_learning_day(h: Harness) -> None:
    h.slack.fail("chat.postMessage", "internal_error")
    run_due_deliveries(h.svc, h.client)
    [unsure] = [u for u in USERS if not h.slack.dm_messages(u)]
    h.clock.set(START + timedelta(days=1))  # the bot was down until the next day's delivery
    report = run_due_deliveries(h.svc, h.client)
    assert report.sent == 3 and "expired" in report.errors[unsure]
    assert len(h.slack.dm_messages(unsure)) == 1  # today's; yesterday's is not sent late on top


def test_it_gives_up_after_max_attempts(h: Harness) -> None:
    h.slack.fail("chat.postMessage", "fatal_error", times=10)
    for _ in range(MAX_ATTEMPTS + 1):
        report = run_due_deliveries(h.svc, h.client)
        h.clock.advance(timedelta(minutes=2))
    assert report.failed == 3 and all(f"after {MAX_ATTEMPTS} attempts" in e for e in report.errors.values())
    assert len(h.slack.calls_to("chat.postMessage")) == 3 * MAX_ATTEMPTS
    assert all(row(h, u).status == "failed" for u in USERS)


class _DropsTheConnection(BaseHTTPRequestHandler):
    """Reads the request, then closes the connection unanswered: Slack may have acted on it."""

    received: list[str] = []

    def do_POST(self) -> None:  # noqa: N802
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.received.append(self.path)
        self.close_connection = True

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass


def test_the_client_never_reposts_a_message_whose_answer_was_lost() -> None:
    """slack_sdk would retry a dropped connection, posting twice; only safe calls are retried."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _DropsTheConnection)
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    try:
        settings = Settings(slack_bot_token="xoxb-test", slack_api_url=f"http://127.0.0.1:{server.server_port}/")
        client = make_client(settings)
        with pytest.raises(OSError):
            client.chat_postMessage(channel="D0000000001", text="once")
        with pytest.raises(OSError):
            client.conversations_open(users="U0ALICE01")
    finally:
        server.shutdown()
        server.server_close()
    retried = ["/conversations.open"] * (1 + CONNECTION_RETRIES)
    assert _DropsTheConnection.received == ["/chat.postMessage", *retried]

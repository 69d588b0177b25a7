"""Daily DM delivery: exactly once (even with two processes at once), failures recorded without
stopping the others, rate limits waited out, pacing."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from slack_harness import Harness, SimClock, harness_settings, make_harness, sample_deck
from slack_standin import SlackStandin

from bot.slack.client import make_client
from bot.slack.context import AppContext
from bot.slack.delivery import run_due_deliveries
from bot.slack.pacing import Pacer
from bot.slack.services import SlackServices
from bot.tutor import Tutor
from storage.db import open_db

START = datetime(2025, 3, 3, 8, 30, tzinfo=UTC)  # 08:30 UTC, everyone's delivery time
USERS = [f"U0USER{i:04d}" for i in range(12)]


@pytest.fixture
def h(tmp_path) -> Iterator[Harness]:
    with SlackStandin() as slack:
        harness = make_harness(slack, harness_settings(slack, tmp_path / "tutor.db"), SimClock(START))
        harness.ctx.tutor.import_deck(sample_deck())
        for user in USERS:
            slack.add_user(user, name=user.lower())
            harness.ctx.tutor.ensure_learner(user, tz="UTC")
            harness.ctx.tutor.join(user, "basics")
        yield harness
        harness.close()


def test_failed_sends_are_recorded_and_do_not_stop_others(h: Harness) -> None:
    blocked, gone = USERS[3], USERS[7]
    h.slack.fail_dm(blocked, "messages_tab_disabled")
    h.slack.set_deleted(gone)
    report = run_due_deliveries(h.svc, h.client)
    assert report.sent == len(USERS) - 2 and report.failed == 2
    assert report.errors == {blocked: "messages_tab_disabled", gone: "account_inactive"}
    by_user = {d.user_id: d for d in h.svc.state.deliveries()}
    assert by_user[blocked].status == "failed" and by_user[blocked].error == "messages_tab_disabled"
    assert by_user[gone].status == "failed" and by_user[gone].error == "account_inactive"
    assert all(by_user[u].status == "sent" and by_user[u].ts for u in USERS if u not in (blocked, gone))
    assert h.slack.dm_messages(gone) == []
    assert run_due_deliveries(h.svc, h.client).sent == 0  # failures are not retried the same day
    h.clock.set(START + timedelta(days=1))
    h.slack.fail_dm(blocked, None)
    again = run_due_deliveries(h.svc, h.client)
    assert blocked in again.users_sent and gone in again.errors


def test_rate_limit_is_waited_out(h: Harness) -> None:
    h.slack.rate_limit("chat.postMessage", times=2, retry_after=1)
    report = run_due_deliveries(h.svc, h.client)
    assert report.sent == len(USERS) and report.failed == 0
    assert h.slack.errors.count(("chat.postMessage", "ratelimited")) == 2
    assert all(len(h.slack.dm_messages(u)) == 1 for u in USERS)


def test_two_processes_ticking_at_once_send_each_dm_once(h: Harness) -> None:
    settings = h.settings
    db = open_db(settings.db_path)  # a second process: its own connection, tutor and services
    other_ctx = AppContext(settings=settings, db=db, tutor=Tutor(db, fuzzing=False), clock=h.clock)
    other = SlackServices.create(other_ctx)
    other_client = make_client(settings)
    reports = []
    barrier = threading.Barrier(4)

    def run(svc: SlackServices, client) -> None:
        barrier.wait()
        reports.append(run_due_deliveries(svc, client))

    runners = [(h.svc, h.client), (other, other_client)] * 2
    threads = [threading.Thread(target=run, args=args) for args in runners]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(r.sent for r in reports) == len(USERS)
    assert all(len(h.slack.dm_messages(u)) == 1 for u in USERS)
    assert len(h.slack.calls_to("chat.postMessage")) == len(USERS)
    db.conn.close()


def test_paused_members_and_early_ticks_get_nothing(h: Harness) -> None:
    h.clock.set(START - timedelta(minutes=1))
    assert run_due_deliveries(h.svc, h.client).sent == 0
    h.ctx.tutor.pause(USERS[0])
    h.clock.set(START)
    report = run_due_deliveries(h.svc, h.client)
    assert report.sent == len(USERS) - 1 and USERS[0] not in report.users_sent


def test_pacer_spaces_sends() -> None:
    clock = [0.0]
    waits: list[float] = []

    def sleep(seconds: float) -> None:
        waits.append(seconds)
        clock[0] += seconds

    pacer = Pacer(10.0, burst=2, monotonic=lambda: clock[0], sleep=sleep)
    for _ in range(12):
        pacer.acquire()
    assert clock[0] == pytest.approx(1.0)  # 2 at once, then 10 more at 10 a second
    assert Pacer(0).acquire() == 0.0
    with pytest.raises(ValueError):
        Pacer(-1)

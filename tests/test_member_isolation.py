"""One member, one deck or one channel never stops the others: every loop over many of them records
the failure of one and goes on (issue 8, finding 3). Each test is the fault as Slack or the database
really shows it, through the stand-in and Slack-signed requests: a Slack zone newer than this
server's tz database, such a zone already stored, a deck row written by a newer version, a users.list
that times out."""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from datetime import time as clock_time

import pytest
from slack_harness import Harness, SimClock, harness_settings, make_harness, sample_deck, text_of
from slack_standin import SlackStandin

from bot.slack.admin import SlackUsers
from bot.slack.client import make_client
from bot.slack.delivery import BULK_PLAN_FROM, run_due_deliveries
from bot.slack.qotd import run_channel_posts
from storage import learners as learner_store
from storage.slack_state import ChannelSchedule

START = datetime(2025, 3, 3, 8, 30, tzinfo=UTC)  # a Monday, 08:30 UTC: everyone's delivery time
MARS = "U0MARS001"
ZONE_WARNING = "is not in this server's tz database"


@pytest.fixture
def h(tmp_path) -> Iterator[Harness]:
    with SlackStandin() as slack:
        harness = make_harness(slack, harness_settings(slack, tmp_path / "tutor.db"), SimClock(START))
        harness.ctx.tutor.import_deck(sample_deck())
        yield harness
        harness.close()


def members(h: Harness, count: int, deck: str = "basics", prefix: str = "U0M") -> list[str]:
    users = [f"{prefix}{i:06d}" for i in range(count)]
    for user in users:
        h.slack.add_user(user, name=user.lower())
        h.ctx.tutor.ensure_learner(user, tz="UTC")
        h.ctx.tutor.join(user, deck)
    return users


def zone_warnings(caplog: pytest.LogCaptureFixture, zone: str = "Mars/Phobos") -> list[str]:
    messages = [r.getMessage() for r in caplog.records]
    return [m for m in messages if ZONE_WARNING in m and zone in m]


def store_card_of_a_newer_version(h: Harness, deck: str) -> None:
    """One card of `deck` as a newer tutor would store it (a kind this one does not know), and the
    deck's revision bumped as an import by that other process would."""
    with sqlite3.connect(h.settings.db_path) as conn:
        conn.execute("UPDATE cards SET data = json_set(data, '$.kind', 'cloze')"
                     " WHERE deck = ? AND position = 0", (deck,))
        conn.execute("UPDATE decks SET revision = revision + 1 WHERE slug = ?", (deck,))


def test_a_slack_zone_this_server_lacks_stops_no_dm(h: Harness, caplog: pytest.LogCaptureFixture) -> None:
    """20 members, one whose Slack profile says Mars/Phobos: all 20 get their DM, every day; the
    member keeps their stored zone; the warning is logged once, not at every tick."""
    users = members(h, 19)
    h.slack.add_user(MARS, name="mars", tz="Mars/Phobos", tz_offset=3600)
    h.ctx.tutor.ensure_learner(MARS, tz="UTC")
    h.ctx.tutor.join(MARS, "basics")
    h.slack.add_user(users[0], name="traveller", tz="Asia/Tokyo")  # a known zone change is still picked up
    h.svc.users = SlackUsers(h.settings, ttl_s=0, directory_ttl_s=0)  # read Slack's profiles at each tick
    caplog.set_level(logging.WARNING)
    report = run_due_deliveries(h.svc, h.client)
    assert report.sent == 20 and report.failed == 0, report.errors
    assert MARS in report.users_sent and len(h.slack.dm_messages(MARS)) == 1
    assert h.ctx.tutor.learner(MARS).tz == "UTC" and h.ctx.tutor.learner(users[0]).tz == "Asia/Tokyo"
    h.clock.set(START + timedelta(days=1))
    again = run_due_deliveries(h.svc, h.client)
    assert again.sent == 20 and again.failed == 0
    assert len(zone_warnings(caplog)) == 1


def test_a_stored_zone_this_server_lacks_stops_no_plan(h: Harness, caplog: pytest.LogCaptureFixture) -> None:
    """A learner row whose zone this server's tz database lacks (written where tzdata was newer), among
    enough members for the bulk plan: everyone is planned and sent, that learner in TUTOR_TZ."""
    users = members(h, BULK_PLAN_FROM + 5)
    h.slack.add_user(MARS, name="mars")
    learner_store.insert_learners(h.ctx.db, [(MARS, "mars", "Mars/Phobos", "08:30")], START)
    h.ctx.tutor.join(MARS, "basics")
    caplog.set_level(logging.WARNING)
    report = run_due_deliveries(h.svc, h.client)
    assert report.sent == len(users) + 1 and report.failed == 0, report.errors
    assert len(h.slack.dm_messages(MARS)) == 1
    assert h.ctx.tutor.learner(MARS).tz == "UTC"  # read as TUTOR_TZ; the row itself is left as it is
    assert h.ctx.tutor.stats(MARS, START).due_today >= 0
    assert run_due_deliveries(h.svc, h.client).sent == 0
    assert len(zone_warnings(caplog)) == 1


def test_one_unreadable_deck_stops_only_its_members(h: Harness) -> None:
    """A deck holding a card of a newer version breaks the one-pass plan of everyone: then each
    member is planned alone, and only that deck's members fail, each recorded."""
    h.ctx.tutor.import_deck(sample_deck("newer"))
    fine = members(h, BULK_PLAN_FROM)
    broken = members(h, 3, deck="newer", prefix="U0N")
    store_card_of_a_newer_version(h, "newer")
    report = run_due_deliveries(h.svc, h.client)
    assert report.sent == len(fine) and set(report.users_sent) == set(fine)
    assert report.failed == 3 and set(report.errors) == set(broken)
    assert all("cloze" in error for error in report.errors.values())
    states = {d.user_id: d.status for d in h.svc.state.deliveries()}
    assert {states.get(u) for u in broken} == {None}  # never claimed: tried again at the next tick


def test_a_users_list_that_times_out_stops_no_dm(h: Harness, caplog: pytest.LogCaptureFixture) -> None:
    users = members(h, 5)
    client = make_client(h.settings)
    client.timeout = 0.5  # Slack's answer never comes
    held = h.slack.hold("users.list")
    caplog.set_level(logging.WARNING)
    try:
        report = run_due_deliveries(h.svc, client)
    finally:
        held.release()
    assert report.sent == len(users) and report.failed == 0
    assert any("users.list failed" in r.getMessage() and "Timeout" in r.getMessage() for r in caplog.records)


def test_members_whose_slack_zone_this_server_lacks_can_use_every_feature(
        h: Harness, caplog: pytest.LogCaptureFixture) -> None:
    """Joining, opening the Home tab, answering a question of the day: the unknown zone is left out
    (TUTOR_TZ for a new learner, the stored zone otherwise), never an error."""
    h.slack.add_user(MARS, name="mars", tz="Mars/Phobos", tz_offset=3600)
    general = h.slack.add_channel("general", members=[MARS])
    caplog.set_level(logging.WARNING)
    assert "joined" in text_of(h.command("join basics", user=MARS, channel=general)).lower()
    assert h.ctx.tutor.learner(MARS).tz == "UTC"
    h.ctx.tutor.set_timezone(MARS, "Europe/Berlin")
    assert h.sender.app_home_opened(MARS).status == 200
    h.slack.wait_for(lambda: h.slack.home_view(MARS), what="Mars's Home tab")
    assert h.ctx.tutor.learner(MARS).tz == "Europe/Berlin"
    assert len(zone_warnings(caplog)) == 1


def test_one_broken_channel_stops_no_other_question(h: Harness) -> None:
    """Three channels: one's deck holds a card of a newer version. Closing its question fails and is
    recorded; the other channel's question still closes, and the third's still posts."""
    h.ctx.tutor.import_deck(sample_deck("newer"))
    admin = "U0ADA0001"
    h.slack.add_user(admin, name="ada")
    channels = [h.slack.add_channel(name, members=[admin]) for name in ("one", "two", "three")]
    yesterday = START - timedelta(days=1)
    state = h.svc.state

    def schedule(channel: str, deck: str, at: int, close: int | None) -> ChannelSchedule:
        return state.add_schedule(channel_id=channel, channel_name=None, deck=deck, at_time=clock_time(at),
                                  days=range(7), tz="UTC", close_time=clock_time(close) if close else None,
                                  created_by=admin, now=yesterday)

    broken, fine = schedule(channels[0], "newer", 9, 17), schedule(channels[1], "basics", 9, 17)
    late = schedule(channels[2], "basics", 17, None)
    nine = START.replace(hour=9)
    assert run_channel_posts(h.svc, h.client, nine).posted == 2
    store_card_of_a_newer_version(h, "newer")
    report = run_channel_posts(h.svc, h.client, nine.replace(hour=17))
    assert (report.closed, report.posted, report.failed) == (1, 1, 1)
    assert "cloze" in report.errors[broken.id]
    [fine_post] = state.posts(schedule_id=fine.id)
    assert fine_post.status == "closed" and h.slack.replies(channels[1], fine_post.ts or "")
    assert state.posts(schedule_id=late.id)[0].status == "open"


def test_a_stored_schedule_zone_this_server_lacks(h: Harness, caplog: pytest.LogCaptureFixture) -> None:
    """A schedule row with a zone this server lacks posts in TUTOR_TZ, warned about once."""
    admin = "U0ADA0001"
    h.slack.add_user(admin, name="ada")
    channel = h.slack.add_channel("general", members=[admin])
    schedule = h.svc.state.add_schedule(channel_id=channel, channel_name="general", deck="basics",
                                        at_time=clock_time(9), days=range(7), tz="Mars/Phobos",
                                        close_time=None, created_by=admin, now=START - timedelta(days=1))
    caplog.set_level(logging.WARNING)
    assert run_channel_posts(h.svc, h.client, START).posted == 0  # 08:30 in TUTOR_TZ (UTC)
    report = run_channel_posts(h.svc, h.client, START.replace(hour=9))
    assert report.posted == 1 and report.failed == 0
    assert h.svc.state.posts(schedule_id=schedule.id)[0].status == "open"
    assert len(zone_warnings(caplog)) == 1

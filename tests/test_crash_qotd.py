"""kill -9 while the question of the day is posted or revealed, then a restart: the question ends
answerable (open, with its ts, exactly one message) or properly closed (exactly one reveal in its
thread, the buttons gone), never a zombie (issue 8, finding 5).

As in test_crash_delivery.py: a real `tutor serve --http` is killed with SIGKILL at the moment the
stand-in holds its chat.postMessage, before or after Slack stored it; unfinished posts are aged by two
minutes before the restart, as if it came later (younger ones may be in flight elsewhere).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from datetime import time as clock_time
from pathlib import Path

import pytest
from bot_process import BotProcess, Bots, running_bots
from slack_harness import Harness, SimClock, buttons, harness_settings, make_harness, sample_deck, text_of
from slack_methods import HeldCalls
from slack_standin import SlackStandin

from bot.slack.marks import question_of_the_day, question_reveal
from bot.slack.qotd import run_channel_posts
from bot.tutor import Tutor
from storage.db import open_db
from storage.slack_state import ChannelPost, SlackState
from storage.timefmt import iso

ALICE = "U0ALICE01"


def noon_zone(now: datetime) -> str:
    """An Etc/GMT zone where it is about noon now, so a 06:00-18:00 schedule is open whenever the
    test runs."""
    offset = 12 - now.hour
    return f"Etc/GMT{-offset:+d}"  # Etc/GMT-3 is UTC+3


@dataclass
class Rig:
    """The bots of one test and the channel their schedule posts in."""

    bots: Bots
    general: str

    @property
    def slack(self) -> SlackStandin:
        return self.bots.slack

    @property
    def db_path(self) -> Path:
        return self.bots.db_path

    def start(self, *, wait: bool = True) -> BotProcess:
        return self.bots.start(wait=wait)


@pytest.fixture
def rig(tmp_path: Path) -> Iterator[Rig]:
    with SlackStandin() as slack, running_bots(slack, tmp_path) as started:
        slack.add_user(ALICE, name="alice")
        general = slack.add_channel("general", members=[ALICE])
        now = datetime.now(UTC)
        db = open_db(started.db_path)
        Tutor(db).import_deck(sample_deck())
        SlackState(db).add_schedule(channel_id=general, channel_name="general", deck="basics",
                                    at_time=clock_time(6), days=range(7), tz=noon_zone(now),
                                    close_time=clock_time(18), created_by=ALICE, now=now - timedelta(days=1))
        db.conn.close()
        yield Rig(started, general)


def posts(rig: Rig) -> list[ChannelPost]:
    db = open_db(rig.db_path, migrate=False)
    try:
        return SlackState(db).posts()
    finally:
        db.conn.close()


def the_post(rig: Rig) -> ChannelPost:
    [post] = posts(rig)
    return post


def post_is(rig: Rig, status: str) -> bool:
    """The channel's one post has `status` (False while the bot's first tick has not claimed it)."""
    found = posts(rig)
    return len(found) == 1 and found[0].status == status


def sql(rig: Rig, statement: str, *args: object) -> None:
    with sqlite3.connect(rig.db_path) as conn:
        conn.execute(statement, args)


def kill_when_held(rig: Rig, hold: HeldCalls) -> None:
    bot = rig.start(wait=False)
    hold.wait_held(1)
    bot.kill()
    hold.release()


def restart(rig: Rig, until: str) -> BotProcess:
    """Age the unfinished post, start the bot again, wait until the post is `until`."""
    sql(rig, "UPDATE slack_channel_posts SET attempted_at = ? WHERE status IN ('claimed', 'closing')",
        iso(datetime.now(UTC) - timedelta(minutes=2)))
    bot = rig.start()
    rig.slack.wait_for(lambda: post_is(rig, until), timeout=30, what=f"the post {until}")
    return bot


def click_reply(rig: Rig, bot: BotProcess, message: dict, action_id: str = "qotd_choice_1") -> str:
    before = len(rig.slack.ephemerals(rig.general, ALICE))
    reply = bot.sender.block_action(user_id=ALICE, channel_id=rig.general,
                                    message=message, action_id=action_id)
    assert reply.status == 200
    found = rig.slack.wait_for(lambda: rig.slack.ephemerals(rig.general, ALICE)[before:],
                                what="the reply to a click")
    return text_of(found[0])


def assert_answerable(rig: Rig, bot: BotProcess) -> None:
    post = the_post(rig)
    [message] = rig.slack.messages(rig.general)
    assert (post.status, post.ts) == ("open", message["ts"])
    assert message["metadata"] == question_of_the_day(post.id).metadata()
    assert "qotd_choice_1" in buttons(message)
    assert "Right!" in click_reply(rig, bot, message)
    rig.slack.wait_for(lambda: "1 answer so far" in text_of(rig.slack.messages(rig.general)[0]),
                        what="the tally")


def test_killed_before_the_question_was_posted(rig: Rig) -> None:
    kill_when_held(rig, rig.slack.hold("chat.postMessage"))
    assert rig.slack.messages(rig.general) == []
    assert the_post(rig).status == "claimed" and the_post(rig).ts is None
    assert_answerable(rig, restart(rig, "open"))


def test_killed_after_slack_stored_the_question(rig: Rig) -> None:
    kill_when_held(rig, rig.slack.hold("chat.postMessage", after_store=True))
    assert len(rig.slack.messages(rig.general)) == 1
    assert the_post(rig).status == "claimed"  # the zombie of the issue: live buttons, no ts
    assert_answerable(rig, restart(rig, "open"))
    assert len(rig.slack.calls_to("chat.postMessage")) == 1  # found in the history, not posted again


def open_then_due_to_close(rig: Rig) -> dict:
    """A normal run posts the question; then its close time is made to have passed."""
    bot = rig.start()
    rig.slack.wait_for(lambda: post_is(rig, "open"), timeout=30, what="the post open")
    bot.stop()
    sql(rig, "UPDATE slack_channel_posts SET closes_at = ?", iso(datetime.now(UTC) - timedelta(minutes=1)))
    [message] = rig.slack.messages(rig.general)
    return message


def assert_closed(rig: Rig, bot: BotProcess, message: dict) -> None:
    post = the_post(rig)
    [reveal] = rig.slack.replies(rig.general, message["ts"])
    assert reveal["metadata"] == question_reveal(post.id).metadata() and "Answer" in text_of(reveal)
    rig.slack.wait_for(lambda: not buttons(rig.slack.messages(rig.general)[0]),
                        what="the buttons gone")
    assert "answer is in its thread" in click_reply(rig, bot, message)  # an old button, clicked late


@pytest.mark.parametrize("after_store", [False, True], ids=["before-slack-stored-it", "after"])
def test_killed_during_the_reveal(rig: Rig, after_store: bool) -> None:
    message = open_then_due_to_close(rig)
    kill_when_held(rig, rig.slack.hold("chat.postMessage", after_store=after_store))
    assert the_post(rig).status == "closing"
    assert len(rig.slack.replies(rig.general, message["ts"])) == int(after_store)
    assert_closed(rig, restart(rig, "closed"), message)


# ---- the same reconciliation in process, with a simulated clock: answers Slack leaves unsure

MONDAY = datetime(2025, 3, 3, 9, 0, tzinfo=UTC)


@pytest.fixture
def h(tmp_path: Path) -> Iterator[Harness]:
    with SlackStandin() as slack:
        slack.add_user(ALICE, name="alice")
        harness = make_harness(slack, harness_settings(slack, tmp_path / "tutor.db"), SimClock(MONDAY))
        harness.ctx.tutor.import_deck(sample_deck())
        general = slack.add_channel("general", members=[ALICE])
        harness.svc.state.add_schedule(channel_id=general, channel_name="general", deck="basics",
                                       at_time=clock_time(9), days=range(7), tz="UTC",
                                       close_time=clock_time(17), created_by=ALICE,
                                       now=MONDAY - timedelta(days=1))
        yield harness
        harness.close()


def test_an_unsure_reveal_is_finished_later(h: Harness) -> None:
    general = h.svc.state.schedules()[0].channel_id
    assert run_channel_posts(h.svc, h.client).posted == 1
    h.slack.fail("chat.postMessage", "internal_error")
    h.clock.set(MONDAY.replace(hour=17))
    assert run_channel_posts(h.svc, h.client).closed == 0
    [post] = h.svc.state.posts()
    assert (post.status, post.error) == ("closing", "internal_error")
    h.clock.advance(timedelta(seconds=30))
    assert run_channel_posts(h.svc, h.client).closed == 0  # under a minute: maybe in flight elsewhere
    h.clock.advance(timedelta(minutes=2))
    assert run_channel_posts(h.svc, h.client).closed == 1
    assert h.svc.state.posts()[0].status == "closed"
    [reveal] = h.slack.replies(general, post.ts or "")
    assert reveal["metadata"] == question_reveal(post.id).metadata()
    h.slack.wait_for(lambda: not buttons(h.slack.messages(general)[0]), what="the buttons gone")


def test_an_unposted_question_past_its_close_is_never_shown(h: Harness) -> None:
    general = h.svc.state.schedules()[0].channel_id
    h.slack.fail("chat.postMessage", "fatal_error")
    assert run_channel_posts(h.svc, h.client).pending == 1
    h.clock.set(MONDAY.replace(hour=17, minute=5))  # the bot was down until after the close
    report = run_channel_posts(h.svc, h.client)
    assert report.failed == 1 and "missed" in next(iter(report.errors.values()))
    assert h.svc.state.posts()[0].status == "failed" and h.slack.messages(general) == []
    h.clock.set(MONDAY + timedelta(days=1))  # the next day's question comes as usual
    assert run_channel_posts(h.svc, h.client).posted == 1

"""kill -9 of the bot in the middle of a /finetune demo, then a restart: the demo's progress message
stops saying it is running and says plainly that a restart interrupted it (and to run `/finetune`
again), carrying the run's mark; the run is failed, and an image posted in its thread hears that
there is no model.

As in test_crash_qotd.py: a real `tutor serve --http` is killed with SIGKILL at the moment the
stand-in holds one of its calls. No job reaches the worker (killed while downloading, or while
posting the progress message), so no torch is loaded.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from bot_process import BotProcess, Bots, running_bots
from finetune_world import cat, coffee
from slack_methods import HeldCalls
from slack_standin import SlackStandin

from bot.slack.finetune.flow import RESTART_ERROR
from bot.slack.marks import finetune_demo
from storage import images as store
from storage.db import open_db
from storage.images import DemoRun, RunStatus

ALICE = "U0ALICE01"


@pytest.fixture
def bots(tmp_path: Path) -> Iterator[Bots]:
    with SlackStandin() as slack, running_bots(slack, tmp_path) as started:
        slack.add_user(ALICE, name="alice")
        yield started


def the_run(bots: Bots, channel: str) -> DemoRun:
    db = open_db(bots.db_path, migrate=False)
    try:
        [run] = store.runs_in_channel(db, channel)
        return run
    finally:
        db.conn.close()


def bot_posts(slack: SlackStandin, channel: str) -> list[dict]:
    """The bot's messages in the channel (its replies in threads left out)."""
    return [m for m in slack.messages(channel) if m.get("user") == slack.bot_user_id]


def photos_then_demo(bots: Bots, hold: HeldCalls) -> tuple[str, BotProcess]:
    """Labelled photos in a channel's history, a bot asked for a demo, killed at the held call."""
    slack = bots.slack
    channel = slack.add_channel("vision", members=[ALICE])
    for i in range(3):
        for name, content in ((f"cat_{i}.jpg", cat(i)), (f"coffee_{i}.jpg", coffee(i))):
            file = slack.add_file(content, name=name, mimetype="image/jpeg", user=ALICE)
            slack.post_user_message(channel, ALICE, "", files=[file])
    bot = bots.start()
    assert bot.sender.command("/finetune", "", user_id=ALICE, channel_id=channel).status == 200
    hold.wait_held(1)
    bot.kill()
    hold.release()
    return channel, bot


@pytest.mark.parametrize("held", ["chat.update", "chat.postMessage"],
                         ids=["killed-while-downloading", "killed-before-it-heard-the-message-ts"])
def test_a_demo_killed_with_the_bot_says_so_after_the_restart(bots: Bots, held: str) -> None:
    slack = bots.slack
    # chat.update: the first edit of the progress message, as the first image is downloaded (its ts
    # is kept). chat.postMessage, after Slack stored it: the message is there, its ts never kept.
    channel, first = photos_then_demo(bots, slack.hold(held, after_store=held == "chat.postMessage"))
    run = the_run(bots, channel)
    assert run.status is RunStatus.RUNNING and run.posted == (held == "chat.update")
    [message] = bot_posts(slack, channel)
    assert message["metadata"] == finetune_demo(run.id).metadata()
    assert "downloading" in message["text"]

    second = bots.start()
    slack.wait_for(lambda: "interrupted" in bot_posts(slack, channel)[0]["text"], 30,
                   what="the progress message saying the demo was interrupted")
    [message] = bot_posts(slack, channel)
    assert "the bot restarted" in message["text"] and "Run `/finetune` again" in message["text"]
    assert message["metadata"] == finetune_demo(run.id).metadata()
    slack.wait_for(lambda: the_run(bots, channel).status is RunStatus.FAILED, 10, what="the run failed")
    run = the_run(bots, channel)
    assert (run.error, run.thread_ts) == (RESTART_ERROR, message["ts"])
    assert len(slack.calls_to("chat.postMessage")) == 1  # found, not posted again

    # The thread knows the run now: an image posted there hears that this demo has no model.
    file = slack.add_file(cat(5), name="mystery.jpg", mimetype="image/jpeg", user=ALICE)
    reply = slack.post_user_message(channel, ALICE, "", files=[file], thread_ts=message["ts"])
    assert second.sender.event(slack.message_event(channel, reply)).status == 200
    def bot_replies() -> list[dict]:
        return [m for m in slack.replies(channel, message["ts"]) if m.get("user") == slack.bot_user_id]

    [answer] = slack.wait_for(bot_replies, 20, what="the answer in the thread")
    assert "no trained model" in answer["text"]
    assert answer["metadata"] == finetune_demo(run.id).metadata()
    assert "Traceback" not in second.log(), second.log()
    assert first.process.returncode == -9

"""`tutor serve --http` as a real process: the scope check at start, TUTOR_LOG_LEVEL and --host, and
SIGTERM ending it cleanly (no new requests, work in progress finished within the bound, exit 0)."""

from __future__ import annotations

import socket
import time
from datetime import time as clock_time
from pathlib import Path

import pytest
import yaml
from slack_harness import SECRET, sample_deck
from slack_requests import SlackSender
from slack_standin import SlackStandin, manifest_scopes
from tutor_process import TutorServer, free_port, tutor_env

from bot.slack.lifecycle import SHUTDOWN_GRACE_S
from bot.slack.preflight import SCOPES
from bot.tutor import Tutor
from storage.db import open_db

ROOT = Path(__file__).resolve().parent.parent
USER = "U0ALICE01"


def refuses(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return False
    except OSError:
        return True


def learner_db(tmp_path: Path) -> Path:
    """A database where alice is in the sample deck with cards due now."""
    db_path = tmp_path / "tutor.db"
    db = open_db(db_path)
    tutor = Tutor(db)
    tutor.import_deck(sample_deck())
    tutor.ensure_learner(USER, tz="UTC")
    tutor.join(USER, "basics")
    tutor.set_delivery_time(USER, clock_time(23, 59))  # the daily DM is not what this test is about
    db.conn.close()
    return db_path


def http_env(slack: SlackStandin, db_path: Path, port: int, **extra: str) -> dict[str, str]:
    return tutor_env(TUTOR_DB=str(db_path), SLACK_BOT_TOKEN=slack.bot_token, SLACK_SIGNING_SECRET=SECRET,
                     SLACK_API_URL=slack.api_url, PORT=str(port), TUTOR_SHIPPED_DECKS="0", **extra)


def test_scopes_the_features_need_are_the_manifests() -> None:
    manifest = yaml.safe_load((ROOT / "manifest.yml").read_text())
    assert list(SCOPES) == manifest["oauth_config"]["scopes"]["bot"] == list(manifest_scopes())


def test_a_missing_scope_is_named_at_start_and_the_log_level_is_honoured(tmp_path) -> None:
    with SlackStandin() as slack:
        slack.add_user(USER, name="alice")
        slack.scopes.discard("files:read")
        port = free_port()
        env = http_env(slack, learner_db(tmp_path), port, TUTOR_LOG_LEVEL="WARNING")
        with TutorServer(["--http", "--host", "127.0.0.1"], env, tmp_path / "serve.log") as bot:
            bot.wait_healthy(port)
            code = bot.stop()
            log = bot.log()
    assert code == 0, log
    assert ("WARNING bot.slack.serve: the bot token lacks the files:read scope, needed for downloading "
            "shared decks (/tutor import) and images (/finetune): add it under OAuth & Permissions") in log
    assert " INFO " not in log  # TUTOR_LOG_LEVEL=WARNING


@pytest.mark.slow
def test_sigterm_stops_taking_requests_and_lets_work_in_progress_finish(tmp_path) -> None:
    with SlackStandin() as slack:
        slack.add_user(USER, name="alice")
        held = slack.hold("chat.postMessage", after_store=True)  # the review DM is on its way
        port = free_port()
        with TutorServer(["--http"], http_env(slack, learner_db(tmp_path), port), tmp_path / "s.log") as bot:
            bot.wait_healthy(port)
            sender = SlackSender(f"http://127.0.0.1:{port}/slack/events", SECRET, slack=slack)
            assert sender.command("/tutor", "review", user_id=USER, channel_id="D0ANY0001").status == 200
            held.wait_held(1)  # the listener now waits for Slack's answer
            bot.process.terminate()
            slack.wait_for(lambda: refuses(port), what="the port closed")
            assert bot.process.poll() is None  # no new requests, but still finishing the review
            held.release()
            code = bot.process.wait(SHUTDOWN_GRACE_S + 10)
            log = bot.log()
        assert code == 0, log
        assert "SIGTERM: stopping" in log and log.rstrip().endswith("stopped")
        assert "review_show" in str(slack.dm_messages(USER)[-1]["blocks"])  # the DM went out
        assert slack.responses()[-1]["body"]["text"].startswith("Your review is in")  # and the reply
    assert not (tmp_path / "tutor.db-wal").exists()  # the database was closed


@pytest.mark.slow
def test_work_that_outlasts_the_grace_period_is_abandoned(tmp_path) -> None:
    with SlackStandin() as slack:
        slack.add_user(USER, name="alice")
        held = slack.hold("chat.postMessage")  # Slack never answers while the bot stops
        port = free_port()
        try:
            with TutorServer(["--http"], http_env(slack, learner_db(tmp_path), port),
                             tmp_path / "s.log") as bot:
                bot.wait_healthy(port)
                sender = SlackSender(f"http://127.0.0.1:{port}/slack/events", SECRET, slack=slack)
                sender.command("/tutor", "review", user_id=USER, channel_id="D0ANY0001")
                held.wait_held(1)
                started = time.monotonic()
                code = bot.stop(timeout=SHUTDOWN_GRACE_S + 10)
                took = time.monotonic() - started
                log = bot.log()
        finally:
            held.release()
    assert code == 0, log
    assert took < SHUTDOWN_GRACE_S + 5
    assert "gave up waiting for 1 listener task(s)" in log

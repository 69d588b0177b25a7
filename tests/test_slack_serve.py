"""Running the bot: `tutor serve --http` as a real process (waitress at /slack/events, the scheduler
catching up at start), configuration errors named clearly, Slack's signature enforced, the manifest,
and no torch in the bot process."""

from __future__ import annotations

import subprocess
import sys
import time
import urllib.request
from datetime import UTC, datetime
from datetime import time as clock_time

import pytest
import yaml
from bot_process import ROOT, running_bots
from slack_harness import SimClock, harness_settings, make_harness, sample_deck
from slack_requests import SlackSender
from slack_standin import SlackStandin

from bot.config import ConfigError, Settings
from bot.slack.serve import http_port, serve
from bot.tutor import Tutor
from storage.db import open_db


def test_missing_variables_are_named() -> None:
    with pytest.raises(ConfigError, match="SLACK_APP_TOKEN"):
        serve(Settings(slack_bot_token="xoxb-1", slack_signing_secret="s"), http=False)
    with pytest.raises(ConfigError, match="SLACK_SIGNING_SECRET"):
        serve(Settings(slack_bot_token="xoxb-1"), http=True)
    with pytest.raises(ConfigError, match="SLACK_BOT_TOKEN"):
        serve(Settings(slack_signing_secret="s"), http=True)


def test_port_from_argument_or_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PORT", "8123")
    assert http_port(None) == 8123 and http_port(9000) == 9000
    monkeypatch.setenv("PORT", "http")
    with pytest.raises(ConfigError, match="PORT"):
        http_port(None)
    monkeypatch.delenv("PORT")
    assert http_port(None) == 3000


def test_signature_url_verification_and_health(tmp_path) -> None:
    with SlackStandin() as slack:
        h = make_harness(slack, harness_settings(slack, tmp_path / "t.db"), SimClock(datetime.now(UTC)))
        try:
            assert h.sender.url_verification("c-123").json() == {"challenge": "c-123"}
            forged = SlackSender(h.server.url + "/slack/events", "not-the-secret", slack=slack)
            assert forged.command("/tutor", "help", user_id="U0X000001", channel_id="C0X000001").status == 401
            stale = h.sender.post("command=%2Ftutor", "application/x-www-form-urlencoded",
                                  timestamp=int(time.time()) - 3600)
            assert stale.status == 401
            with urllib.request.urlopen(h.server.url + "/healthz") as response:
                assert response.read() == b"ok"
        finally:
            h.close()


def test_tutor_serve_http_process(tmp_path) -> None:
    """The Procfile's command against the stand-in: serves Slack, and its scheduler makes up the
    day's DM at start."""
    with SlackStandin() as slack, running_bots(slack, tmp_path) as bots:
        slack.add_user("U0ALICE01", name="alice")
        db = open_db(bots.db_path)
        tutor = Tutor(db)
        tutor.import_deck(sample_deck())
        tutor.ensure_learner("U0ALICE01", tz="UTC")
        tutor.join("U0ALICE01", "basics")
        tutor.set_delivery_time("U0ALICE01", clock_time(4, 0))  # the start of every learning day: due now
        db.conn.close()
        bot = bots.start()
        assert bot.sender.url_verification("hello").json() == {"challenge": "hello"}
        reply = bot.sender.command("/tutor", "stats", user_id="U0ALICE01", channel_id="D0ANY0001")
        assert reply.status == 200
        slack.wait_for(lambda: slack.responses(), what="the reply to /tutor stats")
        dm = slack.wait_for(lambda: slack.dm_messages("U0ALICE01"), timeout=20, what="the made-up DM")
        assert "review_show" in str(dm[0]["blocks"])
        bot.stop()
        assert "scheduler started" in bot.log()


def test_bot_process_does_not_import_torch() -> None:
    # Nor Celery without TUTOR_BROKER_URL: the bot's side of /finetune and its worker's engine are
    # plain Python; torch and the models load only in the worker process.
    code = ("import sys; import bot.slack.serve, bot.slack.app, bot.schedule, bot.slack.listeners; "
            "import bot.slack.listeners.finetune, bot.worker.engine, bot.worker.client, bot.finetune.cli; "
            "from bot.config import load_settings; from bot.worker.client import make_worker_client; "
            "make_worker_client(load_settings({})); "
            "heavy = ('torch', 'timm', 'matplotlib', 'celery', 'redis'); "
            "print(sorted(m for m in heavy if m in sys.modules))")
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                            check=True)
    assert result.stdout.strip() == "[]"


def test_manifest_creates_the_app() -> None:
    manifest = yaml.safe_load((ROOT / "manifest.yml").read_text())
    features, settings = manifest["features"], manifest["settings"]
    assert {c["command"] for c in features["slash_commands"]} == {"/tutor", "/finetune"}
    assert all(c["usage_hint"] and c["should_escape"] for c in features["slash_commands"])
    scopes = set(manifest["oauth_config"]["scopes"]["bot"])
    assert {"chat:write", "commands", "im:write", "im:history", "users:read", "channels:history",
            "groups:history", "channels:read", "files:read", "files:write"} <= scopes
    assert set(settings["event_subscriptions"]["bot_events"]) == {
        "app_home_opened", "member_joined_channel", "message.channels", "message.groups", "message.im"}
    assert settings["interactivity"]["is_enabled"] and settings["socket_mode_enabled"]
    assert features["app_home"]["home_tab_enabled"] and features["app_home"]["messages_tab_enabled"]
    procfile = (ROOT / "Procfile").read_text()
    assert "web: tutor serve --http" in procfile.splitlines()


def test_the_http_places_of_the_manifest_are_where_the_readme_says() -> None:
    """Four `# HTTP:` lines: `url` under each slash command, `request_url` under events and
    interactivity; uncommented, they are what Slack's manifest schema expects there."""
    text = (ROOT / "manifest.yml").read_text()
    marked = [line.strip() for line in text.splitlines() if line.strip().startswith("# HTTP:")]
    assert marked == ["# HTTP: url: https://YOUR-HOST/slack/events"] * 2 + [
        "# HTTP: request_url: https://YOUR-HOST/slack/events"] * 2
    http = yaml.safe_load(text.replace("# HTTP: ", ""))
    assert all(c["url"] == "https://YOUR-HOST/slack/events" for c in http["features"]["slash_commands"])
    assert http["settings"]["event_subscriptions"]["request_url"] == "https://YOUR-HOST/slack/events"
    assert http["settings"]["interactivity"]["request_url"] == "https://YOUR-HOST/slack/events"
    readme = (ROOT / "README.md").read_text()
    assert "the four places marked `# HTTP:`" in readme.replace("\n", " ")

"""Socket Mode, the README's default: the stand-in speaks it as Slack does (tests/slack_socket.py), and
`tutor serve` runs in it as a real process through /tutor join, a review clicked through with a
reconnect (`disconnect`, `refresh_requested`) in the middle, and a clean stop on SIGTERM."""

from __future__ import annotations

import json
import threading

import pytest
from slack_harness import buttons, text_of
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_socket import SocketModeServer, SocketSender
from slack_standin import SlackStandin
from tutor_process import TutorServer, tutor_env
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

from bot.slack.blocks import CHOICE_PREFIX, GRADE_PREFIX, NEXT, SHOW_ANSWER
from storage.db import open_db


def test_apps_connections_open_takes_the_app_level_token_only() -> None:
    with SlackStandin() as slack, SocketModeServer(slack):
        with pytest.raises(SlackApiError) as refused:
            WebClient(base_url=slack.api_url, token=slack.bot_token).apps_connections_open(
                app_token=slack.bot_token)
        assert refused.value.response["error"] == "not_allowed_token_type"
        with pytest.raises(SlackApiError) as refused:
            WebClient(base_url=slack.api_url).users_list(token=slack.app_token)
        assert refused.value.response["error"] == "not_allowed_token_type"
        url = WebClient(base_url=slack.api_url).apps_connections_open(app_token=slack.app_token)["url"]
        assert url.startswith("ws://127.0.0.1:") and "ticket=" in url and f"app_id={slack.app_id}" in url
        with connect(url) as socket:
            hello = json.loads(socket.recv(timeout=5))
            assert hello["type"] == "hello" and hello["connection_info"]["app_id"] == slack.app_id
        with pytest.raises(InvalidStatus) as used:  # a ticket works once
            connect(url).close()
        assert used.value.response.status_code == 401


def test_envelopes_are_acked_by_envelope_id() -> None:
    with SlackStandin() as slack, SocketModeServer(slack) as server:
        url = WebClient(base_url=slack.api_url).apps_connections_open(app_token=slack.app_token)["url"]
        with connect(url) as socket:
            socket.recv(timeout=5)  # hello
            sender = SocketSender(server)
            result: dict[str, object] = {}

            def app_side() -> None:
                envelope = json.loads(socket.recv(timeout=5))
                result["envelope"] = envelope
                socket.send(json.dumps({"envelope_id": envelope["envelope_id"], "payload": {"text": "hi"}}))

            worker = threading.Thread(target=app_side)
            worker.start()
            ack = sender.command("/tutor", "help", user_id="U0ALICE01", channel_id="C0GENERAL1")
            worker.join(5)
        envelope = result["envelope"]
        assert isinstance(envelope, dict) and envelope["type"] == "slash_commands"
        assert envelope["accepts_response_payload"] is True
        assert envelope["payload"]["command"] == "/tutor" and envelope["payload"]["text"] == "help"
        assert ack.envelope_id == envelope["envelope_id"] and ack.payload == {"text": "hi"}


def _review_step(sender: SocketSender, slack: SlackStandin, user: str) -> str:
    """Click the next button of the review in the member's DM; returns what was clicked."""
    message = slack.dm_messages(user)[-1]
    found = buttons(message)
    channel = slack.dm_channel(user)
    assert channel is not None
    for action_id in (SHOW_ANSWER, f"{GRADE_PREFIX}3", f"{CHOICE_PREFIX}0", NEXT):
        if action_id in found:
            ack = sender.block_action(user_id=user, channel_id=channel, message=message, action_id=action_id)
            assert ack.acked_in_time
            return action_id
    raise AssertionError(f"no review button in the DM: {text_of(message)}")


@pytest.mark.slow
def test_tutor_serve_in_socket_mode_join_review_reconnect_and_sigterm(tmp_path) -> None:
    user = "U0ALICE01"
    with SlackStandin() as slack, SocketModeServer(slack) as server:
        slack.add_user(user, name="alice", tz="Europe/Berlin")
        db_path = tmp_path / "tutor.db"  # a new database: the shipped deck is loaded at start
        env = tutor_env(SLACK_BOT_TOKEN=slack.bot_token, SLACK_APP_TOKEN=slack.app_token,
                        SLACK_API_URL=slack.api_url, TUTOR_DB=str(db_path))
        with TutorServer([], env, tmp_path / "serve.log") as bot:
            server.wait_connected()
            bot.wait_for_log("scheduler started")
            sender = SocketSender(server)

            before = len(slack.responses())
            ack = sender.command("/tutor", "join", user_id=user, channel_id="D0ANY0001")
            assert ack.acked_in_time
            joined = slack.wait_for(lambda: slack.responses()[before:], what="the reply to /tutor join")
            assert "You joined" in joined[0]["body"]["text"]
            assert "Why pre-trained models save time" in joined[0]["body"]["text"]

            sender.command("/tutor", "review", user_id=user, channel_id="D0ANY0001")
            slack.wait_for(lambda: slack.dm_messages(user), what="the review DM")
            clicks = 0
            while "Done for now" not in text_of(slack.dm_messages(user)[-1]):
                before_ts = json.dumps(slack.dm_messages(user)[-1])
                _review_step(sender, slack, user)
                clicks += 1
                slack.wait_for(lambda b=before_ts: json.dumps(slack.dm_messages(user)[-1]) != b,
                               what=f"the DM after click {clicks}")
                if clicks == 2:  # Slack asks for a refresh in the middle of the review
                    server.refresh()
                    server.wait_connected(opened=2)
                    slack.wait_for(lambda: server.open_connections == 1, what="the old connection closed")
                assert clicks < 40, "the review did not end"
            # one URL for the check at start (it expires unused), one per connection
            assert server.opened == 2 and len(slack.calls_to("apps.connections.open")) == 3

            code = bot.stop()
            log = bot.log()
        assert code == 0, log
        assert "SIGTERM: stopping" in log and "stopped" in log
        assert "Traceback" not in log
        assert "token will be unused" not in log  # Bolt's warning on every start is gone
        assert "apscheduler" not in log  # two INFO lines a minute, quiet unless TUTOR_LOG_LEVEL=DEBUG
    assert not (tmp_path / "tutor.db-wal").exists()  # the database was closed cleanly (WAL checkpointed)
    db = open_db(db_path)
    reviews = db.conn.execute("SELECT count(*) FROM review_log WHERE user_id = ?", (user,)).fetchone()[0]
    assert reviews == 5  # the day's new cards, each answered once across the reconnect


def test_a_refused_app_token_is_one_sentence(tmp_path) -> None:
    with SlackStandin(app_token="xapp-the-real-one") as slack, SocketModeServer(slack):
        env = tutor_env(SLACK_BOT_TOKEN=slack.bot_token, SLACK_APP_TOKEN="xapp-wrong",
                        SLACK_API_URL=slack.api_url, TUTOR_DB=str(tmp_path / "t.db"))
        with TutorServer([], env, tmp_path / "serve.log") as bot:
            code = bot.process.wait(60)
            log = bot.log()
    assert code == 1, log
    assert log.splitlines() == ["tutor: Slack refused SLACK_APP_TOKEN (invalid_auth); make an app-level "
                                "token with the connections:write scope under Basic Information → "
                                "App-Level Tokens (xapp-…)"]


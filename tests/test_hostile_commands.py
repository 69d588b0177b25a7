"""Hostile arguments and stale rights: numbers that `str.isdigit` accepts but `int` or SQLite
refuse (`²`, 20 digits) get the usage line, button values out of range change nothing and crash
nothing, and an admin who is demoted or deactivated loses admin rights at once."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from slack_harness import Harness, SimClock, buttons, harness_settings, make_harness, sample_deck, text_of
from slack_standin import SlackStandin

from bot.cli import main
from bot.config import ConfigError
from bot.slack.serve import http_port

ALICE, ADA = "U0ALICE01", "U0ADA0001"
HOSTILE_NUMBERS = ["99999999999999999999", "\u00b2", "#\u0663", "-1", "0", "1.5", "1e3", "9" * 5000, "1 2"]


@pytest.fixture
def h(tmp_path) -> Iterator[Harness]:
    with SlackStandin() as slack:
        slack.add_user(ALICE, name="alice", tz="Europe/Berlin")
        slack.add_user(ADA, name="ada", tz="Europe/Berlin", is_admin=True)
        harness = make_harness(slack, harness_settings(slack, tmp_path / "tutor.db"),
                               SimClock(datetime(2025, 3, 3, 9, tzinfo=UTC)))
        harness.ctx.tutor.import_deck(sample_deck())
        harness.general = slack.add_channel("general", members=[ALICE, ADA])  # type: ignore[attr-defined]
        yield harness
        harness.close()


def test_unschedule_with_hostile_numbers_answers_usage(h: Harness) -> None:
    for number in HOSTILE_NUMBERS:
        reply = text_of(h.command(f"unschedule {number}", user=ADA, channel=h.general))
        assert "Usage: `/tutor unschedule ID`" in reply, (number[:20], reply)
        assert "Something went wrong" not in reply
    assert "There is no schedule 42" in text_of(h.command("unschedule #42", user=ADA, channel=h.general))


def test_button_values_out_of_range_change_nothing(h: Harness, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING)
    h.command("join basics", user=ALICE, channel=h.general)
    h.command("review", user=ALICE, channel=h.general)
    dm, message = h.slack.dm_channel(ALICE), h.dm(ALICE)
    before = h.ctx.db.conn.execute("SELECT COUNT(*) FROM review_log").fetchone()[0]
    card = {"d": "basics", "c": "x"}
    for value in ({"s": 10**30, **card, "q": 1}, {"s": True, **card, "q": 1}, {"s": -1, **card, "q": 1.5},
                  {"s": 1}):
        h.click(ALICE, dm, message, "review_show", value=json.dumps(value))
    channel_post = {"ts": "1700000000.000100", "blocks": [{"type": "actions", "block_id": "q", "elements": [
        {"type": "button", "action_id": "qotd_choice_0", "text": {"type": "plain_text", "text": "A"},
         "value": json.dumps({"p": 10**30, "o": 0})}]}]}  # as if an old post carried such a value
    h.sender.block_action(user_id=ALICE, channel_id=h.general, message=channel_post,
                          action_id="qotd_choice_0")
    h.slack.wait_for(lambda: caplog.text.count("ignored review click") >= 4
                     and "ignored question-of-the-day click" in caplog.text, what="the clicks ignored")
    after = h.ctx.db.conn.execute("SELECT COUNT(*) FROM review_log").fetchone()[0]
    assert after == before and "review_show" in buttons(h.dm(ALICE))  # the card still waits
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR], caplog.text


def test_a_demoted_or_deactivated_admin_loses_rights_at_once(h: Harness) -> None:
    assert "No channel schedules" in text_of(h.command("schedules", user=ADA, channel=h.general))
    h.slack.add_user(ADA, name="ada", tz="Europe/Berlin", is_admin=False)  # demoted in Slack
    assert "is for admins" in text_of(h.command("schedules", user=ADA, channel=h.general))
    h.slack.add_user(ADA, name="ada", tz="Europe/Berlin", is_admin=True)
    assert "No channel schedules" in text_of(h.command("schedules", user=ADA, channel=h.general))
    h.slack.set_deleted(ADA)  # deactivated
    assert "is for admins" in text_of(h.command("schedules", user=ADA, channel=h.general))


@pytest.mark.parametrize("port", ["\u00b2", "99999999999999999999", "0", "65536", "-80", "80 80"])
def test_port_must_be_a_port(port: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PORT", port)
    with pytest.raises(ConfigError, match="must be a TCP port number"):
        http_port(None)


def test_terminal_review_asks_again_for_hostile_numbers(tmp_path, capsys, monkeypatch) -> None:
    deck = tmp_path / "one.yaml"
    deck.write_text("deck: one\ntitle: One\ncards:\n  - type: mcq\n    question: Which?\n"
                    "    options: [right, wrong]\n    answer: A\n")
    db = str(tmp_path / "t.db")
    assert main(["--db", db, "deck", "import", str(deck)]) == 0
    answers = "\n".join(["\u00b2", "9" * 5000, "99999999999999999999", "-1", "1"]) + "\nq\n"
    monkeypatch.setattr("sys.stdin", io.StringIO(answers))
    now = "2025-03-03T09:00:00+00:00"
    assert main(["--db", db, "review", "--user", "ana", "--deck", "one", "--now", now]) == 0
    out = capsys.readouterr().out
    assert out.count("Type a number from 1 to 2") == 4 and "Right!" in out


def test_port_argument_out_of_range_is_named() -> None:
    with pytest.raises(ConfigError, match="--port 70000 must be a TCP port number"):
        http_port(70000)


def test_a_home_time_that_is_no_time_changes_nothing(h: Harness, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.ERROR)
    h.command("join basics", user=ALICE, channel=h.general)
    before = h.ctx.tutor.learner(ALICE).delivery_time  # type: ignore[union-attr]
    view = {"id": "V0HOME", "type": "home", "blocks": [{"type": "actions", "block_id": "t", "elements": [
        {"type": "static_select", "action_id": "home_time", "options": [
            {"text": {"type": "plain_text", "text": "late"}, "value": "25:99"}]}]}]}
    published = len(h.slack.calls_to("views.publish"))
    assert h.sender.home_action(user_id=ALICE, action_id="home_time", value="25:99", view=view).status == 200
    h.slack.wait_for(lambda: len(h.slack.calls_to("views.publish")) > published, what="the Home tab redrawn")
    assert h.ctx.tutor.learner(ALICE).delivery_time == before  # type: ignore[union-attr]
    assert not caplog.records, caplog.text

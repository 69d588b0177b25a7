"""`/tutor` end to end: the app served by waitress, Slack-signed requests, the Web API stand-in."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, time

import pytest
from slack_harness import Harness, SimClock, buttons, harness_settings, make_harness, sample_deck, text_of
from slack_standin import SlackStandin

ALICE, BOB, ADA = "U0ALICE01", "U0BOB0001", "U0ADA0001"


@pytest.fixture
def h(tmp_path) -> Iterator[Harness]:
    with SlackStandin() as slack:
        slack.add_user(ALICE, name="alice", tz="Europe/Berlin")
        slack.add_user(BOB, name="bob", tz="America/Los_Angeles")
        slack.add_user(ADA, name="ada", tz="Asia/Tokyo", is_admin=True)
        harness = make_harness(slack, harness_settings(slack, tmp_path / "tutor.db"),
                               SimClock(datetime(2025, 3, 3, 7, 0, tzinfo=UTC)))
        harness.general = slack.add_channel("general", members=[ALICE, BOB, ADA])  # type: ignore[attr-defined]
        yield harness
        harness.close()


def test_help_is_ephemeral_and_admins_see_more(h: Harness) -> None:
    body = h.command("", user=ALICE, channel=h.general)
    assert body.get("response_type") == "ephemeral"
    assert "/tutor join" in text_of(body) and "/tutor schedule" not in text_of(body)
    admin = h.command("help", user=ADA, channel=h.general)
    assert "/tutor schedule" in text_of(admin) and "/tutor import" in text_of(admin)
    assert h.slack.messages(h.general) == []  # nothing visible to the channel


def test_join_time_pause_resume_stats(h: Harness) -> None:
    tutor = h.ctx.tutor
    assert "No deck" in text_of(h.command("join", user=ALICE, channel=h.general))
    tutor.import_deck(sample_deck())
    body = h.command("join", user=ALICE, channel=h.general)  # the only deck: joined
    assert "Transfer learning basics" in text_of(body)
    learner = tutor.learner(ALICE)
    assert learner is not None and learner.decks == ("basics",)
    assert learner.tz == "Europe/Berlin"  # from users.info
    assert h.slack.wait_for(lambda: h.slack.home_view(ALICE), what="home published after join")

    tutor.import_deck(sample_deck("second"))
    listing = text_of(h.command("join", user=BOB, channel=h.general))  # two decks: a list
    assert "`basics`" in listing and "`second`" in listing and "Which one?" in listing
    assert tutor.learner(BOB) is None or not tutor.learner(BOB).decks
    assert "second" in text_of(h.command("join second", user=BOB, channel=h.general))
    assert "there is no deck 'nope'" in text_of(h.command("join nope", user=BOB, channel=h.general))

    assert "07:45" in text_of(h.command("time 07:45", user=ALICE, channel=h.general))
    assert tutor.learner(ALICE).delivery_time == time(7, 45)
    assert "is not a time" in text_of(h.command("time 25:99", user=ALICE, channel=h.general))

    assert "Paused" in text_of(h.command("pause", user=ALICE, channel=h.general))
    assert tutor.learner(ALICE).paused
    assert "Welcome back" in text_of(h.command("resume", user=ALICE, channel=h.general))
    assert not tutor.learner(ALICE).paused

    stats = h.command("stats", user=ALICE, channel=h.general)
    assert stats.get("response_type") == "ephemeral"
    assert "Streak" in text_of(stats) and "07:45" in text_of(stats)
    assert all(r["user"] in (ALICE, BOB) for r in h.slack.responses())
    assert h.slack.messages(h.general) == []

    assert "left" in text_of(h.command("leave", user=ALICE, channel=h.general))
    assert tutor.learner(ALICE).decks == ()


def test_unknown_verb_and_admin_refusal(h: Harness) -> None:
    assert "Try `/tutor help`" in text_of(h.command("dance", user=ALICE, channel=h.general))
    for verb in ("schedule #general basics 09:00", "schedules", "unschedule 1", "import"):
        refusal = text_of(h.command(verb, user=BOB, channel=h.general))
        assert "is for admins" in refusal, verb
    assert not [c for c in h.slack.calls if c[0] in ("conversations.info", "conversations.history")]


def test_tutor_admins_setting_grants_admin(tmp_path) -> None:
    with SlackStandin() as slack:
        slack.add_user(BOB, name="bob")
        settings = harness_settings(slack, tmp_path / "t.db", admins=(BOB,))
        h = make_harness(slack, settings, SimClock(datetime(2025, 3, 3, tzinfo=UTC)))
        try:
            channel = slack.add_channel("general", members=[BOB])
            assert "No channel schedules" in text_of(h.command("schedules", user=BOB, channel=channel))
        finally:
            h.close()


def test_review_command_and_home_tab(h: Harness) -> None:
    h.ctx.tutor.import_deck(sample_deck())
    assert "Join a deck first" in text_of(h.command("review", user=ALICE, channel=h.general))
    h.command("join basics", user=ALICE, channel=h.general)
    reply = text_of(h.command("review", user=ALICE, channel=h.general))
    assert "Your review is in" in reply
    dm = h.dm(ALICE)
    assert "review_show" in buttons(dm)  # the first card is a flashcard

    reply = h.sender.app_home_opened(ALICE)
    assert reply.status == 200
    view = h.slack.wait_for(lambda: (v := h.slack.home_view(ALICE)) and "Streak" in text_of(v) and v,
                            what="home view")
    assert {"home_review", "home_pause", "home_time"} <= set(buttons(view))
    assert "Admin" not in text_of(view)

    h.sender.home_action(user_id=ALICE, action_id="home_pause")
    h.slack.wait_for(lambda: h.ctx.tutor.learner(ALICE).paused, what="paused from home")
    h.slack.wait_for(lambda: "home_resume" in buttons(h.slack.home_view(ALICE)), what="resume button")
    h.sender.home_action(user_id=ALICE, action_id="home_resume")
    h.slack.wait_for(lambda: not h.ctx.tutor.learner(ALICE).paused, what="resumed from home")
    h.slack.wait_for(lambda: "home_pause" in buttons(h.slack.home_view(ALICE)), what="pause button")
    h.sender.home_action(user_id=ALICE, action_id="home_time", value="06:30")
    h.slack.wait_for(lambda: h.ctx.tutor.learner(ALICE).delivery_time == time(6, 30), what="time from home")

    h.sender.app_home_opened(ADA)  # an admin sees decks and per-question stats below
    admin_view = h.slack.wait_for(lambda: (v := h.slack.home_view(ADA)) and "Admin" in text_of(v) and v,
                                  what="admin home")
    assert "`basics`" in text_of(admin_view) and "join" in text_of(admin_view)

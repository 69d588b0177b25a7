"""`/tutor assign #channel DECK [TIME] [TZ]` and `/tutor unassign`, end to end against the stand-in:
everyone in the channel enrolled and told once, later joiners enrolled (`member_joined_channel`),
someone who left the deck never enrolled again, the App Home's participation, and the queued DM a
restart would leave sent by the minute tick, or settled from the DM history when its send had an
unknown outcome."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, time, timedelta

import pytest
from slack_harness import Harness, SimClock, harness_settings, make_harness, sample_deck, text_of
from slack_standin import SlackStandin

from bot.schedule import tick
from bot.slack import marks
from bot.slack.app import executor_of
from bot.slack.assignments import enroll, member_time, notice_message
from bot.slack.parsing import CommandError, parse_assign
from bot.slack.review import dm_channel

ADMIN, ALICE, BOB, CAROL, DAVE, ERIN = ("U0ADMIN01", "U0ALICE01", "U0BOB0001", "U0CAROL01", "U0DAVE001",
                                         "U0ERIN001")
GHOST, ROBOT = "U0GHOST01", "U0ROBOT01"
MONDAY = datetime(2025, 3, 3, 7, 0, tzinfo=UTC)


@pytest.fixture
def h(tmp_path) -> Iterator[Harness]:
    with SlackStandin() as slack:
        slack.add_user(ADMIN, name="ada", tz="Europe/Berlin", is_admin=True)
        slack.add_user(ALICE, name="alice", tz="America/New_York")
        slack.add_user(BOB, name="bob", tz="Europe/Berlin")
        slack.add_user(CAROL, name="carol", tz="Europe/Berlin")
        slack.add_user(DAVE, name="dave", tz="Asia/Tokyo")
        slack.add_user(ERIN, name="erin", tz="Europe/London")
        slack.add_user(GHOST, name="ghost", deleted=True)
        slack.add_user(ROBOT, name="robot", is_bot=True)
        harness = make_harness(slack, harness_settings(slack, tmp_path / "tutor.db"), SimClock(MONDAY))
        tutor = harness.ctx.tutor
        tutor.import_deck(sample_deck())
        tutor.import_deck(sample_deck("second"))
        tutor.ensure_learner(CAROL, tz="Europe/Berlin")
        tutor.join(CAROL, "basics")
        tutor.leave(CAROL, "basics")  # carol tried it and left: her choice stands
        tutor.ensure_learner(DAVE, tz="Asia/Tokyo")
        tutor.join(DAVE, "second")
        tutor.set_delivery_time(DAVE, time(7, 15))  # dave has his own time already
        harness.team = slack.add_channel(  # type: ignore[attr-defined]
            "team", members=[ADMIN, ALICE, BOB, CAROL, DAVE, GHOST, ROBOT])
        yield harness
        harness.close()


def notices(h: Harness, user: str) -> list[dict]:
    return [m for m in h.slack.dm_messages(user) if "You are now in the daily review" in text_of(m)]


def test_assign_enrolls_the_channel_and_tells_each_new_member_once(h: Harness) -> None:
    team, tutor = h.team, h.ctx.tutor  # type: ignore[attr-defined]
    reply = text_of(h.command(f"assign <#{team}|team> basics 08:00 Europe/Berlin", user=ADMIN, channel=team))
    # ada, alice, bob and dave enrolled; carol had left; the deactivated member and the bot passed over
    assert "4 members enrolled" in reply and "1 had left it and were not added back" in reply
    assert "Members who join" in reply and f"/tutor unassign <#{team}> basics" in reply
    for user in (ADMIN, ALICE, BOB, DAVE):
        assert "basics" in tutor.learner(user).decks
    assert tutor.enrollment(CAROL, "basics") == "left" and tutor.learner(GHOST) is None
    # New learners get the assignment's time in their own zone; dave keeps the time he chose.
    assert tutor.learner(BOB).delivery_time == time(8, 0)
    assert tutor.learner(ALICE).delivery_time == time(2, 0)  # 08:00 in Berlin is 02:00 in New York
    assert tutor.learner(DAVE).delivery_time == time(7, 15)
    [notice] = notices(h, ALICE)
    text = text_of(notice)
    assert "Transfer learning basics" in text and f"<#{team}>" in text and f"<@{ADMIN}>" in text
    assert "02:00" in text and "America/New_York" in text
    assert "/tutor pause" in text and "/tutor time 08:30" in text and "/tutor leave basics" in text
    assert notices(h, CAROL) == [] and h.slack.dm_channel(GHOST) is None

    again = text_of(h.command(f"assign <#{team}> basics", user=ADMIN, channel=team))
    assert "0 members enrolled" in again and "4 already in it" in again and "assigned already" in again
    assert len(notices(h, ALICE)) == 1 and len(notices(h, BOB)) == 1  # told once


def test_later_joiners_are_enrolled_and_a_retried_event_changes_nothing(h: Harness) -> None:
    team, tutor = h.team, h.ctx.tutor  # type: ignore[attr-defined]
    h.command(f"assign <#{team}> basics", user=ADMIN, channel=team)
    event = h.slack.add_member(team, ERIN)
    for retry in (None, 1):  # Slack retries an event it thinks failed
        assert h.sender.event(event, retry_num=retry, event_id="Ev0ERINJOIN1").status == 200
    h.slack.wait_for(lambda: notices(h, ERIN), what="erin's enrollment DM")
    assert tutor.learner(ERIN).decks == ("basics",) and tutor.learner(ERIN).tz == "Europe/London"
    h.sender.event(h.slack.add_member(h.slack.add_channel("random", members=[ADMIN]), CAROL))
    assert h.sender.event(h.slack.add_member(team, CAROL)).status == 200  # left the deck: stays out
    h.slack.wait_for(lambda: h.svc.assignments.outcomes(1).get(CAROL), what="carol seen")
    assert len(notices(h, ERIN)) == 1 and tutor.enrollment(CAROL, "basics") == "left"

    # Someone who leaves the deck is not brought back by another channel's assignment of it.
    h.command("leave basics", user=ERIN, channel=team)
    lab = h.slack.add_channel("lab", members=[ADMIN, ERIN])
    reply = text_of(h.command(f"assign <#{lab}> basics", user=ADMIN, channel=lab))
    assert "1 had left it" in reply and tutor.enrollment(ERIN, "basics") == "left"


def test_home_shows_admins_each_assignment_with_participation(h: Harness) -> None:
    team, tutor = h.team, h.ctx.tutor  # type: ignore[attr-defined]
    h.command(f"assign <#{team}> basics 09:30", user=ADMIN, channel=team)
    [item] = tutor.due_cards(BOB, MONDAY)[:1]
    tutor.grade(BOB, "basics", item.card.id, 3, seq=item.seq, now=MONDAY, source="dm")
    h.command("pause", user=ALICE, channel=team)
    h.sender.app_home_opened(ADMIN)
    view = h.slack.wait_for(lambda: (v := h.slack.home_view(ADMIN)) and "Assigned decks" in text_of(v) and v,
                            what="the admin's Home")
    line = next(part for part in text_of(view).splitlines() if f"<#{team}>" in part and "basics" in part)
    # ada, alice, bob, dave (enrolled or already in it) and carol (had left)
    assert "5 members: 3 active, 1 paused, 1 left · 1 reviewed in the last 7 days" in line
    assert "09:30 local" in line
    h.sender.app_home_opened(ALICE)
    member_view = h.slack.wait_for(lambda: h.slack.home_view(ALICE), what="alice's Home")
    assert "Assigned decks" not in text_of(member_view)


def test_unassign_stops_enrolling_and_members_keep_their_review(h: Harness) -> None:
    team, tutor = h.team, h.ctx.tutor  # type: ignore[attr-defined]
    h.command(f"assign <#{team}> basics", user=ADMIN, channel=team)
    reply = text_of(h.command(f"unassign <#{team}> basics", user=ADMIN, channel=team))
    assert "no longer enrolled" in reply and "4 members it enrolled keep their daily review" in reply
    h.sender.event(h.slack.add_member(team, ERIN))
    assert executor_of(h.app).wait_idle(10)  # the event's listener is done
    assert tutor.learner(BOB).decks == ("basics",)
    assert "is not assigned" in text_of(h.command(f"unassign <#{team}> basics", user=ADMIN, channel=team))
    assert h.svc.assignments.active() == [] and tutor.learner(ERIN) is None


def test_assign_is_for_admins_and_checks_its_words(h: Harness) -> None:
    team = h.team  # type: ignore[attr-defined]
    assert "is for admins" in text_of(h.command(f"assign <#{team}> basics", user=BOB, channel=team))
    assert h.ctx.tutor.learner(ALICE) is None
    assert "there is no deck 'nope'" in text_of(h.command(f"assign <#{team}> nope", user=ADMIN, channel=team))
    assert "Usage" in text_of(h.command("assign", user=ADMIN, channel=team))
    with pytest.raises(CommandError, match="goes with a time"):
        parse_assign(("#team", "basics", "Europe/Berlin"))
    with pytest.raises(CommandError, match="neither a time"):
        parse_assign(("#team", "basics", "soon"))
    request = parse_assign(("<#C0TEAM0001|team>", "basics", "Asia/Tokyo", "7:30am"))
    assert (request.channel.id, request.deck, request.at, request.tz) == ("C0TEAM0001", "basics", time(7, 30),
                                                                           "Asia/Tokyo")


def test_a_queued_dm_left_by_a_restart_is_sent_by_the_tick(h: Harness) -> None:
    team = h.team  # type: ignore[attr-defined]
    assignment, _ = h.svc.assignments.add(channel_id=team, channel_name="team", deck="basics", at_time=None,
                                          tz=None, created_by=ADMIN, now=MONDAY)
    enroll(h.svc, h.client, assignment, [ALICE], MONDAY)  # enrolled, then the process stopped
    assert notices(h, ALICE) == [] and h.svc.assignments.notice_status(ALICE, "basics") == "pending"
    report = tick(h.svc, h.client, MONDAY)
    assert report.notices.sent == 1 and len(notices(h, ALICE)) == 1
    assert tick(h.svc, h.client, MONDAY).notices.sent == 0


def test_a_dm_whose_send_had_an_unknown_outcome_is_settled_from_slack(h: Harness) -> None:
    team = h.team  # type: ignore[attr-defined]
    assignment, _ = h.svc.assignments.add(channel_id=team, channel_name="team", deck="basics", at_time=None,
                                          tz=None, created_by=ADMIN, now=MONDAY)
    enroll(h.svc, h.client, assignment, [ALICE, BOB], MONDAY)
    alice, bob = h.svc.assignments.claim_notices(MONDAY)  # both claimed, then the process died:
    marked = marks.enrollment_notice(alice.id).on(notice_message(h.svc, alice, assignment))
    h.client.chat_postMessage(channel=dm_channel(h.svc, h.client, ALICE), **marked.as_kwargs())  # after
    # alice's DM reached Slack, before bob's was sent
    early = tick(h.svc, h.client, MONDAY + timedelta(seconds=30)).notices
    assert (early.recovered, early.sent) == (0, 0)  # too recent: it may be in flight elsewhere
    report = tick(h.svc, h.client, MONDAY + marks.RECONCILE_AFTER + timedelta(seconds=1)).notices
    assert (report.recovered, report.sent) == (1, 1)
    assert len(notices(h, ALICE)) == 1 and len(notices(h, BOB)) == 1
    assert h.svc.assignments.notice_status(ALICE, "basics") == "sent"
    assert h.slack.dm_messages(BOB)[-1]["metadata"]["event_payload"] == {"notice_id": bob.id}


def test_member_time_converts_between_zones() -> None:
    assert member_time(time(9, 0), None, "Asia/Tokyo", MONDAY) == time(9, 0)
    assert member_time(time(9, 0), "Europe/Berlin", "Asia/Tokyo", MONDAY) == time(17, 0)
    assert member_time(time(9, 0), "UTC", "America/Los_Angeles", MONDAY) == time(1, 0)

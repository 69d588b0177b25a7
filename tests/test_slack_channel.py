"""Question of the day end to end: an admin schedules it, the bot posts at the local time, members
answer with buttons (a reply only they see, a live tally for all), and at the close the answer,
the distribution and the explanation go in the thread. 100 members clicking at once are all counted."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest
from slack_harness import Harness, SimClock, buttons, harness_settings, make_harness, sample_deck, text_of
from slack_standin import SlackStandin

from bot.schedule import tick

ALICE, BOB, ADA = "U0ALICE01", "U0BOB0001", "U0ADA0001"
MONDAY = datetime(2025, 3, 3, 7, 0, tzinfo=UTC)  # 08:00 in Berlin


@pytest.fixture
def h(tmp_path) -> Iterator[Harness]:
    with SlackStandin() as slack:
        slack.add_user(ALICE, name="alice", tz="Europe/Berlin")
        slack.add_user(BOB, name="bob", tz="America/New_York")
        slack.add_user(ADA, name="ada", tz="Europe/Berlin", is_owner=True)
        harness = make_harness(slack, harness_settings(slack, tmp_path / "tutor.db"), SimClock(MONDAY))
        harness.ctx.tutor.import_deck(sample_deck())
        harness.general = slack.add_channel("general", members=[ALICE, BOB, ADA])  # type: ignore[attr-defined]
        yield harness
        harness.close()


def post_of(h: Harness) -> dict:
    return h.slack.messages(h.general)[-1]


def test_schedule_post_answer_tally_close(h: Harness) -> None:
    reply = text_of(h.command(f"schedule <#{h.general}|general> basics 09:00 mon-fri Europe/Berlin "
                              "close 17:00", user=ADA, channel=h.general))
    assert "Scheduled *1*" in reply and "today 09:00" in reply
    assert "basics" in text_of(h.command("schedules", user=ADA, channel=h.general))
    assert tick(h.svc, h.client).channels.posted == 0  # 08:00: not yet

    h.clock.set(MONDAY + timedelta(hours=1))  # 09:00 Berlin
    assert tick(h.svc, h.client).channels.posted == 1
    assert tick(h.svc, h.client).channels.posted == 0  # once
    post = post_of(h)
    assert "Question of the day" in text_of(post) and "No answers yet" in text_of(post)
    assert buttons(post)["qotd_choice_1"]["text"]["text"] == "B. The classification head"

    h.click(ALICE, h.general, post, "qotd_choice_1")
    mine = h.slack.wait_for(lambda: h.slack.ephemerals(h.general, ALICE), what="Alice's feedback")
    assert "Right!" in text_of(mine[0]) and "Think of the last layer" in text_of(mine[0])
    h.slack.wait_for(lambda: "1 answer so far" in text_of(post_of(h)), what="tally 1")
    h.click(BOB, h.general, post, "qotd_choice_0")
    bobs = h.slack.wait_for(lambda: h.slack.ephemerals(h.general, BOB), what="Bob's feedback")
    assert "Not quite" in text_of(bobs[0]) and "*Answer:* *B.*" in text_of(bobs[0])
    h.slack.wait_for(lambda: "2 answers so far" in text_of(post_of(h)), what="tally 2")
    h.click(BOB, h.general, post, "qotd_choice_1")  # changing his mind: the first answer stands
    again = h.slack.wait_for(lambda: h.slack.ephemerals(h.general, BOB)[1:], what="second feedback")
    assert "already answered A" in text_of(again[0]) and "Not quite" in text_of(again[0])
    channel_text = text_of(post_of(h))
    assert "2 answers so far" in channel_text and "Right" not in channel_text and "Answer" not in channel_text
    assert h.svc.state.answer_counts(1) == {0: 1, 1: 1}
    assert h.ctx.tutor.stats(ALICE, h.clock()).reviewed_today == 1  # the answer counts as a review
    assert h.ctx.tutor.learner(BOB).tz == "America/New_York"

    h.clock.set(MONDAY + timedelta(hours=9))  # 17:00 Berlin: closes
    assert tick(h.svc, h.client).channels.closed == 1
    [reveal] = h.slack.replies(h.general, post["ts"])
    text = text_of(reveal)
    assert "*Answer:* *B.* The classification head" in text and "1 of 2 right (50%)" in text
    assert "1 (50%)" in text and "maps features to" in text and "Replacing the input layer" in text
    closed = h.slack.wait_for(lambda: "Closed" in text_of(post_of(h)) and post_of(h), what="closed post")
    assert "qotd_choice_0" not in buttons(closed) and "2 answers" in text_of(closed)
    h.click(ALICE, h.general, post, "qotd_choice_1")  # a click on the old buttons after the close
    late = h.slack.wait_for(lambda: h.slack.ephemerals(h.general, ALICE)[1:], what="late click reply")
    assert "closed" in text_of(late[0])

    h.clock.set(MONDAY + timedelta(days=1, hours=1))  # Tuesday 09:00: the next question
    assert tick(h.svc, h.client).channels.posted == 1
    assert "learning rate" in text_of(post_of(h))  # the question the channel has not seen
    h.clock.set(MONDAY + timedelta(days=5, hours=1))  # Saturday: mon-fri only
    before = len(h.slack.messages(h.general))
    tick(h.svc, h.client)
    assert len(h.slack.messages(h.general)) == before

    reply = text_of(h.command("unschedule 1", user=ADA, channel=h.general))
    assert "Stopped schedule *1*" in reply
    assert h.svc.state.schedules() == []


def test_without_close_time_the_next_post_closes(h: Harness) -> None:
    h.command(f"schedule {h.general} basics 09:00 daily Europe/Berlin", user=ADA, channel=h.general)
    h.clock.set(MONDAY + timedelta(hours=1))
    tick(h.svc, h.client)
    first = post_of(h)
    h.click(ALICE, h.general, first, "qotd_choice_1")
    h.slack.wait_for(lambda: "1 answer" in text_of(post_of(h)), what="tally")
    h.clock.set(MONDAY + timedelta(days=1, hours=1))
    report = tick(h.svc, h.client).channels
    assert report.posted == 1
    [reveal] = h.slack.replies(h.general, first["ts"])
    assert "1 of 1 right" in text_of(reveal)
    h.clock.set(MONDAY + timedelta(days=2, hours=1))
    tick(h.svc, h.client)
    assert "Which layer" in text_of(post_of(h))  # both seen: the deck cycles


def test_a_post_missed_while_down_is_made_up_before_its_close(h: Harness) -> None:
    h.command(f"schedule <#{h.general}|general> basics 09:00 daily Europe/Berlin close 12:00", user=ADA,
              channel=h.general)
    h.clock.set(MONDAY + timedelta(hours=3))  # 11:00 Berlin: the bot was down at 09:00
    assert tick(h.svc, h.client).channels.posted == 1
    h.clock.set(MONDAY + timedelta(days=1, hours=5, minutes=30))  # Tuesday 13:30: down past the close
    report = tick(h.svc, h.client).channels
    assert report.posted == 0 and report.closed == 1  # Monday's closes; Tuesday's is not made up
    assert len(h.slack.messages(h.general)) == 1


def test_schedule_errors(h: Harness) -> None:
    private = h.slack.add_channel("secret", members=[ADA], is_private=True, bot_is_member=False)
    cases = {
        f"schedule <#{private}|secret> basics 09:00": "invite me",
        f"schedule <#{h.general}|general> nope 09:00": "nope",
        f"schedule <#{h.general}|general> basics 9h": "is not a time",
        f"schedule <#{h.general}|general> basics 09:00 someday": "neither days",
        f"schedule <#{h.general}|general> basics 09:00 close 08:00": "must be after",
        "schedule general basics 09:00": "not a channel",
        "unschedule 42": "no schedule 42",
    }
    for text, expected in cases.items():
        assert expected in text_of(h.command(text, user=ADA, channel=h.general)), text
    assert h.svc.state.schedules() == []


def test_hundred_members_click_at_once(h: Harness) -> None:
    members = [f"U0M{i:06d}" for i in range(100)]
    for user in members:
        h.slack.add_user(user, name=user.lower(), tz="Europe/Berlin")
        h.slack.add_member(h.general, user)
    h.command(f"schedule <#{h.general}|general> basics 09:00 daily Europe/Berlin", user=ADA,
              channel=h.general)
    h.clock.set(MONDAY + timedelta(hours=1))
    tick(h.svc, h.client)
    post = post_of(h)

    def click(index: int) -> int:
        return h.click(members[index], h.general, post, f"qotd_choice_{index % 4}").status

    with ThreadPoolExecutor(max_workers=50) as pool:
        assert set(pool.map(click, range(100))) == {200}
    everyone = set(members)
    h.slack.wait_for(lambda: sum(e["recipient"] in everyone for e in h.slack.ephemerals(h.general)) == 100,
                     timeout=30, what="100 replies")
    assert h.svc.state.answer_counts(1) == {0: 25, 1: 25, 2: 25, 3: 25}
    h.slack.wait_for(lambda: "100 answers so far" in text_of(post_of(h)), timeout=30, what="tally 100")
    assert len(h.slack.calls_to("chat.update")) <= 100  # coalesced, never one racing update per click
    assert sum(h.ctx.tutor.stats(u, h.clock()).reviewed_today for u in members) == 100

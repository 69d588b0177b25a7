"""A simulated week (across the US switch to daylight saving time): three members in Los Angeles,
Berlin and Tokyo get their DM at 08:30 local each day and answer it over HTTP; a channel gets its
question of the day at 09:00 Berlin on weekdays; the bot is down for a few hours (a missed delivery
is made up at start by a new process over the same database) and ticks run twice: nothing is ever
sent twice. (Two processes ticking at once: tests/test_slack_delivery.py.)"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from slack_harness import Harness, SimClock, buttons, harness_settings, make_harness, text_of
from slack_standin import SlackStandin

from bot.schedule import tick
from bot.worker.engine import WarmWorker
from content.loader import load_deck_file

LA, BERLIN, TOKYO, ADMIN = "U0LA00001", "U0BER0001", "U0TYO0001", "U0ADM0001"
ZONES = {LA: "America/Los_Angeles", BERLIN: "Europe/Berlin", TOKYO: "Asia/Tokyo"}
DECK = Path(__file__).resolve().parent.parent / "content" / "decks" / "pretrained-models-cv.yaml"
START = datetime(2025, 3, 5, 0, 0, tzinfo=UTC)  # Wednesday; the US changes clocks on Sunday 9 March
STEP = timedelta(minutes=15)
DOWN_FROM = datetime(2025, 3, 8, 22, 0, tzinfo=UTC)  # Saturday evening UTC…
DOWN_UNTIL = datetime(2025, 3, 9, 2, 0, tzinfo=UTC)  # …to Sunday 02:00: Tokyo's 08:30 (23:30 UTC) missed


def write_answer(h: Harness, user: str, channel: str | None, message: dict) -> None:
    """An open prompt: open the answer modal, submit an answer, wait for its grade."""
    opened = len(h.slack.modal_views(user))
    h.click(user, channel, message, "review_write")
    found = h.slack.wait_for(lambda: h.slack.modal_views(user)[opened:], what=f"{user}'s answer modal")
    view = found[0]["view"]
    value = {"type": "plain_text_input", "value": "It was trained on a large dataset, so it needs less data."}
    h.sender.view_submission(user_id=user, values={"answer": {"answer": value}}, view=view)
    h.slack.wait_for(lambda: "You got" in text_of(h.dm(user)), what=f"{user}'s grade")


def answer_session(h: Harness, user: str) -> int:
    """Click through the member's current DM review until its summary; returns the answers given."""
    channel = h.slack.dm_channel(user)
    answers = 0
    for _ in range(40):
        message = h.dm(user)
        found = buttons(message)
        if not found:
            return answers
        if "review_write" in found:
            write_answer(h, user, channel, message)
            answers += 1
            continue
        if "review_show" in found:
            action = "review_show"
        elif "review_grade_3" in found:
            action, answers = "review_grade_3", answers + 1
        elif "review_next" in found:
            action = "review_next"
        else:
            action, answers = "review_choice_0", answers + 1
        before = message.get("edited", {}).get("ts")
        h.click(user, channel, message, action)
        h.slack.wait_for(lambda was=before: h.dm(user).get("edited", {}).get("ts") != was,
                         what=f"{user} {action}")
    raise AssertionError(f"{user}'s review did not end")


def test_a_week(tmp_path, grade_worker: WarmWorker) -> None:
    # Answers are graded by the session's warm worker, which outlives the bot's restart as a real
    # worker does (a cold one takes longer to import its model than a test waits for a grade).
    with SlackStandin() as slack:
        for user, zone in ZONES.items():
            slack.add_user(user, name=user.lower(), tz=zone)
        slack.add_user(ADMIN, name="admin", tz="Europe/Berlin", is_admin=True)
        channel = slack.add_channel("learning", members=[*ZONES, ADMIN])
        h = make_harness(slack, harness_settings(slack, tmp_path / "tutor.db"), SimClock(START),
                         worker=grade_worker)
        h.ctx.tutor.import_deck(load_deck_file(DECK).deck)
        for user in ZONES:
            h.command("join", user=user, channel=channel)
        h.command(f"schedule <#{channel}|learning> pretrained-models-cv 09:00 mon-fri Europe/Berlin "
                  "close 17:00", user=ADMIN, channel=channel)
        answered: Counter[tuple[str, date]] = Counter()  # (member, learning day) -> answers
        made_up = None
        now = START
        while now < START + timedelta(days=7):
            if DOWN_FROM <= now < DOWN_UNTIL:
                if now == DOWN_FROM:
                    h.close()  # the bot is down
                now += STEP
                continue
            if now == DOWN_UNTIL:
                h = make_harness(slack, h.settings, h.clock, worker=grade_worker)  # a new process, same db
            h.clock.set(now)
            report = tick(h.svc, h.client)
            if now == DOWN_UNTIL:
                made_up = report.deliveries.users_sent
            if now.minute == 30:
                assert tick(h.svc, h.client).deliveries.sent == 0  # a tick that runs twice sends nothing
            for user in report.deliveries.users_sent:
                answered[user, h.ctx.tutor.learning_day(user, now)] += answer_session(h, user)
            now += STEP

        assert made_up == [TOKYO]  # Sunday 11:00 in Tokyo: its learning day was still on
        deliveries = h.svc.state.deliveries()
        assert len({(d.user_id, d.learning_day) for d in deliveries}) == len(deliveries)
        for user, zone in ZONES.items():
            sent = [d for d in deliveries if d.user_id == user and d.status == "sent"]
            assert len(slack.dm_messages(user)) == len(sent)  # one DM per delivery, never two
            assert len(sent) >= 5
            for delivery in sent:
                local = delivery.claimed_at.astimezone(ZoneInfo(zone))
                if delivery.claimed_at not in (START, DOWN_UNTIL):  # joined late / made up
                    assert local.time() == time(8, 30), (user, local)  # DST included
                    assert local.date() == delivery.learning_day
            today = h.ctx.tutor.learning_day(user, h.clock())
            week = sum(n for (u, day), n in answered.items() if u == user and (today - day).days < 7)
            stats = h.ctx.tutor.stats(user, h.clock())
            assert stats.reviewed_this_week == week > 0
            assert stats.streak >= 5
            reply = text_of(h.command("stats", user=user, channel=channel))
            assert f"This week *{week} reviews*" in reply

        la_days = [d.claimed_at for d in deliveries if d.user_id == LA and d.status == "sent"]
        offsets = {m.astimezone(ZoneInfo(ZONES[LA])).utcoffset() for m in la_days}
        assert offsets == {timedelta(hours=-8), timedelta(hours=-7)}  # before and after the switch

        posts = h.svc.state.posts()
        assert [p.local_date.weekday() for p in posts] == [2, 3, 4, 0, 1]  # Wed Thu Fri, Mon Tue
        assert all(p.status == "closed" for p in posts)
        assert len(slack.messages(channel)) == len(posts)
        assert len(h.svc.state.schedules()) == 1
        h.close()

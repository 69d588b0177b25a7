"""The Slack app's SQLite rows: every 'once' is a UNIQUE key that holds under threads and processes."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime, time, timedelta

from storage.db import open_db
from storage.slack_state import SlackState

NOW = datetime(2025, 3, 3, 9, 0, tzinfo=UTC)
DAY = date(2025, 3, 3)


def test_a_delivery_is_claimed_once_across_connections(tmp_path) -> None:
    states = [SlackState(open_db(tmp_path / "t.db")) for _ in range(2)]

    def claim(i: int) -> bool:
        return states[i % 2].claim_delivery("U0ALICE01", DAY, NOW, due_cards=3) is not None

    with ThreadPoolExecutor(max_workers=16) as pool:
        assert sorted(pool.map(claim, range(40))) == [False] * 39 + [True]
    [delivery] = states[0].deliveries()
    assert delivery.status == "claimed" and delivery.session_id is not None
    states[1].finish_delivery("U0ALICE01", DAY, NOW, status="failed", error="channel_not_found")
    assert states[0].deliveries(user_id="U0ALICE01")[0].error == "channel_not_found"
    assert states[0].claimed_deliveries([DAY, DAY + timedelta(days=1)]) == {("U0ALICE01", DAY)}
    nothing = states[0].claim_delivery("U0BOB0001", DAY, NOW, due_cards=0)
    assert nothing is not None and nothing.status == "nothing_due" and nothing.session_id is None


def test_sessions_count_each_card_once(tmp_path) -> None:
    state = SlackState(open_db(tmp_path / "t.db"))
    session = state.create_session("U0ALICE01", "command", NOW)
    assert state.record_session_answer(session, "d", "fc-1", seq=1, rating=3, correct=None, now=NOW)
    assert not state.record_session_answer(session, "d", "fc-1", seq=1, rating=1, correct=None, now=NOW)
    assert state.record_session_answer(session, "d", "mcq-1", seq=1, rating=1, correct=False, now=NOW)
    assert state.session_answered(session) == {("d", "fc-1"), ("d", "mcq-1")}
    tally = state.session_tally(session)
    assert (tally.reviewed, tally.right) == (2, 1)
    assert state.finish_session(session, NOW) and not state.finish_session(session, NOW)


def test_posts_cycle_and_answers_are_unique(tmp_path) -> None:
    state = SlackState(open_db(tmp_path / "t.db"))
    schedule = state.add_schedule(channel_id="C012AB3CD", channel_name="general", deck="d", at_time=time(9),
                                  days=[4, 0, 1], tz="Europe/Berlin", close_time=None, created_by="U0ADA0001",
                                  now=NOW)
    assert schedule.days == (0, 1, 4) and state.schedules() == [schedule]
    cards = ["mcq-a", "mcq-b"]
    picked = []
    for offset in range(5):
        post = state.claim_post(schedule, DAY + timedelta(days=offset), cards, NOW, closes_at=None)
        assert post is not None
        assert state.claim_post(schedule, DAY + timedelta(days=offset), cards, NOW, closes_at=None) is None
        state.set_post_status(post.id, "open", ts=f"1.{offset}")
        picked.append(post.card_id)
    assert picked == ["mcq-a", "mcq-b", "mcq-a", "mcq-b", "mcq-a"]

    def answer(i: int) -> bool:
        return state.record_channel_answer(1, f"U0M{i % 10:06d}", i % 4, i % 4 == 1, NOW)[0]

    with ThreadPoolExecutor(max_workers=16) as pool:
        assert sum(pool.map(answer, range(100))) == 10
    assert sum(state.answer_counts(1).values()) == 10
    stored, first = state.record_channel_answer(1, "U0M000003", 0, False, NOW)
    assert not stored and first.choice in (1, 3)  # whichever of its clicks landed first
    assert state.claim_close(1, NOW) and not state.claim_close(1, NOW)
    assert state.remove_schedule(schedule.id, NOW) == schedule and state.schedules() == []


def test_in_memory_database_works_single_threaded() -> None:
    state = SlackState(open_db(":memory:"))
    assert state.claim_delivery("U0ALICE01", DAY, NOW, due_cards=1) is not None
    assert state.dm_channel("U0ALICE01") is None
    state.remember_dm_channel("U0ALICE01", "D0000001")
    assert state.dm_channel("U0ALICE01") == "D0000001"

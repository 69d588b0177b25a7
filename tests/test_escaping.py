"""Deck text full of Slack markup (`<!channel>`, `<@U…>`, disguised links) reaches Slack as text:
every `text` fallback and every mrkdwn text the bot sends is escaped, in the question of the day,
its tally, reply and reveal, the DM review, the replies to `/tutor` and the Home tab; lint warns
about the markup. Checked on every call the stand-in received, through the real HTTP path."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from slack_harness import Harness, SimClock, buttons, harness_settings, make_harness, text_of
from slack_standin import SlackStandin

from bot.schedule import tick
from bot.slack.blocks import Message, reply, section
from content.lint import lint_deck
from content.model import Deck, Flashcard, MultipleChoice

ALICE, ADA = "U0ALICE01", "U0ADA0001"
MONDAY = datetime(2025, 3, 3, 7, 0, tzinfo=UTC)  # 08:00 in Berlin
MARKUP = "<!channel> <!here> <!everyone> <@U0ALICE01> <#C0GENERAL1> <!subteam^S0TEAM> <https://evil.example|docs>"
CHANNEL_LINK = re.compile(r"<#[CDG][A-Z0-9]+(?:\|[^<>|]*)?>")  # the bot's own markup (no mention here)


def hostile_deck() -> Deck:
    return Deck(slug="hostile", title=f"Deck {MARKUP}", cards=(
        Flashcard(front=f"Front {MARKUP}", back=f"Back {MARKUP}"),
        MultipleChoice(question=f"Question {MARKUP}", options=(f"Right {MARKUP}", "b & c", "d"), answer=0,
                       solution=(f"Step {MARKUP}", "two"), hint=f"Hint {MARKUP}",
                       mistakes=(f"Oops {MARKUP}",)),
        MultipleChoice(question="Short options <@U0ADA0001>?", options=("<!here>", "<x>"), answer=1),
    ))


@pytest.fixture
def h(tmp_path, caplog: pytest.LogCaptureFixture) -> Iterator[Harness]:
    caplog.set_level(logging.WARNING, logger="bot.slack.escape")
    with SlackStandin() as slack:
        slack.add_user(ALICE, name="alice", tz="Europe/Berlin")
        slack.add_user(ADA, name="ada", tz="Europe/Berlin", is_owner=True)
        harness = make_harness(slack, harness_settings(slack, tmp_path / "tutor.db"), SimClock(MONDAY))
        harness.ctx.tutor.import_deck(hostile_deck())
        harness.general = slack.add_channel("general", members=[ALICE, ADA])  # type: ignore[attr-defined]
        yield harness
        harness.close()


def mrkdwn_texts(value: Any) -> Iterator[str]:
    """Every mrkdwn text object's text in Block Kit JSON (plain_text is never parsed for markup)."""
    if isinstance(value, list):
        for item in value:
            yield from mrkdwn_texts(item)
    elif isinstance(value, dict):
        if value.get("type") == "mrkdwn" and isinstance(value.get("text"), str):
            yield value["text"]
        for item in value.values():
            yield from mrkdwn_texts(item)


def sent_texts(h: Harness) -> list[str]:
    """The fallback and every mrkdwn text of every message, update, ephemeral, response and view."""
    found = []
    bodies = [args for method, args in h.slack.calls if method in (
        "chat.postMessage", "chat.update", "chat.postEphemeral", "views.publish")]
    bodies += [response["body"] for response in h.slack.responses()]
    for args in bodies:
        if isinstance(args.get("text"), str):
            found.append(args["text"])
        for key in ("blocks", "view"):
            value = args.get(key)
            found += mrkdwn_texts(json.loads(value) if isinstance(value, str) else value)
    return found


def unescaped(texts: list[str]) -> list[str]:
    return [t for t in texts if "<" in CHANNEL_LINK.sub("", t)]


def test_lint_warns_about_slack_markup() -> None:
    warned = [i for i in lint_deck(hostile_deck()) if i.code == "slack-markup"]
    messages = " ".join(i.message for i in warned)
    assert len(warned) >= 9 and "'<!channel>'" in messages and "'<@U0ADA0001>'" in messages
    assert "deck title" in messages and "option A" in messages and "hint" in messages
    assert all(i.severity.value == "warning" for i in warned)


def test_markup_in_a_deck_never_reaches_slack_as_markup(h: Harness, caplog: pytest.LogCaptureFixture) -> None:
    tutor = h.ctx.tutor
    tutor.ensure_learner(ALICE, tz="Europe/Berlin")
    tutor.join(ALICE, "hostile")
    # The DM review: flashcard front, its answer, a grade, both questions and their results.
    h.clock.set(MONDAY + timedelta(minutes=31))  # 08:31 Berlin: the daily DM
    assert tick(h.svc, h.client).deliveries.sent == 1
    dm = h.slack.dm_channel(ALICE)
    h.click(ALICE, dm, h.dm(ALICE), "review_show")
    back = h.wait_dm(ALICE, lambda m: "review_grade_3" in buttons(m), "the flashcard's back")
    h.click(ALICE, dm, back, "review_grade_3")
    question = h.wait_dm(ALICE, lambda m: "review_choice_0" in buttons(m), "a question")
    h.click(ALICE, dm, question, "review_choice_1")
    result = h.wait_dm(ALICE, lambda m: "review_next" in buttons(m) or "Done" in text_of(m), "a result")
    if "review_next" in buttons(result):
        h.click(ALICE, dm, result, "review_next")
        last = h.wait_dm(ALICE, lambda m: "review_choice_0" in buttons(m), "the last question")
        h.click(ALICE, dm, last, "review_choice_0")
        h.wait_dm(ALICE, lambda m: "Done" in text_of(m), "the summary")
    # The question of the day: schedule, post, answer (reply and tally), reveal in the thread.
    h.command(f"schedule <#{h.general}|general> hostile 09:00 daily Europe/Berlin close 10:00", user=ADA,
              channel=h.general)
    h.clock.set(MONDAY + timedelta(hours=1))
    assert tick(h.svc, h.client).channels.posted == 1
    post = h.slack.messages(h.general)[-1]
    h.click(ALICE, h.general, post, "qotd_choice_1")
    h.slack.wait_for(lambda: h.slack.ephemerals(h.general, ALICE), what="Alice's feedback")
    h.slack.wait_for(lambda: "1 answer" in text_of(h.slack.messages(h.general)[-1]), what="the tally")
    h.clock.set(MONDAY + timedelta(hours=2))
    assert tick(h.svc, h.client).channels.closed == 1
    # Replies to commands and the Home tab (an admin's, with per-question stats).
    h.command("decks", user=ALICE, channel=dm)
    h.command("leave <!channel>", user=ALICE, channel=dm)
    h.command("schedules", user=ADA, channel=h.general)
    h.sender.app_home_opened(ADA)
    h.slack.wait_for(lambda: h.slack.home_view(ADA), what="Ada's Home tab")

    texts = sent_texts(h)
    assert any("&lt;!channel&gt;" in t for t in texts)  # the markup is there, as text
    assert any(t.startswith("Question of the day: Question &lt;!channel&gt;") for t in texts)
    assert any(t.startswith("Review: Front &lt;!channel&gt;") for t in texts)
    assert unescaped(texts) == []
    # The builders escaped the text themselves: the net in Message (bot.slack.escape.defuse) did not act.
    assert [r.getMessage() for r in caplog.records if r.name == "bot.slack.escape"] == []


def test_the_net_catches_text_that_skipped_esc(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="bot.slack.escape")
    sent = Message("Ping <!channel> & co", [section("*Bold* <!here> <https://x|y> in <#C0GENERAL1|general> "
                                                    "by <@U0ADA0001>")]).as_kwargs()
    assert sent["text"] == "Ping &lt;!channel&gt; &amp; co"
    defused = sent["blocks"][0]["text"]["text"]
    assert defused == "*Bold* &lt;!here> &lt;https://x|y> in <#C0GENERAL1|general> by <@U0ADA0001>"
    assert "skipped esc()" in caplog.text
    answer = reply("Scheduled in <#C0GENERAL1|general>: `x &lt;y&gt;`").as_kwargs()
    assert answer["text"] == "Scheduled in #general: x &lt;y&gt;"  # plain, escaped once

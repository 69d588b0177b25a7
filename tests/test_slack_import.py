"""`/tutor import`: the admin shares a deck file in their DM with the bot; the bot downloads it with
its token, lints it, and imports it only when it has no errors."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from slack_harness import Harness, SimClock, harness_settings, make_harness, text_of
from slack_sdk import WebClient
from slack_standin import SlackStandin

ADA, BOB = "U0ADA0001", "U0BOB0001"
ROOT = Path(__file__).resolve().parent.parent
YAML_DECK = ROOT / "content" / "decks" / "pretrained-models-cv.yaml"
RECAP = ROOT / "tests" / "data" / "recaps" / "pretrained-models-cv.txt"  # the real page: quiz has no keys


@pytest.fixture
def h(tmp_path) -> Iterator[Harness]:
    with SlackStandin() as slack:
        slack.add_user(ADA, name="ada", is_admin=True)
        slack.add_user(BOB, name="bob")
        harness = make_harness(slack, harness_settings(slack, tmp_path / "tutor.db"),
                               SimClock(datetime(2025, 3, 3, 9, tzinfo=UTC)))
        yield harness
        harness.close()


def share_in_dm(h: Harness, user: str, content: bytes, name: str, mimetype: str) -> str:
    """The member drops a file into their DM with the bot; returns the DM channel id."""
    dm = WebClient(base_url=h.slack.api_url, token=h.slack.bot_token).conversations_open(users=user)
    channel = dm["channel"]["id"]
    file = h.slack.add_file(content, name=name, mimetype=mimetype, user=user)
    h.slack.post_file_message(channel, user, [file], text="here is the deck")
    return channel


def test_import_a_yaml_deck(h: Harness) -> None:
    dm = share_in_dm(h, ADA, YAML_DECK.read_bytes(), "pretrained-models-cv.yaml", "application/x-yaml")
    reply = text_of(h.command("import", user=ADA, channel=dm))
    assert "Imported `pretrained-models-cv`: 17 added" in reply and "0 errors" in reply
    assert [d.slug for d in h.ctx.tutor.decks()] == ["pretrained-models-cv"]
    again = text_of(h.command("import", user=ADA, channel=dm))  # the same file: nothing changes
    assert "0 added, 0 updated, 0 retired, 17 unchanged" in again


def test_a_recap_without_answer_keys_imports_nothing(h: Harness) -> None:
    dm = share_in_dm(h, ADA, RECAP.read_bytes(), RECAP.name, "text/plain")
    reply = text_of(h.command("import", user=ADA, channel=dm))
    assert "Nothing imported" in reply
    assert "no answer key" in reply and "line " in reply
    assert h.ctx.tutor.decks() == []


def test_the_latest_file_counts_and_problems_are_explained(h: Harness) -> None:
    assert "I found no file" in text_of(h.command("import", user=ADA, channel="D0NOTHING1"))
    dm = share_in_dm(h, ADA, RECAP.read_bytes(), RECAP.name, "text/plain")
    share_in_dm(h, ADA, YAML_DECK.read_bytes(), "deck.yaml", "application/x-yaml")
    assert "Imported" in text_of(h.command("import", user=ADA, channel=dm))  # the newer file

    share_in_dm(h, ADA, b"\x00\x01binary\x00" * 50, "photo.txt", "text/plain")
    assert "is not a deck" in text_of(h.command("import", user=ADA, channel=dm))
    share_in_dm(h, ADA, b"x" * 1_100_000, "huge.txt", "text/plain")
    assert "a deck file is at most 1 MB" in text_of(h.command("import", user=ADA, channel=dm))

    h.slack.files_need_scope = True  # the app was installed without files:read
    share_in_dm(h, ADA, YAML_DECK.read_bytes(), "deck.yaml", "application/x-yaml")
    assert "files:read" in text_of(h.command("import", user=ADA, channel=dm))
    assert "is for admins" in text_of(h.command("import", user=BOB, channel=dm))

"""Hostile text against the recap parser, lint and every pattern that reads user text: the work
must grow linearly with the input. A backtracking pattern took 21 s on one line of 40,000 spaces
(and held the GIL: the bot's acks timed out meanwhile); `bench/hostile_inputs.py` prints the
figures, these tests use bounds no quadratic parser can meet. `/tutor import` parses in a child
process with a time limit, so no file can starve the acks of other members."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType

import pytest
from hostile_data import hostile_recap
from slack_harness import Harness, SimClock, harness_settings, make_harness, text_of
from slack_standin import SlackStandin

import bot.concepts.text
import bot.config
import bot.learning_day
import bot.slack.blocks
import bot.slack.escape
import bot.slack.finetune.labels
import bot.slack.finetune.thread
import bot.slack.http_guard
import bot.slack.importing as importing
import bot.slack.parsing
import content.lint
import content.loader
import content.model
import content.nodes
import content.recap
import content.yaml_deck
from bot.slack.finetune.labels import label_from_text
from bot.slack.finetune.thread import parse_choice
from content.loader import load_deck_text
from content.recap import parse_recap

# Every module of bot/ and content/ with patterns at module level (bot/finetune/, the worker's side,
# has none; bot/concepts/text.py is checked below: its clause pattern, a long case-blind alternation,
# is linear but too slow per character for this bound). The /finetune demo's Slack half reads
# members' replies and image captions.
MODULES: tuple[ModuleType, ...] = (content.recap, content.model, content.yaml_deck, content.lint,
                                   content.loader, content.nodes, bot.slack.parsing, bot.learning_day,
                                   bot.config, bot.slack.escape, bot.slack.blocks,
                                   bot.slack.http_guard, bot.slack.finetune.thread,
                                   bot.slack.finetune.labels)
ROOT = Path(__file__).resolve().parent.parent
RUN = 20_000  # the old title pattern needed seconds for a run of this length; a linear one, microseconds


def hostile_lines() -> list[str]:
    """Lines shaped to make a backtracking pattern try every split of a long run."""
    heads = ["", "a", "A", "1", "8", "8:30", "1.", "You got", "Option", "option", "Step 1", "Final Answer:",
             "Quick Check:", "Hint:", "Test this pattern", "-", "(", "<#C1", "x -", "A."]
    tails = ["", "x", "1", "!", "- Quick Recapx", "-> Optionx", "= q", "[OK]x", "concepts!"]
    lines = [f"{head}{' ' * RUN}{tail}" for head in heads for tail in tails]
    for token in ("->", "= ", "[OK]", "<@", "<!", "<#", "<#C1|", "a-", ". ", "\t", "Option ", "1/"):
        lines.append(token * (RUN // len(token)))
        lines.append("x" + token * (RUN // len(token)) + "y")
    return lines


def patterns() -> list[tuple[str, re.Pattern[str]]]:
    found = []
    for module in MODULES:
        for name, value in vars(module).items():
            if isinstance(value, re.Pattern):
                found.append((f"{module.__name__}.{name}", value))
    return found


def test_every_pattern_is_linear_on_hostile_lines() -> None:
    lines = hostile_lines()
    assert len(patterns()) > 20  # the audit sees the patterns it is about
    slow = []
    for name, pattern in patterns():
        started = time.perf_counter()
        for line in lines:
            pattern.match(line)
            pattern.search(line)
            pattern.sub("", line)
        elapsed = time.perf_counter() - started
        if elapsed > 0.5:  # linear: a few ms on ~400 lines of 20 kB; quadratic: seconds per line
            slow.append(f"{name}: {elapsed:.1f} s")
    assert not slow, slow


@pytest.mark.parametrize("text", [" " * 100_000 + "x1", "(" + " " * 100_000 + "1", "a" + " " * 100_000 + "1",
                                  "<@" * 50_000, "<!" * 50_000, "<#C1|" * 20_000])
def test_finetune_replies_and_captions_are_read_in_linear_time(text: str) -> None:
    """A reply in a demo's thread (is it a letter?) and an image's caption (its label): the old
    patterns took ~7 s at 20,000 spaces and ~0.4 s at 10,000 `<@`, and grow with the square."""
    started = time.perf_counter()
    assert parse_choice(text, 4) is None
    label_from_text(text)
    elapsed = time.perf_counter() - started
    assert elapsed < 1.0, f"{elapsed:.1f} s on {len(text):,} characters"


def test_the_concept_text_patterns_are_linear_on_long_hostile_lines() -> None:
    """bot/concepts/text.py splits free-text answers: 100,000-character lines in well under a second
    each (a quadratic pattern needs minutes at this length)."""
    found = [value for value in vars(bot.concepts.text).values() if isinstance(value, re.Pattern)]
    found += [pattern for pattern, _ in bot.concepts.text._JOINS]
    assert len(found) >= 8
    lines = [" " * 100_000 + "x", "a" + " " * 100_000 + "1", "<@" * 50_000, "- " * 50_000,
             "1" * 100_000 + "x", "data" + " " * 100_000, "pre" + "-" * 100_000, ". " * 50_000,
             "\n" * 100_000 + "x"]
    slow = []
    for pattern in found:
        started = time.perf_counter()
        for line in lines:
            pattern.match(line)
            pattern.sub("", line)
        elapsed = time.perf_counter() - started
        if elapsed > 2.0:  # linear: ~0.1 s at most; quadratic: minutes
            slow.append(f"{pattern.pattern[:40]}: {elapsed:.1f} s")
    assert not slow, slow


def test_finetune_patterns_read_normal_text_as_before() -> None:
    letters = ["C", "c)", "(b)", " a. ", "D!", "[d]", "  ( c )  "]
    assert [parse_choice(t, 4) for t in letters] == [2, 2, 1, 0, 3, 3, 2]
    assert [parse_choice(t, 4) for t in ["E", "cat", "", None, "C is right", "((a))", "a.."]] == [None] * 7
    assert label_from_text("<#C0123ABC|bird>") == "bird"
    assert label_from_text("<@U0123ABC> cat") == "cat"
    assert label_from_text("<!here> <@U1|bob> label: red fox") == "red-fox"
    assert label_from_text("<#C0123ABC|bird> <@U0123ABC>") == "bird"


@pytest.mark.parametrize("size", [100_000, 1_000_000])
def test_a_hostile_recap_parses_and_lints_quickly(size: int) -> None:
    text = hostile_recap(size)
    assert len(text) == size
    started = time.perf_counter()
    loaded = load_deck_text(text, filename="hostile.txt")
    elapsed = time.perf_counter() - started
    # The old parser took 4.7 s at 100 kB (and ~100x that at 1 MB); this one about 0.25 s at 1 MB.
    assert elapsed < 3.0, f"{size:,} characters took {elapsed:.1f} s"
    assert loaded.deck.cards and loaded.issues  # it was read as a recap, problems reported


def test_the_rewritten_shapes_read_as_before() -> None:
    page = """Transfer learning —  Quick Recap
Practice
1. Which?
A. one
B. two
   wrapped
Solution
1. Final Answer:
two wrapped -> Option B.
2. Quick Check:
answer = Option A [OK]
Hint: think [OK]
Common Mistakes:
• a first
line continued
"""
    deck, issues = parse_recap(page, slug="t")
    assert deck.title == "Transfer learning"
    card = deck.cards[0]
    assert card.options == ("one", "two wrapped") and card.answer == 1  # type: ignore[union-attr]
    assert card.hint == "think" and card.mistakes == ("a first line continued",)  # type: ignore[union-attr]
    assert [i.code for i in issues] == ["quick-check"]
    assert "Quick Check says A but Final Answer says B" in issues[0].message
    assert parse_recap("A - Quick Recap\nPractice\n1. Q?\nA. x\nB. y\nSolution\n1. Final Answer:\n"
                       "y -> B\n", slug="t")[0].cards[0].answer is None  # "Option" is required


# ---- /tutor import: parsing runs in a child process with a time limit -----------------------------

ADA, BOB = "U0ADA0001", "U0BOB0001"


@pytest.fixture
def h(tmp_path) -> Iterator[Harness]:
    with SlackStandin() as slack:
        slack.add_user(ADA, name="ada", is_admin=True)
        slack.add_user(BOB, name="bob")
        harness = make_harness(slack, harness_settings(slack, tmp_path / "tutor.db"),
                               SimClock(datetime(2025, 3, 3, 9, tzinfo=UTC)))
        yield harness
        harness.close()


def share(h: Harness, content: bytes, name: str) -> str:
    channel = h.slack.open_dm(ADA)
    file = h.slack.add_file(content, name=name, mimetype="text/plain", user=ADA)
    h.slack.post_file_message(channel, ADA, [file], text="the deck")
    return channel


def test_importing_a_hostile_recap_starves_no_ack(h: Harness) -> None:
    dm = share(h, hostile_recap(900_000).encode(), "hostile.txt")
    with ThreadPoolExecutor(max_workers=8) as pool:
        started = pool.submit(h.sender.command, "/tutor", "import", user_id=ADA, channel_id=dm)
        others = [pool.submit(h.sender.command, "/tutor", "help", user_id=BOB, channel_id="D0BOB0001")
                  for _ in range(20)]
        replies = [started.result(), *(future.result() for future in others)]
    assert all(r.status == 200 and r.acked_in_time for r in replies), [r.elapsed_s for r in replies]
    ada = h.slack.wait_for(lambda: [r["body"] for r in h.slack.responses() if r["user"] == ADA], timeout=60,
                           what="the import report")
    report = text_of(ada[0])
    assert "Nothing imported" in report and "no answer key" in report


def test_an_import_over_the_time_limit_is_stopped_with_a_sentence(h: Harness, monkeypatch) -> None:
    monkeypatch.setattr(importing, "PARSE_TIME_LIMIT_S", 0.01)  # less than a child takes to start
    dm = share(h, (ROOT / "content" / "decks" / "pretrained-models-cv.yaml").read_bytes(), "deck.yaml")
    reply = text_of(h.command("import", user=ADA, channel=dm))
    assert "`deck.yaml` is not a deck: reading it took longer than 0.01 s, so I stopped" in reply
    assert h.ctx.tutor.decks() == []


def test_importing_wrong_types_and_deep_files_from_slack(h: Harness) -> None:
    typed = json.dumps({"slug": "typed", "title": "Typed", "cards": [
        {"kind": "mcq", "question": "Q?", "options": ["a", "b"], "answer": 1.5}]}, indent=1)
    dm = share(h, typed.encode(), "typed.json")
    reply = text_of(h.command("import", user=ADA, channel=dm))
    assert "line 12: answer the number 1.5 is neither" in reply and "Nothing imported" in reply
    share(h, ('{"cards": ' + "[" * 100_000 + "]" * 100_000 + "}").encode(), "deep.json")
    reply = text_of(h.command("import", user=ADA, channel=dm))
    assert "is not a deck: line 1: the deck is nested more than" in reply
    share(h, ("cards:\n" + "- " * 3000 + "x\n").encode(), "deep.yaml")
    reply = text_of(h.command("import", user=ADA, channel=dm))
    assert "is not a deck" in reply and "nest" in reply and "Something went wrong" not in reply
    assert h.ctx.tutor.decks() == []

"""Hostile text against the recap parser, lint and every pattern that reads user text: the work
must grow linearly with the input. A backtracking pattern took 21 s on one line of 40,000 spaces
(and held the GIL: the bot's acks timed out meanwhile); `bench/hostile_inputs.py` prints the
figures, these tests use bounds no quadratic parser can meet."""

from __future__ import annotations

import re
import time
from types import ModuleType

import pytest
from hostile_data import hostile_recap

import bot.config
import bot.learning_day
import bot.slack.parsing
import content.lint
import content.model
import content.recap
import content.yaml_deck
from content.loader import load_deck_text
from content.recap import parse_recap

# bot/finetune/ has its own patterns; its owner checks them (see the report of issue 8).
MODULES: tuple[ModuleType, ...] = (content.recap, content.model, content.yaml_deck, content.lint,
                                   bot.slack.parsing, bot.learning_day, bot.config)
RUN = 20_000  # the old title pattern needed seconds for a run of this length; a linear one, microseconds


def hostile_lines() -> list[str]:
    """Lines shaped to make a backtracking pattern try every split of a long run."""
    heads = ["", "a", "A", "1", "8", "8:30", "1.", "You got", "Option", "option", "Step 1", "Final Answer:",
             "Quick Check:", "Hint:", "Test this pattern", "-", "(", "<#C1", "x -", "A."]
    tails = ["", "x", "1", "!", "- Quick Recapx", "-> Optionx", "= q", "[OK]x", "concepts!"]
    lines = [f"{head}{' ' * RUN}{tail}" for head in heads for tail in tails]
    for token in ("->", "= ", "[OK]", "<@", "<!", "<#", "a-", ". ", "\t", "Option ", "1/"):
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

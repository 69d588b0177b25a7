"""Deck values of the wrong type: each is an error with its line (JSON decks too), deep nesting is
refused with a sentence before any parser recurses, stored cards of the wrong shape are refused,
and nothing that passes lint can crash a review: many generated decks with wrong types go through
load, lint, import and a review in the terminal and in Slack, each ending in a clear message or a
working review, never an exception."""

from __future__ import annotations

import copy
import io
import json
import logging
import random
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml
from slack_harness import Harness, SimClock, buttons, harness_settings, make_harness, text_of
from slack_standin import SlackStandin

from bot.cli import main
from content.loader import LoadedDeck, load_deck_text
from content.model import CARD_FIELDS, CardKind, DeckFormatError, card_from_dict
from content.nodes import MAX_DECK_NESTING, compose_json

NOW = "2025-03-03T09:00:00+00:00"
BASE: dict[str, Any] = {"slug": "fuzz", "title": "Fuzz", "desired_retention": 0.9, "description": None,
                        "cards": [
    {"kind": "flashcard", "front": "Front?", "back": "Back.", "level": None},
    {"kind": "mcq", "question": "Which?", "options": ["one", "two", "three"], "answer": 1,
     "solution": ["because"], "hint": "think", "mistakes": ["guessing"], "level": "easy"},
    {"kind": "prompt", "question": "Why?", "guidance": "reasons", "concepts": ["c"], "level": None}]}
WRONG: list[Any] = [1.5, True, False, None, 0, 1, -1, 7, 10**30, "", "B", "abc", "No", [], ["a"], [1, 2],
                    ["a", None], {"a": 1}, [["x"]], "x" * 3500, "<!channel>"]


def as_json(deck: dict[str, Any]) -> str:
    return json.dumps(deck, indent=2)


def as_yaml(deck: dict[str, Any]) -> str:
    """The same deck in the YAML format's names (deck, type), values as YAML writes them."""
    data = {("deck" if k == "slug" else k): v for k, v in deck.items()}
    if isinstance(data.get("cards"), list):
        data["cards"] = [{("type" if k == "kind" else k): v for k, v in c.items()} if isinstance(c, dict)
                         else c for c in data["cards"]]
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True)


def with_value(path: tuple[Any, ...], value: Any) -> dict[str, Any]:
    deck = copy.deepcopy(BASE)
    target = deck
    for step in path[:-1]:
        target = target[step]
    target[path[-1]] = value
    return deck


def load(text: str, name: str = "deck.json") -> LoadedDeck:
    return load_deck_text(text, filename=name)


def errors_of(loaded: LoadedDeck) -> list[tuple[int | None, str]]:
    return [(i.line, i.message) for i in loaded.errors]


# ---- the cases of the report ---------------------------------------------------------------------

def test_wrong_json_types_are_errors_with_their_lines() -> None:
    cases = [(("cards", 1, "answer"), 1.5, "answer the number 1.5 is neither"),
             (("cards", 1, "answer"), True, "answer true is neither"),
             (("cards", 1, "options"), "abc", "'options' must be a list"),
             (("slug",), 5, "'slug' must be text (a JSON string in double quotes), not the number 5"),
             (("cards", 0, "front"), 123, "'front' must be text"),
             (("desired_retention",), "0.9", "desired_retention the text '0.9' is not a number"),
             (("cards", 1, "options", 0), 2, "each item of 'options' must be text"),
             (("cards", 0), "a card", "a card must be a mapping")]
    for path, value, message in cases:
        text = as_json(with_value(path, value))
        loaded = load(text)
        found = [(line, m) for line, m in errors_of(loaded) if message in m]
        assert found, (path, value, errors_of(loaded))
        line = found[0][0]
        assert line is not None and str(json.dumps(value))[:4] in text.splitlines()[line - 1], (path, line)
    assert load(as_json(with_value(("cards", 1, "answer"), 2))).deck.cards[1].answer == 2  # type: ignore[union-attr]
    assert load(as_json(with_value(("cards", 1, "answer"), "C"))).deck.cards[1].answer == 2  # type: ignore[union-attr]


def test_deep_nesting_is_refused_with_a_sentence() -> None:
    deep_json = '{"cards": ' + "[" * 100_000 + "]" * 100_000 + "}"
    with pytest.raises(DeckFormatError, match=f"nested more than {MAX_DECK_NESTING} levels deep"):
        load(deep_json)
    for text in ("cards:\n" + "- " * 3000 + "x\n", "cards: " + "[" * 3000 + "]" * 3000 + "\n",
                 "cards:\n" + "".join("  " * i + "- \n" for i in range(200)),
                 "cards: " + "[" * 500 + "]" * 500 + "\n"):
        with pytest.raises(DeckFormatError, match="nest"):
            load(text, "deck.yaml")
    with pytest.raises(DeckFormatError, match="aliases"):  # a few lines could stand for billions of values
        load("a: &x [big]\nb: &y [*x, *x, *x]\ncards: [*y, *y]\n", "deck.yaml")


def test_cli_reports_wrong_types_and_deep_files_without_a_traceback(tmp_path, capsys) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text(as_json(with_value(("cards", 1, "answer"), 1.5)))
    assert main(["--db", str(tmp_path / "t.db"), "deck", "import", str(bad)]) == 1
    assert "bad.json:21: error: answer the number 1.5" in capsys.readouterr().err
    deep = tmp_path / "deep.yaml"
    deep.write_text("cards:\n" + "- " * 3000 + "x\n")
    assert main(["deck", "lint", str(deep)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("tutor: ") and "nest" in err and "Traceback" not in err


def test_stored_cards_of_the_wrong_shape_are_refused() -> None:
    good = {"kind": "mcq", "question": "Q", "options": ["a", "b"], "answer": 1}
    assert card_from_dict(good).answer == 1  # type: ignore[union-attr]
    for key, value in [("answer", 1.5), ("answer", True), ("answer", -1), ("options", "ab"), ("options", [1]),
                       ("question", 5), ("question", None), ("kind", "essay"), ("hint", ["x"])]:
        with pytest.raises(DeckFormatError, match=key if key != "kind" else "unknown card kind"):
            card_from_dict({**good, key: value})
    with pytest.raises(DeckFormatError, match="must be an object"):
        card_from_dict([good])  # type: ignore[arg-type]


def test_one_declaration_per_field() -> None:
    """to_dict, the YAML and JSON readers and card_from_dict all follow CARD_FIELDS."""
    loaded = load(as_json(BASE))
    assert loaded.issues == ()
    for card, stored in zip(loaded.deck.cards, BASE["cards"], strict=True):
        declared = {spec.name for spec in CARD_FIELDS[card.kind]}
        assert set(card.to_dict()) == {"id", "kind", *declared}
        assert card_from_dict(card.to_dict()) == card
        assert {k for k in stored if k != "kind"} <= declared
    assert load(as_yaml(with_value(("cards", 1, "answer"), "B")), "deck.yaml").deck == loaded.deck
    assert {kind for kind in CardKind} == set(CARD_FIELDS)


def test_json_nodes_keep_lines_and_types() -> None:
    root = compose_json('{\n  "a": [1, 2.5, "x", true, null],\n  "b": {"c": "\\u00e9\\ud83d\\ude00"}\n}')
    (_, first), (_, second) = root.value
    assert [n.tag.rsplit(":", 1)[1] for n in first.value] == ["int", "float", "str", "bool", "null"]
    assert first.start_mark.line == 1 and second.value[0][1].value == "é😀"
    for broken in ("{", '{"a" 1}', "[1,]", '{"a": 1} 2', "NaN", '"\\x"', "[01]"):
        with pytest.raises(DeckFormatError, match="JSON syntax error at line 1"):
            compose_json(broken)


# ---- generated decks: load -> lint -> import -> review, in the terminal and in Slack -------------

def generated_decks(count: int, seed: int) -> Iterator[tuple[str, str]]:
    """(file name, text): the base deck with one or two values replaced or removed, as JSON or YAML."""
    chooser = random.Random(seed)
    paths: list[tuple[Any, ...]] = [(key,) for key in BASE]
    for index, card in enumerate(BASE["cards"]):
        paths.append(("cards", index))
        paths += [("cards", index, key) for key in card]
    paths += [("cards", 1, "options", i) for i in range(3)] + [("cards", 1, "solution", 0)]
    for number in range(count):
        deck = copy.deepcopy(BASE)
        for path in chooser.sample(paths, chooser.randint(1, 2)):
            target: Any = deck
            try:
                for step in path[:-1]:
                    target = target[step]
                if chooser.random() < 0.15 and isinstance(target, dict):
                    target.pop(path[-1], None)
                else:
                    target[path[-1]] = copy.deepcopy(chooser.choice(WRONG))
            except (KeyError, IndexError, TypeError):  # an earlier change replaced a container
                continue
        if number % 2:
            yield f"gen{number}.yaml", as_yaml(deck)
        else:
            yield f"gen{number}.json", as_json(deck)


@pytest.fixture
def h(tmp_path) -> Iterator[Harness]:
    with SlackStandin() as slack:
        harness = make_harness(slack, harness_settings(slack, tmp_path / "slack.db"),
                               SimClock(datetime(2025, 3, 3, 9, tzinfo=UTC)))
        yield harness
        harness.close()


def test_nothing_that_passes_lint_can_crash_a_review(h: Harness, tmp_path: Path, capsys, monkeypatch,
                                                     caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.ERROR)
    db = str(tmp_path / "cli.db")
    outcomes = {"format": 0, "lint": 0, "reviewed": 0}
    clean: list[LoadedDeck] = []
    for name, text in generated_decks(200, seed=12):
        try:
            loaded = load(text, name)
        except DeckFormatError as exc:
            assert str(exc) and "Traceback" not in str(exc)
            outcomes["format"] += 1
            continue
        for issue in loaded.issues:  # what the readers report carries the line of the value
            if issue.code in ("bad-value", "bad-answer"):
                assert issue.line is not None, (name, issue)
        if loaded.errors:
            outcomes["lint"] += 1
            continue
        path = tmp_path / name
        path.write_text(text)
        assert main(["--db", db, "deck", "import", str(path)]) == 0, capsys.readouterr().err
        slug = loaded.deck.slug
        monkeypatch.setattr("sys.stdin", io.StringIO("1\n\n3\n" * 4 + "q\n"))
        assert main(["--db", db, "review", "--user", f"u-{name}", "--deck", slug, "--now", NOW]) == 0
        capsys.readouterr()
        outcomes["reviewed"] += 1
        clean.append(loaded)
    assert all(outcomes.values()), outcomes  # every kind of outcome was exercised

    for number, loaded in enumerate(clean[:6]):  # and in Slack: join, review, one click
        user = f"U0FUZZ{number:04d}"
        h.slack.add_user(user, name=f"fuzz{number}")
        deck = loaded.deck if loaded.deck.slug != "fuzz" else loaded.deck.__class__(
            **{**loaded.deck.__dict__, "slug": f"fuzz-{number}"})
        h.ctx.tutor.import_deck(deck)
        dm = h.slack.open_dm(user)
        assert "You joined" in text_of(h.command(f"join {deck.slug}", user=user, channel=dm))
        reply = text_of(h.command("review", user=user, channel=dm))
        assert "Something went wrong" not in reply
        if "Your review is in" not in reply:
            continue  # nothing due in this deck (only prompts)
        first = h.dm(user)
        action = "review_show" if "review_show" in buttons(first) else "review_choice_0"
        h.click(user, dm, first, action)
        h.wait_dm(user, lambda m, before=first: m.get("text") != before.get("text") or m != before, "a step")
    assert not caplog.records, caplog.text

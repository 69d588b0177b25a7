"""The YAML deck format, the loader, and the shipped deck."""

from __future__ import annotations

import json
import re
import textwrap
from dataclasses import replace
from pathlib import Path

import pytest

import content.yaml_deck
from content.lint import Severity
from content.loader import LoadedDeck, load_deck_file, load_deck_text, shipped_decks
from content.model import Deck, DeckFormatError, Flashcard, MultipleChoice, Prompt
from content.recap import parse_recap
from content.yaml_deck import dump_yaml_deck, load_yaml_deck

RECAPS = Path(__file__).parent / "data" / "recaps"

EXAMPLE = """\
deck: overfitting
title: Overfitting and regularization
desired_retention: 0.85
cards:
  - type: flashcard
    level: beginner
    front: What is overfitting?
    back: Fitting the noise of the training data, so new data is predicted badly.
  - type: mcq
    level: easy
    question: Which sign best indicates overfitting?
    options:
      - Training loss falls while validation loss rises
      - Both losses stay high
      - No
    answer: A
    solution: Compare the two curves.
    hint: Look at the gap.
    mistakes: [Judging by training loss alone]
  - type: prompt
    question: How would you tell that a model is overfitting?
    guidance: Think about training and validation curves.
    concepts: [validation curve, generalisation gap]
"""


def load(text: str, name: str = "deck.yaml") -> LoadedDeck:
    return load_deck_text(text, filename=name)


def test_example_loads_with_lines_and_raw_text_values():
    loaded = load(EXAMPLE)
    assert loaded.issues == ()
    deck = loaded.deck
    assert (deck.slug, deck.title, deck.desired_retention, deck.description) == (
        "overfitting", "Overfitting and regularization", 0.85, None)
    flashcard, mcq, prompt = deck.cards
    assert [c.line for c in deck.cards] == [5, 9, 20]
    assert flashcard == Flashcard(
        front="What is overfitting?", level="beginner",
        back="Fitting the noise of the training data, so new data is predicted badly.")
    assert isinstance(mcq, MultipleChoice)
    assert mcq.options[2] == "No"  # not the boolean False: values are read as written
    assert (mcq.answer, mcq.solution, mcq.mistakes) == (0, ("Compare the two curves.",),
                                                        ("Judging by training loss alone",))
    assert prompt == Prompt(question="How would you tell that a model is overfitting?",
                            guidance="Think about training and validation curves.",
                            concepts=("validation curve", "generalisation gap"))


@pytest.mark.parametrize("answer, index", [("B", 1), ("b", 1), ("Option B", 1), ("B.", 1),
                                           ("Both losses stay high", 1), ("both losses  stay high", 1),
                                           ("No", 2)])
def test_answer_is_a_letter_or_the_option_text(answer, index):
    loaded = load(EXAMPLE.replace("answer: A", f"answer: {answer}"))
    card = loaded.deck.cards[1]
    assert isinstance(card, MultipleChoice) and card.answer == index
    assert loaded.issues == ()


def test_an_answer_that_names_no_option_is_one_error_with_its_line():
    loaded = load(EXAMPLE.replace("answer: A", "answer: Both losses fall"))
    assert [(i.code, i.line) for i in loaded.issues] == [("bad-answer", 16)]
    assert "neither a letter (A-C) nor the exact text of an option" in loaded.issues[0].message


def test_round_trip_of_parsed_recaps_and_shipped_deck():
    decks = [parse_recap(p.read_text(encoding="utf-8"), slug=p.stem)[0] for p in sorted(RECAPS.glob("*.txt"))]
    decks += [load_deck_file(p).deck for p in shipped_decks()]
    for deck in decks:
        again, issues = load_yaml_deck(dump_yaml_deck(deck), default_slug="other")
        assert again == deck
        assert [i for i in issues if i.code != "missing-key"] == []


def test_round_trip_of_awkward_text():
    deck = Deck(slug="awkward", title="Yes", description="line one\nline two", desired_retention=0.95, cards=(
        Flashcard(front="null", back="- starts like a list item: and has a colon", level="advanced"),
        Flashcard(front="1.0", back="~"),
        MultipleChoice(question="Pick: one?\n    indented code\n\nend",
                       options=("Yes", "No", "'quoted'", "#hash"), answer=3, solution=(), hint="",
                       mistakes=("ä ö ü — “quotes”",)),
        MultipleChoice(question="Unkeyed", options=("a", "b"), answer=None),
        Prompt(question="What?", guidance=None, concepts=("x: y",)),
    ))
    text = dump_yaml_deck(deck)
    again, issues = load_yaml_deck(text, default_slug="other")
    assert again == deck
    hinted, prompt = again.cards[2], again.cards[4]
    assert isinstance(hinted, MultipleChoice) and isinstance(prompt, Prompt)
    assert hinted.hint == ""  # an empty string stays empty, None stays None
    assert prompt.guidance is None
    assert [i.code for i in issues] == []  # missing keys are lint's business, not the reader's


def test_unknown_keys_warn_with_line_and_suggestion():
    loaded = load(EXAMPLE.replace("    answer: A", "    anwser: A").replace("title:", "titel: x\ntitle:"))
    warnings = [(i.code, i.line, i.message) for i in loaded.warnings]
    assert ("unknown-key", 2, "unknown key 'titel' in the deck, ignored; did you mean 'title'?") in warnings
    assert ("unknown-key", 17,
            "unknown key 'anwser' in a mcq card, ignored; did you mean 'answer'?") in warnings
    assert [(i.code, i.line) for i in loaded.errors] == [("missing-key", 10)]


def test_a_key_of_another_card_type_is_unknown_here():
    loaded = load(EXAMPLE.replace("    front: What is overfitting?", "    question: What is overfitting?"))
    assert [(i.code, i.line) for i in loaded.warnings] == [("unknown-key", 7)]
    assert [(i.code, i.line) for i in loaded.errors] == [("empty-text", 5)]  # the front is missing


def test_duplicate_keys_are_errors():
    loaded = load(EXAMPLE.replace("    hint: Look at the gap.",
                                  "    hint: Look at the gap.\n    hint: Again."))
    assert [(i.code, i.line) for i in loaded.errors] == [("duplicate-key", 19)]
    assert "appears twice (lines 18 and 19)" in loaded.errors[0].message
    card = loaded.deck.cards[1]
    assert isinstance(card, MultipleChoice) and card.hint == "Again."


def test_card_types_missing_and_unknown():
    loaded = load(EXAMPLE.replace("  - type: flashcard\n", "  -\n").replace("type: prompt", "type: promt"))
    assert [(i.code, i.line) for i in loaded.warnings] == [("card-type", 6)]  # where its mapping starts
    assert [c.kind.value for c in loaded.deck.cards] == ["flashcard", "mcq"]  # the prompt is skipped
    assert [(i.code, i.line) for i in loaded.errors] == [("card-type", 20)]
    assert "did you mean 'prompt'?" in loaded.errors[0].message


@pytest.mark.parametrize("value, code, line", [("0.5", "retention", 3), ("1.2", "retention", 3),
                                               ("high", "bad-value", 3)])
def test_desired_retention_checked_with_its_line(value, code, line):
    loaded = load(EXAMPLE.replace("desired_retention: 0.85", f"desired_retention: {value}"))
    assert [(i.code, i.line) for i in loaded.errors] == [(code, line)]


def test_wrong_value_shapes_are_errors_with_lines():
    text = EXAMPLE.replace("    front: What is overfitting?", "    front: [a, b]").replace(
        "      - No", "      - {No: x}")
    loaded = load(text)
    assert [(i.code, i.line) for i in loaded.errors if i.code == "bad-value"] == [("bad-value", 7),
                                                                                  ("bad-value", 15)]


def test_slug_comes_from_the_file_name_unless_given():
    loaded = load(EXAMPLE.replace("deck: overfitting\n", ""), name="My Deck.yml")
    assert loaded.deck.slug == "my-deck"
    named = load(EXAMPLE.replace("deck: overfitting", "deck: Over Fitting"), name="x.yaml")
    assert named.deck.slug == "over-fitting"
    assert [i.code for i in named.warnings] == ["slug"]


@pytest.mark.parametrize("text, message", [
    ("", "empty"),
    ("\n  \n", "empty"),
    ("# only a comment\n", "empty"),
    ("deck: x\ncards:\n  - type: flashcard\n    front: [unclosed\n", r"YAML syntax error at line 5"),
    ("deck: x\n  title: bad indent\n", r"YAML syntax error at line 2"),
    ("- type: flashcard\n  front: a\n  back: b\n", "top level of a YAML deck must be a mapping.*not a list"),
    ("just some words\n", "must be a mapping.*not a single value"),
    ("deck: x\ntitle: y\n", "no cards found"),
    ("deck: x\ncards:\n", "no cards found"),
    ("deck: x\ncards: []\n", "no cards found"),
    ("deck: x\ncards:\n  front: a\n", "line 3: `cards` must be a list"),
    ("a: 1\n---\nb: 2\n", "line 2: a deck is one YAML document"),
])
def test_unreadable_yaml_is_a_format_error(text, message):
    with pytest.raises(DeckFormatError, match=message):
        load(text)


def test_binary_and_non_utf8_files_are_format_errors(tmp_path):
    junk = tmp_path / "junk.yaml"
    junk.write_bytes(bytes(range(256)) * 4)
    with pytest.raises(DeckFormatError, match="binary"):
        load_deck_file(junk)
    latin = tmp_path / "latin.txt"
    latin.write_bytes("title\nA caf\xe9 - Quick Recap\n".encode("latin-1"))
    with pytest.raises(DeckFormatError, match="not UTF-8 text.*line 2"):
        load_deck_file(latin)
    with pytest.raises(DeckFormatError, match="binary"):
        load_deck_text("\x01\x02\x03\x04\x05garbage\x06\x07", filename="x.txt")
    empty = tmp_path / "empty.txt"
    empty.write_bytes(b"")
    with pytest.raises(DeckFormatError, match="empty"):
        load_deck_file(empty)


def test_a_bom_is_accepted(tmp_path):
    path = tmp_path / "bom.yaml"
    path.write_bytes(b"\xef\xbb\xbf" + EXAMPLE.encode())
    assert load_deck_file(path).deck.slug == "overfitting"


# The shipped deck --------------------------------------------------------------------------------

SHIPPED = Path(__file__).parent.parent / "content" / "decks" / "pretrained-models-cv.yaml"


def test_shipped_decks_are_listed():
    assert SHIPPED.resolve() in [p.resolve() for p in shipped_decks()]


def test_every_shipped_deck_loads_without_errors_or_warnings():
    for path in shipped_decks():
        loaded = load_deck_file(path)
        assert loaded.issues == (), (path, loaded.issues)
        assert all(c.answer is not None for c in loaded.deck.cards if isinstance(c, MultipleChoice))


def test_shipped_deck_has_every_card_of_the_recap_with_the_same_ids():
    shipped = load_deck_file(SHIPPED).deck
    recap = load_deck_file(RECAPS / "pretrained-models-cv.txt").deck
    assert shipped.slug == recap.slug == "pretrained-models-cv"
    assert shipped.title == recap.title
    counts = {kind: sum(c.kind.value == kind for c in shipped.cards)
              for kind in ("flashcard", "mcq", "prompt")}
    assert counts == {"flashcard": 5, "mcq": 10, "prompt": 2}

    keyed_in_recap = [c for c in recap.cards if not (isinstance(c, MultipleChoice) and c.answer is None)]
    assert len(keyed_in_recap) == 12  # 5 flashcards, 2 prompts, 5 practice questions
    # Two options are reworded in the shipped deck so that "A. option" fits a Slack button (75
    # characters); those two cards keep their question, key and other options.
    reworded = {
        "You used a model architecture without an 'fc' layer and tried to access it":
            "You accessed an 'fc' layer that this model architecture does not have",
        "Use a pre-trained model and fine-tune only the last layer on your dataset":
            "Use a pre-trained model and fine-tune only its last layer on your data",
    }
    as_shipped = [replace(c, options=tuple(reworded.get(o, o) for o in c.options))
                  if isinstance(c, MultipleChoice) else c for c in keyed_in_recap]
    assert sum(a != b for a, b in zip(as_shipped, keyed_in_recap, strict=True)) == 2
    assert {c.id for c in as_shipped} <= {c.id for c in shipped.cards}
    # The 5 quiz questions differ only by their key, which the recap lacks.
    quiz = [c for c in shipped.cards if c.id not in {k.id for k in as_shipped}]
    assert len(quiz) == 5
    unkeyed = {c.id for c in recap.cards if isinstance(c, MultipleChoice) and c.answer is None}
    assert {replace(c, answer=None).id for c in quiz if isinstance(c, MultipleChoice)} == unkeyed
    assert [c.answer_text for c in quiz if isinstance(c, MultipleChoice)] == [
        "It reduces training time and data needed", "Transfer learning",
        "Because it learns all features from raw data", "When you have a small dataset",
        "Useful features from previous training"]


def test_shipped_deck_quick_checks_agree_with_the_key():
    for card in load_deck_file(SHIPPED).deck.cards:
        if isinstance(card, MultipleChoice):
            checks = [s for s in card.solution if s.startswith("Quick Check:")]
            for check in checks:
                letter = re.search(r"= ([A-Z])$", check)
                assert letter and letter[1] == "ABCD"[card.answer or 0], (card.question, check)


def test_shipped_resnet_question_teaches_the_weights_argument():
    deck = load_deck_file(SHIPPED).deck
    card = next(c for c in deck.cards
                if isinstance(c, MultipleChoice) and "resnet50(pretrained=True)" in c.options[0])
    assert card.answer == 0
    assert card.options[0] == "model = torchvision.models.resnet50(pretrained=True)"  # the recap's text
    assert "weights=torchvision.models.ResNet50_Weights.DEFAULT" in card.solution[0]
    assert "ResNet50_Weights.DEFAULT" in (card.hint or "")
    assert any("deprecated since torchvision 0.13" in m for m in card.mistakes)


def test_loaded_deck_partitions_issues():
    loaded = load(EXAMPLE.replace("    answer: A\n", "").replace("level: easy", "level: esay"))
    assert [i.severity for i in loaded.errors] == [Severity.ERROR]
    assert [i.severity for i in loaded.warnings] == [Severity.WARNING]
    assert set(loaded.issues) == set(loaded.errors) | set(loaded.warnings)


def test_the_documented_example_loads_cleanly():
    doc = content.yaml_deck.__doc__ or ""
    example = textwrap.dedent(doc.split("\n\n")[1])
    loaded = load(example, name="example.yaml")
    assert loaded.issues == ()
    assert [c.kind.value for c in loaded.deck.cards] == ["flashcard", "mcq", "prompt"]


CONCEPTS = """\
deck: concepts
title: Concepts and easy days
easy_days: {sat: 0.5, Sunday: 0}
cards:
  - type: flashcard
    concept: transfer learning
    front: What is transfer learning?
    back: Reusing a model trained on one task for another.
  - type: mcq
    concept: transfer learning
    question: Which term describes reusing a pre-trained model on a new task?
    options: [Transfer learning, Overfitting]
    answer: A
  - type: prompt
    concept: transferr learning
    question: When would you not use transfer learning?
"""


def test_concepts_and_easy_days_load_dump_and_lint():
    deck, issues = load_yaml_deck(CONCEPTS, default_slug="concepts")
    assert [c.concept for c in deck.cards] == ["transfer learning", "transfer learning", "transferr learning"]
    assert deck.easy_days == (1.0, 1.0, 1.0, 1.0, 1.0, 0.5, 0.0)
    loaded = load(CONCEPTS, name="concepts.yaml")
    assert [(i.code, i.line) for i in loaded.issues] == [("lone-concept", 14)]  # the typo is caught
    again = load(dump_yaml_deck(deck), name="again.yaml").deck
    assert again == deck and again.easy_days == deck.easy_days
    as_json = load(json.dumps(deck.to_dict()), name="concepts.json").deck
    assert as_json == deck and as_json.easy_days == deck.easy_days
    assert deck.to_dict()["easy_days"] == {"sat": 0.5, "sun": 0.0}
    # the concept is not part of a card's id: setting one keeps the card's history
    assert deck.cards[0].id == Flashcard(front=deck.cards[0].front, back=deck.cards[0].back).id


@pytest.mark.parametrize("value, message", [
    ("[sat, sun]", "easy_days must be a mapping"),
    ("{sat: half}", "sat 'half' is not a number"),
    ("{sat: 1.5}", "must be a number 0-1, not the number 1.5"),
    ("{someday: 0.5}", "'someday' is not a weekday"),
])
def test_bad_easy_days_are_errors_naming_the_fix(value, message):
    text = CONCEPTS.replace("{sat: 0.5, Sunday: 0}", value)
    loaded = load(text, name="concepts.yaml")
    errors = [i for i in loaded.issues if i.severity is Severity.ERROR]
    assert any(message in i.message and i.line == 3 for i in errors), [i.describe() for i in loaded.issues]

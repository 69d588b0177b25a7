"""Lint: each check, with the line it reports, through the YAML loader and on decks built in code."""

from __future__ import annotations

import pytest

from content.lint import LintIssue, Severity, lint_deck
from content.loader import load_deck_text
from content.model import BUTTON_TEXT_LIMIT, SECTION_TEXT_LIMIT, Deck, Flashcard, MultipleChoice, Prompt

HEADER = "deck: lint\ntitle: Lint cases\ncards:\n"  # cards start on line 4


def mcq(question: str = "Which one?", options: tuple[str, ...] = ("a", "b", "c", "d"),
        answer: str | None = "A") -> str:
    lines = ["  - type: mcq", f"    question: {question!r}", "    options:"]
    lines += [f"      - {o!r}" for o in options]
    if answer is not None:
        lines.append(f"    answer: {answer}")
    return "\n".join(lines) + "\n"


def flashcard(front: str = "Front?", back: str = "Back.") -> str:
    return f"  - type: flashcard\n    front: {front!r}\n    back: {back!r}\n"


def issues(*cards: str) -> list[tuple[Severity, str, int | None]]:
    loaded = load_deck_text(HEADER + "".join(cards), filename="lint.yaml")
    return [(i.severity, i.code, i.line) for i in loaded.issues]


def messages(*cards: str) -> list[str]:
    return [i.message for i in load_deck_text(HEADER + "".join(cards), filename="lint.yaml").issues]


E, W = Severity.ERROR, Severity.WARNING


def test_a_clean_deck_has_no_issues():
    assert issues(flashcard(), mcq(), "  - type: prompt\n    question: Why?\n") == []


def test_missing_answer_key():
    assert issues(flashcard(), mcq(answer=None)) == [(E, "missing-key", 7)]


def test_duplicate_option():
    assert issues(mcq(options=("a", "b", " A ", "d"))) == [(E, "duplicate-option", 4)]
    assert messages(mcq(options=("a", "b", " A ", "d"))) == ["option C repeats option A"]


def test_empty_option():
    assert issues(mcq(options=("a", "", "c"))) == [(E, "empty-option", 4)]
    assert messages(mcq(options=("a", "", "c"))) == ["option B is empty"]


def test_fewer_than_two_options():
    assert issues(mcq(options=("only",))) == [(E, "too-few-options", 4)]


def test_answer_outside_the_options():
    assert issues(mcq(answer="E")) == [(E, "answer-range", 4)]
    assert messages(mcq(answer="E")) == ["answer E is outside the options (A-D)"]


def test_duplicate_questions_and_fronts():
    found = issues(flashcard("What is X?"), mcq("Which one?"), flashcard("what  is x?", "Other."),
                   mcq("WHICH ONE?", options=("e", "f")))
    assert found == [(E, "duplicate-front", 15), (E, "duplicate-question", 18)]
    assert messages(flashcard("What is X?"), flashcard("What is X?", "Other."))[0] == (
        "duplicate flashcard front: same as the card at line 4")


def test_a_flashcard_and_a_question_with_the_same_text_are_not_duplicates():
    assert issues(flashcard("Which one?"), mcq("Which one?")) == []


def test_option_longer_than_a_slack_button_is_a_warning():
    # The button reads "B. option": three characters more than the option itself.
    fits, long = "x" * (BUTTON_TEXT_LIMIT - 3), "y" * (BUTTON_TEXT_LIMIT - 2)
    assert issues(mcq(options=("a", fits))) == []
    assert issues(mcq(options=("a", long))) == [(W, "button-length", 4)]
    message = messages(mcq(options=("a", long)))[0]
    assert "option(s) B (76)" in message and "numbered text" in message and '"A", "B"' in message


def test_lint_warns_exactly_when_the_slack_review_falls_back_to_letter_buttons():
    from bot.slack.blocks import options_fit_buttons

    for length in range(BUTTON_TEXT_LIMIT - 5, BUTTON_TEXT_LIMIT + 2):
        loaded = load_deck_text(HEADER + mcq(options=("a", "z" * length)), filename="lint.yaml")
        card = loaded.deck.cards[0]
        assert isinstance(card, MultipleChoice)
        warned = any(i.code == "button-length" for i in loaded.issues)
        assert warned == (not options_fit_buttons(card)), length


def test_text_longer_than_a_slack_section_is_an_error():
    assert issues(flashcard(back="z" * SECTION_TEXT_LIMIT)) == []
    assert issues(flashcard(back="z" * (SECTION_TEXT_LIMIT + 1))) == [(E, "section-length", 4)]
    assert "back is 3,001 characters" in messages(flashcard(back="z" * (SECTION_TEXT_LIMIT + 1)))[0]
    # Long options are listed in the question's section: together they must fit.
    listed = mcq("q" * 2000, options=("o" * 600, "p" * 600))
    assert issues(listed) == [(W, "button-length", 4), (E, "section-length", 4)]


@pytest.mark.parametrize("card, message", [
    (flashcard(front=""), "flashcard has no front (empty or missing)"),
    (flashcard(back="   "), "flashcard has no back (empty or missing)"),
    ("  - type: flashcard\n    front: F\n", "flashcard has no back (empty or missing)"),
    (mcq(question=""), "multiple-choice question has no question text (empty or missing)"),
    ("  - type: prompt\n    guidance: G\n", "open prompt has no question (empty or missing)"),
])
def test_empty_text(card, message):
    loaded = load_deck_text(HEADER + card, filename="lint.yaml")
    assert [(i.code, i.line, i.message) for i in loaded.issues] == [("empty-text", 4, message)]


def test_unknown_level_is_a_warning():
    assert issues(flashcard().replace("    front", "    level: expert\n    front")) == [(W, "level", 4)]


@pytest.mark.parametrize("retention, ok", [(0.69, False), (0.7, True), (0.9, True), (0.99, True),
                                           (0.995, False)])
def test_desired_retention_range(retention, ok):
    text = HEADER.replace("cards:", f"desired_retention: {retention}\ncards:") + flashcard()
    loaded = load_deck_text(text, filename="lint.yaml")
    assert [(i.code, i.line) for i in loaded.errors] == ([] if ok else [("retention", 3)])


def test_lint_of_a_deck_built_in_code_has_no_lines():
    deck = Deck(slug="Bad Slug", title=" ", desired_retention=1.0, cards=(
        Flashcard(front="F", back=""), MultipleChoice(question="Q", options=("a", "b"), answer=None),
        Prompt(question="P")))
    found = [(i.severity, i.code, i.line) for i in lint_deck(deck)]
    assert found == [(E, "slug", None), (E, "empty-text", None), (E, "retention", None),
                     (E, "empty-text", None), (E, "missing-key", None)]
    assert [i.card_id for i in lint_deck(deck)][3:] == [deck.cards[0].id, deck.cards[1].id]
    assert [i.code for i in lint_deck(Deck(slug="empty", title="Empty", cards=()))] == ["no-cards"]


def test_errors_fail_an_import_and_warnings_do_not():
    warned = load_deck_text(HEADER + mcq(options=("a", "w" * 80)), filename="lint.yaml")
    assert warned.errors == () and len(warned.warnings) == 1
    failed = load_deck_text(HEADER + mcq(answer=None), filename="lint.yaml")
    assert len(failed.errors) == 1 and failed.warnings == ()


def test_issue_to_dict_and_describe():
    issue = LintIssue(Severity.WARNING, 12, "option B is long", "mcq-0123456789ab", "button-length")
    assert issue.to_dict() == {"severity": "warning", "line": 12, "message": "option B is long",
                               "card_id": "mcq-0123456789ab", "code": "button-length"}
    assert LintIssue.from_dict(issue.to_dict()) == issue
    assert issue.describe("deck.yaml") == "deck.yaml:12: warning: option B is long"
    assert LintIssue(Severity.ERROR, None, "deck has no cards").describe() == "error: deck has no cards"

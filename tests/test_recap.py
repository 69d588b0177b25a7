"""The recap parser, on the real recap page and on a second one in the same format."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from content.lint import Severity
from content.loader import load_deck_file, load_deck_text
from content.model import DeckFormatError, Flashcard, MultipleChoice, Prompt
from content.recap import parse_recap

RECAPS = Path(__file__).parent / "data" / "recaps"
REAL = RECAPS / "pretrained-models-cv.txt"  # byte-for-byte copy of shared/recaps/pretrained-models-cv.txt
SECOND = RECAPS / "overfitting-regularization.txt"


def parse(path: Path):
    return parse_recap(path.read_text(encoding="utf-8"), slug=path.stem)


def kinds(deck):
    return ([c for c in deck.cards if isinstance(c, Flashcard)],
            [c for c in deck.cards if isinstance(c, MultipleChoice)],
            [c for c in deck.cards if isinstance(c, Prompt)])


def test_real_recap_counts_title_and_order():
    deck, _ = parse(REAL)
    flashcards, mcqs, prompts = kinds(deck)
    assert (len(flashcards), len(mcqs), len(prompts)) == (5, 10, 2)
    assert deck.title == "Why pre-trained models save time in Computer Vision"
    assert deck.slug == "pretrained-models-cv"
    assert [c.line for c in deck.cards] == [18, 22, 26, 30, 34, 37, 42, 47, 52, 57, 62, 65,
                                            72, 98, 124, 158, 184]


def test_real_recap_flashcards_and_prompts():
    deck, _ = parse(REAL)
    flashcards, _, prompts = kinds(deck)
    assert flashcards[0] == Flashcard(
        front="What is a pre-trained model in machine learning?",
        back="A pre-trained model is a model that has already been trained on a large dataset and can be "
             "reused for similar tasks without starting from scratch.",
        level="beginner")
    assert [c.level for c in flashcards] == ["beginner", "beginner", "intermediate", "beginner", "beginner"]
    assert "don’t have to train the model from zero" in flashcards[1].back
    # "Explain…" right after option D is the prompt's question, not an option E.
    assert prompts[0] == Prompt(
        question="Explain in your own words why pre-trained models save time in machine learning.",
        guidance="Think about how starting with some knowledge helps you learn faster.", concepts=())
    assert prompts[1].question.startswith("Describe a real-life example")
    assert prompts[1].guidance == ("Imagine you want to recognize objects in photos but have only a few "
                                   "pictures.")


def test_real_recap_quiz_questions_have_options_and_no_key():
    deck, _ = parse(REAL)
    quiz = kinds(deck)[1][:5]
    assert quiz[0].question == "What is the main benefit of using a pre-trained model?"
    assert quiz[0].options == ("It reduces training time and data needed",
                               "It always gives perfect predictions", "It requires no computing power",
                               "It eliminates the need for data preprocessing")
    assert quiz[4].options[3] == "How to avoid training"
    assert all(len(q.options) == 4 and q.answer is None and q.level is None for q in quiz)


def test_real_recap_practice_questions():
    deck, _ = parse(REAL)
    practice = kinds(deck)[1][5:]
    assert [q.answer for q in practice] == [3, 0, 1, 0, 2]
    assert [q.level for q in practice] == ["easy", "easy", "medium", "medium", "hard"]
    first = practice[0]
    assert first.question == "Why do pre-trained models save time in computer vision projects?"
    assert first.options[3] == "They reuse features learned from large datasets, reducing training time"
    assert first.solution == (
        "Understand what pre-trained models do: Pre-trained models have already learned useful features from "
        "large datasets, so you don't start from zero.",
        "Connect this to time saved: Since the model already knows many features, you spend less time "
        "training it on your own data.",
        "Final Answer: They reuse features learned from large datasets, reducing training time -> Option D",
        "Quick Check: Pre-trained models reuse features = B",
    )
    assert first.hint == "Pre-trained means already learned features reused"
    assert first.mistakes == ("Thinking pre-trained models need more data",
                              "Believing they need no training at all",
                              "Assuming they remove all preprocessing")
    assert practice[1].answer_text == "model = torchvision.models.resnet50(pretrained=True)"
    assert practice[3].question.startswith("You tried to fine-tune a pre-trained model but got an error: "
                                           "AttributeError: 'Sequential' object has no attribute 'fc'.")


def test_code_lines_of_a_question_keep_their_newlines():
    deck, _ = parse(REAL)
    assert kinds(deck)[1][7].question == (
        "Consider this Python code using TensorFlow to load a pre-trained MobileNetV2 model and predict on "
        "an input image:\n"
        "import tensorflow as tf\n"
        "model = tf.keras.applications.MobileNetV2(weights='imagenet')\n"
        "import numpy as np\n"
        "input_data = np.random.rand(1, 224, 224, 3).astype('float32')\n"
        "predictions = model.predict(input_data)\n"
        "print(predictions.shape)\n"
        "\n"
        "What will be the printed output shape?")


def test_real_recap_issues_are_the_missing_keys_and_three_quick_checks():
    _, issues = parse(REAL)
    errors = [i for i in issues if i.severity is Severity.ERROR]
    warnings = [i for i in issues if i.severity is Severity.WARNING]
    assert [(i.code, i.line) for i in errors] == [("missing-key", n) for n in (37, 42, 47, 52, 57)]
    assert [(i.code, i.line) for i in warnings] == [("quick-check", n) for n in (92, 152, 178)]
    assert warnings[0].message == ("Quick Check says B but Final Answer says D; the Final Answer is taken as "
                                   "the key")
    assert "says A but Final Answer says B" in warnings[1].message
    assert "says D but Final Answer says A" in warnings[2].message


def test_loader_reports_each_problem_of_the_real_recap_once():
    loaded = load_deck_file(REAL)
    assert [i.line for i in loaded.errors] == [37, 42, 47, 52, 57]
    # The three Quick Checks, and two options too long for a button once "A. " is put before them.
    assert [(i.line, i.code) for i in loaded.warnings] == [
        (92, "quick-check"), (152, "quick-check"), (158, "button-length"), (178, "quick-check"),
        (184, "button-length"),
    ]
    assert {i.card_id for i in loaded.errors} == {c.id for c in kinds(loaded.deck)[1][:5]}


def test_second_recap_other_counts_levels_and_option_counts():
    deck, issues = parse(SECOND)
    flashcards, mcqs, prompts = kinds(deck)
    assert deck.title == "Overfitting and regularization"
    assert (len(flashcards), len(mcqs), len(prompts)) == (4, 7, 1)
    assert [c.level for c in flashcards] == ["beginner", "intermediate", "intermediate", "advanced"]
    assert [len(q.options) for q in mcqs] == [5, 4, 3, 4, 3, 4, 5]
    assert mcqs[0].options[4] == "The model has too few parameters"
    # After the 3-option question, "Describe…" (a D) is the prompt, not an option D.
    assert mcqs[2].options == ("It is turned off and every unit is used", "It drops twice as many units",
                               "It raises an error")
    assert prompts[0].question.startswith("Describe how you would tell")
    assert [q.answer for q in mcqs] == [None, None, None, 1, 0, 1, 1]
    assert [q.level for q in mcqs[3:]] == ["easy", "easy", "medium", "hard"]
    assert mcqs[4].mistakes == ()  # this question has no Common Mistakes section
    assert mcqs[4].solution[-1] == "Quick Check: weight decay = L2 penalty = A"
    assert [(i.severity, i.code, i.line) for i in issues] == [
        (Severity.ERROR, "missing-key", 33), (Severity.ERROR, "missing-key", 39),
        (Severity.ERROR, "missing-key", 44), (Severity.WARNING, "quick-check", 161)]


def test_second_recap_code_keeps_its_own_indentation():
    deck, _ = parse(SECOND)
    question = kinds(deck)[1][5].question
    assert "for epoch in range(100):\n    val_loss = run_epoch(epoch)\n    if val_loss < best:\n" in question
    assert "        best, bad_epochs = val_loss, 0\n" in question
    assert question.endswith("\n\nThe validation loss improves at every epoch up to and including epoch 9, "
                             "and never after. At which epoch does the loop stop?")


def test_windows_line_endings_and_tabs_read_the_same():
    text = REAL.read_text(encoding="utf-8")
    deck, issues = parse_recap(text.replace("\n", "\r\n"), slug="x")
    tabbed, _ = parse_recap(text.replace("      ", "\t"), slug="x")
    reference, reference_issues = parse_recap(text, slug="x")
    assert deck == reference == tabbed
    assert issues == reference_issues


def test_ids_are_stable_and_follow_the_tested_text():
    text = REAL.read_text(encoding="utf-8")
    once, _ = parse_recap(text, slug="x")
    again, _ = parse_recap(text, slug="x")
    assert [c.id for c in once.cards] == [c.id for c in again.cards]
    assert len({c.id for c in once.cards}) == 17

    spaced, _ = parse_recap(text.replace("What is the main benefit of using",
                                         "What  is the main   benefit of using"), slug="x")
    assert [c.id for c in spaced.cards] == [c.id for c in once.cards]

    edited, _ = parse_recap(text.replace("main benefit of using", "main advantage of using"), slug="x")
    changed = [i for i, (a, b) in enumerate(zip(once.cards, edited.cards, strict=True)) if a.id != b.id]
    assert changed == [5]

    hint_fixed, _ = parse_recap(text.replace("Fine-tune last layer for small datasets [OK]",
                                             "Fine-tune the last layer for small datasets [OK]"), slug="x")
    assert [c.id for c in hint_fixed.cards] == [c.id for c in once.cards]  # explanations are not in the id


def test_final_answer_problems():
    text = REAL.read_text(encoding="utf-8")
    lines = text.splitlines(keepends=True)
    assert lines[146].strip() == "3. Final Answer:" and lines[148].strip() == "(1, 1000) -> Option B"
    no_final = "".join(lines[:146] + lines[149:])
    deck, issues = parse_recap(no_final, slug="x")
    question = kinds(deck)[1][7]
    assert question.answer is None
    assert ("missing-key", 124) in [(i.code, i.line) for i in issues]

    mismatched, issues = parse_recap(text.replace("(1, 1000) -> Option B", "(1, 1001) -> Option B"), slug="x")
    assert [(i.code, i.line) for i in issues if i.code == "final-answer-text"] == [("final-answer-text", 149)]

    outside = load_deck_text(text.replace("(1, 1000) -> Option B", "(1, 1000) -> Option F"), filename="x.txt")
    assert [(i.code, i.line) for i in outside.errors if i.code == "answer-range"] == [("answer-range", 124)]


def test_a_page_without_title_is_read_with_a_warning():
    text = REAL.read_text(encoding="utf-8").replace(" - Quick Recap", "")
    deck, issues = parse_recap(text, slug="pretrained-models-cv")
    assert deck.title == "Pretrained models cv"
    assert len(deck.cards) == 17
    assert [i.code for i in issues if i.severity is Severity.WARNING][0] == "title"


def test_text_between_cards_is_reported_not_silently_dropped():
    text = REAL.read_text(encoding="utf-8").replace("      Practice\n",
                                                    "Some stray sentence.\n      Practice\n")
    deck, issues = parse_recap(text, slug="x")
    assert len(deck.cards) == 17
    assert ("unrecognised-text", 69) in [(i.code, i.line) for i in issues]


@pytest.mark.parametrize("text, expected", [
    ("", "empty"),
    ("   \n\n  ", "empty"),
    ("Bird\nRaised Fist0\nSomething - Quick Recap\nRecommended\n", "no cards found"),
])
def test_text_without_cards_is_a_format_error(text, expected):
    with pytest.raises(DeckFormatError, match=expected):
        parse_recap(text, slug="x")


def test_quiz_level_words_before_a_question_are_kept():
    text = ("T - Quick Recap\nhard\nWhich is prime?\nA4\nB7\nC9\n"
            "Explain primes.\nThink of divisors.\nYou got /2 concepts.\n")
    deck, _ = parse_recap(text, slug="x")
    assert deck.cards[0] == MultipleChoice(question="Which is prime?", options=("4", "7", "9"), answer=None,
                                           level="hard")
    assert replace(deck.cards[1], line=None) == Prompt(question="Explain primes.",
                                                       guidance="Think of divisors.")


def test_a_question_count_different_from_the_announced_one_is_reported():
    text = REAL.read_text(encoding="utf-8").replace("ATransfer learning\n", "Transfer learning\n")
    deck, issues = parse_recap(text, slug="x")
    assert sum(isinstance(c, MultipleChoice) for c in deck.cards) == 9
    assert [(i.code, i.line) for i in issues if i.code == "question-count"] == [("question-count", 15)]
    assert "announces 10 questions but 9 were found" in next(i.message for i in issues
                                                              if i.code == "question-count")


def test_report_lists_issues_then_a_summary():
    report = load_deck_file(SECOND).report("second.txt").splitlines()
    assert report[0] == ("second.txt:33: error: multiple-choice question has no answer key (a YAML deck "
                         "gives it as `answer: <letter>`)")
    assert report[-1] == ("overfitting-regularization: 12 cards (4 flashcards, 7 multiple-choice questions, "
                          "1 open prompt); 3 errors, 1 warning")
    assert len(report) == 5


def test_variants_of_the_format():
    """Dotted quiz options, key concepts, a multi-line back, a practice-only page, stray header lines."""
    deck, issues = parse_recap(
        "Bird\nRaised Fist0\nbeginner\nWhat is X?\nX is Y.\nClick to reveal answer\n"
        "advanced\nFront?\nline 1\nline 2\nClick to reveal answer\n"
        "Which?\nA. one\nB. two\nExplain it.\nGuide.\nKey concepts: a, b; c\nYou got /3 concepts.\n",
        slug="x")
    assert deck.cards == (
        Flashcard(front="What is X?", back="X is Y.", level="beginner"),
        Flashcard(front="Front?", back="line 1\nline 2", level="advanced"),
        MultipleChoice(question="Which?", options=("one", "two"), answer=None),
        Prompt(question="Explain it.", guidance="Guide.", concepts=("a", "b", "c")))
    assert [(i.code, i.line) for i in issues] == [("title", None), ("unrecognised-text", 1),
                                                  ("missing-key", 12)]

    deck, issues = parse_recap(
        "Topic - Quick Recap\nPractice\n(1/1)\n1. Which?\nmedium\nA. one\nB. two\nSolution\n"
        "1. Step 1: Think\n  it over\n2. Final Answer:\n  two -> Option B\nHint: h [OK]\n", slug="x")
    assert deck.cards == (MultipleChoice(
        question="Which?", options=("one", "two"), answer=1, level="medium", hint="h",
        solution=("Think: it over", "Final Answer: two -> Option B")),)
    assert issues == []


SHARED = Path(__file__).parent.parent.parent / "shared" / "recaps" / "pretrained-models-cv.txt"


@pytest.mark.skipif(not SHARED.exists(), reason="the shared inputs are not next to this checkout")
def test_the_test_copy_of_the_real_recap_is_unchanged():
    assert REAL.read_bytes() == SHARED.read_bytes()

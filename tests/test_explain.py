"""Explain in your own words: the deck format for key concepts, graded prompts as FSRS cards, the
deck setting that keeps prompts reflection only, `tutor explain` and written answers in
`tutor review`. Tests of the Tutor itself grade with its default, the lexical grader (deterministic,
torch-free); the commands grade as the terminal does, with the packaged sentence model in their own
process (bot.concepts.grading.grade_here)."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from test_cli import run
from tutor_helpers import MONDAY, REPO, make_tutor

from bot.explain import model_answer, rating_for
from bot.tutor import Rating, TutorError
from content.lint import lint_deck
from content.loader import load_deck_file, load_deck_text
from content.model import Deck, Flashcard, KeyConcept, Prompt, PromptMode, card_from_dict
from content.yaml_deck import dump_yaml_deck
from storage import learning as learning_store
from storage import reviews as review_store
from storage.db import all_migrations, apply_migrations, open_db, transaction

SHIPPED = REPO / "content/decks/pretrained-models-cv.yaml"
CONCEPTS = ["already trained on a large dataset", "reuses learned features instead of learning from zero",
            "less training time and computation", "needs less data"]
SAYS = {1: "It was already trained on a large dataset.", 2: "It reuses learned features instead of learning "
        "from zero.", 3: "Training needs less time and computation.", 4: "It needs less data."}


@pytest.fixture(autouse=True)
def in_tmp(monkeypatch, tmp_path):
    """The commands' tutor.db in a folder of this test's own (as test_cli.py does)."""
    monkeypatch.delenv("TUTOR_DB", raising=False)
    monkeypatch.chdir(tmp_path)


def says(*numbers: int) -> str:
    return " ".join(SAYS[n] for n in numbers)


def prompt() -> Prompt:
    return Prompt(question="Why do pre-trained models save time?", guidance="Think of what it already knows.",
                  concepts=tuple(KeyConcept(c) for c in CONCEPTS))


def deck(mode: PromptMode = PromptMode.GRADED) -> Deck:
    return Deck(slug="why", title="Why", prompts=mode,
                cards=(Flashcard(front="Transfer learning?", back="Reusing a model"), prompt(),
                       Prompt(question="How did it go?")))


def test_the_shipped_deck_has_the_concepts_and_every_question_a_level(capsys):
    loaded = load_deck_file(SHIPPED)
    assert loaded.issues == ()
    why, example = [c for c in loaded.deck.cards if isinstance(c, Prompt)]
    assert [c.text for c in why.concepts] == CONCEPTS
    assert [c.text for c in example.concepts] == [
        "a concrete real task", "only a little data available",
        "start from a model pre-trained on a large dataset", "fine-tune or adapt it to the new task"]
    assert all(c.examples for c in why.concepts + example.concepts) and why.model_answer
    assert all(card.level for card in loaded.deck.cards)
    code, out, _ = run(capsys, "deck", "show", str(SHIPPED), "--json")
    data = json.loads(out)
    assert code == 0 and data["prompts"] == "graded"
    shown = next(c for c in data["cards"] if c["kind"] == "prompt")
    assert [c["concept"] for c in shown["concepts"]] == CONCEPTS and shown["concepts"][0]["examples"]


YAML = """deck: notes
title: Notes
prompts: {mode}
cards:
  - type: prompt
    question: How do you spot overfitting?
    concepts:
      - validation loss rises
      - concept: regularization
        examples: [dropout, weight decay]
    model_answer: Compare the curves.
"""


def test_concepts_as_phrases_or_mappings_and_the_prompts_setting():
    loaded = load_deck_text(YAML.format(mode="reflection"), filename="notes.yaml")
    assert loaded.issues == ()
    [card] = loaded.deck.cards
    assert isinstance(card, Prompt) and loaded.deck.prompts is PromptMode.REFLECTION
    assert card.concepts == (KeyConcept("validation loss rises"),
                             KeyConcept("regularization", ("dropout", "weight decay")))
    assert card.model_answer == "Compare the curves."
    again = load_deck_text(dump_yaml_deck(loaded.deck), filename="notes.yaml")
    assert again.deck == loaded.deck and again.issues == ()
    as_json = load_deck_text(json.dumps(loaded.deck.to_dict()), filename="notes.json")
    assert as_json.deck == loaded.deck and as_json.issues == ()
    old = {"kind": "prompt", "question": "Q", "concepts": ["a", "b"]}  # as stored before examples existed
    assert card_from_dict(old) == Prompt(question="Q", concepts=("a", "b"))


@pytest.mark.parametrize(("text", "code", "message"), [
    (YAML.format(mode="sometimes"), "bad-value", "prompts 'sometimes' is not a setting"),
    (YAML.format(mode="graded").replace("      - validation loss rises\n", "      - examples: [x]\n"),
     "empty-text", "a concept mapping needs `concept: <short phrase>`"),
    (YAML.format(mode="graded").replace("examples: [dropout", "exemples: [dropout"), "unknown-key",
     "did you mean 'examples'?"),
    (YAML.format(mode="graded").replace("validation loss rises", "regularization"), "duplicate-concept",
     "concept 2 repeats concept 1"),
    (YAML.format(mode="graded").replace("validation loss rises", "x" * 130), "concept-length",
     "concept 1 is 130 characters"),
    (YAML.format(mode="graded").replace("[dropout, weight decay]", "['', weight decay]"), "empty-text",
     "example 1 of concept 2 is empty"),
])
def test_lint_checks_the_new_fields(text, code, message):
    issues = load_deck_text(text, filename="notes.yaml").issues
    assert any(i.code == code and message in i.message for i in issues), [i.message for i in issues]


def test_rating_rule_and_model_answer():
    from bot.concepts.grade import ConceptGrade, ConceptScore, GraderName

    def graded(covered: int, of: int) -> ConceptGrade:
        return ConceptGrade(tuple(ConceptScore(str(i), i < covered, 0.0) for i in range(of)),
                            GraderName.LEXICAL, 0.5)

    assert [rating_for(graded(n, 4)) for n in (4, 3, 2, 1, 0)] == \
        [Rating.GOOD, Rating.HARD, Rating.AGAIN, Rating.AGAIN, Rating.AGAIN]
    assert rating_for(graded(2, 3)) is Rating.HARD and rating_for(graded(1, 2)) is Rating.AGAIN
    assert model_answer(prompt()) == \
        "Think of what it already knows. A good answer says: " + "; ".join(CONCEPTS) + "."


def test_graded_prompts_are_scheduled_and_answered_as_reviews(tmp_path):
    tutor = make_tutor(tmp_path / "t.db")
    tutor.import_deck(deck())
    tutor.join("ana", "why", new_per_day=10)
    assert [i.card.kind.value for i in tutor.due_cards("ana", MONDAY)] == ["flashcard", "prompt"]
    assert [c.kind.value for c in tutor.deck("why").scheduled_cards] == ["flashcard", "prompt"]
    card = prompt()
    result = tutor.answer_prompt("ana", "why", card.id, says(1, 3, 4), seq=1, now=MONDAY)
    assert (result.grade.covered, result.grade.of) == (3, 4) and result.review is not None
    assert result.review.rating is Rating.HARD and result.review.correct is None
    stored = learning_store.prompt_answer(tutor.db, "ana", "why", card.id, 1)
    assert stored is not None and stored.answer == says(1, 3, 4) and stored.grade["covered"] == 3
    again = tutor.answer_prompt("ana", "why", card.id, says(1, 2, 3, 4), seq=1, now=MONDAY)
    assert again.duplicate and again.grade.covered == 3 and again.answer == says(1, 3, 4)  # the first stands

    later = MONDAY + result.review.interval
    assert tutor.answer_prompt("ana", "why", card.id, says(1, 2, 3, 4), seq=2, now=later).review.rating is \
        Rating.GOOD
    assert tutor.undo_last("ana") is not None  # a new answer under the undone seq replaces the old one
    redo = tutor.answer_prompt("ana", "why", card.id, says(1), seq=2, now=later + timedelta(minutes=1))
    assert redo.review is not None and redo.review.rating is Rating.AGAIN
    assert learning_store.prompt_answer(tutor.db, "ana", "why", card.id, 2).answer == says(1)
    assert [s.card_id for s in tutor.card_stats("why")] == [deck().cards[0].id, card.id]
    with pytest.raises(TutorError, match="not an open prompt"):
        tutor.explain("why", deck().cards[0].id, "x")


def test_a_reflection_deck_grades_for_feedback_and_records_nothing(tmp_path):
    tutor = make_tutor(tmp_path / "t.db")
    tutor.import_deck(deck(PromptMode.REFLECTION))
    tutor.join("ana", "why", new_per_day=10)
    assert [i.card.kind.value for i in tutor.due_cards("ana", MONDAY)] == ["flashcard"]
    result = tutor.answer_prompt("ana", "why", prompt().id, says(1, 2, 3, 4), seq=1, now=MONDAY)
    assert result.review is None and result.grade.covered == 4
    assert review_store.reviews_of(tutor.db, "ana") == []
    tutor.import_deck(deck(PromptMode.GRADED))  # the setting changed: the prompt joins the reviews
    assert [i.card.kind.value for i in tutor.due_cards("ana", MONDAY)] == ["flashcard", "prompt"]


def test_the_migration_schedules_stored_prompts_that_have_concepts(tmp_path):
    db = open_db(tmp_path / "old.db", migrate=False)
    db.conn.execute("CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL,"
                    " applied_at TEXT NOT NULL)")
    from storage.db import _statements

    first = next(m for m in all_migrations() if m.version == 1)
    with transaction(db) as conn:
        for statement in _statements(first.sql):
            conn.execute(statement)
        conn.execute("INSERT INTO schema_migrations VALUES (1, 'core', '2025-01-01')")
        conn.execute("INSERT INTO decks (slug, title, imported_at) VALUES ('d', 'D', '2025-01-01')")
        for card in deck().cards:
            conn.execute("INSERT INTO cards (deck, card_id, kind, position, data, added_at, updated_at)"
                         " VALUES ('d', ?, ?, 0, ?, '', '')",
                         (card.id, card.kind.value, json.dumps(card.to_dict())))
    assert 20 in apply_migrations(db)
    scheduled = dict(db.conn.execute("SELECT card_id, scheduled FROM cards"))
    assert [scheduled[c.id] for c in deck().cards] == [1, 1, 0]


def test_tutor_explain_prints_the_grade(capsys, monkeypatch):
    code, _, _ = run(capsys, "deck", "import", str(SHIPPED))
    why = next(c for c in load_deck_file(SHIPPED).deck.cards if isinstance(c, Prompt))
    code, out, err = run(capsys, "explain", "pretrained-models-cv", why.id, "--answer",
                         "It was already trained on a huge dataset, so it needs less data.", "--json")
    assert code == 0, err
    data = json.loads(out)
    # The sentence model (in this process, as the terminal grades) also counts "less training time"
    # here, just over its threshold: a generous call the lexical grader does not make (2/4).
    assert list(data)[:3] == ["covered", "of", "concepts"] and data["grader"] == "semantic"
    assert (data["covered"], data["of"]) == (3, 4)
    assert [c["concept"] for c in data["concepts"]] == CONCEPTS
    assert [c["covered"] for c in data["concepts"]] == [True, False, True, True]
    assert all(set(c) == {"concept", "covered", "score"} for c in data["concepts"])
    code, out, _ = run(capsys, "explain", str(SHIPPED), why.id, "--answer", "-",
                       stdin="It needs less data.\n", monkeypatch=monkeypatch)
    assert code == 0 and out.startswith("You got 1/4 concepts.\n")
    assert "✗ already trained on a large dataset" in out and "Model answer: A pre-trained model" in out
    code, _, err = run(capsys, "explain", "pretrained-models-cv", "op-000000000000", "--answer", "x")
    assert code == 2 and why.id in err and "open prompts" in err
    code, _, err = run(capsys, "explain", "nope.yaml", why.id, "--answer", "x")
    assert code == 2 and "no such file" in err


def test_tutor_review_asks_for_a_written_answer(capsys, monkeypatch, tmp_path):
    path = tmp_path / "why.yaml"
    path.write_text(dump_yaml_deck(Deck(slug="why", title="Why", cards=(prompt(),))), encoding="utf-8")
    run(capsys, "deck", "import", str(path))
    answer = f"{SAYS[1]}\n{SAYS[2]}\n\n"  # two lines, then the empty line that ends the answer
    code, out, err = run(capsys, "review", "--user", "ana", "--deck", "why", "--now",
                         "2025-03-03T08:30:00+00:00", stdin=answer, monkeypatch=monkeypatch)
    assert code == 0, err
    assert "Write your answer; end it with an empty line." in out
    assert "You got 2/4 concepts." in out and "✓ reuses learned features" in out
    assert "✗ needs less data" in out and "Graded Again." in out and "Reviewed 1 card, 0 right." in out
    tutor = make_tutor(tmp_path / "tutor.db")
    stored = learning_store.prompt_answer(tutor.db, "ana", "why", prompt().id, 1)
    assert stored is not None and stored.answer == f"{SAYS[1]}\n{SAYS[2]}" and stored.source == "cli"


def test_lint_of_the_deck_model_itself():
    bad = Deck(slug="x", title="X", cards=(Prompt(question="Q", concepts=(KeyConcept(""), KeyConcept("a"),
                                                                          KeyConcept("A")) + ("c",) * 10),))
    codes = {i.code for i in lint_deck(bad)}
    assert {"empty-text", "duplicate-concept", "concepts"} <= codes

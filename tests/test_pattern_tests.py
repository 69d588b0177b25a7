"""Test this pattern: the draw across levels, the verdict, answers as FSRS reviews, stored results,
the team's report, and `tutor test` in a terminal with piped answers."""

from __future__ import annotations

import json
import random
from datetime import timedelta

import pytest
from test_cli import run
from tutor_helpers import MONDAY, REPO, make_tutor

from bot import pattern_tests as tests
from bot.tutor import Rating, TutorError
from content.loader import load_deck_file
from content.model import Deck, Flashcard, MultipleChoice
from storage import reviews as review_store

SHIPPED = REPO / "content/decks/pretrained-models-cv.yaml"


@pytest.fixture(autouse=True)
def in_tmp(monkeypatch, tmp_path):
    monkeypatch.delenv("TUTOR_DB", raising=False)
    monkeypatch.chdir(tmp_path)


def question(i: int, level: str | None) -> MultipleChoice:
    return MultipleChoice(question=f"Question {i}?", options=("right", "wrong"), answer=0, level=level,
                          solution=(f"because {i}",))


def levels(drawn: list[tuple[MultipleChoice, str]]) -> list[str]:
    return [level for _, level in drawn]


def test_the_draw_covers_the_levels_easy_first():
    rng = random.Random(1)
    even = [question(i, lv) for i, lv in enumerate(["beginner", "intermediate", "advanced"] * 6)]
    assert levels(tests.draw(even, 10, rng)) == ["easy"] * 4 + ["medium"] * 3 + ["hard"] * 3
    few_hard = [question(i, "easy") for i in range(10)] + [question(10 + i, "hard") for i in range(2)] \
        + [question(20 + i, "medium") for i in range(10)]
    assert levels(tests.draw(few_hard, 10, rng)) == ["easy"] * 4 + ["medium"] * 4 + ["hard"] * 2
    assert levels(tests.draw([question(0, None), question(1, "weird")], 10, rng)) == ["medium", "medium"]
    drawn = tests.draw(even, 10, rng)
    assert len({q.id for q, _ in drawn}) == 10
    shipped = tests.questions_of(load_deck_file(SHIPPED).deck)
    assert levels(tests.draw(shipped, 10, rng)) == ["easy"] * 5 + ["medium"] * 4 + ["hard"]


@pytest.mark.parametrize(("score", "per_level", "verdict"), [
    (8, {"easy": (4, 4), "medium": (3, 3), "hard": (1, 3)}, tests.Verdict.GETTING_THERE),  # hard below half
    (8, {"easy": (3, 4), "medium": (3, 3), "hard": (2, 3)}, tests.Verdict.STRONG),
    (10, {"easy": (10, 10), "medium": (0, 0), "hard": (0, 0)}, tests.Verdict.STRONG),
    (5, {"easy": (3, 4), "medium": (1, 3), "hard": (1, 3)}, tests.Verdict.GETTING_THERE),
    (4, {"easy": (2, 4), "medium": (1, 3), "hard": (1, 3)}, tests.Verdict.NEEDS_REVIEW),
])
def test_verdict_rule(score, per_level, verdict):
    assert tests.verdict(score, 10, per_level) is verdict


def test_a_test_records_reviews_and_its_result(tmp_path):
    tutor = make_tutor(tmp_path / "t.db")
    tutor.import_deck(load_deck_file(SHIPPED).deck)
    test = tests.start_test(tutor, "ana", "pretrained-models-cv", now=MONDAY, source="cli",
                            rng=random.Random(3))
    assert test.total == 10 and test.available == 10 and not test.finished
    for position, item in enumerate(test.questions):
        card = item.card
        assert card.answer is not None
        choice = card.answer if position < 7 else (card.answer + 1) % len(card.options)
        now = MONDAY + timedelta(seconds=position)
        test = tests.answer_question(tutor, test.id, position, choice, user_id="ana", now=now, source="cli")
        # A second answer to the same question (a double click) changes nothing.
        tests.answer_question(tutor, test.id, position, 0, user_id="ana", now=now, source="cli")
    assert test.finished
    result = tests.result(tutor, test.id)
    assert result.summary() == "7/10 · easy 5/5 · medium 2/4 · hard 0/1 · getting there"
    assert [card.id for card, _ in result.missed] == [q.card.id for q in test.questions[7:]]
    logged = review_store.reviews_of(tutor.db, "ana", "pretrained-models-cv")
    assert len(logged) == 10 and {r.source for r in logged} == {"cli"}
    assert [Rating(r.rating) for r in logged].count(Rating.AGAIN) == 3
    with pytest.raises(TutorError, match="someone else"):
        tests.answer_question(tutor, test.id, 0, 0, user_id="bob", now=MONDAY, source="cli")
    assert [r.test_id for r in tests.last_results(tutor, "ana")] == [test.id]


def test_a_small_deck_tests_on_all_it_has_and_the_team_report(tmp_path):
    tutor = make_tutor(tmp_path / "t.db")
    small = Deck(slug="small", title="Small", cards=tuple(question(i, "easy") for i in range(4)))
    tutor.import_deck(small)
    for user, wrong, day in (("ana", {0}, 0), ("bob", {0, 1}, 0), ("ana", set(), 1)):
        test = tests.start_test(tutor, user, "small", now=MONDAY + timedelta(days=day), source="dm")
        assert test.total == 4 and test.available == 4
        for q in test.questions:
            choice = 1 if int(q.card.question.split()[1].rstrip("?")) in wrong else 0
            tests.answer_question(tutor, test.id, q.position, choice, user_id=user,
                                  now=MONDAY + timedelta(days=day, minutes=q.position), source="dm")
    result = tests.last_results(tutor, "ana")[0]
    assert result.short and result.summary() == "4/4 · easy 4/4 · medium 0/0 · hard 0/0 · strong"
    report = tests.deck_report(tutor, "small")
    assert report.members == 2 and report.total == 4 and report.scores == {4: 1, 2: 1}  # latest test each
    assert report.most_missed == (("Question 0?", 2, 3), ("Question 1?", 1, 3))
    tutor.import_deck(Deck(slug="cards", title="C", cards=(Flashcard(front="F?", back="B"),)))
    with pytest.raises(TutorError, match="no multiple-choice question"):
        tests.start_test(tutor, "ana", "cards", now=MONDAY, source="cli")


def test_tutor_test_in_a_terminal_with_piped_answers(capsys, monkeypatch):
    run(capsys, "deck", "import", str(SHIPPED))
    questions = tests.questions_of(load_deck_file(SHIPPED).deck)
    # The deck has exactly 10 questions, so all are asked: easy first, each level in deck order.
    order = [q for level in tests.LEVELS for q in questions if tests.level_of(q) == level]
    piped = "".join(f"{c.answer + 1 if i < 7 else (c.answer + 1) % len(c.options) + 1}\n"
                    for i, c in enumerate(order) if c.answer is not None)
    code, out, err = run(capsys, "test", "--user", "ana", stdin=piped, monkeypatch=monkeypatch)
    assert code == 0, err
    assert "[1/10] easy" in out and "Right" not in out.split("Score:")[0]
    assert "Score: 7/10   easy 5/5   medium 2/4   hard 0/1" in out
    assert "Verdict: getting there" in out and "Missed:" in out
    for card in order[7:]:
        assert f"- {card.question}" in out and card.solution[0][:40] in out
    code, out, _ = run(capsys, "stats", "--user", "ana")
    assert "test of pretrained-models-cv on" in out and "7/10 · easy 5/5 · medium 2/4 · hard 0/1" in out
    code, out, _ = run(capsys, "stats", "--user", "ana", "--json")
    assert json.loads(out)["tests"][0]["score"] == 7


def test_tutor_test_stopped_early_and_as_json(capsys, monkeypatch, tmp_path):
    small = Deck(slug="small", title="Small", cards=tuple(question(i, "hard") for i in range(3)))
    from content.yaml_deck import dump_yaml_deck

    (tmp_path / "small.yaml").write_text(dump_yaml_deck(small), encoding="utf-8")
    run(capsys, "deck", "import", str(tmp_path / "small.yaml"))
    code, out, _ = run(capsys, "test", "--user", "ana", "--deck", "small", stdin="1\nq\n",
                       monkeypatch=monkeypatch)
    assert code == 1 and "has 3 questions, fewer than 10: the test asks all of them." in out
    assert "Stopped after 1 of 3 answers" in out
    code, out, err = run(capsys, "test", "--user", "ana", "--deck", "small", "--json", stdin="a\nB\n1\n",
                         monkeypatch=monkeypatch)
    assert code == 0 and "[1/3] hard" in err
    data = json.loads(out)
    assert (data["score"], data["total"], data["short"], data["verdict"]) == (2, 3, True, "getting there")
    assert data["levels"]["hard"] == {"right": 2, "asked": 3}

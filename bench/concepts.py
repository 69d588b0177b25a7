"""Concept grading: accuracy per concept decision on labelled answers, and the grade job's latency.

    python bench/concepts.py             # both graders (the semantic one needs the finetune extra)
    python bench/concepts.py --lexical   # the lexical grader only (no torch)
    python bench/concepts.py --threads 1 # torch threads for the model in this process (default: torch's)
    python bench/concepts.py --members 0 # skip the latency through Slack and the worker

Data: tests/data/concepts/labelled-answers.yaml (answers to the shipped deck's two open prompts,
each labelled per concept: full, partial, paraphrased, off-topic, empty, keyword-stuffed, copied,
wrong) and held-out-answers.yaml (written after every choice was made, scored only here). A
*decision* is one (answer, concept) pair: covered or not; accuracy is the share of decisions that
agree with the label.

Printed for each grader:
* the thresholds in the code and their accuracy on the labelled set (in-sample), per concept;
* 5-fold cross-validation: the thresholds chosen again on 4/5 of the answers, scored on the fifth;
* across prompts: chosen on one prompt's answers, scored on the other's (a new deck's prompts);
* held-out: the thresholds in the code on the held-out answers;
* the thresholds this data would choose (to compare with the code's).
Latency, model warm, p50 / p95 / max in ms (timings depend on the machine's load):
* `bot.concepts.job.grade(payload)` in this process, once per labelled answer;
* as a member meets it in Slack: the bot behind real HTTP, its own warm worker process grading
  (bot/worker: the "grade" job), the Slack Web API stand-in from tests/: each of `--members`
  members gets the daily DM with a prompt, opens the answer modal and submits a labelled answer;
  the time from the signed view_submission to the DM updated with "You got N/M concepts".
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO / "tests")]  # tests/ holds the Slack stand-in and the sender

from bot.concepts import job, lexical  # noqa: E402
from bot.concepts.grade import GradeRequest, GraderName  # noqa: E402
from bot.concepts.grading import request_for  # noqa: E402
from bot.concepts.scoring import Similarity, grade_with  # noqa: E402
from content.loader import load_deck_file  # noqa: E402
from content.model import Prompt  # noqa: E402

DECK = REPO / "content/decks/pretrained-models-cv.yaml"
DATA = REPO / "tests/data/concepts"
FOLDS = 5
SEED = 10
THRESHOLDS = [round(0.30 + 0.01 * i, 2) for i in range(61)]  # 0.30 .. 0.90
WEIGHTS = [round(0.05 * i, 2) for i in range(21)]  # 0 .. 1: the semantic grader's lexical weight


@dataclass(frozen=True)
class Answer:
    prompt: int  # 0 or 1: which prompt of the deck
    text: str
    kind: str
    covers: frozenset[int]  # 1-based concept numbers


@dataclass(frozen=True)
class Decision:
    answer: int  # index into the answers
    prompt: int
    concept: int  # 1-based
    label: bool
    cosine: float  # best cosine over segments and wordings (0 without the model)
    share: float  # best lexical share


def load_answers(path: Path, prompts: Sequence[Prompt]) -> list[Answer]:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    by_question = {p.question: i for i, p in enumerate(prompts)}
    return [Answer(prompt=by_question[block["question"]], text=item["text"], kind=item["kind"],
                   covers=frozenset(item["covers"]))
            for block in data["prompts"] for item in block["answers"]]


def best_scores(request: GradeRequest, similarity: Similarity) -> list[float]:
    """Each concept's best match (segments, guards and opposite amounts exactly as the graders)."""
    graded = grade_with(request, similarity, grader=GraderName.LEXICAL, threshold=1.0)
    return [c.score for c in graded.concepts]


def decisions(answers: Sequence[Answer], prompts: Sequence[Prompt],
              cosine: Similarity | None) -> list[Decision]:
    found = []
    for index, answer in enumerate(answers):
        request = request_for(prompts[answer.prompt], answer.text)
        shares = best_scores(request, lexical.similarity)
        cosines = best_scores(request, cosine) if cosine is not None else [0.0] * len(shares)
        for number, (c, s) in enumerate(zip(cosines, shares, strict=True), 1):
            found.append(Decision(index, answer.prompt, number, number in answer.covers, c, s))
    return found


Rule = tuple[float, float]  # (threshold, weight of the lexical share; for the lexical grader 1.0)


def covered(d: Decision, rule: Rule, semantic: bool) -> bool:
    threshold, weight = rule
    score = max(d.cosine, weight * d.share) if semantic else d.share
    return score >= threshold


def accuracy(found: Sequence[Decision], rule: Rule, semantic: bool) -> float:
    return sum(covered(d, rule, semantic) == d.label for d in found) / len(found)


def choose(found: Sequence[Decision], semantic: bool) -> Rule:
    """The most accurate rule; among ties the smallest weight, and the threshold three quarters of
    the way up the tied ones: leaning to the strict side, because a concept credited wrongly teaches
    less (the learner is not shown it, FSRS waits longer) than one missed wrongly (it is shown)."""
    best: tuple[float, float] | None = None
    tied: list[Rule] = []
    for weight in WEIGHTS if semantic else [1.0]:
        for threshold in THRESHOLDS:
            score = accuracy(found, (threshold, weight), semantic)
            if best is None or score > best[0] + 1e-12:
                best, tied = (score, weight), [(threshold, weight)]
            elif abs(score - best[0]) <= 1e-12 and weight == best[1]:
                tied.append((threshold, weight))
    return tied[(3 * (len(tied) - 1)) // 4]


def cross_validated(found: Sequence[Decision], answers: Sequence[Answer], semantic: bool) -> list[bool]:
    """Whether each decision is right when its answer's fold was left out of the choice."""
    order = list(range(len(answers)))
    random.Random(SEED).shuffle(order)
    fold_of = {}
    for prompt in {a.prompt for a in answers}:
        mine = [i for i in order if answers[i].prompt == prompt]
        fold_of.update({i: k % FOLDS for k, i in enumerate(mine)})
    right: dict[int, bool] = {}
    for fold in range(FOLDS):
        train = [d for d in found if fold_of[d.answer] != fold]
        rule = choose(train, semantic)
        for k, d in enumerate(found):
            if fold_of[d.answer] == fold:
                right[k] = covered(d, rule, semantic) == d.label
    return [right[k] for k in range(len(found))]


def per_concept(found: Sequence[Decision], right: Sequence[bool]) -> str:
    parts = []
    for prompt, concept in sorted({(d.prompt, d.concept) for d in found}):
        mine = [r for d, r in zip(found, right, strict=True) if (d.prompt, d.concept) == (prompt, concept)]
        parts.append(f"P{prompt + 1}.{concept} {sum(mine) / len(mine):.2f}")
    return " · ".join(parts)


def report(name: str, found: Sequence[Decision], answers: Sequence[Answer], held: Sequence[Decision],
           rule: Rule, semantic: bool) -> None:
    shown = f"threshold {rule[0]:g}" + (f", lexical weight {rule[1]:g}" if semantic else "")
    print(f"\n{name} grader ({shown}, as in the code)")
    right = [covered(d, rule, semantic) == d.label for d in found]
    print(f"  in-sample    {sum(right) / len(right):.3f} of {len(found)} decisions   "
          f"{per_concept(found, right)}")
    cv = cross_validated(found, answers, semantic)
    print(f"  {FOLDS}-fold CV    {sum(cv) / len(cv):.3f}                     {per_concept(found, cv)}")
    for train_prompt in (0, 1):
        train = [d for d in found if d.prompt == train_prompt]
        test = [d for d in found if d.prompt != train_prompt]
        chosen = choose(train, semantic)
        print(f"  across       chosen on P{train_prompt + 1} ({chosen[0]:g}"
              + (f", {chosen[1]:g}" if semantic else "") + f"), scored on P{2 - train_prompt}: "
              f"{accuracy(test, chosen, semantic):.3f}")
    held_right = [covered(d, rule, semantic) == d.label for d in held]
    print(f"  held-out     {sum(held_right) / len(held_right):.3f} of {len(held)} decisions   "
          f"{per_concept(held, held_right)}")
    chosen = choose(found, semantic)
    print(f"  this data would choose threshold {chosen[0]:g}" + (f", lexical weight {chosen[1]:g}" if semantic
                                                               else "")
          + f" ({accuracy(found, chosen, semantic):.3f} in-sample)")
    kinds = sorted({answers[d.answer].kind for d in found})
    by_kind = []
    for kind in kinds:
        mine = [r for d, r in zip(found, right, strict=True) if answers[d.answer].kind == kind]
        by_kind.append(f"{kind} {sum(mine) / len(mine):.2f}")
    print(f"  by kind      {' · '.join(by_kind)}")


def latency(answers: Sequence[Answer], prompts: Sequence[Prompt],
            grade: Callable[[dict], dict]) -> tuple[list[float], list[dict]]:
    times, results = [], []
    for answer in answers:
        payload = request_for(prompts[answer.prompt], answer.text).to_dict()
        started = time.perf_counter()
        results.append(grade(payload))
        times.append((time.perf_counter() - started) * 1000)
    return times, results


def percentile(values: Sequence[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lexical", action="store_true", help="the lexical grader only (no torch)")
    parser.add_argument("--threads", type=int, help="torch threads (default: torch's own choice)")
    parser.add_argument("--members", type=int, default=40,
                        help="answers submitted through Slack to the warm worker (0: skip)")
    args = parser.parse_args()
    prompts = [c for c in load_deck_file(DECK).deck.cards if isinstance(c, Prompt)]
    answers = load_answers(DATA / "labelled-answers.yaml", prompts)
    held_answers = load_answers(DATA / "held-out-answers.yaml", prompts)
    print(f"labelled: {len(answers)} answers to {len(prompts)} prompts; "
          f"held out: {len(held_answers)} answers")

    model: Any = None
    if not args.lexical:
        if args.threads:
            import torch

            torch.set_num_threads(args.threads)
        reason = job.warm()
        if reason is not None:
            print(f"semantic grader unavailable ({reason}): lexical only")
        else:
            model = job.model()
    cosine = model.cosine if model is not None else None
    started = time.perf_counter()
    found = decisions(answers, prompts, cosine)
    held = decisions(held_answers, prompts, cosine)
    print(f"scored {len(found) + len(held)} decisions in {time.perf_counter() - started:.1f} s")

    report("lexical", found, answers, held, (lexical.THRESHOLD, 1.0), semantic=False)
    if model is not None:
        from bot.concepts import semantic

        report("semantic", found, answers, held, (semantic.THRESHOLD, semantic.LEXICAL_WEIGHT), semantic=True)

    print("\nlatency of one grade, in this process (ms; loaded machines are slower)")
    grade = job.grade if model is not None else (lambda p: lexical.grade(GradeRequest.from_dict(p)).to_dict())
    times, results = latency(answers, prompts, grade)
    used = results[0]["grader"]
    agree = sum(r["concepts"][d.concept - 1]["covered"] == d.label
                for r, d in ((results[d.answer], d) for d in found)) / len(found)
    print(f"  job.grade ({used}, warm): p50 {percentile(times, 0.5):.0f} · p95 {percentile(times, 0.95):.0f}"
          f" · max {max(times):.0f} over {len(times)} answers (accuracy of these results {agree:.3f})")
    print(f"  answers of {statistics.mean(len(a.text.split()) for a in answers):.0f} words on average")
    if model is not None and args.members:
        slack_times, graders = slack_latency(answers[:args.members], prompts)
        print(f"  Slack: submit -> worker's grade job -> DM updated ({'/'.join(sorted(set(graders)))}, warm "
              f"worker process): p50 {percentile(slack_times, 0.5):.0f} · p95 "
              f"{percentile(slack_times, 0.95):.0f} · max {max(slack_times):.0f} over {len(slack_times)} "
              f"members (goal p95 < 2000)")
    return 0


def slack_latency(answers: Sequence[Answer], prompts: Sequence[Prompt]) -> tuple[list[float], list[str]]:
    """Each answer by its own member, through Slack as they meet it; (ms per answer, graders used)."""
    import tempfile
    from datetime import UTC, datetime

    from slack_harness import SimClock, harness_settings, make_harness, text_of
    from slack_standin import SlackStandin

    from bot.schedule import tick
    from bot.slack.blocks_explain import ANSWER_ACTION, ANSWER_BLOCK
    from bot.worker.engine import WarmWorker
    from bot.worker.registry import JOB_KINDS
    from content.model import Deck
    from storage import learning as learning_store

    worker = WarmWorker(kinds={"grade": JOB_KINDS["grade"]})
    assert worker.wait_ready(300), "the worker did not warm up"
    times: list[float] = []
    graders: list[str] = []
    with tempfile.TemporaryDirectory() as tmp, SlackStandin() as slack:
        users = [f"U{i:08d}" for i in range(len(answers))]
        for user in users:
            slack.add_user(user, name=user.lower(), tz="Europe/Berlin")
        h = make_harness(slack, harness_settings(slack, Path(tmp) / "tutor.db"),
                         SimClock(datetime(2025, 3, 3, 9, 0, tzinfo=UTC)), worker=worker)
        try:
            for n, prompt in enumerate(prompts):
                h.ctx.tutor.import_deck(Deck(slug=f"prompt-{n}", title=f"Prompt {n}", cards=(prompt,)))
            for user, answer in zip(users, answers, strict=True):
                h.ctx.tutor.ensure_learner(user, tz="Europe/Berlin")
                h.ctx.tutor.join(user, f"prompt-{answer.prompt}")
            assert tick(h.svc, h.client).deliveries.sent == len(users)
            for user, answer in zip(users, answers, strict=True):
                channel = h.slack.dm_channel(user)
                assert channel is not None
                h.click(user, channel, h.dm(user), "review_write")
                view = h.slack.wait_for(lambda u=user: h.slack.modal_views(u), what="the modal")[-1]["view"]
                text = answer.text if answer.text.strip() else "-"  # the modal refuses a blank answer
                values = {ANSWER_BLOCK: {ANSWER_ACTION: {"type": "plain_text_input", "value": text}}}
                started = time.perf_counter()
                h.sender.view_submission(user_id=user, values=values, view=view)
                h.wait_dm(user, lambda m: "You got" in text_of(m), "the grade")
                times.append((time.perf_counter() - started) * 1000)
                stored = learning_store.prompt_answer(h.ctx.tutor.db, user, f"prompt-{answer.prompt}",
                                                      prompts[answer.prompt].id, 1)
                graders.append(stored.grade["grader"] if stored is not None else "?")
        finally:
            h.close()
            worker.close()
    return times, graders


if __name__ == "__main__":
    raise SystemExit(main())

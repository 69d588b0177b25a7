"""The bot's warm worker (bot/worker/engine.py) with real processes and real faults: a crash, the
kernel's kill, out of memory and a time limit are each reported in plain words and the worker is
restarted; a short job runs next to a long one, not behind it; nothing waits on a dead worker.

The jobs are tests/worker_jobs.py (no torch, so each worker starts in well under a second); the
demo itself runs through the same engine in test_finetune_pipeline.py and test_finetune_slack.py.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from procs import children, cmdline, running

from bot.worker.engine import SHUTTING_DOWN, WarmWorker
from bot.worker.protocol import FailureKind, JobKind, JobOutcome, Lane, Progress, WorkerConfig
from bot.worker.registry import JOB_KINDS, kinds_for

REPO = Path(__file__).resolve().parents[1]
TESTS = Path(__file__).resolve().parent
KINDS = {
    "long": JobKind("worker_jobs", Lane.LONG, 30.0, noun="the long job"),
    "short": JobKind("worker_jobs", Lane.SHORT, 10.0, noun="the short job", retry_on_restart=True),
}


@pytest.fixture
def worker() -> Iterator[WarmWorker]:
    engine = WarmWorker(kinds=KINDS, config=WorkerConfig(device="cpu"))
    assert engine.wait_ready(60), "the worker did not start"
    yield engine
    engine.close()


def run(worker: WarmWorker, kind: str, time_limit_s: float | None = None, **payload: object) -> JobOutcome:
    return worker.run(kind, dict(payload), time_limit_s=time_limit_s)


def test_one_warm_process_serves_job_after_job(worker: WarmWorker) -> None:
    seen: list[Progress] = []
    first = worker.run("long", {"do": "echo", "value": 1}, on_progress=seen.append)
    second = run(worker, "short", do="echo", value=2)
    assert first.ok and first.result == {"echo": 1, "pid": worker.pid}
    assert second.ok and second.result == {"echo": 2, "pid": worker.pid}
    assert seen == [Progress("step", "echoing", {"warmed": ["cpu"]})]  # warmed once, with the config
    assert first.worker is not None and first.worker.pid == worker.pid and first.worker.engine == "local"
    assert worker.restarts == 0


@pytest.mark.parametrize(("action", "failure", "words"), [
    ("abort", FailureKind.CRASH, "the worker running the long job crashed (SIGABRT); it has been restarted"),
    ("exit", FailureKind.CRASH,
     "the worker running the long job stopped (exit code 3); it has been restarted"),
    ("kill", FailureKind.OUT_OF_MEMORY,
     "the worker running the long job was killed by the system, most likely because it ran out of memory"),
    ("memory", FailureKind.OUT_OF_MEMORY, "the long job ran out of memory"),
])
def test_a_dying_or_starved_job_is_reported_and_the_worker_restarted(
        worker: WarmWorker, action: str, failure: FailureKind, words: str) -> None:
    before = worker.pid
    outcome = run(worker, "long", do=action)
    assert not outcome.ok and outcome.failure is failure
    assert outcome.error is not None and outcome.error.startswith(words)
    after = run(worker, "long", do="echo", value="still here")
    assert after.ok and after.result is not None and after.result["echo"] == "still here"
    assert after.result["pid"] != before  # a fresh process (after running out of memory too)
    assert worker.restarts == 1


def test_refused_and_failed_jobs_keep_the_worker(worker: WarmWorker) -> None:
    before = worker.pid
    refused = run(worker, "long", do="refuse")
    assert refused.failure is FailureKind.BAD_INPUT
    assert refused.error == "that cannot be done: ask for something else"
    buggy = run(worker, "short", do="raise")
    assert buggy.failure is FailureKind.CRASH
    assert buggy.error == "the short job crashed: RuntimeError: boom (raise)"
    assert run(worker, "short", do="echo").ok and worker.pid == before and worker.restarts == 0


def test_time_limit_stops_the_job_and_restarts_the_worker(worker: WarmWorker) -> None:
    before = worker.pid
    started = time.monotonic()
    outcome = run(worker, "long", time_limit_s=1.0, do="sleep", s=60)
    assert time.monotonic() - started < 10
    assert outcome.failure is FailureKind.TIME_LIMIT
    assert outcome.error == "the long job took longer than 1 s and was stopped"
    assert run(worker, "long", do="echo").ok and worker.pid != before


def test_a_short_job_runs_beside_a_long_one(worker: WarmWorker) -> None:
    finished: dict[str, float] = {}

    def long_job() -> None:
        assert run(worker, "long", do="sleep", s=4).ok
        finished["long"] = time.monotonic()

    thread = threading.Thread(target=long_job)
    thread.start()
    time.sleep(0.5)  # the long job is running
    asked = time.monotonic()
    outcome = run(worker, "short", do="echo", value="quick")
    finished["short"] = time.monotonic()
    thread.join(30)
    assert outcome.ok and outcome.result is not None and outcome.result["pid"] == worker.pid
    assert finished["short"] < finished["long"]
    print(f"short job answered in {finished['short'] - asked:.2f} s while a long job ran")


def test_a_short_job_caught_in_another_jobs_crash_runs_again(worker: WarmWorker) -> None:
    results: dict[str, JobOutcome] = {}
    short = threading.Thread(target=lambda: results.update(short=run(worker, "short", do="sleep", s=1.5)))
    short.start()
    time.sleep(0.5)  # the short job is running when the long one kills the process
    killed = run(worker, "long", do="kill")
    short.join(30)
    assert killed.failure is FailureKind.OUT_OF_MEMORY
    assert results["short"].ok, results["short"].error  # run again on the new process
    assert results["short"].result is not None and results["short"].result["pid"] == worker.pid


def test_queued_long_jobs_hear_their_place(worker: WarmWorker) -> None:
    places: dict[int, list[int | None]] = {1: [], 2: []}
    threads = [threading.Thread(target=lambda: run(worker, "long", do="sleep", s=1.5))]
    for n in (1, 2):
        def queued(n: int = n) -> None:
            worker.run("long", {"do": "echo"}, on_progress=lambda p: places[n].append(p.queue_position)
                       if p.stage == "queued" else None)
        threads.append(threading.Thread(target=queued))
    for thread in threads:
        thread.start()
        time.sleep(0.3)
    for thread in threads:
        thread.join(30)
    assert places == {1: [1], 2: [2, 1]}


def test_close_fails_what_is_left_and_stops_the_process(worker: WarmWorker) -> None:
    pid = worker.pid
    assert pid is not None
    results: list[JobOutcome] = []
    thread = threading.Thread(target=lambda: results.append(run(worker, "long", do="sleep", s=60)))
    thread.start()
    time.sleep(0.5)
    worker.close()
    thread.join(15)
    assert results and results[0].failure is FailureKind.UNAVAILABLE and results[0].error == SHUTTING_DOWN
    assert not running(pid)
    assert run(worker, "short", do="echo").error == SHUTTING_DOWN  # nothing waits on a closed worker


def test_kinds_that_cannot_start_are_refused_in_plain_words() -> None:
    kinds = {**KINDS,
             "extra": JobKind("worker_jobs", Lane.SHORT, 5.0, noun="the extra job",
                              requires=("no_such_pkg_x",)),
             "typo": JobKind("no_such_job_module", Lane.SHORT, 5.0)}
    engine = WarmWorker(kinds=kinds)
    try:
        extra = run(engine, "extra", do="echo")  # refused at once, from the installation alone
        assert extra.failure is FailureKind.UNAVAILABLE
        assert extra.error == ("the extra job needs no_such_pkg_x, which this installation lacks: install "
                               "the finetune extra (pip install 'tutor[finetune]') where the worker runs")
        typo = run(engine, "typo", do="echo")
        assert typo.failure is FailureKind.UNAVAILABLE
        assert typo.error == "the worker has no job module no_such_job_module (check the job registry)"
        assert run(engine, "long", do="echo").ok  # the other kinds still run
        assert run(engine, "nothing", do="echo").error == "this worker runs no 'nothing' jobs"
    finally:
        engine.close()


def test_no_process_is_started_when_no_kind_can_run() -> None:
    engine = WarmWorker(kinds={"extra": JobKind("worker_jobs", Lane.SHORT, 5.0, requires=("no_such_pkg_x",))})
    engine.start()
    time.sleep(0.3)
    assert engine.pid is None and run(engine, "extra").failure is FailureKind.UNAVAILABLE
    engine.close()


def test_the_registry_names_importable_job_modules() -> None:
    assert set(kinds_for(Lane.LONG)) == {"demo"} and set(kinds_for(Lane.SHORT)) == {"classify", "grade"}
    for kind in JOB_KINDS.values():
        path = REPO / (kind.module.replace(".", "/") + ".py")
        text = path.read_text()
        assert "def warm_up(" in text and "def run(" in text, kind.module


def test_the_worker_process_does_not_outlive_the_bot(tmp_path: Path) -> None:
    # A bot process that starts its warm worker and is killed: the worker must not wait for ever.
    code = (
        "import os, sys\n"
        "from bot.worker.engine import WarmWorker\n"
        "from bot.worker.protocol import JobKind, Lane\n"
        "if __name__ == '__main__':\n"
        "    engine = WarmWorker(kinds={'long': JobKind('worker_jobs', Lane.LONG, 30.0)})\n"
        "    assert engine.wait_ready(60)\n"
        "    print(engine.pid, flush=True)\n"
        "    os._exit(0)\n"
    )
    script = tmp_path / "dying_bot.py"
    script.write_text(code)
    env = dict(os.environ, PYTHONPATH=f"{REPO}:{TESTS}")
    bot = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, text=True, env=env)
    assert bot.stdout is not None
    pid = int(bot.stdout.readline())
    bot.wait(30)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and running(pid):
        time.sleep(0.2)
    assert not running(pid), "the orphaned worker process is still running"


def test_tutor_serve_warms_its_worker_and_the_worker_goes_with_it(tmp_path: Path) -> None:
    pytest.importorskip("slack_bolt")  # bench/gpu_check.sh runs this file where the bot may be absent
    from bot_process import running_bots
    from slack_standin import SlackStandin

    with SlackStandin() as slack, running_bots(slack, tmp_path) as bots:
        bot = bots.start(env={"TUTOR_WORKER_PREWARM": "1"})
        deadline = time.monotonic() + 120
        while "ready in" not in bot.log() and time.monotonic() < deadline:
            time.sleep(0.5)
        assert "ready in" in bot.log(), bot.log()  # warm before any /finetune
        workers = [pid for pid in children(bot.process.pid) if "spawn_main" in cmdline(pid)]
        assert len(workers) == 1
        bot.kill()  # SIGKILL: no shutdown code runs in the bot
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and running(workers[0]):
            time.sleep(0.2)
        assert not running(workers[0]), "the worker outlived its bot"



@pytest.mark.slow
def test_a_grade_job_runs_with_the_sentence_model_warm() -> None:
    """The concept grader's job (bot/concepts/job.py) in the warm worker: the model loads once, in
    the worker's process, and grades there."""
    for package in JOB_KINDS["grade"].requires:  # a GPU machine (bench/gpu_check.sh) may lack them
        pytest.importorskip(package)
    from bot.concepts.grade import ConceptGrade
    from bot.concepts.grading import request_for
    from content.loader import load_deck_file
    from content.model import Prompt

    prompt = next(c for c in load_deck_file(REPO / "content/decks/pretrained-models-cv.yaml").deck.cards
                  if isinstance(c, Prompt))
    engine = WarmWorker(kinds={"grade": JOB_KINDS["grade"]})
    try:
        assert engine.wait_ready(180)
        answers = ["Someone already trained the network on millions of photos, so it knows edges and shapes. "
                   "You build on that instead of starting from random weights, train for a few minutes on a "
                   "GPU instead of days, and a couple of hundred pictures are enough.",
                   "I like to cook pasta on weekends."]
        grades = []
        for answer in answers:
            outcome = engine.run("grade", request_for(prompt, answer).to_dict())
            assert outcome.ok and outcome.result is not None, outcome.error
            grades.append(ConceptGrade.from_dict(outcome.result))
        assert [g.grader.value for g in grades] == ["semantic", "semantic"]
        assert grades[0].covered == grades[0].of == 4 and grades[1].covered == 0
        assert engine.restarts == 0
    finally:
        engine.close()

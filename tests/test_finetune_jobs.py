"""The demo runs in a child process: crashes, memory errors and time limits come back as plain
errors, the bot process keeps going, and one job runs at a time per machine."""

from __future__ import annotations

import multiprocessing
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from finetune_photos import make_photo_folder

from bot.finetune.child import FAULT_ENV
from bot.finetune.jobs import DemoOutcome, DemoRequest, DemoRunner, FailureKind, MachineLock, Progress

REPO = Path(__file__).resolve().parents[1]


def test_bot_side_modules_do_not_import_torch() -> None:
    code = (
        "import sys\n"
        "import bot.finetune.jobs, bot.finetune.cli, bot.finetune.images, bot.finetune.report\n"
        "import bot.finetune.child, bot.finetune.folds, bot.finetune.chart\n"
        "heavy = sorted(m for m in ('torch', 'torchvision', 'timm', 'matplotlib') if m in sys.modules)\n"
        "print(','.join(heavy) or 'none')\n"
    )
    env = dict(os.environ, PYTHONPATH=str(REPO))
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "none"


@pytest.fixture(scope="module")
def photos(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_photo_folder(tmp_path_factory.mktemp("photos"), {"cat": 3, "coffee": 3})


def run(
    runner: DemoRunner, photos: Path, tmp_path: Path, **kwargs: object
) -> tuple[DemoOutcome, list[Progress]]:
    seen: list[Progress] = []
    request = DemoRequest(photos, tmp_path / "out", **kwargs)  # type: ignore[arg-type]
    return runner.run(request, seen.append), seen


@pytest.mark.parametrize(
    ("fault", "failure", "words"),
    [
        ("abort", FailureKind.CRASH, "the demo crashed (SIGABRT)"),
        ("exit", FailureKind.CRASH, "the demo crashed (exit code 3)"),
        ("memory", FailureKind.OUT_OF_MEMORY, "the demo ran out of memory"),
        ("kill", FailureKind.OUT_OF_MEMORY, "killed by the system, most likely because it ran out of memory"),
    ],
)
def test_a_failing_child_is_reported_not_fatal(
    fault: str,
    failure: FailureKind,
    words: str,
    photos: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(FAULT_ENV, fault)
    outcome, _ = run(DemoRunner(lock_path=tmp_path / "lock", time_limit_s=60), photos, tmp_path)
    assert not outcome.ok and outcome.report is None
    assert outcome.failure is failure
    assert outcome.error is not None and words in outcome.error


def test_a_missing_folder_is_bad_input(tmp_path: Path) -> None:
    runner = DemoRunner(lock_path=tmp_path / "lock", time_limit_s=60)
    outcome = runner.run(DemoRequest(tmp_path / "no-such-folder", tmp_path / "out"))
    assert not outcome.ok and outcome.failure is FailureKind.BAD_INPUT
    assert outcome.error == f"{tmp_path / 'no-such-folder'} is not a folder"


def test_time_limit_stops_the_child(photos: Path, tmp_path: Path) -> None:
    runner = DemoRunner(lock_path=tmp_path / "lock", time_limit_s=1.0)
    started = time.monotonic()
    outcome, _ = run(runner, photos, tmp_path, budget_s=30.0)
    assert time.monotonic() - started < 10
    assert not outcome.ok and outcome.failure is FailureKind.TIME_LIMIT
    assert outcome.error == "the demo took longer than 1 s and was stopped"


def test_the_runner_works_after_a_crash(
    photos: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    runner = DemoRunner(lock_path=tmp_path / "lock", time_limit_s=120)
    monkeypatch.setenv(FAULT_ENV, "abort")
    crashed, _ = run(runner, photos, tmp_path)
    assert not crashed.ok
    monkeypatch.delenv(FAULT_ENV)
    outcome, seen = run(runner, photos, tmp_path, budget_s=0.5, device="cpu")
    assert outcome.ok, outcome.error
    assert outcome.report is not None and outcome.report.split == "leave-one-out"
    assert outcome.report.classes == ["cat", "coffee"] and outcome.report.held_out == 6
    stages = [p.stage for p in seen]
    assert stages[0] == "loading" and "embedding" in stages and "baseline" in stages and stages[-1] == "done"


def test_waiters_queue_in_order(tmp_path: Path) -> None:
    lock = MachineLock(tmp_path / "lock")
    order: list[str] = []
    positions: dict[str, list[int]] = {"a": [], "b": []}

    def wait_then_run(name: str) -> None:
        with lock.held(positions[name].append):
            order.append(name)
            time.sleep(0.3)

    # A ticket left by a process that died does not hold up the queue.
    lock.queue_dir.mkdir(parents=True)
    (lock.queue_dir / f"{0:020d}-{2**22 + 12345}-deadbeef").touch()
    with lock.held():
        first = threading.Thread(target=wait_then_run, args=("a",))
        first.start()
        time.sleep(0.5)
        second = threading.Thread(target=wait_then_run, args=("b",))
        second.start()
        time.sleep(0.5)
        order.append("holder")
    first.join(10)
    second.join(10)
    assert order == ["holder", "a", "b"]
    assert positions["a"] == [1]
    assert positions["b"] == [2, 1]
    assert list(lock.queue_dir.iterdir()) == []


def test_a_queued_request_hears_its_position(
    photos: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(FAULT_ENV, "exit")  # the job itself fails at once: this is about the queue
    runner = DemoRunner(lock_path=tmp_path / "lock", time_limit_s=60)
    results: list[tuple[DemoOutcome, list[Progress]]] = []
    with runner.lock.held():
        worker = threading.Thread(target=lambda: results.append(run(runner, photos, tmp_path)))
        worker.start()
        time.sleep(0.6)
        assert worker.is_alive() and not results  # waiting for the lock, not running
    worker.join(30)
    outcome, seen = results[0]
    assert seen[0] == Progress("queued", "waiting: 1 demo is ahead of this one", queue_position=1)
    assert outcome.failure is FailureKind.CRASH


def test_the_child_starts_while_the_request_is_prepared(photos: Path, tmp_path: Path) -> None:
    runner = DemoRunner(lock_path=tmp_path / "lock", time_limit_s=120)
    before = set(multiprocessing.active_children())  # other tests' processes, if any
    during: list[int] = []

    def prepare() -> DemoRequest:
        during.append(len(set(multiprocessing.active_children()) - before))  # the demo's process is up
        return DemoRequest(photos, tmp_path / "out", budget_s=0.5, device="cpu")

    outcome = runner.run_prepared(prepare)
    assert during == [1]
    assert outcome is not None and outcome.ok, outcome
    assert outcome.report is not None and outcome.report.classes == ["cat", "coffee"]
    assert set(multiprocessing.active_children()) - before == set()


def test_nothing_to_run_after_preparing_stops_the_child_and_frees_the_machine(tmp_path: Path) -> None:
    runner = DemoRunner(lock_path=tmp_path / "lock", time_limit_s=60)
    before = set(multiprocessing.active_children())  # other tests' processes, if any
    assert runner.run_prepared(lambda: None) is None
    assert set(multiprocessing.active_children()) - before == set()

    def broken() -> DemoRequest:
        raise OSError("the download failed")

    with pytest.raises(OSError, match="the download failed"):
        runner.run_prepared(broken)
    assert set(multiprocessing.active_children()) - before == set()
    with runner.lock.held():  # not left held by either
        pass


def test_a_child_whose_bot_process_died_does_not_wait_for_ever(tmp_path: Path) -> None:
    # A bot process that starts a demo's child, waits until the child is ready for its job (it has
    # sent a first message), and is killed before handing it the job.
    code = (
        "import multiprocessing, os\n"
        "from bot.finetune import child\n"
        "if __name__ == '__main__':\n"
        "    context = multiprocessing.get_context('spawn')\n"
        "    jobs, messages = context.Queue(), context.Queue()\n"
        "    process = context.Process(target=child.main, args=('demo', jobs, messages))\n"
        "    process.start()\n"
        "    print(process.pid, messages.get(timeout=60)[0], flush=True)\n"
        "    os._exit(0)\n"
    )
    script = tmp_path / "dying_bot.py"
    script.write_text(code)
    env = dict(os.environ, PYTHONPATH=str(REPO))
    bot = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, text=True, env=env)
    assert bot.stdout is not None
    pid, first = bot.stdout.readline().split()
    bot.wait(10)
    assert first == "ready"

    def running() -> bool:  # an exited process not yet reaped by its new parent is a zombie ("Z")
        try:
            return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
        except FileNotFoundError:
            return False

    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and running():
        time.sleep(0.2)
    assert not running(), "the orphaned child is still waiting for a job"

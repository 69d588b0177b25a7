"""Shared by every test module.

OMP_WAIT_POLICY=PASSIVE, as the worker process sets it for itself (bot/worker/process.py): the
tests that run torch in this process share 2 CPU cores with other processes, where OpenMP threads
that spin while they wait starve each other (tiny ops become ten times slower).
"""

import os

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

from collections.abc import Iterator  # noqa: E402

import pytest  # noqa: E402

from bot.worker.engine import WarmWorker  # noqa: E402
from bot.worker.protocol import WorkerConfig  # noqa: E402
from bot.worker.registry import JOB_KINDS  # noqa: E402


@pytest.fixture(scope="session")
def grade_worker() -> Iterator[WarmWorker]:
    """A real warm worker that runs only "grade" jobs (the sentence model, no vision backbone), shared
    by the tests that grade answers through a worker as the bot does. Warmed before the first test
    that uses it: importing sentence-transformers takes 10-17 s on a 2-core machine, longer than a
    test waits for a grade (the bot's own worker is warm before members answer)."""
    engine = WarmWorker(kinds={"grade": JOB_KINDS["grade"]}, config=WorkerConfig(device="cpu"))
    assert engine.wait_ready(180), "the grade worker did not warm up in 180 s"
    yield engine
    engine.close()

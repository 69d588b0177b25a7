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
    by the tests that grade answers through a worker as the bot does; started by the first job."""
    engine = WarmWorker(kinds={"grade": JOB_KINDS["grade"]}, config=WorkerConfig(device="cpu"),
                        keep_warm=False)
    yield engine
    engine.close()

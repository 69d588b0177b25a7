"""Which worker the bot uses: Celery when TUTOR_BROKER_URL is set, else its own warm worker.

Celery is imported only in the first case (it is the `queue` extra); neither imports torch.
"""

from __future__ import annotations

from bot.config import Settings
from bot.worker.protocol import WorkerClient, WorkerConfig


def make_worker_client(settings: Settings) -> WorkerClient:
    """The worker the bot's jobs go to: jobs through Celery and Redis to `tutor worker` processes
    when settings.broker_url is set, else a WarmWorker (a local process, started on first use or by
    start())."""
    if settings.broker_url:
        from bot.worker.celery_client import CeleryWorkerClient

        return CeleryWorkerClient(settings.broker_url)
    from bot.worker.engine import WarmWorker

    return WarmWorker(config=WorkerConfig(device=settings.finetune_device))

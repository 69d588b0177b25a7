"""Celery with Redis for the worker's jobs (the `queue` extra: imported only with TUTOR_BROKER_URL).

One task, `tutor.run_job(kind, payload, time_limit_s)`, on one queue per lane (`tutor.long` for
demos, `tutor.short` for classify and grade), so a short job is taken by the short lane's worker
while the long lane's worker runs a demo. The task's body (bot/worker/celery_worker.py) hands the job
to that `tutor worker` process's own WarmWorker, which enforces the time limit by killing its job
process and reports crashes and out-of-memory in plain words: the task then succeeds with a failed
JobOutcome, the same words the local worker gives.

Why these settings:
- JSON only (kombu encodes bytes as base64), never pickle: a message must not be able to run code.
- Early acknowledgement (the default) and no prefetch: a job is taken once; a worker killed
  mid-job is reported to the bot, which stops waiting, instead of the job being run again later
  behind everyone's back (the member runs /finetune again). Celery's own answers to a lost worker
  do not apply here: with the solo pool there is no pool child to lose (task_reject_on_worker_lost
  concerns those) and Celery enforces no time limits (its docs: prefork and gevent pools only), so
  the worker's engine enforces them, and the bot watches a heartbeat each lane writes to Redis
  (`beacon_key`, refreshed every BEACON_EVERY_S, expiring after BEACON_TTL_S): a job whose worker's
  heartbeat stops is reported as lost within seconds.
- Progress is the task's state: PROGRESS with meta {"events": [Progress.to_dict(), ...], "pid",
  "node"}; the bot polls it and replays events it has not seen.
"""

from __future__ import annotations

from celery import Celery

from bot.worker.protocol import Lane

TASK_NAME = "tutor.run_job"
QUEUES = {Lane.LONG: "tutor.long", Lane.SHORT: "tutor.short"}
BEACON_EVERY_S = 1.0
BEACON_TTL_S = 4
RESULT_EXPIRES_S = 3600


def beacon_key(queue: str, node: str) -> str:
    """The Redis key where the worker `node` serving `queue` says it is alive."""
    return f"tutor:worker:{queue}:{node}"


def make_celery(broker_url: str) -> Celery:
    """The Celery app both sides use: Redis at broker_url as broker and result backend."""
    app = Celery("tutor", broker=broker_url, backend=broker_url, set_as_current=False)
    app.conf.update(
        task_serializer="json",
        result_serializer="json",
        accept_content=["json"],
        result_accept_content=["json"],
        task_track_started=True,  # STARTED names the worker's pid and node: the bot watches its beacon
        task_acks_late=False,
        worker_prefetch_multiplier=1,
        worker_disable_prefetch=True,
        result_expires=RESULT_EXPIRES_S,
        broker_connection_retry_on_startup=True,
        broker_connection_timeout=5,
        redis_socket_timeout=10,
        redis_socket_connect_timeout=5,
        # The bot polls task states; a Redis that is gone is said after a few seconds, not twenty.
        result_backend_transport_options={"retry_policy": {"max_retries": 3, "interval_start": 0,
                                                           "interval_step": 0.5, "interval_max": 1}},
        worker_hijack_root_logger=False,
        worker_send_task_events=False,
        task_send_sent_event=False,
    )
    return app

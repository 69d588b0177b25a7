"""Where torch runs: the worker process, the engine that supervises it, and the job protocol.

    protocol.py       the job protocol: JobKind, Progress, JobOutcome, FailureKind, WorkerClient (plain data)
    registry.py       JOB_KINDS: every job kind the worker runs, one line each
    process.py        the worker process: imports and warms every job module once, runs jobs by lane
    engine.py         WarmWorker: the bot's own warm worker (spawned), time limits, restarts
    client.py         make_worker_client(settings): Celery when TUTOR_BROKER_URL is set, else WarmWorker
    celery_app.py     Celery with Redis: the one task, its queues, the heartbeats (the `queue` extra)
    celery_worker.py  one lane of `tutor worker`: a solo-pool Celery worker around a WarmWorker
    celery_client.py  the bot's side of Celery: send, replay progress, notice a lost worker
    cli.py            `tutor worker`

The bot imports protocol, registry, engine and client (no torch, no Celery); job modules are
imported only inside the worker process. Lanes: a LONG job (the demo) runs one at a time; SHORT
jobs (classify, grade) have their own lane, so they never wait behind a demo, locally (a second
thread in the same warm process) and with Celery (a second queue, served by its own process).

Adding a job kind takes one module and one line (the concept grader's "grade" job,
bot/concepts/job.py, was added so):

1. A job module, e.g. `bot/concepts/job.py`, with two functions. It may import torch or
   sentence-transformers at its top: only the worker process imports it.

       def warm_up(config: WorkerConfig) -> None:
           '''Load what every job needs (the text model) and run it once; called once per process.'''

       def run(payload: dict[str, Any], progress: JobProgress) -> dict[str, Any]:
           '''Do one job. payload and the result are JSON-able dicts (bytes allowed) that cross a
           process or host boundary; progress(stage, message, data=None) reports steps. Raise
           JobInputError (bot.worker.protocol) for a request that cannot be served: its message
           goes back to whoever asked, in plain words.'''

   Keep what warm_up loads in a module-level cache the run function reads (see
   bot/finetune/backbone.cached_backbone). run may be called from a lane thread while a job of
   the other lane runs: never train a shared model's weights in place.

2. One line in registry.py's JOB_KINDS:

       "grade": JobKind("bot.concepts.job", Lane.SHORT, 30.0, noun="the grading", retry_on_restart=True,
                        requires=("torch", "sentence_transformers", "all_minilm_l6_v2")),

Then `worker.run("grade", payload)` from the bot returns a JobOutcome, through the local worker or
Celery alike (a SHORT kind goes to the `tutor.short` queue). A crash, an out-of-memory or the time
limit comes back as a failed outcome in plain words; the worker process is restarted by itself.
"""

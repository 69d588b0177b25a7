"""Demos a restart interrupted: their progress message said "training" forever.

A run is recorded before its progress message is posted, and every message of the demo carries the
mark `marks.finetune_demo(run id)`. When a bot process starts, the runs left RUNNING by a process
that is gone (flow.py's `process_alive`) are found; once a Slack client is at hand, each one's
progress message is edited to say the demo was interrupted and to run `/finetune` again, then the
run is marked FAILED. The message is the run's `thread_ts`, or, when the process was killed between
posting it and hearing its ts, the message carrying the run's mark in the channel's history.

Slack first, then SQLite: a process killed in between leaves the run RUNNING, and the next start
edits the message again (to the same words). Each run is on its own: one whose message cannot be
edited is logged, marked FAILED all the same, and the others go on.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from datetime import datetime

import sqlite_utils
from slack_sdk import WebClient

from bot.slack import marks
from bot.slack.finetune import messages as say
from storage import images as store
from storage.images import DemoRun, RunStatus

log = logging.getLogger(__name__)


def end_interrupted_runs(client: WebClient, db: sqlite_utils.Database, runs: Sequence[DemoRun], *,
                         now: Callable[[], datetime], error: str) -> int:
    """Say in Slack that each of `runs` was interrupted, and mark it FAILED with `error`; returns how
    many progress messages were edited."""
    edited = 0
    for run in runs:
        try:
            edited += tell_interrupted(client, db, run)
        except Exception:  # this run's message stays as it was; the others go on
            log.exception("the progress message of interrupted /finetune demo %s was not edited", run.id)
        try:
            store.finish_run(db, run.id, status=RunStatus.FAILED, now=now(), error=error)
        except Exception:
            log.exception("interrupted /finetune demo %s was not marked failed", run.id)
    if runs:
        log.warning("ended %d /finetune demo(s) a restart interrupted (%d message(s) edited)",
                    len(runs), edited)
    return edited


def tell_interrupted(client: WebClient, db: sqlite_utils.Database, run: DemoRun) -> bool:
    """Edit the run's progress message to say a restart interrupted it (found by its mark when its
    ts was never recorded); False when there is no message (it was never posted). Raises
    SlackApiError when Slack refuses."""
    mark = marks.finetune_demo(run.id)
    ts = run.thread_ts if run.posted else marks.find_marked(client, run.channel, mark, since=run.created_at)
    if ts is None:
        log.info("interrupted /finetune demo %s had posted no progress message", run.id)
        return False
    if not run.posted:
        store.set_run_message(db, run.id, ts)  # replies in its thread now hear it has no model
    client.chat_update(channel=run.channel, ts=ts, text=say.interrupted_text(run.user_id),
                       metadata=mark.metadata())
    return True

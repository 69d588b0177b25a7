"""/finetune in Slack: record labelled images as they are posted, and run a demo on request.

The Bolt listener (bot/slack/listeners/finetune.py) acknowledges and hands over to `FinetuneFlow`,
which does the slow work on its own threads: read the channel's history when needed, download the
images with the bot token (each checked from its header: size, pixels, content), send them with a
"demo" job to the worker (bot.worker: the bot's own warm worker process, or Celery; demos run one
at a time and later ones see their place in the queue), keep one progress message up to date, post
the pre-trained arm's result in its thread as soon as it is in (stream.py), then the results, the
chart and the deck question. The trained head comes back with the result and is kept in SQLite, so
images posted later as replies in the thread are classified after a restart, and by a worker on
another host. A run is recorded before its progress message is posted, and the demo's messages
carry its mark (marks.finetune_demo), so the demos a restart interrupted are found and said to be
so in Slack when the next process starts (interrupted.py).

No torch here: the worker process imports it.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.finetune.images import MIN_IMAGES_PER_LABEL, MIN_LABELS
from bot.finetune.report import FinetuneReport
from bot.finetune.request import DEFAULT_BACKBONE, DemoRequest, DemoResult
from bot.slack import marks
from bot.slack.escape import esc
from bot.slack.finetune import messages as say
from bot.slack.finetune.downloads import download_images
from bot.slack.finetune.interrupted import end_interrupted_runs
from bot.slack.finetune.labels import (
    USER_SUBTYPES,
    images_in_message,
    is_user_file_message,
    parse_label_filter,
)
from bot.slack.finetune.stream import DemoStream, ProgressUpdater
from bot.slack.finetune.thread import ThreadReplies, find_deck_question, post_in_thread, slack_error
from bot.tutor import Tutor
from bot.worker.protocol import WorkerClient
from storage import images as store
from storage.db import ThreadLocalDatabases
from storage.images import HistoryScan, ImageSource, RunStatus

log = logging.getLogger(__name__)

RESTART_ERROR = "the bot restarted while the demo was running"
_NOT_IN_CHANNEL = ("not_in_channel", "channel_not_found", "missing_scope")
# Who runs a demo, kept with the run: host, pid and start time (a restarted container often gets
# the same host name and pid again; the start time tells the two apart).
PROCESS_OWNER = f"{socket.gethostname()}:{os.getpid()}:{time.time_ns()}"


def process_alive(owner: str | None) -> bool:
    """Whether the bot process named by a run's owner still runs. One on another host cannot be
    checked and counts as alive (its own restart cleans up); a malformed or missing owner is gone."""
    parts = (owner or "").rsplit(":", 2)
    if len(parts) != 3 or not parts[1].isdigit():
        return False
    host, pid, _ = parts
    if host != socket.gethostname():
        return True
    if int(pid) == os.getpid():
        return owner == PROCESS_OWNER  # this very process, or an earlier one that had our pid
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


@dataclass(frozen=True)
class FlowOptions:
    """How demos run: budget_s is each arm's training budget, time_limit_s the most one demo may
    take in the worker (seconds); device None lets the worker pick (cuda when it has one)."""

    budget_s: float = 10.0
    time_limit_s: float = 300.0
    device: str | None = None
    backbone: str = DEFAULT_BACKBONE
    history_page_size: int = 100
    history_max_pages: int = 10  # at most 1,000 messages read from a channel's history
    progress_interval_s: float = 1.0  # least time between two updates of the progress message
    download_timeout_s: float = 30.0


class FinetuneFlow:
    """Everything /finetune does, for one bot process. `now` gives aware datetimes (UTC); worker
    runs the jobs (its owner closes it: serve())."""

    def __init__(self, db_source: ThreadLocalDatabases, tutor: Tutor, options: FlowOptions,
                 now: Callable[[], datetime], *, worker: WorkerClient) -> None:
        self.dbs = db_source
        self.tutor = tutor
        self.options = options
        self.now = now
        self.worker = worker
        self._demos = ThreadPoolExecutor(max_workers=4, thread_name_prefix="finetune-demo")
        self._replies = ThreadPoolExecutor(max_workers=2, thread_name_prefix="finetune-classify")
        self._pending: set[object] = set()
        self._pending_lock = threading.Lock()
        self.thread = ThreadReplies(db_source, tutor, lambda: self.worker, now,
                                    download_timeout_s=options.download_timeout_s, device=options.device)
        # Left RUNNING by a bot process that is gone; ended (in Slack, then here) by end_interrupted.
        self.interrupted = store.orphaned_runs(self.dbs.get(), owner_alive=process_alive)
        if self.interrupted:
            log.warning("%d /finetune demo(s) were interrupted by a restart", len(self.interrupted))

    def end_interrupted(self, client: WebClient) -> None:
        """Say in Slack that the demos a restart interrupted have ended, and mark them failed; on a
        worker thread (`idle()` waits for it). Called once the app has its client (listeners/finetune.py)."""
        runs, self.interrupted = self.interrupted, []
        if runs:
            self._submit(self._demos, lambda: end_interrupted_runs(client, self.dbs.get(), runs, now=self.now,
                                                                   error=RESTART_ERROR))

    # threads ---------------------------------------------------------------------------------------
    def _submit(self, pool: ThreadPoolExecutor, work: Callable[[], object]) -> None:
        future = pool.submit(self._guarded, work)
        with self._pending_lock:
            self._pending.add(future)
        future.add_done_callback(lambda f: self._forget(f))

    def _forget(self, future: object) -> None:
        with self._pending_lock:
            self._pending.discard(future)

    @staticmethod
    def _guarded(work: Callable[[], object]) -> None:
        try:
            work()
        except Exception:  # a worker must never die silently
            log.exception("/finetune work failed")

    def idle(self) -> bool:
        """True when no demo or classification is queued or running (tests and shutdown use it)."""
        with self._pending_lock:
            return not self._pending

    def shutdown(self, *, wait: bool = True) -> None:
        """Stop taking work; with wait, let queued work finish first."""
        self._demos.shutdown(wait=wait, cancel_futures=not wait)
        self._replies.shutdown(wait=wait, cancel_futures=not wait)

    # recording -------------------------------------------------------------------------------------
    def on_message(self, client: WebClient, event: dict) -> None:
        """A `message` event: record its images, or classify them when it is a reply in a demo's thread.
        Safe to call again with the same event (Slack retries)."""
        if event.get("subtype") not in USER_SUBTYPES or event.get("bot_id"):
            return
        channel = event.get("channel", "")
        thread_ts = event.get("thread_ts")
        if thread_ts and thread_ts != event.get("ts"):
            run = store.run_for_thread(self.dbs.get(), channel, thread_ts)
            if run is not None and event.get("files"):
                self._submit(self._replies, lambda: self.thread.classify(client, event, run))
                return
            if run is not None:
                self.thread.answer_question(client, event, run)
                return
        if not is_user_file_message(event):
            return
        found = images_in_message(channel, event, ImageSource.EVENT, files_info=_files_info(client))
        if found:
            store.record_images(self.dbs.get(), found, now=self.now())

    def read_history(self, client: WebClient, channel: str) -> HistoryScan:
        """Record the images of up to `history_page_size * history_max_pages` recent messages,
        newest first; later scans read only what came after the previous one."""
        db = self.dbs.get()
        previous = store.history_scan(db, channel)
        started = self.now()
        oldest = f"{previous.scanned_at.timestamp():.6f}" if previous else None
        messages, new, cursor, truncated = 0, 0, None, False
        for page in range(self.options.history_max_pages):
            kwargs: dict = {"channel": channel, "limit": self.options.history_page_size}
            if cursor:
                kwargs["cursor"] = cursor
            if oldest:
                kwargs["oldest"] = oldest
            response = client.conversations_history(**kwargs)
            batch = response.get("messages") or []
            messages += len(batch)
            found = [image for message in batch if is_user_file_message(message)
                     for image in images_in_message(channel, message, ImageSource.HISTORY,
                                                    files_info=_files_info(client))]
            new += store.record_images(db, found, now=self.now())
            cursor = (response.get("response_metadata") or {}).get("next_cursor")
            if not (response.get("has_more") and cursor):
                break
            truncated = page == self.options.history_max_pages - 1
        scan = HistoryScan(channel=channel, scanned_at=started, messages=messages, images=new,
                           truncated=truncated)
        store.record_history_scan(db, scan)
        return scan

    # the command -----------------------------------------------------------------------------------
    def start_demo(self, client: WebClient, *, channel: str, user: str, text: str,
                   respond: Callable[[str], object]) -> None:
        """`/finetune [labels]` after the ack: all work on a worker thread."""
        self._submit(self._demos, lambda: self._demo(client, channel, user, text, respond))

    def _demo(self, client: WebClient, channel: str, user: str, text: str,
              respond: Callable[[str], object]) -> None:
        try:
            started = self._start(client, channel, user, text, respond)
        except Exception as exc:  # before the progress message: only the member who asked hears of it
            log.exception("/finetune in %s failed before it started", channel)
            respond(f"The demo could not start: {slack_error(exc)}.")
            return
        if started is None:
            return
        run, ts, updater = started.run, started.run.thread_ts, started.updater
        try:
            self._run_demo(client, run.id, channel, ts, started.recorded, started.left_out, updater)
        except Exception as exc:
            log.exception("/finetune demo %s crashed", run.id)
            self._fail(client, run.id, channel, ts, updater, f"crashed: {exc}")

    def _start(self, client: WebClient, channel: str, user: str, text: str,
               respond: Callable[[str], object]) -> _Started | None:
        """Read the history, check the counts, post the progress message and record the run; None
        (after telling the member why) when there is no demo to run."""
        asked = parse_label_filter(text.split()) or None
        try:
            self.read_history(client, channel)
        except SlackApiError as exc:
            if exc.response.get("error") in _NOT_IN_CHANNEL:
                respond(say.NOT_IN_CHANNEL_TEXT)
                return None
            log.warning("history of %s not read: %s", channel, exc)
        db = self.dbs.get()
        counts = store.label_counts(db, channel)
        if asked:
            counts = {label: counts.get(label, 0) for label in asked}
        ready = {label: n for label, n in counts.items() if n >= MIN_IMAGES_PER_LABEL}
        if len(ready) < MIN_LABELS:
            respond(say.too_few_text(counts, unlabelled=store.unlabelled_count(db, channel), asked=asked))
            return None
        left_out = {label: n for label, n in counts.items() if label not in ready}
        recorded = store.channel_images(db, channel, labels=list(ready))
        board = say.ProgressBoard(
            header=f"*Transfer-learning demo* for <@{user}>: {len(recorded)} images, "
                   + ", ".join(f"`{label}` {n}" for label, n in ready.items()))
        board.advance("download", f"downloading {len(recorded)} images")
        # Recorded first, so the message carries the run's mark and a restart finds it even when this
        # process dies before it hears the message's ts.
        run = store.start_run(db, channel=channel, thread_ts=None, user_id=user, labels=asked, now=self.now(),
                              owner=PROCESS_OWNER)
        try:
            posted = client.chat_postMessage(channel=channel, text=board.text(),
                                             metadata=marks.finetune_demo(run.id).metadata())
        except Exception as exc:
            store.finish_run(db, run.id, status=RunStatus.FAILED, now=self.now(),
                             error=f"the progress message was not posted: {slack_error(exc)}")
            if not isinstance(exc, SlackApiError):
                raise
            log.warning("progress message not posted in %s: %s", channel, exc)
            respond(say.NOT_IN_CHANNEL_TEXT if exc.response.get("error") in _NOT_IN_CHANNEL
                    else f"I could not post in this channel: {slack_error(exc)}.")
            return None
        ts = str(posted["ts"])
        run = store.set_run_message(db, run.id, ts)
        updater = ProgressUpdater(client, channel, ts, board, self.options.progress_interval_s)
        return _Started(run, recorded, left_out, updater)

    def _run_demo(self, client: WebClient, run_id: int, channel: str, ts: str,
                  recorded: Sequence[store.RecordedImage], left_out: dict[str, int],
                  updater: ProgressUpdater) -> None:
        def on_file(done: int, total: int) -> None:
            updater.report("download", f"downloading {done}/{total} images")

        fetched = download_images(recorded, token=client.token or "", on_file=on_file,
                                  timeout_s=self.options.download_timeout_s)
        updater.report("download", f"downloaded {fetched.usable} images"
                       + (f", {say.skipped_summary(fetched.skipped)}" if fetched.skipped else ""), force=True)
        counts = fetched.label_counts()
        usable = sorted(label for label, n in counts.items() if n >= MIN_IMAGES_PER_LABEL)
        if len(usable) < MIN_LABELS:
            post_in_thread(client, channel, ts,
                           say.download_failed_text(counts, fetched.skipped, fetched.failed), run_id=run_id)
            self._fail(client, run_id, channel, ts, updater, "too few usable images", post=False)
            return
        left_out.update({label: n for label, n in counts.items() if label not in usable})
        request = DemoRequest(images=tuple(fetched.images(usable)), budget_s=self.options.budget_s,
                              device=self.options.device, backbone=self.options.backbone)
        del fetched.files[:]  # the job holds the bytes now

        def results(report: FinetuneReport) -> None:
            post_in_thread(client, channel, ts, say.report_text(report, skipped=fetched.skipped,
                                                             failed=fetched.failed, left_out=left_out),
                           run_id=run_id)

        stream = DemoStream(client, channel, ts, updater, on_compared=results, run_id=run_id)
        outcome = self.worker.run("demo", request.to_dict(), on_progress=stream.on_progress,
                                  time_limit_s=self.options.time_limit_s)
        del request
        if not outcome.ok or outcome.result is None:
            self._fail(client, run_id, channel, ts, updater, outcome.error or "it stopped without a report")
            return
        result = DemoResult.from_dict(outcome.result)
        report = FinetuneReport.from_dict({**result.report,
                                           "worker": outcome.worker.to_dict() if outcome.worker else None})
        if not stream.compared:  # their progress event was not handled: the results come now
            results(report)
        self._succeed(client, run_id, channel, ts, updater, report, result)

    def _succeed(self, client: WebClient, run_id: int, channel: str, ts: str, updater: ProgressUpdater,
                 report: FinetuneReport, result: DemoResult) -> None:
        # The run is done once its numbers and head are kept; the chart and the question are extras
        # whose failure is logged and said, never turned into a failed demo.
        store.finish_run(self.dbs.get(), run_id, status=RunStatus.DONE, now=self.now(), head=result.head,
                         report=report.to_dict())
        try:
            client.files_upload_v2(channel=channel, thread_ts=ts, file=result.chart_png,
                                   filename="finetune-chart.png",
                                   title="Accuracy over time: pre-trained vs from scratch")
        except Exception as exc:
            log.warning("chart not uploaded: %s", exc)
            post_in_thread(client, channel, ts, f"(The chart could not be uploaded: {slack_error(exc)}.)",
                           run_id=run_id)
        try:
            question = find_deck_question(self.tutor)
            if question is not None:
                slug, title, card = question
                store.set_run_question(self.dbs.get(), run_id, deck=slug, card_id=card.id)
                post_in_thread(client, channel, ts, say.question_text(title, card, slug=slug), run_id=run_id)
        except Exception:
            log.exception("deck question not posted")
        updater.finish(f":white_check_mark: Done: pre-trained *{100 * report.pretrained.accuracy:.0f}%* vs "
                       f"from scratch *{100 * report.scratch.accuracy:.0f}%* in {report.budget_s:g} s each. "
                       "Results in the thread.")

    def _fail(self, client: WebClient, run_id: int, channel: str, ts: str, updater: ProgressUpdater,
              error: str, *, post: bool = True) -> None:
        if post:
            post_in_thread(client, channel, ts, say.failure_text(error), run_id=run_id)
        store.finish_run(self.dbs.get(), run_id, status=RunStatus.FAILED, now=self.now(), error=error)
        updater.finish(f":x: The demo did not finish: {esc(error)}. Details in the thread.")


@dataclass(frozen=True)
class _Started:
    run: store.DemoRun
    recorded: list[store.RecordedImage]
    left_out: dict[str, int]  # labels with too few images, and how many they have
    updater: ProgressUpdater


def _files_info(client: WebClient) -> Callable[[str], dict | None]:
    """Look up a file Slack sent without its download URL (files.info); None when it cannot."""
    def lookup(file_id: str) -> dict | None:
        try:
            return dict(client.files_info(file=file_id).get("file") or {}) or None
        except SlackApiError as exc:
            log.info("files.info %s: %s", file_id, slack_error(exc))
            return None
    return lookup

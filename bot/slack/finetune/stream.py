"""What a running demo shows in Slack while it runs: one progress message in the channel, and in
its thread the pre-trained arm's result as soon as it is in, then the from-scratch arm's progress in
one message kept up to date, then (through flow.py's on_compared) the results as soon as both arms
are done; the chart, drawn after, comes with the job's outcome.

Slack allows about one chat.update a second per channel: updates to one message are sent at once on
a new stage, else at most every `interval_s` seconds.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.finetune.report import COMPARED_STAGE, PRETRAINED_STAGE, FinetuneReport
from bot.slack import marks
from bot.slack.finetune import messages as say
from bot.slack.finetune.thread import slack_error
from bot.worker.protocol import Progress

log = logging.getLogger(__name__)


class ProgressUpdater:
    """Edits the progress message with chat.update: at once on a new stage, else at most every
    `interval_s` seconds."""

    def __init__(self, client: WebClient, channel: str, ts: str, board: say.ProgressBoard,
                 interval_s: float) -> None:
        self.client, self.channel, self.ts = client, channel, ts
        self.board, self.interval_s = board, interval_s
        self._last = 0.0
        self._lock = threading.Lock()  # downloads report from several threads: one update at a time

    def report(self, stage: str, message: str, *, force: bool = False) -> None:
        new_stage = self.board.advance(stage, message)
        self._push(only_if_due=not (force or new_stage))

    def progress(self, progress: Progress) -> None:
        message = progress.message
        if progress.stage == "queued" and progress.queue_position is not None:
            message = (f"waiting for the demo running before this one: number {progress.queue_position} "
                       "in the queue")
        self.report(progress.stage, message)

    def finish(self, outcome: str) -> None:
        self.board.finish(outcome)
        self._push()

    def _push(self, *, only_if_due: bool = False) -> None:
        with self._lock:
            if only_if_due and time.monotonic() - self._last < self.interval_s:
                return
            self._last = time.monotonic()
            try:  # the text is read under the lock, so the last update sent shows the latest state
                self.client.chat_update(channel=self.channel, ts=self.ts, text=self.board.text())
            except SlackApiError as exc:
                log.warning("progress message not updated: %s", slack_error(exc))


class DemoStream:
    """Turns a demo's progress into Slack messages (see the module docstring). Called on the thread
    that waits for the demo, in order."""

    def __init__(self, client: WebClient, channel: str, thread_ts: str, updater: ProgressUpdater, *,
                 on_compared: Callable[[FinetuneReport], None], run_id: int | None = None) -> None:
        self.client, self.channel, self.thread_ts, self.updater = client, channel, thread_ts, updater
        self.metadata = marks.finetune_demo(run_id).metadata() if run_id is not None else None
        self.on_compared = on_compared
        self.compared = False  # the results are out (before the chart and the head)
        self._scratch_ts: str | None = None
        self._scratch_updated = 0.0

    def on_progress(self, progress: Progress) -> None:
        if progress.stage == PRETRAINED_STAGE and progress.data:
            self._post(say.pretrained_text(progress.data))
        elif progress.stage == "baseline" and progress.data:
            self._scratch(say.scratch_progress_text(progress.data))
        elif progress.stage == COMPARED_STAGE and progress.data:
            self.on_compared(FinetuneReport.from_dict(progress.data))
            self.compared = True
        self.updater.progress(progress)

    def _post(self, text: str) -> str | None:
        try:
            posted = self.client.chat_postMessage(channel=self.channel, thread_ts=self.thread_ts, text=text,
                                                  metadata=self.metadata)
            return str(posted["ts"])
        except SlackApiError as exc:
            log.warning("demo update not posted in %s: %s", self.thread_ts, slack_error(exc))
            return None

    def _scratch(self, text: str) -> None:
        if self._scratch_ts is None:
            self._scratch_ts = self._post(text)
            self._scratch_updated = time.monotonic()
            return
        if time.monotonic() - self._scratch_updated < self.updater.interval_s:
            return
        self._scratch_updated = time.monotonic()
        try:
            self.client.chat_update(channel=self.channel, ts=self._scratch_ts, text=text)
        except SlackApiError as exc:
            log.warning("scratch progress not updated: %s", slack_error(exc))

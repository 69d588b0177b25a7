"""Replies in a /finetune demo's thread: images are classified by the head the demo trained (kept
in SQLite, sent with a "classify" job to the worker), and a letter answers the deck question
posted there.

Both are idempotent: Slack may deliver a reply twice, and each image is claimed (and each member's
answer recorded) once in SQLite before anything is posted.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.finetune.request import ClassifyRequest
from bot.slack import marks
from bot.slack.finetune import messages as say
from bot.slack.finetune.downloads import download_images
from bot.tutor import Tutor
from bot.worker.protocol import WorkerClient
from content.model import MultipleChoice
from storage import images as store
from storage.db import ThreadLocalDatabases
from storage.images import RunStatus

log = logging.getLogger(__name__)

DECK_QUESTION_NEEDLE = "saves the most time"
PREFERRED_DECK = "pretrained-models-cv"

Ranked = Sequence[tuple[str, float]]


def slack_error(exc: Exception) -> str:
    """The error code of a Slack answer (`not_in_channel`), or the exception's own words."""
    if isinstance(exc, SlackApiError):
        return str(exc.response.get("error"))
    return str(exc)


def post_in_thread(client: WebClient, channel: str, thread_ts: str, text: str, *,
                   run_id: int | None = None) -> None:
    """Post `text` in a thread, marked as run `run_id`'s when given; a failure is logged, not raised
    (the demo's result is already safe)."""
    metadata = marks.finetune_demo(run_id).metadata() if run_id is not None else None
    try:
        client.chat_postMessage(channel=channel, thread_ts=thread_ts, text=text, metadata=metadata)
    except SlackApiError as exc:
        log.warning("message in thread %s not posted: %s", thread_ts, slack_error(exc))


def find_deck_question(tutor: Tutor,
                       needle: str = DECK_QUESTION_NEEDLE) -> tuple[str, str, MultipleChoice] | None:
    """(deck slug, title, card) of the first multiple-choice card whose question contains `needle`,
    looking in `PREFERRED_DECK` first; None when no deck has one or the decks cannot be read."""
    try:
        summaries = sorted(tutor.decks(), key=lambda d: d.slug != PREFERRED_DECK)
        for summary in summaries:
            deck = tutor.deck(summary.slug)
            for card in deck.cards:
                if isinstance(card, MultipleChoice) and needle.casefold() in card.question.casefold():
                    return deck.slug, deck.title, card
    except (ValueError, LookupError, NotImplementedError) as exc:  # TutorError is a ValueError
        log.info("no deck question for the demo: %s", exc)
    return None


# Possessive (`*+`): with plain `\s*` around the optional brackets, a long run of spaces before a
# non-letter was split every possible way (quadratic: seconds at 20,000 spaces).
_CHOICE = re.compile(r"^\s*+[(\[]?+\s*+([A-Za-z])\s*+[)\].:!]?+\s*+$")


def parse_choice(text: str | None, options: int) -> int | None:
    """`C`, `c)`, `(c)` or `C.` -> 2, when there is such an option; anything else -> None."""
    match = _CHOICE.match(text or "")
    if not match:
        return None
    index = ord(match.group(1).upper()) - ord("A")
    return index if 0 <= index < options else None


class ThreadReplies:
    """What the bot does with replies in a demo's thread. `now` gives aware datetimes (UTC)."""

    def __init__(self, dbs: ThreadLocalDatabases, tutor: Tutor, worker: Callable[[], WorkerClient],
                 now: Callable[[], datetime], *, download_timeout_s: float = 30.0,
                 device: str | None = None) -> None:
        self.dbs, self.tutor, self.now = dbs, tutor, now
        self.worker = worker  # the flow's current worker
        self.download_timeout_s = download_timeout_s
        self.device = device

    def answer_question(self, client: WebClient, event: dict, run: store.DemoRun) -> None:
        """A text reply naming an option of the deck question shown in the thread: tell the member
        (only them) whether it is right. Their first answer stands."""
        if not run.question_deck or not run.question_card or not event.get("user"):
            return
        try:
            card = self.tutor.deck(run.question_deck).card(run.question_card)
        except (ValueError, LookupError, NotImplementedError):
            return
        if not isinstance(card, MultipleChoice) or card.answer is None:
            return
        choice = parse_choice(event.get("text"), len(card.options))
        if choice is None:
            return
        answer = store.ThreadAnswer(run.id, event["user"], choice, choice == card.answer, event["ts"])
        standing, new = store.record_answer(self.dbs.get(), answer, now=self.now())
        if not new and standing.ts == answer.ts:
            return  # Slack delivered this reply twice
        try:
            client.chat_postEphemeral(channel=run.channel, user=answer.user_id, thread_ts=run.thread_ts,
                                      text=say.answer_feedback_text(card, standing, repeated=not new))
        except SlackApiError as exc:
            log.warning("answer feedback not posted: %s", slack_error(exc))

    def classify(self, client: WebClient, event: dict, run: store.DemoRun) -> None:
        """Images posted in the thread: download, check and classify each with the run's head, then
        reply with the top labels (or why an image was skipped). Blocking: call from a worker."""
        channel, ts = event["channel"], event["ts"]
        db = self.dbs.get()
        files = [f for f in event.get("files") or [] if f.get("id")]
        claimed = [f for f in files if store.claim_classification(
            db, channel=channel, file_id=f["id"], run_id=run.id, ts=ts, now=self.now())]
        if not claimed:
            return  # Slack retried an event already handled
        run = store.run_for_thread(db, channel, run.thread_ts) or run
        if run.status is RunStatus.RUNNING:
            post_in_thread(client, channel, run.thread_ts, run_id=run.id, text=
                           "The model is still training; post the image again once the results are in.")
            return
        head = store.head_for_run(db, run.id) if run.status is RunStatus.DONE else None
        if head is None and run.status is RunStatus.DONE:
            head = _head_file(run.head_path)
        if head is None:
            why = f" ({run.error})" if run.error else ""
            post_in_thread(client, channel, run.thread_ts, run_id=run.id, text=
                           f"This demo has no trained model to ask{why}; run `/finetune` again.")
            return
        images = [store.RecordedImage(channel=channel, file_id=f["id"], ts=ts, name=f.get("name") or f["id"],
                                      label=None, size=f.get("size"), url=f.get("url_private_download"),
                                      mimetype=f.get("mimetype"))
                  for f in claimed]
        lines: list[tuple[str, Ranked | str]] = []
        fetched = download_images(images, token=client.token or "", timeout_s=self.download_timeout_s)
        lines += [(skipped.name, skipped.reason.value) for skipped in fetched.skipped]
        lines += list(fetched.failed)
        if fetched.files:
            request = ClassifyRequest(head=head, images=tuple(fetched.images()), device=self.device)
            outcome = self.worker().run("classify", request.to_dict())
            if not outcome.ok or outcome.result is None:
                lines += [(image.name, f"the model could not run: {outcome.error}")
                          for _, image in fetched.files]
            else:
                for (_, image), top in zip(fetched.files, outcome.result["ranked"], strict=True):
                    ranked = [(str(label), float(p)) for label, p in top]
                    lines.append((image.name, ranked if ranked else "the model could not read it"))
                    store.save_classification(db, channel=channel, file_id=image.file_id, result=ranked)
        post_in_thread(client, channel, run.thread_ts, say.classification_text(lines), run_id=run.id)


def _head_file(path: str | None) -> bytes | None:
    """The head a run saved to disk before heads were kept in the database (None if it is gone)."""
    try:
        return Path(path).read_bytes() if path else None
    except OSError:
        return None

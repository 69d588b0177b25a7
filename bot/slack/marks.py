"""Slack message metadata that names what a message delivers, and finding it again in Slack.

Every message the bot posts for a claimed row carries a mark: the daily DM of delivery 12 is posted
(and updated) with `metadata={"event_type": "tutor_daily_review", "event_payload": {"delivery_id": 12}}`,
a question of the day and its reveal likewise with their post's id, a /finetune demo's messages with
its run's id. Slack has no idempotency key for
chat.postMessage, so a process killed between "claimed" and "sent" cannot know whether Slack stored
the message; the mark lets the next tick find out from Slack's history instead of guessing:
found -> record it as sent (with its ts); absent -> send it. A claim younger than
`RECONCILE_AFTER` is left alone (it may be in flight in another process), and after `MAX_ATTEMPTS`
attempts whose outcome stayed unknown the row is marked failed, so a bug cannot resend forever.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from slack_sdk import WebClient

from bot.slack.blocks import Message

RECONCILE_AFTER = timedelta(minutes=1)  # a claim older than this, not marked sent, is looked up
MAX_ATTEMPTS = 3  # sends of one row whose outcome stayed unknown before it is marked failed
CLOCK_MARGIN_S = 300  # history is read from this long before the claim (Slack's clock may differ)
HISTORY_PAGE = 200

DAILY_REVIEW = "tutor_daily_review"
QUESTION_OF_THE_DAY = "tutor_question_of_the_day"
QUESTION_REVEAL = "tutor_question_reveal"
ENROLLMENT_NOTICE = "tutor_enrollment_notice"
FINETUNE_DEMO = "tutor_finetune_demo"


@dataclass(frozen=True)
class Mark:
    """What one message delivers: an event type and the id of the row it belongs to."""

    event_type: str
    key: str  # the payload's key for the row id: delivery_id or post_id
    row_id: int

    def metadata(self) -> dict[str, Any]:
        """Slack's `metadata` argument of chat.postMessage / chat.update."""
        return {"event_type": self.event_type, "event_payload": {self.key: self.row_id}}

    def on(self, message: Message) -> Message:
        """The message, carrying this mark."""
        return replace(message, metadata=self.metadata())

    def found_in(self, message: dict[str, Any]) -> bool:
        metadata = message.get("metadata") or {}
        payload = metadata.get("event_payload") or {}
        return bool(metadata.get("event_type") == self.event_type and payload.get(self.key) == self.row_id)


def daily_review(delivery_id: int) -> Mark:
    return Mark(DAILY_REVIEW, "delivery_id", delivery_id)


def question_of_the_day(post_id: int) -> Mark:
    return Mark(QUESTION_OF_THE_DAY, "post_id", post_id)


def question_reveal(post_id: int) -> Mark:
    return Mark(QUESTION_REVEAL, "post_id", post_id)


def enrollment_notice(notice_id: int) -> Mark:
    return Mark(ENROLLMENT_NOTICE, "notice_id", notice_id)


def finetune_demo(run_id: int) -> Mark:
    """A /finetune demo's progress message and the replies the demo posts in its thread."""
    return Mark(FINETUNE_DEMO, "run_id", run_id)


def find_marked(client: WebClient, channel: str, mark: Mark, *, since: datetime,
                thread_ts: str | None = None) -> str | None:
    """The ts of the message carrying `mark` in `channel` (in the thread of `thread_ts` when given),
    posted after `since` (minus CLOCK_MARGIN_S); None when there is none. Reads every page
    (conversations.history / .replies with include_all_metadata: without it Slack leaves metadata
    out). Raises SlackApiError when the history cannot be read."""
    oldest = f"{since.timestamp() - CLOCK_MARGIN_S:.6f}"
    cursor: str | None = None
    while True:
        if thread_ts is None:
            page = client.conversations_history(channel=channel, oldest=oldest, include_all_metadata=True,
                                                limit=HISTORY_PAGE, cursor=cursor)
        else:
            page = client.conversations_replies(channel=channel, ts=thread_ts, oldest=oldest,
                                                include_all_metadata=True, limit=HISTORY_PAGE, cursor=cursor)
        for message in page.get("messages") or []:
            if mark.found_in(message):
                return str(message["ts"])
        cursor = (page.get("response_metadata") or {}).get("next_cursor") or None
        if cursor is None:
            return None

"""The answer modal's submission: acknowledge at once (closing the modal), then grade the answer and
update the review message in the DM (bot/slack/explain.py). A blank answer keeps the modal open with
a message under the input instead (the only check made before the acknowledgement: it reads the
payload, nothing else)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from slack_bolt import Ack
from slack_sdk import WebClient

from bot.slack.blocks_explain import ANSWER_BLOCK, submitted_answer
from bot.slack.explain import on_answer
from bot.slack.services import SlackServices

log = logging.getLogger(__name__)

BLANK = "Write your answer first: a sentence or two in your own words."


def answer_submission_callback(svc: SlackServices) -> Callable[..., None]:
    def answer_submission(ack: Ack, body: dict[str, Any], view: dict[str, Any], client: WebClient) -> None:
        if not submitted_answer(view).strip():
            ack(response_action="errors", errors={ANSWER_BLOCK: BLANK})
            return
        ack()
        try:
            on_answer(svc, client, body["user"]["id"], view)
        except ValueError as exc:  # metadata from an older version of the bot, or forged
            log.warning("ignored an answer submission: %s", exc)

    return answer_submission

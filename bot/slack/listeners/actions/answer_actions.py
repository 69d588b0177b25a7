""""Write your answer" on an open prompt of the DM review: open the answer modal."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from slack_bolt import Ack
from slack_sdk import WebClient

from bot.slack.explain import open_answer_modal
from bot.slack.listeners.actions.review_actions import click_of
from bot.slack.services import SlackServices

log = logging.getLogger(__name__)


def open_modal(svc: SlackServices) -> Callable[..., None]:
    def review_write(ack: Ack, body: dict[str, Any], action: dict[str, Any], client: WebClient) -> None:
        ack()
        try:
            open_answer_modal(svc, client, click_of(body, action), body["trigger_id"])
        except ValueError as exc:  # a button from an older version of the bot, or a forged value
            log.warning("ignored %s: %s", action.get("action_id"), exc)

    return review_write

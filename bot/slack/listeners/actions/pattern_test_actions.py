"""A click on an option of a "test this pattern" question in the DM."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from slack_bolt import Ack
from slack_sdk import WebClient

from bot.slack.listeners.actions.review_actions import click_of
from bot.slack.pattern_tests import on_choice
from bot.slack.services import SlackServices

log = logging.getLogger(__name__)


def callback(svc: SlackServices) -> Callable[..., None]:
    def pattern_choice(ack: Ack, body: dict[str, Any], action: dict[str, Any], client: WebClient) -> None:
        ack()
        try:
            on_choice(svc, client, click_of(body, action))
        except ValueError as exc:  # a button from an older version of the bot, or a forged value
            log.warning("ignored test click %s: %s", action.get("action_id"), exc)

    return pattern_choice

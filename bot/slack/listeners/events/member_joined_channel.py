"""`member_joined_channel`: a member who joins a channel with an assigned deck is enrolled in it
(bot/slack/assignments.py). Slack retries events; enrolling is idempotent."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from slack_bolt import BoltContext
from slack_sdk import WebClient

from bot.slack.assignments import on_member_joined
from bot.slack.services import SlackServices


def member_joined_channel_callback(svc: SlackServices) -> Callable[..., None]:
    def member_joined_channel(event: dict[str, Any], client: WebClient, context: BoltContext) -> None:
        on_member_joined(svc, client, event["channel"], event["user"], bot_user_id=context.bot_user_id)

    return member_joined_channel

"""A click on an option of a question of the day: answer only the clicker sees, tally for everyone."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from slack_bolt import Ack
from slack_sdk import WebClient

from bot.numbers import id_value
from bot.slack.blocks import decode_value
from bot.slack.qotd import answer
from bot.slack.services import SlackServices

log = logging.getLogger(__name__)


def callback(svc: SlackServices) -> Callable[..., None]:
    def qotd_choice(ack: Ack, body: dict[str, Any], action: dict[str, Any], client: WebClient) -> None:
        ack()
        try:
            data = decode_value(action.get("value"))
            post_id, choice = id_value(data["p"]), id_value(data["o"])
        except (ValueError, KeyError, TypeError):
            log.warning("ignored question-of-the-day click with value %r", action.get("value"))
            return
        user_id = body["user"]["id"]
        channel_id = (body.get("container") or {}).get("channel_id") or body["channel"]["id"]
        message = answer(svc, client, post_id=post_id, user_id=user_id, choice=choice,
                         action_ts=action.get("action_ts"))
        client.chat_postEphemeral(channel=channel_id, user=user_id, **message.as_kwargs())

    return qotd_choice

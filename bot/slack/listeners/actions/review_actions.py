"""Clicks on the DM review message: show answer, grade, choose an option, next."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from slack_bolt import Ack
from slack_sdk import WebClient

from bot.slack.review import Click, on_choice, on_grade, on_next, on_show_answer
from bot.slack.services import SlackServices

log = logging.getLogger(__name__)

__all__ = ["callback", "click_of", "on_choice", "on_grade", "on_next", "on_show_answer"]

Handler = Callable[[SlackServices, WebClient, Click], None]


def click_of(body: dict[str, Any], action: dict[str, Any]) -> Click:
    """Who clicked which button on which message, from a block_actions payload."""
    container = body.get("container") or {}
    channel = container.get("channel_id") or (body.get("channel") or {}).get("id")
    ts = container.get("message_ts") or (body.get("message") or {}).get("ts")
    if not channel or not ts:
        raise ValueError("a review click without its message (channel, ts)")
    return Click(user_id=body["user"]["id"], channel_id=str(channel), ts=str(ts), value=action.get("value"),
                 action_ts=action.get("action_ts"))


def callback(svc: SlackServices, handler: Handler, *, kind: str = "review") -> Callable[..., None]:
    """The listener for a click on a DM message (kind: a review's or a test's): ack, then `handler`
    with the click."""
    def dm_click(ack: Ack, body: dict[str, Any], action: dict[str, Any], client: WebClient) -> None:
        ack()
        try:
            handler(svc, client, click_of(body, action))
        except ValueError as exc:  # a button from an older version of the bot, or a forged value
            log.warning("ignored %s click %s: %s", kind, action.get("action_id"), exc)

    dm_click.__name__ = f"{kind}_{handler.__name__}"
    return dm_click

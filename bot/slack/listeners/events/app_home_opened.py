"""Publish the Home tab when a member opens it (and pick up a changed Slack time zone)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from slack_sdk import WebClient

from bot.slack.home import publish_home, sync_timezone
from bot.slack.services import SlackServices


def app_home_opened_callback(svc: SlackServices) -> Callable[..., None]:
    def app_home_opened(event: dict[str, Any], client: WebClient) -> None:
        if event.get("tab", "home") != "home":
            return  # the Messages tab: nothing to draw
        sync_timezone(svc, client, event["user"])
        publish_home(svc, client, event["user"])

    return app_home_opened

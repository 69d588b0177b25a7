"""App Home buttons: review now, pause / resume, daily time. Each refreshes the Home tab."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from slack_bolt import Ack
from slack_sdk import WebClient

from bot.slack.blocks import format_when, reply
from bot.slack.home import publish_home
from bot.slack.parsing import CommandError, parse_time
from bot.slack.review import dm_channel, start_review
from bot.slack.services import SlackServices

Listener = Callable[..., None]


def review_now(svc: SlackServices) -> Listener:
    def home_review(ack: Ack, body: dict[str, Any], client: WebClient) -> None:
        ack()
        user_id = body["user"]["id"]
        if start_review(svc, client, user_id, origin="home") is None:
            now = svc.now()
            learner = svc.ctx.tutor.learner(user_id)
            stats = svc.ctx.tutor.stats(user_id, now)
            when = format_when(stats.next_due, learner.tz if learner else svc.ctx.settings.timezone, now)
            message = reply(f"Nothing is due right now. Next review: *{when}*.")
            client.chat_postMessage(channel=dm_channel(svc, client, user_id), **message.as_kwargs())
        publish_home(svc, client, user_id)

    return home_review


def pause(svc: SlackServices) -> Listener:
    return _change_then_refresh(svc, lambda user_id: svc.ctx.tutor.pause(user_id))


def resume(svc: SlackServices) -> Listener:
    return _change_then_refresh(svc, lambda user_id: svc.ctx.tutor.resume(user_id))


def _change_then_refresh(svc: SlackServices, change: Callable[[str], object]) -> Listener:
    """A button that changes the clicking member's settings, then shows them on the Home tab."""

    def home_button(ack: Ack, body: dict[str, Any], client: WebClient) -> None:
        ack()
        change(body["user"]["id"])
        publish_home(svc, client, body["user"]["id"])

    return home_button


def change_time(svc: SlackServices) -> Listener:
    def home_time(ack: Ack, body: dict[str, Any], action: dict[str, Any], client: WebClient) -> None:
        ack()
        selected = (action.get("selected_option") or {}).get("value") or action.get("selected_time")
        try:
            at = parse_time(str(selected)) if selected else None
        except CommandError:  # not one of the menu's values: nothing changes
            at = None
        if at is not None:
            svc.ctx.tutor.set_delivery_time(body["user"]["id"], at)
        publish_home(svc, client, body["user"]["id"])

    return home_time

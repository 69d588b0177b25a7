"""Events API: `app_home_opened`, `member_joined_channel`. (Every `message` event belongs to
listeners/finetune.py.)"""

from __future__ import annotations

from slack_bolt import App

from bot.slack.listeners.events.app_home_opened import app_home_opened_callback
from bot.slack.listeners.events.member_joined_channel import member_joined_channel_callback
from bot.slack.services import SlackServices


def register(app: App, svc: SlackServices) -> None:
    app.event("app_home_opened")(app_home_opened_callback(svc))
    app.event("member_joined_channel")(member_joined_channel_callback(svc))

"""Slash commands: `/tutor` (members and admins). `/finetune` is registered by listeners/finetune.py."""

from __future__ import annotations

from slack_bolt import App

from bot.slack.listeners.commands.tutor_command import tutor_command_callback
from bot.slack.services import SlackServices


def register(app: App, svc: SlackServices) -> None:
    app.command("/tutor")(tutor_command_callback(svc))

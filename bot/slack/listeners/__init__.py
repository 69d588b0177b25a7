"""Every listener of the Slack app, registered by concern (as in Slack's bolt-python starter
template): commands, actions, events, views. `/finetune` and all `message` events are registered by
listeners/finetune.py, which imports no torch at import time."""

from __future__ import annotations

import logging

from slack_bolt import App

from bot.slack.context import AppContext
from bot.slack.listeners import actions, commands, events, views
from bot.slack.services import SlackServices

log = logging.getLogger(__name__)


def register_all(app: App, ctx: AppContext, *, services: SlackServices | None = None) -> SlackServices:
    """Register every listener on `app`; returns the services they share (for the scheduler)."""
    svc = services or SlackServices.create(ctx)
    commands.register(app, svc)
    actions.register(app, svc)
    events.register(app, svc)
    views.register(app, svc)
    try:
        from bot.slack.listeners import finetune
    except ImportError as exc:  # the demo is optional; the tutor works without it
        log.warning("/finetune is not available: %s", exc)
    else:
        finetune.register(app, ctx)
    return svc

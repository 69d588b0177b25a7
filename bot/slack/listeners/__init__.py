"""Every listener of the Slack app, registered by concern (as in Slack's bolt-python starter
template): commands, actions, events, views. `/finetune` and all `message` events are registered by
listeners/finetune.py, which imports no torch at import time; without the `finetune` extra,
listeners/finetune_unavailable.py registers a `/finetune` that says how to install it."""

from __future__ import annotations

import logging

from slack_bolt import App

from bot.extras import FINETUNE_INSTALL, finetune_unavailable_message
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
    unavailable = finetune_unavailable_message()
    if unavailable is None:
        from bot.slack.listeners import finetune

        finetune.register(app, ctx)
    else:  # the base install: the tutor works, /finetune says how to add the demo
        from bot.slack.listeners import finetune_unavailable

        log.info("/finetune is not installed (%s): %s", unavailable, FINETUNE_INSTALL)
        finetune_unavailable.register(app, unavailable)
    return svc

"""`/finetune` and every `message` event.

Both acknowledge at once and hand the work to `FinetuneFlow` (bot/slack/finetune/flow.py), which
runs it on its own threads: Slack wants an answer within 3 seconds, a demo takes seconds to minutes.
Message events are how images get recorded with their labels (and how replies in a demo's thread
get classified); no other listener module registers `message` events.
"""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt import Ack, App, BoltContext, Respond
from slack_sdk import WebClient

from bot.config import Settings
from bot.slack.context import AppContext
from bot.slack.finetune.flow import FinetuneFlow, FlowOptions
from bot.slack.finetune.messages import HELP_TEXT
from bot.worker.client import make_worker_client
from storage.db import ThreadLocalDatabases

log = logging.getLogger(__name__)

HELP_WORDS = frozenset({"help", "-h", "--help", "?", "how"})


def flow_options(settings: Settings) -> FlowOptions:
    return FlowOptions(budget_s=settings.finetune_budget_s, time_limit_s=settings.finetune_time_limit_s,
                       device=settings.finetune_device)


def register(app: App, ctx: AppContext) -> None:
    """Add the `/finetune` command and the `message` event listener to `app`."""
    worker = ctx.worker or make_worker_client(ctx.settings)  # build_app has set it
    flow = FinetuneFlow(ThreadLocalDatabases(ctx.db), ctx.tutor, flow_options(ctx.settings), ctx.clock,
                        worker=worker)
    # Kept on the app so a test or a shutdown hook can wait for demos (`app.finetune_flow.idle()`).
    app.finetune_flow = flow  # type: ignore[attr-defined]
    flow.end_interrupted(app.client)  # demos a restart interrupted: said in Slack, on a worker thread

    @app.command("/finetune")
    def finetune_command(ack: Ack, command: dict[str, Any], client: WebClient, respond: Respond) -> None:
        text = (command.get("text") or "").strip()
        if text.casefold() in HELP_WORDS:
            ack(text=HELP_TEXT, response_type="ephemeral")
            return
        # Queued before the ack (it only queues), so the work is already pending when Slack hears back.
        flow.start_demo(client, channel=command["channel_id"], user=command["user_id"], text=text,
                        respond=lambda message: respond(text=message))
        ack(text="Getting the labelled images of this channel ready… the demo's progress will appear "
                 "in the channel.", response_type="ephemeral")

    @app.event("message")
    def message_event(event: dict[str, Any], client: WebClient, context: BoltContext) -> None:
        if event.get("user") and event.get("user") == context.bot_user_id:
            return  # the bot's own posts (the chart it uploads) are neither training data nor queries
        flow.on_message(client, event)

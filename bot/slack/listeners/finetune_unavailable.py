"""`/finetune` where the demo is not installed (the base install, without the `finetune` extra):
the command answers how to enable it, and `message` events, which only the demo reads, are
acknowledged and dropped instead of being logged as unhandled."""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, App

from bot.extras import FINETUNE_INSTALL
from bot.slack.escape import esc


def unavailable_text(reason: str) -> str:
    """The reply to /finetune; `reason` is bot.extras.finetune_unavailable_message()."""
    return (f"The /finetune demo is not installed on this bot ({esc(reason)}). An admin enables it with "
            f"`{FINETUNE_INSTALL}` and a restart of the bot.")


def register(app: App, reason: str) -> None:
    """Add the stand-in `/finetune` and a quiet `message` listener to `app`."""
    text = unavailable_text(reason)

    @app.command("/finetune")
    def finetune_unavailable(ack: Ack) -> None:
        ack(text=text, response_type="ephemeral")

    @app.event("message")
    def message_ignored(event: dict[str, Any]) -> None:
        return None

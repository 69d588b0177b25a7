"""Modal submissions (view_submission): the answer to an open prompt."""

from __future__ import annotations

from slack_bolt import App

from bot.slack.blocks_explain import ANSWER_VIEW
from bot.slack.listeners.views.answer_submission import answer_submission_callback
from bot.slack.services import SlackServices


def register(app: App, svc: SlackServices) -> None:
    app.view(ANSWER_VIEW)(answer_submission_callback(svc))

"""Button clicks: the DM review (and its answer modal), tests of a pattern, the question of the day in
channels, and the App Home."""

from __future__ import annotations

import re

from slack_bolt import App

from bot.slack.blocks import CHOICE_PREFIX, GRADE_PREFIX, NEXT, SHOW_ANSWER, WRITE_ANSWER
from bot.slack.blocks_channel import QOTD_CHOICE_PREFIX
from bot.slack.blocks_home import HOME_PAUSE, HOME_RESUME, HOME_REVIEW, HOME_TIME
from bot.slack.blocks_pattern import PATTERN_CHOICE_PREFIX
from bot.slack.listeners.actions import (
    answer_actions,
    home_actions,
    pattern_test_actions,
    qotd_actions,
    review_actions,
)
from bot.slack.services import SlackServices


def register(app: App, svc: SlackServices) -> None:
    app.action(SHOW_ANSWER)(review_actions.callback(svc, review_actions.on_show_answer))
    app.action(re.compile(f"^{GRADE_PREFIX}[1-4]$"))(review_actions.callback(svc, review_actions.on_grade))
    app.action(re.compile(f"^{CHOICE_PREFIX}\\d+$"))(review_actions.callback(svc, review_actions.on_choice))
    app.action(NEXT)(review_actions.callback(svc, review_actions.on_next))
    app.action(WRITE_ANSWER)(answer_actions.open_modal(svc))
    app.action(re.compile(f"^{QOTD_CHOICE_PREFIX}\\d+$"))(qotd_actions.callback(svc))
    app.action(re.compile(f"^{PATTERN_CHOICE_PREFIX}\\d+$"))(pattern_test_actions.callback(svc))
    app.action(HOME_REVIEW)(home_actions.review_now(svc))
    app.action(HOME_PAUSE)(home_actions.pause(svc))
    app.action(HOME_RESUME)(home_actions.resume(svc))
    app.action(HOME_TIME)(home_actions.change_time(svc))

"""A click on an option of a "test this pattern" question in the DM."""

from __future__ import annotations

from collections.abc import Callable

from bot.slack.listeners.actions import review_actions
from bot.slack.pattern_tests import on_choice
from bot.slack.services import SlackServices


def callback(svc: SlackServices) -> Callable[..., None]:
    """Acked and read as a review's clicks are (review_actions.callback), answered by the test."""
    return review_actions.callback(svc, on_choice, kind="test")

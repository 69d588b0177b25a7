"""Publish a member's App Home tab (views.publish) from the core's stats and their last tests;
admins also see decks, schedules, assigned decks with their members' participation, per-question
stats and the team's tests."""

from __future__ import annotations

import logging

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot import pattern_tests
from bot.slack.blocks_home import AdminPanel, home_view
from bot.slack.services import SlackServices

log = logging.getLogger(__name__)


def admin_panel(svc: SlackServices) -> AdminPanel:
    tutor = svc.ctx.tutor
    decks = tutor.decks()
    now = svc.now()
    assignments = [(a, svc.assignments.participation(a, now)) for a in svc.assignments.active()]
    return AdminPanel(decks=decks, schedules=svc.state.schedules(),
                      card_stats={d.slug: tutor.card_stats(d.slug) for d in decks},
                      assignments=assignments,
                      tests={d.slug: pattern_tests.deck_report(tutor, d.slug) for d in decks})


def sync_timezone(svc: SlackServices, client: WebClient, user_id: str) -> None:
    """Store the member's Slack time zone when it changed (they travelled, or set it)."""
    learner = svc.ctx.tutor.learner(user_id)
    if learner is None:
        return
    user = svc.users.info(client, user_id)
    if user is not None and user.tz and user.tz != learner.tz:
        svc.ctx.tutor.ensure_learner(user_id, name=user.name, tz=user.tz)


def publish_home(svc: SlackServices, client: WebClient, user_id: str) -> None:
    """Render and publish the Home tab; a Slack error is logged, not raised (the tab is a view of
    the data, not a place where anything gets lost)."""
    now = svc.now()
    tutor = svc.ctx.tutor
    learner = tutor.learner(user_id)
    stats = tutor.stats(user_id, now) if learner is not None else None
    panel = admin_panel(svc) if svc.users.is_admin(client, user_id) else None
    tested = pattern_tests.last_results(tutor, user_id)
    try:
        client.views_publish(user_id=user_id, view=home_view(learner, stats, now, admin=panel, tests=tested))
    except SlackApiError as exc:
        log.warning("views.publish for %s failed: %s", user_id, exc.response.get("error"))

"""What each member's `/tutor` verb does: translate to a core call, answer with a short reply."""

from __future__ import annotations

from typing import Any

from slack_sdk import WebClient

from bot import pattern_tests
from bot.slack.blocks import (
    Message,
    decks_message,
    delivery_line,
    esc,
    format_when,
    help_message,
    reply,
    section,
    stats_message,
)
from bot.slack.blocks_pattern import results_lines
from bot.slack.home import publish_home
from bot.slack.parsing import CommandError, parse_time
from bot.slack.review import start_review
from bot.slack.services import SlackServices
from bot.tutor import Learner

Command = dict[str, Any]


def ensure_learner(svc: SlackServices, client: WebClient, user_id: str) -> Learner:
    """The member as a learner, with the name and time zone Slack has for them (users.info)."""
    user = svc.users.info(client, user_id)
    return svc.ctx.tutor.ensure_learner(user_id, name=user.name if user else None,
                                        tz=user.tz if user else None)


def help_(svc: SlackServices, client: WebClient, command: Command, args: tuple[str, ...]) -> Message:
    return help_message(is_admin=svc.users.is_admin(client, command["user_id"]))


def decks(svc: SlackServices, client: WebClient, command: Command, args: tuple[str, ...]) -> Message:
    return decks_message(svc.ctx.tutor.decks())


def join(svc: SlackServices, client: WebClient, command: Command, args: tuple[str, ...]) -> Message:
    user_id = command["user_id"]
    tutor = svc.ctx.tutor
    available = tutor.decks()
    if args:
        slug = args[0]
    elif not available:
        return reply("No deck is loaded yet. An admin can share a deck file with me and run `/tutor import`.")
    elif len(available) == 1:
        slug = available[0].slug
    else:
        listing = decks_message(available)
        return Message("Which deck? /tutor join DECK",
                       [*listing.blocks[:1], *reply("Which one? `/tutor join DECK`").blocks])
    ensure_learner(svc, client, user_id)
    learner = tutor.join(user_id, slug)
    title = next((d.title for d in tutor.decks() if d.slug == slug), slug)
    publish_home(svc, client, user_id)
    return reply(f"You joined *{esc(title)}*. {delivery_line(learner)}.\n"
                 "Change the time with `/tutor time 07:45`; start now with `/tutor review`.")


def leave(svc: SlackServices, client: WebClient, command: Command, args: tuple[str, ...]) -> Message:
    user_id = command["user_id"]
    learner = svc.ctx.tutor.learner(user_id)
    if learner is None or not learner.decks:
        return reply("You are not in any deck. `/tutor join` to start.")
    learner = svc.ctx.tutor.leave(user_id, args[0] if args else None)
    publish_home(svc, client, user_id)
    left = f"`{esc(args[0])}`" if args else "your decks"
    return reply(f"You left {left}. Your progress is kept; `/tutor join` brings it back.")


def set_time(svc: SlackServices, client: WebClient, command: Command, args: tuple[str, ...]) -> Message:
    if len(args) != 1:
        raise CommandError("Usage: `/tutor time 08:30` (your local time).")
    at = parse_time(args[0])
    user_id = command["user_id"]
    ensure_learner(svc, client, user_id)
    learner = svc.ctx.tutor.set_delivery_time(user_id, at)
    publish_home(svc, client, user_id)
    return reply(f"{delivery_line(learner)}.")


def pause(svc: SlackServices, client: WebClient, command: Command, args: tuple[str, ...]) -> Message:
    user_id = command["user_id"]
    ensure_learner(svc, client, user_id)
    svc.ctx.tutor.pause(user_id)
    publish_home(svc, client, user_id)
    return reply("Paused: no daily DM until you `/tutor resume`. Your cards wait for you.")


def resume(svc: SlackServices, client: WebClient, command: Command, args: tuple[str, ...]) -> Message:
    user_id = command["user_id"]
    ensure_learner(svc, client, user_id)
    learner = svc.ctx.tutor.resume(user_id)
    publish_home(svc, client, user_id)
    return reply(f"Welcome back! {delivery_line(learner)}.")


def review(svc: SlackServices, client: WebClient, command: Command, args: tuple[str, ...]) -> Message:
    user_id = command["user_id"]
    learner = ensure_learner(svc, client, user_id)
    if not learner.decks:
        return reply("Join a deck first: `/tutor join`.")
    posted = start_review(svc, client, user_id, origin="command")
    if posted is None:
        now = svc.now()
        stats = svc.ctx.tutor.stats(user_id, now)
        when = format_when(stats.next_due, learner.tz, now)
        return reply(f"Nothing is due right now. Next review: *{when}*.")
    return reply(f"Your review is in <#{posted.channel}>: answer with the buttons there.")


def stats(svc: SlackServices, client: WebClient, command: Command, args: tuple[str, ...]) -> Message:
    user_id = command["user_id"]
    learner = svc.ctx.tutor.learner(user_id)
    if learner is None:
        return reply("No stats yet: `/tutor join` a deck and review a few cards.")
    now = svc.now()
    message = stats_message(learner, svc.ctx.tutor.stats(user_id, now), now)
    tested = pattern_tests.last_results(svc.ctx.tutor, user_id)
    if tested:
        message.blocks.append(section(f"*Your last tests*\n{results_lines(tested)}"))
    return message

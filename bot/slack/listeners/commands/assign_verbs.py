"""Admin `/tutor assign #channel DECK [TIME] [TZ]` and `/tutor unassign #channel DECK`: roll a deck out
to everyone in a channel (the work is in bot/slack/assignments.py). The caller has been checked to be
an admin (tutor_command.py)."""

from __future__ import annotations

from typing import Any

from slack_sdk import WebClient

from bot.slack.assignments import channel_members, enroll, send_notices
from bot.slack.blocks import Message, esc, plural, reply
from bot.slack.listeners.commands.admin_verbs import resolve_channel
from bot.slack.parsing import CommandError, parse_assign, parse_unassign
from bot.slack.services import SlackServices

Command = dict[str, Any]


def assign(svc: SlackServices, client: WebClient, command: Command, args: tuple[str, ...]) -> Message:
    request = parse_assign(args)
    deck = svc.ctx.tutor.deck(request.deck)  # TutorError (shown as is) when unknown
    channel_id, name = resolve_channel(client, request.channel)
    now = svc.now()
    assignment, created = svc.assignments.add(channel_id=channel_id, channel_name=name, deck=deck.slug,
                                              at_time=request.at, tz=request.tz,
                                              created_by=command["user_id"], now=now)
    done = enroll(svc, client, assignment, channel_members(client, channel_id), now)
    notices = send_notices(svc, client, now)
    parts = [f"{plural(len(done.enrolled), 'member')} enrolled"]
    if done.already:
        parts.append(f"{len(done.already)} already in it")
    if done.left:
        parts.append(f"{len(done.left)} had left it and were not added back")
    if done.failed:
        parts.append(f"{len(done.failed)} could not be enrolled (see the bot's log)")
    told = " Each new member got a DM saying how to pause, change the time or leave." if done.enrolled else ""
    if notices.failed:
        told += f" {plural(notices.failed, 'DM')} could not be sent."
    timing = ""
    if request.at is not None:
        zone = esc(request.tz) if request.tz else "each member's own time zone"
        timing = (f" Their daily review comes at {request.at:%H:%M} ({zone}) unless they had set a time "
                  "already.")
    again = "" if created else " (It was assigned already: the channel's members were checked again.)"
    return reply(f"Assigned `{deck.slug}` to <#{channel_id}>: {', '.join(parts)}.{told}{timing} Members who "
                 f"join <#{channel_id}> later are enrolled too. Stop with `/tutor unassign <#{channel_id}> "
                 f"{deck.slug}`.{again}")


def unassign(svc: SlackServices, client: WebClient, command: Command, args: tuple[str, ...]) -> Message:
    ref, deck = parse_unassign(args)
    found = [a for a in svc.assignments.active()
             if a.deck == deck and (a.channel_id == ref.id if ref.id else a.channel_name == ref.name)]
    if not found:
        raise CommandError(f"`{deck}` is not assigned to {ref.label}; the App Home lists the assignments.")
    assignment = found[0]
    svc.assignments.remove(assignment.id, svc.now())
    enrolled = sum(1 for outcome in svc.assignments.outcomes(assignment.id).values() if outcome == "enrolled")
    return reply(f"Stopped assigning `{deck}` to <#{assignment.channel_id}>: members who join it are no "
                 f"longer enrolled. The {plural(enrolled, 'member')} it enrolled keep their daily review; "
                 f"each can `/tutor leave {deck}`.")

"""`/tutor …`: acknowledge at once, then answer with a reply only the caller sees (response_url)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from slack_bolt import Ack, Respond
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

import bot.slack.listeners.commands.admin_verbs as admin_verbs
import bot.slack.listeners.commands.assign_verbs as assign_verbs
import bot.slack.listeners.commands.member_verbs as member_verbs
import bot.slack.pattern_tests as pattern_tests
from bot.slack.blocks import Message, esc, reply
from bot.slack.importing import ImportProblem
from bot.slack.parsing import ADMIN_VERBS, CommandError, Verb, parse_command
from bot.slack.services import SlackServices
from bot.tutor import TutorError

log = logging.getLogger(__name__)

MEMBER = {Verb.HELP: member_verbs.help_, Verb.JOIN: member_verbs.join, Verb.LEAVE: member_verbs.leave,
          Verb.TIME: member_verbs.set_time, Verb.PAUSE: member_verbs.pause, Verb.RESUME: member_verbs.resume,
          Verb.REVIEW: member_verbs.review, Verb.STATS: member_verbs.stats, Verb.DECKS: member_verbs.decks,
          Verb.TEST: pattern_tests.start}
ADMIN = {Verb.SCHEDULE: admin_verbs.schedule, Verb.SCHEDULES: admin_verbs.schedules,
         Verb.UNSCHEDULE: admin_verbs.unschedule, Verb.IMPORT: admin_verbs.import_deck,
         Verb.ASSIGN: assign_verbs.assign, Verb.UNASSIGN: assign_verbs.unassign}

REFUSAL = ("`/tutor {verb}` is for admins: Slack workspace admins and owners, and the people listed in "
           "TUTOR_ADMINS. Ask one of them.")


def run_tutor_command(svc: SlackServices, client: WebClient, command: dict[str, Any]) -> Message:
    """The reply to one `/tutor` command (errors become a sentence, never a stack trace)."""
    user_id = command["user_id"]
    try:
        parsed = parse_command(command.get("text") or "")
        if parsed.verb in ADMIN_VERBS:
            if not svc.users.is_admin(client, user_id, fresh=True):
                return reply(REFUSAL.format(verb=parsed.verb.value))
            return ADMIN[parsed.verb](svc, client, command, parsed.args)
        return MEMBER[parsed.verb](svc, client, command, parsed.args)
    except (CommandError, TutorError, ImportProblem) as exc:
        return reply(esc(str(exc)))  # may quote what the user typed
    except SlackApiError as exc:
        log.exception("/tutor %s: Slack error", command.get("text"))
        return reply(f"Slack answered `{exc.response.get('error')}`; please try again.")


def tutor_command_callback(svc: SlackServices) -> Callable[..., None]:
    def tutor_command(ack: Ack, command: dict[str, Any], client: WebClient, respond: Respond) -> None:
        ack()
        try:
            message = run_tutor_command(svc, client, command)
        except Exception:
            log.exception("/tutor %s failed", command.get("text"))
            message = reply("Something went wrong on my side; the error is in the bot's log.")
        respond(response_type="ephemeral", **message.as_kwargs())

    return tutor_command

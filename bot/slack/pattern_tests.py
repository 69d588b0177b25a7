"""Test this pattern in Slack: `/tutor test [DECK]` posts the test's first question in the member's
DM; each click records the answer (bot.pattern_tests: a review, once) and changes the same message to
the next question, or to the result after the last one. What comes next is always read from the
stored test, so a click on an old message never skips or repeats a question."""

from __future__ import annotations

import logging
from typing import Any

from slack_sdk import WebClient

from bot import pattern_tests as tests
from bot.slack.blocks import Message, decode_value, reply
from bot.slack.blocks_pattern import pattern_question_message, pattern_result_message
from bot.slack.home import publish_home
from bot.slack.review import SOURCE, Click, dm_channel
from bot.slack.services import SlackServices
from bot.tutor import TutorError

log = logging.getLogger(__name__)


def choose_deck(svc: SlackServices, user_id: str, args: tuple[str, ...]) -> str:
    """The deck named, else the member's only deck, else the only deck there is."""
    found = args[0] if args else svc.ctx.tutor.implied_deck(user_id)
    if found is not None:
        return found
    decks = [d.slug for d in svc.ctx.tutor.decks()]
    if not decks:
        raise TutorError("No deck is loaded yet. An admin can share a deck file with me and run "
                         "`/tutor import`")
    raise TutorError("Which deck? `/tutor test DECK` with one of: " + ", ".join(f"`{d}`" for d in decks))


def message_for(svc: SlackServices, test: tests.PatternTest) -> Message:
    """The next question, or the result when every question is answered."""
    question = test.next_question
    if question is None:
        return pattern_result_message(test, tests.result(svc.ctx.tutor, test.id))
    return pattern_question_message(test, question)


def start(svc: SlackServices, client: WebClient, command: dict[str, Any], args: tuple[str, ...]) -> Message:
    """`/tutor test [DECK]`: a new test in the member's DM; the reply says where."""
    user_id = command["user_id"]
    deck = choose_deck(svc, user_id, args)
    test = tests.start_test(svc.ctx.tutor, user_id, deck, now=svc.now(), source=SOURCE)
    channel = dm_channel(svc, client, user_id)
    client.chat_postMessage(channel=channel, **message_for(svc, test).as_kwargs())
    return reply(f"Your test of `{deck}` is in <#{channel}>: {test.total} questions, easy to hard.")


def on_choice(svc: SlackServices, client: WebClient, click: Click) -> None:
    """An option of a test question: record it, then show the next question or the result."""
    data = decode_value(click.value)
    try:
        test_id, position, choice = int(data["t"]), int(data["p"]), int(data["o"])
    except (KeyError, TypeError, ValueError):
        raise ValueError(f"not a test button value: {click.value!r}") from None
    try:
        test = tests.answer_question(svc.ctx.tutor, test_id, position, choice, user_id=click.user_id,
                                     now=svc.now(), source=SOURCE)
    except TutorError as exc:  # someone else's test, a question removed from the deck
        log.warning("test click by %s on test %s ignored: %s", click.user_id, test_id, exc)
        return
    client.chat_update(channel=click.channel_id, ts=click.ts, **message_for(svc, test).as_kwargs())
    if test.finished:
        publish_home(svc, client, click.user_id)

"""Explain in your own words, in the DM review: "Write your answer" opens a modal (views.open with
the click's trigger_id, at once: a trigger expires 3 seconds after the click); its submission is
acknowledged by the listener before anything else, then the review message is updated in place:
first "Grading your answer…", then the grade and "Next" (or the session's summary).

The modal's private_metadata names the card (session, deck, card, seq, as on the button) and the
message to update, so a submission needs nothing kept in memory; the seq makes a second submission
of the same card count once (the first grade is shown again).
"""

from __future__ import annotations

import logging
from typing import Any

from slack_sdk import WebClient

from bot.slack.blocks import CardRef, Message
from bot.slack.blocks_explain import (
    AnswerTarget,
    answer_modal,
    grading_message,
    prompt_result_message,
    submitted_answer,
)
from bot.slack.home import publish_home
from bot.slack.review import (
    SOURCE,
    Click,
    find_card,
    record_answer,
    render_next,
    summary_if_done,
    update_message,
)
from bot.slack.services import SlackServices
from bot.tutor import TutorError
from content.model import Prompt

log = logging.getLogger(__name__)


def _owner(svc: SlackServices, session_id: int, user_id: str) -> bool:
    owner = svc.state.session_user(session_id)
    if owner != user_id:
        log.warning("ignored an answer by %s in session %s of %s", user_id, session_id, owner)
        return False
    return True


def open_answer_modal(svc: SlackServices, client: WebClient, click: Click, trigger_id: str) -> None:
    """The modal for the prompt on the clicked message (or, if the prompt is gone, the next card)."""
    ref, _ = CardRef.from_value(click.value)
    if not _owner(svc, ref.session_id, click.user_id):
        return
    card = find_card(svc, ref.deck, ref.card_id)
    if not isinstance(card, Prompt):
        message, _ = render_next(svc, ref.session_id, click.user_id, svc.now(),
                                 note="That prompt was removed from the deck.")
        update_message(svc, client, click.channel_id, click.ts, ref.session_id, message)
        return
    target = AnswerTarget(ref=ref, channel=click.channel_id, ts=click.ts)
    client.views_open(trigger_id=trigger_id, view=answer_modal(target, card))


def on_answer(svc: SlackServices, client: WebClient, user_id: str, view: dict[str, Any]) -> None:
    """Grade a submitted answer and show the result in the review message."""
    target = AnswerTarget.from_metadata(view.get("private_metadata"))
    ref = target.ref
    if not _owner(svc, ref.session_id, user_id):
        return

    def update(message: Message) -> None:
        update_message(svc, client, target.channel, target.ts, ref.session_id, message)

    answer = submitted_answer(view)
    card = find_card(svc, ref.deck, ref.card_id)
    if isinstance(card, Prompt):
        update(grading_message(card, answer))
    now = svc.now()
    try:
        if not isinstance(card, Prompt):
            raise TutorError("that prompt was removed from the deck")
        result = svc.ctx.tutor.answer_prompt(user_id, ref.deck, ref.card_id, answer, seq=ref.seq, now=now,
                                             source=SOURCE)
    except TutorError as exc:  # a stale message (answered elsewhere, removed): show what is next
        message, finished = render_next(svc, ref.session_id, user_id, now, note=f"{exc}.")
        update(message)
        if finished:
            publish_home(svc, client, user_id)
        return
    if result.review is not None:
        record_answer(svc, ref, result.review, now)
    tail = summary_if_done(svc, ref.session_id, user_id, now)
    update(prompt_result_message(ref.session_id, card, result, summary=tail))
    if tail is not None:
        publish_home(svc, client, user_id)

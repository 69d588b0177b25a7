"""Block Kit for "explain in your own words": the modal where the answer is written (views.open) and
the DM message that shows its grade ("You got 3/4 concepts", covered and missed concepts in the
deck's words, the model answer). The prompt card itself, with its "Write your answer" button, is
`blocks.card_message`.

Limits respected (Slack's Block Kit reference): a modal's title, submit and close texts at most 24
characters, private_metadata at most 3,000, a plain_text_input at most 3,000 characters (its
max_length) with a placeholder of at most 150; sections at most 3,000 characters (`section` clips).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bot.explain import PromptResult, model_answer
from bot.slack.blocks import (
    GRADE_LABELS,
    NEXT,
    Block,
    CardRef,
    Message,
    actions,
    button,
    clip,
    context,
    divider,
    encode_value,
    esc,
    format_interval,
    section,
)
from content.model import SECTION_TEXT_LIMIT, Prompt

ANSWER_VIEW = "review_answer"  # the modal's callback_id (listeners/views)
ANSWER_BLOCK = "answer"  # block_id and action_id of the input
ANSWER_ACTION = "answer"
ANSWER_MAX = 3000  # Slack's most for a plain_text_input


@dataclass(frozen=True)
class AnswerTarget:
    """What the modal carries in private_metadata: the card (as on its button) and the DM message
    to update in place with the grade."""

    ref: CardRef
    channel: str
    ts: str

    def metadata(self) -> str:
        return encode_value(s=self.ref.session_id, d=self.ref.deck, c=self.ref.card_id, q=self.ref.seq,
                            ch=self.channel, ts=self.ts)

    @classmethod
    def from_metadata(cls, text: str | None) -> AnswerTarget:
        ref, data = CardRef.from_value(text)
        if not data.get("ch") or not data.get("ts"):
            raise ValueError(f"not an answer modal's metadata: {text!r}")
        return cls(ref=ref, channel=str(data["ch"]), ts=str(data["ts"]))


def answer_modal(target: AnswerTarget, card: Prompt) -> dict[str, Any]:
    """The modal for views.open: the question, its guidance, and a multi-line input."""
    blocks: list[Block] = [section(f"*{esc(card.question)}*")]
    if card.guidance:
        blocks.append(context(esc(card.guidance)))
    blocks.append({
        "type": "input", "block_id": ANSWER_BLOCK,
        "label": {"type": "plain_text", "text": "Your answer"},
        "hint": {"type": "plain_text", "text": "Explain it in a few sentences, in your own words."},
        "element": {"type": "plain_text_input", "action_id": ANSWER_ACTION, "multiline": True,
                    "max_length": ANSWER_MAX, "focus_on_load": True,
                    "placeholder": {"type": "plain_text", "text": "In my own words…"}},
    })
    return {"type": "modal", "callback_id": ANSWER_VIEW, "private_metadata": target.metadata(),
            "title": {"type": "plain_text", "text": "Your answer"},
            "submit": {"type": "plain_text", "text": "Grade my answer"},
            "close": {"type": "plain_text", "text": "Cancel"}, "blocks": blocks}


def submitted_answer(view: dict[str, Any]) -> str:
    """The text typed into the modal, from a view_submission's view.state.values ('' if none)."""
    values = (view.get("state") or {}).get("values") or {}
    return str(((values.get(ANSWER_BLOCK) or {}).get(ANSWER_ACTION) or {}).get("value") or "")


def quoted(text: str) -> str:
    return "\n".join(f"> {esc(line)}" for line in text.splitlines() if line.strip())


def grading_message(card: Prompt, answer: str) -> Message:
    """Shown the moment the answer arrives, until its grade replaces it."""
    return Message("Grading your answer…", [
        context(":brain: Daily review"), section(f"*{esc(card.question)}*"),
        section(clip(f"*Your answer*\n{quoted(answer)}", SECTION_TEXT_LIMIT)),
        context(":hourglass_flowing_sand: Grading your answer…")])


def prompt_result_blocks(card: Prompt, result: PromptResult) -> list[Block]:
    """The answer, how many concepts it covered, which ones (covered, then missed, in the deck's
    words), the model answer and how it was graded."""
    grade = result.grade
    blocks: list[Block] = [section(f"*{esc(card.question)}*")]
    if result.answer.strip():
        blocks.append(section(clip(f"*Your answer*\n{quoted(result.answer)}", SECTION_TEXT_LIMIT)))
    lines = [f"*You got {grade.covered}/{grade.of} concepts.*"]
    covered = [c.concept for c in grade.concepts if c.covered]
    missed = [c.concept for c in grade.concepts if not c.covered]
    if covered:
        lines.append("*Covered*\n" + "\n".join(f":white_check_mark: {esc(c)}" for c in covered))
    if missed:
        lines.append("*Missed*\n" + "\n".join(f":x: {esc(c)}" for c in missed))
    blocks.append(section("\n".join(lines)))
    blocks.append(section(f"*Model answer*\n{esc(model_answer(card))}"))
    footer = [esc(note) for note in grade.notes]
    if result.review is not None:
        footer.append(f"Graded *{GRADE_LABELS[result.review.rating]}* · next review in "
                      f"{format_interval(result.review.interval)}")
    if footer:
        blocks.append(context(" · ".join(footer)))
    return blocks


def prompt_result_message(session_id: int, card: Prompt, result: PromptResult, *,
                          summary: list[Block] | None = None) -> Message:
    """The grade, then "Next", or the session's summary when it was the last card."""
    blocks = [context(":brain: Daily review"), *prompt_result_blocks(card, result)]
    if summary is None:
        blocks.append(actions(button("Next", NEXT, encode_value(s=session_id), style="primary")))
    else:
        blocks += [divider(), *summary]
    interval = "" if result.review is None else f", next review in {format_interval(result.review.interval)}"
    return Message(f"You got {result.grade.covered}/{result.grade.of} concepts{interval}", blocks)

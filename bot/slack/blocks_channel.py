"""Block Kit for the question of the day in a channel: the post with its live tally (which never
reveals the answer), the reply only the answering member sees, and the reveal in the thread."""

from __future__ import annotations

from bot.slack.blocks import (
    Block,
    Message,
    button,
    clip,
    context,
    encode_value,
    esc,
    explanation_blocks,
    mcq_question_blocks,
    option_label,
    option_line,
    plural,
    section,
)
from content.model import MultipleChoice, option_letter

QOTD_CHOICE_PREFIX = "qotd_choice_"  # + option index


def tally_text(answers: int, *, closed: bool) -> str:
    if closed:
        return f":lock: Closed · {plural(answers, 'answer')} · the answer is in the thread"
    if answers == 0:
        return "No answers yet: be the first! Only you see whether you were right."
    return f":bar_chart: {plural(answers, 'answer')} so far · the answer comes in the thread when this closes"


def qotd_message(post_id: int, card: MultipleChoice, *, deck_title: str, answers: int,
                 closed: bool = False) -> Message:
    """The channel post. Open: the options as buttons and the number of answers; closed: no buttons."""
    blocks: list[Block] = [context(f":mortar_board: *Question of the day* · {esc(deck_title)}")]
    if closed:
        listing = "\n".join(option_line(card, i) for i in range(len(card.options)))
        blocks += [section(esc(card.question)), section(listing)]
    else:
        buttons = [button(option_label(card, i), f"{QOTD_CHOICE_PREFIX}{i}", encode_value(p=post_id, o=i))
                   for i in range(len(card.options))]
        blocks += mcq_question_blocks(card, buttons)
    blocks.append(context(tally_text(answers, closed=closed)))
    return Message(f"Question of the day: {clip(card.question, 150)}", blocks)


def qotd_feedback_message(card: MultipleChoice, choice: int, correct: bool, *, repeated: bool) -> Message:
    """What the answering member alone sees. `repeated`: they had answered before; the first stands."""
    blocks: list[Block] = []
    if repeated:
        blocks.append(context(f"You already answered {option_letter(choice)}; your first answer stands."))
    if correct:
        blocks.append(section(f":white_check_mark: *Right!* {option_line(card, choice)}"))
    else:
        verdict = f":x: *Not quite.* You chose {option_line(card, choice)}"
        if card.answer is not None:
            verdict += f"\n*Answer:* {option_line(card, card.answer)}"
        blocks.append(section(verdict))
    blocks += explanation_blocks(card)
    blocks.append(context("This counts as a review of the card in your daily deck."))
    fallback = ("You already answered. " if repeated else "") + ("Right!" if correct else "Not quite.")
    return Message(fallback, blocks)


def distribution_lines(card: MultipleChoice, counts: dict[int, int]) -> str:
    """One line per option: count, share and a bar; the right one marked."""
    total = sum(counts.values())
    lines = []
    for i in range(len(card.options)):
        count = counts.get(i, 0)
        share = count / total if total else 0.0
        bar = "▇" * round(share * 10) or "·"
        mark = " :white_check_mark:" if i == card.answer else ""
        lines.append(f"{option_line(card, i)}{mark}\n{bar} {count} ({share * 100:.0f}%)")
    return "\n".join(lines)


def qotd_reveal_message(card: MultipleChoice, counts: dict[int, int]) -> Message:
    """Posted in the thread when the question closes: the answer, how people chose, the explanation."""
    total = sum(counts.values())
    answer = option_line(card, card.answer) if card.answer is not None else "(no key)"
    right = counts.get(card.answer, 0) if card.answer is not None else 0
    summary = (f"{right} of {total} right ({right / total * 100:.0f}%)" if total
               else "Nobody answered this time.")
    blocks: list[Block] = [section(f"*Answer:* {answer}\n{summary}")]
    if total:
        blocks.append(section(f"*How the channel answered*\n{distribution_lines(card, counts)}"))
    blocks += explanation_blocks(card)
    fallback = f"Answer: {option_letter(card.answer) if card.answer is not None else '?'}. {summary}"
    return Message(fallback, blocks)


"""Block Kit for "test this pattern": a question of the test (one message, changed in place question
after question, saying nothing about right or wrong), the result at the end (score, each level,
verdict, the questions missed with their explanations), and the lines that show results in
`/tutor stats` and the App Home (a member's last tests; for admins, the team's per deck)."""

from __future__ import annotations

from bot import pattern_tests as tests
from bot.slack.blocks import (
    Block,
    Message,
    bullets,
    button,
    clip,
    context,
    encode_value,
    esc,
    mcq_question_blocks,
    option_label,
    option_line,
    plural,
    section,
)
from content.model import MultipleChoice

PATTERN_CHOICE_PREFIX = "pattern_choice_"  # + option index
VERDICT_EMOJI = {tests.Verdict.STRONG: ":muscle:", tests.Verdict.GETTING_THERE: ":seedling:",
                 tests.Verdict.NEEDS_REVIEW: ":books:"}


def _header(test: tests.PatternTest) -> str:
    return f":test_tube: Test this pattern · {esc(test.deck_title)}"


def pattern_question_message(test: tests.PatternTest, question: tests.Question) -> Message:
    """One question with a button per option; each button carries the test, the question and the
    option, so a click on an old message is recognised."""
    card = question.card
    lines = [f"{_header(test)} · question {question.position + 1}/{test.total} · {question.level}"]
    if question.position == 0:
        lines.append("No answers until the end.")
        if test.available < tests.TEST_SIZE:
            lines.append(f"This deck has {plural(test.available, 'question')}: the test asks all of them.")
    buttons = [button(option_label(card, i), f"{PATTERN_CHOICE_PREFIX}{i}",
                      encode_value(t=test.id, p=question.position, o=i)) for i in range(len(card.options))]
    blocks: list[Block] = [context(" ".join(lines)), *mcq_question_blocks(card, buttons)]
    return Message(f"Test question {question.position + 1}/{test.total}: {clip(card.question, 150)}", blocks)


def _missed_block(card: MultipleChoice, choice: int) -> Block:
    assert card.answer is not None
    parts = [f"*{esc(card.question)}*",
             f"You chose {option_line(card, choice)} · answer {option_line(card, card.answer)}"]
    if card.solution:
        parts.append(esc(card.solution[0]) if len(card.solution) == 1 else bullets(card.solution))
    if card.hint:
        parts.append(f"_Hint:_ {esc(card.hint)}")
    return section("\n".join(parts))


def pattern_result_message(test: tests.PatternTest, found: tests.PatternResult) -> Message:
    levels = " · ".join(f"{level} *{right}/{asked}*" for level, (right, asked) in found.per_level.items())
    blocks: list[Block] = [
        context(_header(test)),
        section(f"{VERDICT_EMOJI[found.verdict]} *{found.score}/{found.total}* · {levels}\n"
                f"*{found.verdict.value.capitalize()}* ({found.verdict.rule})"),
    ]
    if found.short:
        blocks.append(context(f"This deck has {plural(found.total, 'question')}: "
                              "the test asked all of them."))
    if found.missed:
        blocks.append(section(f"*Missed ({len(found.missed)})*"))
        blocks += [_missed_block(card, choice) for card, choice in found.missed]
    else:
        blocks.append(section("Nothing missed."))
    blocks.append(context("Each answer counted as a review. `/tutor test` for another test, `/tutor stats` "
                          "for your results."))
    return Message(f"Test done: {found.score}/{found.total}, {found.verdict.value}", blocks[:50])


def results_lines(results: list[tests.PatternResult]) -> str:
    """A member's last tests, one line each."""
    return "\n".join(f"• `{esc(r.deck)}` {esc(r.summary())}" for r in results)


def team_lines(report: tests.DeckTestReport) -> str:
    """The team's latest score per member, and the questions missed most."""
    spread = ", ".join(f"{score}/{report.total} ×{count}" for score, count in report.scores.items())
    lines = [f"{plural(report.members, 'member')} tested · latest scores: {spread}"]
    if report.most_missed:
        lines += [f"• missed {missed} of {asked} · {esc(clip(question, 80))}"
                  for question, missed, asked in report.most_missed]
    return "\n".join(lines)

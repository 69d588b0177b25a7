"""`tutor explain DECK CARD_ID --answer TEXT [--json]`: grade one answer to an open prompt against its
key concepts and print the result, recording nothing. DECK is a stored deck's slug or a deck file.

    $ tutor explain pretrained-models-cv op-d0c29afdb651 --answer "It was trained on a huge dataset."
    You got 1/4 concepts.
    …

`--json` prints `{"covered": N, "of": M, "concepts": [{"concept", "covered", "score"}, …], "grader", …}`
with the concepts in deck order. `--answer -` reads the answer from standard input.
The lines that show a grade are shared with `tutor review`.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from bot.concepts.grade import ConceptGrade
from bot.explain import model_answer
from content.model import Prompt


def grade_lines(grade: ConceptGrade, prompt: Prompt) -> list[str]:
    """"You got 3/4 concepts.", the concepts covered and missed (in the deck's words), the model
    answer and any note (which grader, an empty answer…)."""
    lines = [f"You got {grade.covered}/{grade.of} concepts."]
    covered = [c.concept for c in grade.concepts if c.covered]
    missed = [c.concept for c in grade.concepts if not c.covered]
    if covered:
        lines += ["Covered:", *(f"  ✓ {c}" for c in covered)]
    if missed:
        lines += ["Missed:", *(f"  ✗ {c}" for c in missed)]
    lines.append(f"Model answer: {model_answer(prompt)}")
    lines += [f"({note})" for note in grade.notes]
    return lines


def add_parser(commands: Any) -> None:
    help_text = "grade one answer to an open prompt against its key concepts (stores nothing)"
    sub = commands.add_parser("explain", help=help_text, description=help_text)
    sub.add_argument("deck", metavar="DECK", help="a stored deck's slug, or a deck file (.yaml, .txt, .json)")
    sub.add_argument("card_id", metavar="CARD_ID",
                     help="the open prompt's id (`tutor deck show DECK` lists them)")
    sub.add_argument("--answer", required=True, help="the answer's text; - reads it from standard input")
    sub.add_argument("--json", action="store_true", help="print JSON")
    sub.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from bot.cli import UsageError, _print_json

    answer = sys.stdin.read() if args.answer == "-" else args.answer
    if Path(args.deck).suffix and not Path(args.deck).exists():
        raise UsageError(f"{args.deck}: no such file (give a deck file or a stored deck's slug)")
    if Path(args.deck).is_file():
        grade, prompt = _grade_from_file(args.deck, args.card_id, answer)
    else:
        from bot.cli import _tutor

        tutor = _tutor(args)
        prompt = _prompt(tutor.deck(args.deck).cards, args.deck, args.card_id, UsageError)
        grade = tutor.explain(args.deck, args.card_id, answer)
    if args.json:
        _print_json(grade.to_dict())
    else:
        print("\n".join(grade_lines(grade, prompt)))
    return 0


def _grade_from_file(path: str, card_id: str, answer: str) -> tuple[ConceptGrade, Prompt]:
    from bot.cli import UsageError, _load, _settings
    from bot.concepts.grading import terminal_grader

    loaded = _load(path)
    prompt = _prompt(loaded.deck.cards, path, card_id, UsageError)
    if not prompt.concepts:
        raise UsageError(f"the prompt {card_id} has no key concepts to grade an answer against")
    return terminal_grader(_settings())(prompt, answer), prompt


def _prompt(cards: Any, deck: str, card_id: str, error: type[Exception]) -> Prompt:
    found = next((c for c in cards if c.id == card_id), None)
    if isinstance(found, Prompt):
        return found
    prompts = ", ".join(c.id for c in cards if isinstance(c, Prompt)) or "none"
    what = "is not an open prompt" if found is not None else "is not in it"
    raise error(f"{card_id} {what}; the open prompts of {deck} are: {prompts}")

"""`tutor test --user NAME [--deck DECK] [--json]`: test this pattern in the terminal.

Ten questions across easy, medium and hard (bot.pattern_tests), one at a time: type the option's
number (or letter); nothing says right or wrong until the end. Then the score as `N/10`, each level
as `easy a/b`, `medium c/d`, `hard e/f`, the verdict, and each question missed with its answer and
explanation. `q` (or the end of input) stops; the answers given still count as reviews. Works
piped: `printf '1\\n4\\n2\\n…' | tutor test --user ana`. With `--json` the questions go to stderr
and stdout gets the result as JSON.
"""

from __future__ import annotations

import argparse
import sys
import time as clock
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, TextIO

from bot import pattern_tests as tests
from bot.tutor import Tutor, TutorError
from content.model import MultipleChoice, option_letter


def add_parser(commands: Any) -> None:
    help_text = "test this pattern: 10 questions across easy, medium and hard, the score at the end"
    sub = commands.add_parser("test", help=help_text, description=help_text)
    sub.add_argument("--user", required=True, help="your name (any text; the same each time)")
    sub.add_argument("--deck", help="the deck to test (default: your deck, when you have one)")
    sub.add_argument("--json", action="store_true", help="print the result as JSON (questions on stderr)")
    sub.add_argument("--now", help=argparse.SUPPRESS)  # a fixed moment, for tests and demos
    sub.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from bot.cli import _now, _tutor

    tutor = _tutor(args)
    fixed = _now(args) if args.now else None
    session = PatternTestSession(tutor=tutor, user_id=args.user, stdin=sys.stdin,
                          stdout=sys.stderr if args.json else sys.stdout,
                          now=(lambda: fixed) if fixed else (lambda: datetime.now(UTC)))
    found = session.run(choose_deck(tutor, args.user, args.deck))
    if found is None:
        return 1
    if args.json:
        from bot.cli import _print_json

        _print_json(found.to_dict())
    return 0


def choose_deck(tutor: Tutor, user_id: str, deck: str | None) -> str:
    """The deck asked for, else the learner's only deck, else the only deck there is."""
    found = deck or tutor.implied_deck(user_id)
    if found is not None:
        return found
    decks = [d.slug for d in tutor.decks()]
    if not decks:
        raise TutorError("there are no decks yet; import one first: tutor deck import PATH")
    raise TutorError("choose the deck to test: --deck " + " | ".join(decks))


class _Stop(Exception):
    pass


class PatternTestSession:
    """One test in a terminal; `now` gives the moment of each answer."""

    def __init__(self, *, tutor: Tutor, user_id: str, stdin: TextIO, stdout: TextIO,
                 now: Callable[[], datetime]) -> None:
        self.tutor, self.user_id, self.stdin, self.stdout, self.now = tutor, user_id, stdin, stdout, now

    def say(self, text: str = "") -> None:
        print(text, file=self.stdout, flush=True)

    def run(self, deck: str) -> tests.PatternResult | None:
        test = tests.start_test(self.tutor, self.user_id, deck, now=self.now(), source="cli")
        if test.available < tests.TEST_SIZE:
            self.say(f"{test.deck_title} has {test.available} question{'s' * (test.available != 1)}, fewer "
                     f"than {tests.TEST_SIZE}: the test asks all of them.")
        self.say(f"Test this pattern: {test.deck_title}, {test.total} questions from easy to hard. "
                 "No answers until the end; q stops.")
        try:
            while (question := test.next_question) is not None:
                test = self.ask(test, question)
        except _Stop:
            self.say(f"Stopped after {len(test.answers)} of {test.total} answers; they count as reviews. "
                     "`tutor test` starts a new test.")
            return None
        found = tests.result(self.tutor, test.id)
        self.show(found)
        return found

    def ask(self, test: tests.PatternTest, question: tests.Question) -> tests.PatternTest:
        card = question.card
        self.say(f"\n[{question.position + 1}/{test.total}] {question.level}")
        self.say(card.question)
        for index, option in enumerate(card.options):
            self.say(f"  {index + 1}) {option}")
        started = clock.monotonic()
        choice = self.pick(len(card.options))
        return tests.answer_question(self.tutor, test.id, question.position, choice, user_id=self.user_id,
                                     now=self.now(), source="cli",
                                     duration_ms=int((clock.monotonic() - started) * 1000))

    def pick(self, count: int) -> int:
        """A 0-based option from a number (1-count) or a letter; q or the end of input stop."""
        while True:
            print(f"Your answer (1-{count}): ", end="", file=self.stdout, flush=True)
            line = self.stdin.readline()
            if not line:
                self.say()
                raise _Stop
            if not self.stdin.isatty():
                self.say(line.rstrip("\n"))
            answer = line.strip().lower()
            if answer in ("q", "quit"):
                raise _Stop
            if answer.isdigit() and 1 <= int(answer) <= count:
                return int(answer) - 1
            if len(answer) == 1 and "a" <= answer < chr(ord("a") + count):
                return ord(answer) - ord("a")
            self.say(f"Type a number from 1 to {count}, or q to stop.")

    def show(self, found: tests.PatternResult) -> None:
        levels = "   ".join(f"{level} {right}/{asked}" for level, (right, asked) in found.per_level.items())
        self.say(f"\nScore: {found.score}/{found.total}   {levels}")
        self.say(f"Verdict: {found.verdict.value} ({found.verdict.rule}).")
        if not found.missed:
            self.say("No question missed.")
            return
        self.say("Missed:")
        for card, choice in found.missed:
            for line in missed_lines(card, choice):
                self.say(line)


def missed_lines(card: MultipleChoice, choice: int) -> list[str]:
    """A missed question with what was chosen, the answer and the explanation."""
    assert card.answer is not None
    lines = [f"- {card.question}",
             f"  You chose {option_letter(choice)}) {card.options[choice]}; the answer is "
             f"{option_letter(card.answer)}) {card.options[card.answer]}."]
    lines += [f"  {'Solution:' if i == 0 else '         '} {step}" for i, step in enumerate(card.solution)]
    if card.hint:
        lines.append(f"  Hint: {card.hint}")
    return lines

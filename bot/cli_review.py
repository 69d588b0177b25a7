"""`tutor review`: the daily review in a terminal, with the buttons of the Slack DM as keys.

Multiple choice: type the option's number (1-4). Flashcards: Enter shows the answer, then 1-4 grade it
Again / Hard / Good / Easy (each shown with the interval it would give). Open prompts: write the
answer (several lines if you like) and end it with an empty line; it is graded against the prompt's
key concepts. `u` undoes the last answer, `q` (or end of input) quits. Reads lines from any text
stream, so it works piped: `printf '2\\n\\n3\\nq\\n' | tutor review --user ana`.
"""

from __future__ import annotations

import shutil
import textwrap
import time as clock
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TextIO

from bot.cli_explain import grade_lines
from bot.learning_day import learning_day, starts_a_day, zone
from bot.numbers import whole_number
from bot.tutor import DueItem, Rating, ReviewResult, Tutor, TutorError
from content.model import Flashcard, MultipleChoice, Prompt

UNDO, QUIT = "u", "q"


def format_interval(interval: timedelta) -> str:
    """3 days, 1.5 months, 2.1 years: how long until a card comes back."""
    days = interval.total_seconds() / 86_400
    if days < 0.75:
        hours = max(1, round(days * 24))
        return f"{hours} hour{'s' * (hours != 1)}"
    if days < 30.5:
        n = round(days)
        return f"{n} day{'s' * (n != 1)}"
    if days < 365:
        return f"{days / 30.44:.1f} months"
    return f"{days / 365.25:.1f} years"


class _Quit(Exception):
    pass


class _Undo(Exception):
    pass


@dataclass
class ReviewSession:
    """One terminal session of one learner. `now` gives the moment of each answer (a fixed time
    for tests and demos, else the clock)."""

    tutor: Tutor
    user_id: str
    now: Callable[[], datetime]
    stdin: TextIO
    stdout: TextIO
    deck: str | None = None
    answered: list[ReviewResult] = field(default_factory=list)

    def say(self, text: str = "", *, first: str = "", rest: str | None = None) -> None:
        """Print `text` wrapped at word boundaries to the terminal's width (a terminal left to itself
        breaks long lines mid-word); `first` starts the first line, `rest` indents the others
        (default: as wide as `first`)."""
        width = max(40, shutil.get_terminal_size((80, 24)).columns - 1)
        indent = " " * len(first) if rest is None else rest
        for number, paragraph in enumerate(text.split("\n")):
            lead = first if number == 0 else indent
            line = textwrap.fill(paragraph, width, initial_indent=lead, subsequent_indent=indent,
                                 break_long_words=False, break_on_hyphens=False)
            print(line or lead.rstrip(), file=self.stdout, flush=True)

    def ask(self, prompt: str) -> str:
        """One line of input, lower-cased; `u` and `q` (and end of input) raise."""
        print(prompt, end="", file=self.stdout, flush=True)
        line = self.stdin.readline()
        if not line:
            self.say()
            raise _Quit
        self._echo(line)
        answer = line.strip().lower()
        if answer in (QUIT, "quit"):
            raise _Quit
        if answer in (UNDO, "undo"):
            raise _Undo
        return answer

    def _echo(self, line: str) -> None:
        if not self.stdin.isatty():  # piped input is not echoed by a terminal: echo it for the transcript
            self.say(line.rstrip("\n"))

    def ask_text(self, prompt: str) -> str:
        """Lines of text up to an empty line (or the end of input), as written; `u` or `q` alone on
        the first line raise, and so does the end of input before any text."""
        self.say(prompt)
        lines: list[str] = []
        while True:
            print("> ", end="", file=self.stdout, flush=True)
            line = self.stdin.readline()
            if not line:
                self.say()
                if not lines:
                    raise _Quit
                break
            self._echo(line)
            text = line.rstrip("\n")
            if not lines and text.strip().lower() in (QUIT, "quit"):
                raise _Quit
            if not lines and text.strip().lower() in (UNDO, "undo"):
                raise _Undo
            if not text.strip():
                if lines:
                    break
                continue  # an empty line before any text is not an answer yet
            lines.append(text)
        return "\n".join(lines)

    def run(self) -> int:
        queue = deque(self.tutor.due_cards(self.user_id, self.now(), deck=self.deck))
        if not queue:
            self.say("Nothing is due right now.")
        else:
            self.say(f"{len(queue)} card{'s' * (len(queue) != 1)} to review. "
                     "Type u to undo your last answer, q to quit.")
        while queue:
            item = queue[0]
            try:
                done = len(self.answered)
                result = self.show(item, position=done + 1, total=done + len(queue))
            except _Quit:
                break
            except _Undo:
                undone = self.undo()
                if undone is not None:
                    queue.appendleft(undone)
                continue
            queue.popleft()
            self.answered.append(result)
            self.feedback(result)
        self.summary()
        return 0

    def show(self, item: DueItem, *, position: int, total: int) -> ReviewResult:
        card = item.card
        tag = "new" if item.is_new else "review"
        self.say(f"\n[{position}/{total}] {item.deck} · {tag}")
        started = clock.monotonic()
        if isinstance(card, MultipleChoice):
            self.say(card.question)
            for index, option in enumerate(card.options):
                self.say(option, first=f"  {index + 1}) ")
            choice = self._pick(f"Your answer (1-{len(card.options)}): ", len(card.options),
                                letters=True)
            return self.tutor.answer_choice(self.user_id, item.deck, card.id, choice - 1, seq=item.seq,
                                            now=self.now(), duration_ms=_ms_since(started))
        if isinstance(card, Prompt):
            return self.answer_prompt(item, card, started)
        assert isinstance(card, Flashcard)
        self.say(card.front)
        self.ask("Press Enter to show the answer. ")
        self.say(card.back, first="Answer: ")
        intervals = self.tutor.next_intervals(self.user_id, item.deck, card.id, self.now())
        self.say("   ".join(f"{r.value}) {r.label} ({format_interval(intervals[r])})" for r in Rating))
        grade = self._pick("How well did you remember it (1-4)? ", 4, words=[r.label.lower() for r in Rating])
        return self.tutor.grade(self.user_id, item.deck, card.id, Rating(grade), seq=item.seq, now=self.now(),
                                duration_ms=_ms_since(started))

    def answer_prompt(self, item: DueItem, card: Prompt, started: float) -> ReviewResult:
        self.say(card.question)
        if card.guidance:
            self.say(f"  ({card.guidance})")
        answer = self.ask_text("Write your answer; end it with an empty line.")
        result = self.tutor.answer_prompt(self.user_id, item.deck, card.id, answer, seq=item.seq,
                                          now=self.now(), duration_ms=_ms_since(started))
        if result.review is None:
            raise TutorError("this deck's prompts became reflection only; nothing was recorded")
        for line in grade_lines(result.grade, card):
            self.say(line)
        return result.review

    def _pick(self, prompt: str, count: int, *, letters: bool = False, words: list[str] | None = None) -> int:
        while True:
            answer = self.ask(prompt)
            if (number := whole_number(answer, low=1, high=count)) is not None:
                return number
            if letters and len(answer) == 1 and "a" <= answer < chr(ord("a") + count):
                return ord(answer) - ord("a") + 1
            if words and answer in words:
                return words.index(answer) + 1
            self.say(f"Type a number from 1 to {count}, u to undo or q to quit.")

    def feedback(self, result: ReviewResult) -> None:
        card = result.card
        if isinstance(card, MultipleChoice) and card.answer is not None:
            right = f"{card.answer + 1}) {card.options[card.answer]}"
            if result.correct:
                self.say(f"✓ Right! Graded Hard: {result.reason}." if result.reason else "✓ Right!")
            else:
                self.say(right, first="✗ Not quite. The answer is ", rest="  ")
            for index, line in enumerate(card.solution):
                self.say(line, first="  Solution: " if index == 0 else "            ")
            if card.hint:
                self.say(card.hint, first="  Hint: ")
            if card.mistakes:
                self.say("  Common mistakes:")
                for mistake in card.mistakes:
                    self.say(mistake, first="    - ")
        else:
            self.say(f"Graded {result.rating.label}.")
        note = " (this answer was already recorded)" if result.duplicate else ""
        self.say(f"Next review in {format_interval(result.interval)}.{note}")
        if result.leech:
            self.say("This card keeps slipping away (8 lapses), so it is suspended for now: "
                     "look it up in the course notes.")

    def undo(self) -> DueItem | None:
        undone = self.tutor.undo_last(self.user_id)
        if undone is None:
            self.say("Nothing to undo.")
            return None
        self.say(f"Undone: your answer to \u201c{undone.card.prompt_text}\u201d. It comes again now.")
        if self.answered and (self.answered[-1].deck, self.answered[-1].card.id, self.answered[-1].seq) == \
                (undone.deck, undone.card.id, undone.seq):
            self.answered.pop()
        seq = self.tutor.next_seq(self.user_id, undone.deck, undone.card.id)
        return DueItem(deck=undone.deck, card=undone.card, is_new=seq == 1, seq=seq)

    def summary(self) -> None:
        fresh = [r for r in self.answered if not r.duplicate]
        right = sum(1 for r in fresh if (r.correct if r.correct is not None else r.rating > Rating.AGAIN))
        now = self.now()
        stats = self.tutor.stats(self.user_id, now)
        learner = self.tutor.learner(self.user_id)
        self.say(f"\nReviewed {len(fresh)} card{'s' * (len(fresh) != 1)}, {right} right. "
                 f"Streak: {stats.streak} day{'s' * (stats.streak != 1)}.")
        left = len(self.tutor.due_cards(self.user_id, now, deck=self.deck))
        if left:  # quit early, or an answer brought a card back today: those come before any "next"
            self.say(f"Still due today: {left} card{'s' * (left != 1)}; run tutor review again to go on.")
        elif stats.next_due is not None and learner is not None:
            self.say(f"Next due: {due_when(stats.next_due, learner.tz, now)}.")


def due_when(due: datetime, tz: str, now: datetime) -> str:
    """`now`, `in 2 days (2025-03-05)` counted in learning days, or with the time when a due date is not
    the start of a learning day (`in 5 hours (2025-03-03 14:00 Europe/Berlin)`)."""
    if due <= now:
        return "now"
    local = due.astimezone(zone(tz))
    if starts_a_day(due, tz):
        ahead = (learning_day(due, tz) - learning_day(now, tz)).days
        return f"in {ahead} day{'s' * (ahead != 1)} ({local:%Y-%m-%d})"
    return f"in {format_interval(due - now)} ({local:%Y-%m-%d %H:%M} {tz})"


def _ms_since(started: float) -> int:
    return int((clock.monotonic() - started) * 1000)

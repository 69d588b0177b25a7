"""How a multiple-choice answer is graded for FSRS, so that lucky guesses cannot inflate intervals.

A right answer to a 4-option question is a guess a quarter of the times the member does not know it;
graded Good, a guess tells FSRS the card was recalled and its stability grows as if it had been. The
rule chosen (by simulation, `bench/fsrs_quality.py`: yearly retention and reviews per card against
honest self-graded flashcards) is:

- wrong: Again;
- right on the card's first review (first sight: no earlier review to recall from): Hard;
- right, but slower than SLOW_FACTOR times the member's own median time of right answers (from the
  last MEDIAN_OF timed ones, once there are MIN_TIMED): Hard. A recalled answer comes quickly; a
  guess is made after looking for the answer and not finding it;
- right otherwise: Good.

Hard is a pass for FSRS (stability still grows, less), so a slow right answer that was known costs a
slightly earlier review, not a relearning; in the simulation this rule keeps retention and reviews per
card at the level of honest flashcards, where Good-for-right loses ~3 points of yearly retention.
Times count only where the member saw the card when it was shown (TIMED_SOURCES: a DM, the terminal),
not for a channel's question of the day, which may be read hours after it was posted.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass

from bot.tutor_types import Rating

SLOW_FACTOR = 1.5
MIN_TIMED = 10
MEDIAN_OF = 50
TIMED_SOURCES = ("cli", "dm")


@dataclass(frozen=True)
class ChoiceGrade:
    rating: Rating
    reason: str | None  # why a right answer is Hard, in words for the member; None otherwise


def grade_choice(correct: bool, *, first_review: bool, duration_ms: int | None,
                 recent_ms: Sequence[int]) -> ChoiceGrade:
    """The FSRS grade of a multiple-choice answer; `recent_ms` are the member's latest times of right
    answers (timed sources only), `duration_ms` this answer's time (None: not timed)."""
    if not correct:
        return ChoiceGrade(Rating.AGAIN, None)
    if first_review:
        return ChoiceGrade(Rating.HARD, "first time you saw it, so it comes back sooner")
    if duration_ms is not None and len(recent_ms) >= MIN_TIMED:
        median = statistics.median(recent_ms[:MEDIAN_OF])
        if duration_ms > SLOW_FACTOR * median:
            return ChoiceGrade(Rating.HARD, "slower than you usually answer, so it comes back sooner")
    return ChoiceGrade(Rating.GOOD, None)

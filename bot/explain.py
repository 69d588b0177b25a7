"""Explain in your own words: what an answer to an open prompt earns, and what it is shown.

FSRS grade of a graded prompt, from how many of its key concepts the answer covers:
all of them Good; most of them (more than half) Hard; fewer (half or less) Again. So 4/4 is Good,
3/4 Hard, 2/4 Again; 2/3 Hard; 1/2 Again.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bot.concepts.grade import ConceptGrade
from bot.tutor_types import Rating, ReviewResult
from content.model import Prompt


def rating_for(grade: ConceptGrade) -> Rating:
    """The FSRS grade an answer earns (see the module docstring)."""
    if grade.of == 0:
        raise ValueError("a prompt without concepts is not graded")
    if grade.covered == grade.of:
        return Rating.GOOD
    return Rating.HARD if 2 * grade.covered > grade.of else Rating.AGAIN


def model_answer(prompt: Prompt) -> str:
    """What a good answer says: the prompt's `model_answer`, else its key concepts (after the
    guidance, where it has one)."""
    if prompt.model_answer:
        return prompt.model_answer
    ideas = "; ".join(c.text for c in prompt.concepts)
    lead = f"{prompt.guidance} " if prompt.guidance else ""
    return f"{lead}A good answer says: {ideas}." if ideas else lead.strip()


@dataclass(frozen=True)
class PromptResult:
    """An answer to an open prompt: its grade and, where the prompt is graded, the review it made
    (None when the deck says prompts are reflection only)."""

    deck: str
    card: Prompt
    answer: str
    grade: ConceptGrade
    review: ReviewResult | None

    @property
    def duplicate(self) -> bool:
        return self.review is not None and self.review.duplicate

    def to_dict(self) -> dict[str, Any]:
        return {"deck": self.deck, "card_id": self.card.id, **self.grade.to_dict(),
                "review": None if self.review is None else self.review.to_dict()}

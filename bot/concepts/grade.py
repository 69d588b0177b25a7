"""What goes to a concept grader and what comes back: plain data, JSON-ready both ways, so a grade
can travel as a worker job's payload and result.

A concept is *covered* when its score reaches the grader's threshold. Scores are the grader's own
measure (cosine similarity for the semantic grader, share of a wording's words for the lexical one),
rounded to 3 decimals; they compare within one grader, not across graders.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class GraderName(StrEnum):
    SEMANTIC = "semantic"  # all-MiniLM-L6-v2 sentence embeddings
    LEXICAL = "lexical"  # word overlap (the fallback where the model's package is not installed)


@dataclass(frozen=True)
class ConceptSpec:
    """One key concept as the grader needs it: its phrase and other wordings of it."""

    text: str
    examples: tuple[str, ...] = ()

    @property
    def wordings(self) -> tuple[str, ...]:
        return (self.text, *self.examples)


@dataclass(frozen=True)
class GradeRequest:
    """An answer to grade, with the prompt's question and guidance (an answer that only repeats
    them covers nothing) and its concepts in deck order."""

    answer: str
    concepts: tuple[ConceptSpec, ...]
    question: str = ""
    guidance: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"answer": self.answer, "question": self.question, "guidance": self.guidance,
                "concepts": [{"concept": c.text, "examples": list(c.examples)} for c in self.concepts]}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> GradeRequest:
        return cls(answer=str(data.get("answer") or ""), question=str(data.get("question") or ""),
                   guidance=data.get("guidance"),
                   concepts=tuple(ConceptSpec(str(c["concept"]),
                                              tuple(str(e) for e in c.get("examples") or ()))
                                  for c in data["concepts"]))


@dataclass(frozen=True)
class ConceptScore:
    concept: str  # the concept's phrase, as the deck words it
    covered: bool
    score: float

    def to_dict(self) -> dict[str, Any]:
        return {"concept": self.concept, "covered": self.covered, "score": self.score}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ConceptScore:
        return cls(concept=str(data["concept"]), covered=bool(data["covered"]), score=float(data["score"]))


@dataclass(frozen=True)
class ConceptGrade:
    """The result: per concept (in deck order) whether the answer covers it and its score; which
    grader graded it; and `notes` saying anything the learner should know (the fallback was used,
    the answer was empty, read as a list of keywords, cut…)."""

    concepts: tuple[ConceptScore, ...]
    grader: GraderName
    threshold: float
    notes: tuple[str, ...] = field(default=())

    @property
    def covered(self) -> int:
        return sum(1 for c in self.concepts if c.covered)

    @property
    def of(self) -> int:
        return len(self.concepts)

    def to_dict(self) -> dict[str, Any]:
        return {"covered": self.covered, "of": self.of, "concepts": [c.to_dict() for c in self.concepts],
                "grader": self.grader.value, "threshold": self.threshold, "notes": list(self.notes)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ConceptGrade:
        return cls(concepts=tuple(ConceptScore.from_dict(c) for c in data["concepts"]),
                   grader=GraderName(data["grader"]), threshold=float(data["threshold"]),
                   notes=tuple(str(n) for n in data.get("notes") or ()))

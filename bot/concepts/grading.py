"""Where the bot has an answer graded: the one place that decides which grader grades it.

Today the bot grades in its own process with the lexical grader, because the bot process never
imports torch and the worker does not run "grade" jobs yet; every result says so ("grader":
"lexical", and the note IN_PROCESS_NOTE). The next step sends the same payload to the worker as the
job bot.concepts.job.KIND ("grade"), where bot.concepts.job.grade runs with the sentence model
warm, and returns its result: only `grade_answer`'s body changes.
"""

from __future__ import annotations

from collections.abc import Callable

from bot.concepts import lexical
from bot.concepts.grade import ConceptGrade, ConceptSpec, GradeRequest
from content.model import Prompt

PromptGrader = Callable[[Prompt, str], ConceptGrade]  # what the core is given to grade with

IN_PROCESS_NOTE = "Graded by matching words in the bot; the sentence model is not in use here yet."


def request_for(prompt: Prompt, answer: str) -> GradeRequest:
    """The job payload's content for an answer to `prompt`."""
    return GradeRequest(answer=answer, question=prompt.question, guidance=prompt.guidance,
                        concepts=tuple(ConceptSpec(c.text, c.examples) for c in prompt.concepts))


def grade_answer(prompt: Prompt, answer: str) -> ConceptGrade:
    """Grade `answer` against `prompt`'s concepts (the core's default grader)."""
    payload = request_for(prompt, answer).to_dict()
    # The switch to the worker: send `payload` as a job of kind bot.concepts.job.KIND and take its
    # result here instead of grading in this process.
    result = lexical.grade(GradeRequest.from_dict(payload), notes=(IN_PROCESS_NOTE,)).to_dict()
    return ConceptGrade.from_dict(result)

"""Where an answer to an open prompt is graded: the one place that decides which grader grades it.

- The bot (Slack) grades through its worker: `WorkerGrader(worker)` sends the answer as a "grade"
  job (bot.concepts.job, the sentence model kept warm in the worker process, never in the bot's),
  locally or through Celery alike. When the worker cannot grade (the `finetune` extra is not
  installed, the worker crashed, timed out or is shutting down) the answer is graded here with the
  lexical grader, and the result says so and why: a learner is never left without a grade.
- The terminal (`tutor explain`, `tutor review`) has no warm worker to keep: `grade_here` runs the
  same job function in its own process (importing sentence-transformers and loading the model take
  about 10 s per command on 2 cores), or the lexical grader where the model's package is not
  installed; with TUTOR_BROKER_URL set it sends the job to the `tutor worker` processes like the bot
  (`terminal_grader`).
- `grade_lexically` is the library default (a Tutor built without a grader: tests, scripts).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from bot.concepts import lexical
from bot.concepts.grade import ConceptGrade, ConceptSpec, GradeRequest
from bot.config import Settings
from bot.worker.protocol import WorkerClient
from content.model import Prompt

log = logging.getLogger(__name__)

PromptGrader = Callable[[Prompt, str], ConceptGrade]  # what the core is given to grade with

KIND = "grade"  # the worker's job kind (bot/worker/registry.py, bot/concepts/job.py)
NO_WORKER_NOTE = "Graded by matching words: no sentence model was given to grade with here."


def request_for(prompt: Prompt, answer: str) -> GradeRequest:
    """The job payload's content for an answer to `prompt`."""
    return GradeRequest(answer=answer, question=prompt.question, guidance=prompt.guidance,
                        concepts=tuple(ConceptSpec(c.text, c.examples) for c in prompt.concepts))


def grade_lexically(prompt: Prompt, answer: str) -> ConceptGrade:
    """Grade by word overlap in this process (no model): the default of a Tutor given no grader."""
    return lexical.grade(request_for(prompt, answer), notes=(NO_WORKER_NOTE,))


@dataclass
class WorkerGrader:
    """Grades through `worker`'s "grade" job; falls back to the lexical grader, saying why."""

    worker: WorkerClient

    def __call__(self, prompt: Prompt, answer: str) -> ConceptGrade:
        request = request_for(prompt, answer)
        outcome = self.worker.run(KIND, request.to_dict())
        if outcome.ok and outcome.result is not None:
            return ConceptGrade.from_dict(outcome.result)
        reason = outcome.error or "the worker gave no result"
        log.warning("grading lexically: the worker could not grade (%s: %s)", outcome.failure, reason)
        return lexical.grade(request, notes=(lexical.fallback_note(reason),))


def grade_here(prompt: Prompt, answer: str) -> ConceptGrade:
    """Grade in this process with the worker's own job function (the model if installed)."""
    from bot.concepts import job

    return ConceptGrade.from_dict(job.grade(request_for(prompt, answer).to_dict()))


def terminal_grader(settings: Settings) -> PromptGrader:
    """The terminal's grader: the `tutor worker` processes when TUTOR_BROKER_URL is set, else this
    process (the model loads on the first answer)."""
    if not settings.broker_url:
        return grade_here
    through: list[WorkerGrader] = []  # the Celery client, made on the first answer (not per command)

    def through_broker(prompt: Prompt, answer: str) -> ConceptGrade:
        if not through:
            from bot.worker.client import make_worker_client

            through.append(WorkerGrader(make_worker_client(settings)))
        return through[0](prompt, answer)

    return through_broker

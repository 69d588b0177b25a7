"""The worker's "grade" job: grade one answer against its prompt's concepts, with the sentence model
kept loaded between jobs. The worker runs this module as the job kind KIND (bot/worker/registry.py):
`warm_up` (`warm()`) once per worker process, then `run` (`grade(payload)`) per job; payload and
result are plain JSON (GradeRequest.to_dict() in, ConceptGrade.to_dict() out), so the job can cross a
process or a machine.

Where the model's package (or sentence-transformers) is not installed, the job grades with the
lexical grader and its result says so ("grader": "lexical" and a note); it never downloads anything.
The job is idempotent (the same payload gives the same result) and keeps no state but the model.
"""

from __future__ import annotations

import threading
from typing import Any

from bot.concepts import lexical
from bot.concepts.grade import GradeRequest
from bot.worker.protocol import JobProgress, WorkerConfig

KIND = "grade"
TIME_LIMIT_S = 30  # far above a grade's time (under a second warm); a job past it is stuck

_lock = threading.Lock()
_model: Any = None  # bot.concepts.semantic.SemanticGrader once loaded
_unavailable: str | None = None  # why the model cannot be used here, once known


def warm() -> str | None:
    """Load the model now (once per process), so the first job is as fast as the others.
    Returns None when it is ready, else why it cannot be used (the job then grades lexically)."""
    model()
    return _unavailable


def model() -> Any:
    """The semantic grader (bot.concepts.semantic.SemanticGrader), loaded once per process; None
    where it cannot be used here."""
    global _model, _unavailable
    with _lock:
        if _model is None and _unavailable is None:
            from bot.concepts.semantic import ModelUnavailable, SemanticGrader

            try:
                _model = SemanticGrader()
            except ModelUnavailable as exc:
                _unavailable = str(exc)
        return _model


def grade(payload: dict[str, Any]) -> dict[str, Any]:
    """Grade the answer in `payload` (GradeRequest.to_dict()); returns ConceptGrade.to_dict()."""
    request = GradeRequest.from_dict(payload)
    grader = model()
    if grader is None:
        return lexical.grade(request, notes=(lexical.fallback_note(_unavailable or "unknown"),)).to_dict()
    result: dict[str, Any] = grader.grade(request).to_dict()
    return result


def warm_up(config: WorkerConfig) -> None:
    """The worker's warm-up hook: the model loads once per worker process (or the job will grade
    lexically, and say why)."""
    warm()


def run(payload: dict[str, Any], progress: JobProgress) -> dict[str, Any]:
    """The worker's run hook: one grade."""
    return grade(payload)

"""The rule both graders share: a concept's score is its best match over the answer's segments and
the concept's wordings (its phrase and its examples), a segment never matching a wording of the
opposite amount (text.polarity); it is covered when that score reaches the grader's threshold. Only
the measure of a match differs between graders."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from bot.concepts.grade import ConceptGrade, ConceptScore, GradeRequest, GraderName
from bot.concepts.text import MAX_ANSWER_CHARS, clean, polarity, segments

# segments x wordings -> scores[segment][wording]
Similarity = Callable[[Sequence[str], Sequence[str]], list[list[float]]]


def grade_with(request: GradeRequest, similarity: Similarity, *, grader: GraderName, threshold: float,
               notes: Sequence[str] = ()) -> ConceptGrade:
    """Grade `request` with `similarity`; `notes` (e.g. why this grader) come first in the result."""
    found = segments(request.answer, question=request.question, guidance=request.guidance)
    said = list(notes)
    text = clean(request.answer)
    if not text:
        said.append("The answer is empty.")
    elif not found.texts and found.keyword_runs:
        said.append("The answer reads as a list of keywords; explain the ideas in sentences.")
    elif not found.texts and found.copied:
        said.append("The answer only repeats the question; say why in your own words.")
    elif not found.texts:
        said.append("The answer is too short to say any of the ideas.")
    elif found.keyword_runs:
        said.append("A list of keywords in the answer was not counted; explain the ideas in sentences.")
    if len(request.answer.strip()) > MAX_ANSWER_CHARS:
        said.append(f"Only the first {MAX_ANSWER_CHARS:,} characters were graded.")
    wordings = [w for concept in request.concepts for w in concept.wordings]
    matrix = similarity(found.texts, wordings) if found.texts and wordings else []
    # Opposite amounts never match ("needs more data" is not "needs less data"): see text.polarity.
    wording_signs = [polarity(w) for w in wordings]
    for row, sign in zip(matrix, found.signs, strict=True):
        if sign:
            row[:] = [0.0 if sign * other < 0 else value
                      for value, other in zip(row, wording_signs, strict=True)]
    scores = []
    column = 0
    for concept in request.concepts:
        columns = range(column, column + len(concept.wordings))
        column += len(concept.wordings)
        best = max((row[c] for row in matrix for c in columns), default=0.0)
        best = round(max(0.0, float(best)), 3)
        scores.append(ConceptScore(concept=concept.text, covered=best >= threshold, score=best))
    return ConceptGrade(concepts=tuple(scores), grader=grader, threshold=threshold, notes=tuple(said))

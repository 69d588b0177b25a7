"""The lexical grader: pure Python, no model. Used where the sentence model's package is not
installed, and in the bot process when its worker cannot grade (bot/concepts/grading.py).

A segment matches a wording by the share of the wording's content words it contains, after
stemming and after folding a few groups of words that mean the same in this subject ("huge",
"large", "millions"; "quicker", "faster"; "photos", "images", "examples", "data"…). So it finds a
concept said in the deck's words or an example's, and misses a paraphrase in other words: that is
what the semantic grader is for, and why a result says which grader graded it.
"""

from __future__ import annotations

from collections.abc import Sequence

from bot.concepts.grade import ConceptGrade, GradeRequest, GraderName
from bot.concepts.scoring import grade_with
from bot.concepts.text import content_stems, stem

# Chosen on the labelled answers (bench/concepts.py): the share of a wording's words an answer's
# segment must contain for the concept to count as covered.
THRESHOLD = 0.53

# Groups of words that mean the same here; each word is folded into its group's first word.
_SAME = """
large big huge massive enormous gigantic vast million millions billion thousands imagenet coco
small little few tiny handful modest limited scarce couple hundred hundreds
less fewer reduce reduces reduced lower cut cuts
fast quick quickly quicker faster rapid rapidly short shorter speed sooner
time hours days weeks minutes epochs
compute computation computational computing gpu gpus cpu power cost costs cheap cheaper expensive
resources electricity
data dataset datasets images image photos photo pictures picture examples samples labelled labeled
scans frames
train trained training learn learned learns learning learnt taught teach fed
feature features patterns edges shapes textures filters knowledge representations weights layers
reuse reuses reused transfer transfers transferred leverage leverages keep keeps carry build
scratch zero random nothing ground beginning
finetune finetuned finetuning retrain retrained retraining adapt adapted adapting adjust adjusted
tweak customize specialize head
model models network networks net cnn resnet resnet50 mobilenet efficientnet vgg bert
pretrained before beforehand previously
task tasks problem problems job application project
"""
_FOLD: dict[str, str] = {}
for _line in _SAME.strip().splitlines():
    _group = [stem(w) for w in _line.split()]
    for _member in _group:
        _FOLD.setdefault(_member, _group[0])


def fold(text: str) -> frozenset[str]:
    """The set of folded content stems of `text`."""
    return frozenset(_FOLD.get(s, s) for s in content_stems(text))


def similarity(segments: Sequence[str], wordings: Sequence[str]) -> list[list[float]]:
    """Share of each wording's words found in each segment (0-1)."""
    wanted = [fold(w) for w in wordings]
    rows = []
    for segment in segments:
        have = fold(segment)
        rows.append([len(w & have) / len(w) if w else 0.0 for w in wanted])
    return rows


def fallback_note(reason: str) -> str:
    """What a lexical grade says when the sentence model could not be used, and why."""
    return f"Graded by matching words: {reason}, so the sentence model could not be used."


def grade(request: GradeRequest, *, notes: Sequence[str] = (), threshold: float = THRESHOLD) -> ConceptGrade:
    return grade_with(request, similarity, grader=GraderName.LEXICAL, threshold=threshold, notes=notes)

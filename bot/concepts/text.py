"""Words and segments of an answer, and the guards every grader applies.

An answer is compared concept by concept with its *segments*, never as a whole: a long answer's
embedding is an average of everything it says, so one idea in it scores low. The segments are its
sentences (a line of a bulleted list is one), their clauses (split at , ; : ( ) and at linking words
such as "because", "so", "and"), and windows of a few consecutive words, so a concept said in the
middle of a long sentence is still found.

Guards, applied before scoring:
* **copying the question**: a segment whose words are nearly all words of the question or its
  guidance says nothing of its own ("pre-trained models save time") and is dropped;
* **keyword stuffing**: a clause of five words or more without any grammatical word ("the", "it",
  "on", "so", "much"…), or one that keeps repeating words, is a list of keywords, not an
  explanation: it is dropped with every window drawn mostly from it; short clauses of real notes
  ("needs less data") are kept.

And one guard applied when scoring: **opposite amounts**. Embeddings place "needs more data" next
to "needs less data" and "trained on a large dataset" next to both; so a segment that speaks of
more (large, huge, longer…) does not match a wording that speaks of less (small, fewer, faster…),
and the other way round (`polarity`; a negation turns it: "you don't need a huge dataset" is less).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

MAX_ANSWER_CHARS = 4000  # what is graded of an answer; the Slack input takes 3,000
WINDOWS = ((5, 2),)  # (words, step): the word windows taken of each sentence
MIN_SEGMENT_WORDS = 2
COPY_SHARE = 0.8  # a segment with at least this share of its content words from the question is a copy
KEYWORD_RUN_WORDS = 5  # from this length, a clause without any grammatical word is a keyword list
REPEAT_SHARE = 0.7  # a segment of 6+ words with fewer distinct words than this share is stuffing

# Grammatical words: real sentences and notes have them, keyword lists do not.
GRAMMATICAL = frozenset("""
a an the it its they them their theirs you your we our us i me my he she his her this that these those
is are was were be been being am has have had having do does did done to of in on at by for from with
without about as into onto than so because since and or but if when while which who whom whose what how
not no can could will would should must may might there here then thus therefore instead also
much very just only already really even still all some any each every many
""".split())
# Words that carry no meaning of their own when matching words (grammatical words and fillers).
STOPWORDS = GRAMMATICAL | frozenset("""
quite actually basically like kind sort thing things stuff lot lots bit way well get gets got getting
make makes made making use uses used using one ones other another such own same something anything
everything
""".split())
_LINKING = ("because", "so", "since", "and", "but", "which", "while", "whereas", "therefore", "then",
            "instead of", "rather than", "so that")
_CLAUSE_SPLIT = re.compile(r"[,;:()\u2013\u2014]|\s-\s|\b(?:" + "|".join(re.escape(w) for w in _LINKING)
                           + r")\b", re.IGNORECASE)
_SENTENCE_SPLIT = re.compile(r"(?<=[.!?])\s+|\n+")
_BULLET = re.compile(r"^\s*(?:[-*\u2022]|\d+[.)])\s*")
_WORD = re.compile(r"[a-z0-9]+")
# Spellings of one word, joined before splitting into words ("pre-trained" -> "pretrained").
_JOINS = ((re.compile(r"\bpre[\s-]+train"), "pretrain"), (re.compile(r"\bfine[\s-]+tun"), "finetun"),
          (re.compile(r"\bdata\s+sets?\b"), "dataset"), (re.compile(r"n't\b"), " not"),
          (re.compile(r"\bcan\s*not\b"), "can not"), (re.compile(r"[\u2019']"), ""))


def clean(answer: str) -> str:
    """The text that is graded: trimmed and at most MAX_ANSWER_CHARS characters."""
    return answer.strip()[:MAX_ANSWER_CHARS]


def words(text: str) -> list[str]:
    """Lower-case words, with the usual variants of one term joined ("pre-trained" -> "pretrained")."""
    lowered = text.casefold()
    for pattern, replacement in _JOINS:
        lowered = pattern.sub(replacement, lowered)
    return _WORD.findall(lowered)


_IRREGULAR = {"learnt": "learn", "taught": "teach", "known": "know", "knew": "know", "bigger": "big",
              "biggest": "big", "fewer": "few", "fewest": "few", "better": "good", "best": "good",
              "data": "data", "less": "less", "was": "be", "were": "be"}
_SUFFIXES = ("ational", "ation", "ness", "ment", "ings", "ing", "edly", "ed", "ies", "ers", "er", "est",
             "ly", "es", "s")


def stem(word: str) -> str:
    """A crude suffix-stripping stem, the same on both sides of a comparison: "trained", "training",
    "trains" -> "train"; "features" -> "featur"; "computation" -> "comput"."""
    if word in _IRREGULAR:
        return _IRREGULAR[word]
    if len(word) <= 3 or word.isdigit():
        return word
    for suffix in _SUFFIXES:
        if not word.endswith(suffix) or len(word) - len(suffix) < 3:
            continue
        if suffix == "s" and word.endswith(("ss", "us", "is")):
            continue
        base = word[: -len(suffix)]
        if suffix == "ies":
            base += "y"
        if suffix in ("ing", "ings", "ed", "edly", "er", "est") and len(base) > 3 and base[-1] == base[-2] \
                and base[-1] not in "lsz":
            base = base[:-1]  # running -> run, bigger (irregular) aside
        word = base
        break
    return word[:-1] if word.endswith("e") and len(word) > 3 else word


_LESS = frozenset("""less fewer few little small smaller smallest tiny handful short shorter quick quicker
quickly fast faster cheap cheaper reduce reduces reduced reducing fraction limited scarce modest""".split())
_MORE = frozenset("""more lots lot large larger largest big bigger huge massive enormous gigantic vast
millions billions billion million long longer slow slower expensive costly increase increases""".split())
_NEGATIONS = frozenset({"not", "no", "without", "never", "nor", "none", "avoid", "avoids", "avoiding"})


def polarity(text: str) -> int:
    """-1 when the text speaks of less (small, fewer, faster…), +1 of more (large, huge, longer…), 0 of
    neither or both; a negation in it turns the sign."""
    found = set(words(text))
    less, more = bool(found & _LESS), bool(found & _MORE)
    if less == more:
        return 0
    sign = -1 if less else 1
    return -sign if found & _NEGATIONS else sign


def content_stems(text: str) -> list[str]:
    return [stem(w) for w in words(text) if w not in STOPWORDS]


@dataclass(frozen=True)
class Segments:
    """The segments of an answer to score, their amounts (`polarity`; a segment that names no
    amount has its sentence's: "data than training from scratch" in "…need more data than training
    from scratch" speaks of more), and what the guards dropped."""

    texts: tuple[str, ...]
    signs: tuple[int, ...]
    copied: int  # segments dropped as copies of the question or guidance
    keyword_runs: int  # segments dropped as lists of keywords


def sentences(text: str) -> list[str]:
    found = []
    for part in _SENTENCE_SPLIT.split(text):
        part = _BULLET.sub("", part).strip()
        if part:
            found.append(part)
    return found


def _clauses(sentence: str) -> list[str]:
    return [c.strip() for c in _CLAUSE_SPLIT.split(sentence) if c and c.strip()]


def is_keyword_run(text: str) -> bool:
    """Five words or more with no grammatical word, or six or more that keep repeating words."""
    found = words(text)
    if len(found) >= KEYWORD_RUN_WORDS and not any(w in GRAMMATICAL for w in found):
        return True
    return len(found) >= 6 and len(set(found)) < REPEAT_SHARE * len(found)


def _windows(sentence: str, runs: list[str]) -> Iterable[str]:
    """Windows of consecutive words of the sentence, leaving out those drawn mostly from a keyword
    run (`runs`: the sentence's clauses that are runs)."""
    raw = sentence.split()
    in_run = [False] * len(raw)
    if runs:
        run_words = {w for run in runs for w in words(run)}
        in_run = [bool(words(w)) and all(x in run_words for x in words(w)) for w in raw]
    for size, step in WINDOWS:
        if len(raw) <= size:
            continue
        for start in range(0, len(raw) - size + 1, step):
            if 2 * sum(in_run[start:start + size]) < size:
                yield " ".join(raw[start:start + size])


def is_copy(text: str, source_stems: frozenset[str]) -> bool:
    """Whether nearly all content words of `text` are words of the question or guidance."""
    stems = content_stems(text)
    if not stems:
        return True
    return sum(1 for s in stems if s in source_stems) >= COPY_SHARE * len(stems)


def segments(answer: str, *, question: str = "", guidance: str | None = None) -> Segments:
    """Sentences, clauses and word windows of `answer`, deduplicated, in order of appearance, without
    the copies of the question and the keyword runs (see the module docstring)."""
    source = frozenset(content_stems(f"{question} {guidance or ''}"))
    seen: set[tuple[str, ...]] = set()
    kept: list[str] = []
    signs: list[int] = []
    copied = keyword_runs = 0
    for sentence in sentences(clean(answer)):
        clauses = _clauses(sentence)
        sentence_sign = polarity(sentence)
        if is_keyword_run(sentence):
            keyword_runs += 1
            continue
        runs = [c for c in clauses if is_keyword_run(c)]
        keyword_runs += len(runs)
        for candidate in [sentence, *(c for c in clauses if c not in runs), *_windows(sentence, runs)]:
            key = tuple(words(candidate))
            if len(key) < MIN_SEGMENT_WORDS or key in seen:
                continue
            seen.add(key)
            if source and is_copy(candidate, source):
                copied += 1
            else:
                kept.append(candidate)
                signs.append(polarity(candidate) or sentence_sign)
    return Segments(texts=tuple(kept), signs=tuple(signs), copied=copied, keyword_runs=keyword_runs)

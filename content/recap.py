"""Parse a "Quick Recap" page, as scraped with its page chrome, into a deck.

The page has two parts, recognised by their markers rather than by fixed counts:

* Recall & Review: flashcards (an optional level word, the front, the back, then
  "Click to reveal answer"); quiz questions (question lines, then options glued to their letters,
  "AIt reduces…", "BIt always…"); open prompts (question, guidance, then "You got /4 concepts.").
* Practice: numbered questions ("1. …", code lines kept), a level word, options "A. …", then a
  Solution ("1. Step 1: …", "3. Final Answer: … -> Option D", "4. Quick Check: … = D [OK]"), a
  "Hint: … [OK]" and "Common Mistakes:" bullets.

Where the text is ambiguous the structure decides: an open prompt is the two lines before
"You got /N concepts.", so "Explain…" after option D is not read as an option E.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from content.lint import LintIssue, error, missing_key_issue, warning
from content.model import (
    LEVELS,
    Card,
    Deck,
    DeckFormatError,
    Flashcard,
    KeyConcept,
    MultipleChoice,
    Prompt,
    option_letter,
)
from content.model import normalize_text as _norm

# Every pattern here runs on each line of an uploaded file, so none may backtrack: quantifiers
# next to each other are possessive (`*+`, `++`) where the following token cannot match what they
# took, and the shapes a regex would match only by trying every split ("… - Quick Recap",
# "… -> Option D", "… [OK]") are read with string methods instead (see _title, _keyed, _strip_ok).
_HEADER_CHROME = re.compile(
    r"^(?:Choose your learning style.*|Start learning this pattern.*|Jump into concepts.*|or|Recommended"
    r"|Test this pattern.*|Recall & Review)$", re.IGNORECASE)
_ANNOUNCED = re.compile(r"^Test this pattern\s*+(?P<count>[0-9]{1,6}+)\s++questions?\b", re.IGNORECASE)
_REVEAL = re.compile(r"^Click to reveal answer$", re.IGNORECASE)
_CONCEPT_SCORE = re.compile(r"^You got\s*+\d*+\s*+/\s*+\d*+\s*+concepts?\.?$", re.IGNORECASE)
_PRACTICE = re.compile(r"^Practice$", re.IGNORECASE)
_PROGRESS = re.compile(r"^\(\d++\s*+/\s*+\d++\)$")
_SOLUTION = re.compile(r"^Solution:?$", re.IGNORECASE)
_GLUED_OPTION = re.compile(r"^(?P<letter>[A-Z])(?:[.)]\s*+|\s++)?(?P<text>\S.*)$")
_DOTTED_OPTION = re.compile(r"^(?P<letter>[A-Z])[.)]\s++(?P<text>\S.*)$")
_NUMBERED = re.compile(r"^(?P<number>\d++)\.\s++(?P<text>\S.*)$")
_STEP = re.compile(r"^(?:\d++\.\s*+)?Step\s*+\d++\s*+[:.]\s*+(?P<text>.*)$", re.IGNORECASE)
_FINAL = re.compile(r"^(?:\d++\.\s*+)?Final Answer\s*+:\s*+(?P<text>.*)$", re.IGNORECASE)
_QUICK = re.compile(r"^(?:\d++\.\s*+)?Quick Check\s*+:\s*+(?P<text>.*)$", re.IGNORECASE)
_HINT = re.compile(r"^Hint\s*+:\s*+(?P<text>.*)$", re.IGNORECASE)
_MISTAKES = re.compile(r"^Common Mistakes\s*+:?$", re.IGNORECASE)
_BULLET = re.compile(r"^[•·▪*-]\s*+(?P<text>\S.*)$")
_KEY_CONCEPTS = re.compile(r"^(?:Key )?Concepts\s*+:\s*+(?P<text>.*)$", re.IGNORECASE)
_OPTION_NAME = re.compile(r"^(?P<option>(?i:Option)\s++)?(?P<letter>[A-Z])$")  # "Option D" or "D"
_TITLE_SUFFIX = "quick recap"
_DASHES = "-–—"
_OK = "[ok]"


def _title(text: str) -> str | None:
    """The title of a "<title> - Quick Recap" line (any dash, any case), else None."""
    if text[-len(_TITLE_SUFFIX):].casefold() != _TITLE_SUFFIX:
        return None
    head = text[:-len(_TITLE_SUFFIX)].rstrip()
    if not head or head[-1] not in _DASHES:
        return None
    return head[:-1].rstrip() or None


def _keyed(text: str) -> tuple[str, str] | None:
    """("the option's text", "D") from "the option's text -> Option D" (a final "." allowed)."""
    said, arrow, rest = text.rpartition("->")
    match = _OPTION_NAME.match(rest.strip().removesuffix(".")) if arrow else None
    if match is None or not match["option"]:
        return None
    return said.rstrip(), match["letter"]


def _checked_letter(text: str) -> str | None:
    """The letter a Quick Check ends on: "… = D", "… -> D", "… = Option D"."""
    at = max(text.rfind("="), text.rfind("->"))
    if at < 0:
        return None
    rest = text[at + (2 if text.startswith("->", at) else 1):].strip()
    match = _OPTION_NAME.match(rest)
    return match["letter"] if match else None


def _strip_ok(text: str) -> str:
    """The text without one trailing "[OK]" (the page's check mark) and the space before it."""
    trimmed = text.rstrip()
    if trimmed[-len(_OK):].casefold() == _OK:
        return trimmed[:-len(_OK)].rstrip()
    return text


@dataclass(frozen=True)
class _Line:
    number: int  # 1-based
    raw: str  # tabs expanded, right-stripped: indentation kept for code
    text: str  # stripped

    @property
    def indent(self) -> int:
        return len(self.raw) - len(self.raw.lstrip())


def parse_recap(text: str, *, slug: str) -> tuple[Deck, list[LintIssue]]:
    """The deck a recap page describes, and the problems seen while reading it (with line numbers).

    Raises DeckFormatError when the text holds no card at all."""
    if not text.strip():
        raise DeckFormatError("the recap is empty")
    lines = [_Line(n, raw.expandtabs(4).rstrip(), raw.strip()) for n, raw in enumerate(text.splitlines(), 1)]
    issues: list[LintIssue] = []

    titled = next(((i, name) for i, ln in enumerate(lines) if (name := _title(ln.text))), None)
    if titled is not None:
        title, start = titled[1], titled[0] + 1
    else:
        title = slug.replace("-", " ").capitalize()
        issues.append(warning("title", f"no '… - Quick Recap' title line; the deck is titled {title!r}",
                              None))
        start = next((i + 1 for i, ln in enumerate(lines) if ln.text.casefold() == "recall & review"), 0)
    practice_at = next((i for i in range(start, len(lines))
                        if _PRACTICE.match(lines[i].text) or _PROGRESS.match(lines[i].text)), len(lines))

    review = [ln for ln in lines[start:practice_at] if ln.text and not _HEADER_CHROME.match(ln.text)]
    cards = _parse_review(review, issues) + _parse_practice(lines[practice_at:], issues)
    if not cards:
        raise DeckFormatError("no cards found: a recap has flashcards ending in 'Click to reveal answer', "
                              "quiz questions with options A, B… or a 'Practice' section")
    for card in cards:
        if isinstance(card, MultipleChoice) and card.answer is None:
            issues.append(missing_key_issue(card))
    # The page says how many questions it has: a different count means the parser misread something.
    announced = next(((ln, m) for ln in lines if (m := _ANNOUNCED.match(ln.text))), None)
    found = sum(isinstance(c, MultipleChoice) for c in cards)
    if announced and int(announced[1]["count"]) != found:
        issues.append(warning("question-count", f"the page announces {announced[1]['count']} questions but "
                              f"{found} were found; check the text around the questions",
                              announced[0].number))
    issues.sort(key=lambda i: -1 if i.line is None else i.line)
    return Deck(slug=slug, title=title, cards=tuple(cards)), issues


def _level(line: _Line) -> str | None:
    word = line.text.casefold()
    return word if word in LEVELS else None


# Recall & Review --------------------------------------------------------------------------------

def _parse_review(lines: list[_Line], issues: list[LintIssue]) -> list[Card]:
    """Flashcards, quiz questions and open prompts, in page order."""
    cards: list[Card] = []
    block: list[_Line] = []
    for line in lines:
        if _REVEAL.match(line.text):
            cards.extend(_review_block(block, line, "flashcard", issues))
            block = []
        elif _CONCEPT_SCORE.match(line.text):
            cards.extend(_review_block(block, line, "prompt", issues))
            block = []
        else:
            block.append(line)
    if block:
        cards.extend(_review_block(block, None, "rest", issues))
    return cards


def _review_block(block: list[_Line], marker: _Line | None, kind: str, issues: list[LintIssue]) -> list[Card]:
    """A run of lines ending at a marker: quiz questions first, then the flashcard or prompt the
    marker closes (which needs its last two lines: front and back, or question and guidance)."""
    cards: list[Card] = []
    concept_lines = [ln for ln in block if _KEY_CONCEPTS.match(ln.text)] if kind == "prompt" else []
    concept_numbers = {ln.number for ln in concept_lines}
    block = [ln for ln in block if ln.number not in concept_numbers]
    limit = len(block) - (0 if kind == "rest" else 2)
    start = i = 0
    while i < limit:
        if i > start and i + 1 < limit and _is_glued(block[i], "A") and _is_glued(block[i + 1], "B"):
            end = i + 2
            while end < limit and end - i < 26 and _is_glued(block[end], option_letter(end - i)):
                end += 1
            cards.append(_quiz(block[start:i], block[i:end]))
            start = i = end
        else:
            i += 1
    tail = block[start:]
    if kind == "rest":
        if tail:
            issues.append(warning("unrecognised-text", f"text not recognised as a card, ignored: "
                                  f"{tail[0].text[:60]!r}", tail[0].number))
        return cards
    assert marker is not None
    # The card the marker closes starts at its level word, or else is its last two lines (front and
    # back, or question and guidance); anything before that is stray text, reported, not guessed at.
    levels = [k for k, ln in enumerate(tail) if _level(ln)]
    begin = levels[-1] if levels else max(0, len(tail) - 2)
    if begin > 0:
        issues.append(warning("unrecognised-text", f"text not recognised as a card, ignored: "
                              f"{tail[0].text[:60]!r}", tail[0].number))
    level = _level(tail[begin]) if levels else None
    body = tail[begin + 1:] if levels else tail[begin:]
    if not body:
        issues.append(error("unrecognised-text", f"{marker.text!r} with no card before it", marker.number))
        return cards
    head, rest = body[0], "\n".join(ln.text for ln in body[1:])
    if kind == "flashcard":
        cards.append(Flashcard(front=head.text, back=rest, level=level, line=head.number))
    else:
        concepts = [KeyConcept(c.strip()) for ln in concept_lines
                    for c in re.split(r"[;,]", _concepts_text(ln)) if c.strip()]
        cards.append(Prompt(question=head.text, guidance=rest or None, concepts=tuple(concepts), level=level,
                            line=head.number))
    return cards


def _concepts_text(line: _Line) -> str:
    match = _KEY_CONCEPTS.match(line.text)
    return match["text"] if match else ""


def _is_glued(line: _Line, letter: str) -> bool:
    match = _GLUED_OPTION.match(line.text)
    return match is not None and match["letter"] == letter


def _quiz(question: list[_Line], options: list[_Line]) -> MultipleChoice:
    level = _level(question[0]) if len(question) > 1 else None
    if level:
        question = question[1:]
    texts = []
    for line in options:
        match = _GLUED_OPTION.match(line.text)
        assert match is not None
        texts.append(match["text"])
    return MultipleChoice(question=_dedent(question), options=tuple(texts), answer=None, level=level,
                          line=question[0].number)


def _dedent(lines: list[_Line], first_indent: int | None = None) -> str:
    """The lines as one text, newlines kept, common indentation removed (code keeps its own),
    runs of blank lines collapsed to one. `first_indent` stands for the first line's indentation
    when its text was cut out of a longer line ("1. Question…")."""
    indents = [ln.indent for ln in lines[1:] if ln.text]
    indents.append(lines[0].indent if first_indent is None else first_indent)
    cut = min(indents)
    out: list[str] = [lines[0].text]
    for line in lines[1:]:
        text = line.raw[cut:] if line.text else ""
        if text or (out and out[-1]):
            out.append(text)
    return "\n".join(out).strip()


# Practice ---------------------------------------------------------------------------------------

@dataclass
class _Section:
    kind: str  # "step", "final" or "quick"
    title: str
    line: int
    body: list[str] = field(default_factory=list)
    body_line: int | None = None


@dataclass
class _Draft:
    """A practice question while it is read."""

    line: int
    question: list[_Line]
    first_indent: int
    level: str | None = None
    options: list[tuple[int, list[str]]] = field(default_factory=list)  # (line, text wrapped onto lines)
    sections: list[_Section] = field(default_factory=list)
    hint: str | None = None
    mistakes: list[list[str]] = field(default_factory=list)  # each mistake's lines, joined at the end
    state: str = "question"  # question | options | solution | mistakes


def _parse_practice(lines: list[_Line], issues: list[LintIssue]) -> list[Card]:
    cards: list[Card] = []
    draft: _Draft | None = None
    pending_level: str | None = None
    for line in lines:
        text = line.text
        option = _DOTTED_OPTION.match(text)
        if draft is not None and draft.state == "question":
            # Everything up to option A is the question, blank and code lines included.
            if option and option["letter"] == "A":
                draft.options.append((line.number, [option["text"]]))
                draft.state = "options"
            elif _level(line):
                draft.level = _level(line)
            elif _SOLUTION.match(text):
                draft.state = "solution"
            elif not _PROGRESS.match(text):
                draft.question.append(line)
            continue
        if not text or _PRACTICE.match(text) or _PROGRESS.match(text):
            continue
        if _SOLUTION.match(text):
            if draft is not None:
                draft.state = "solution"
            continue
        if (draft is not None and draft.state == "options" and option and len(draft.options) < 26
                and option["letter"] == option_letter(len(draft.options))):
            draft.options.append((line.number, [option["text"]]))
            continue
        numbered = _NUMBERED.match(text)
        if numbered and not (_STEP.match(text) or _FINAL.match(text) or _QUICK.match(text)):
            if draft is not None:
                cards.append(_finish(draft, issues))
            first = _Line(line.number, numbered["text"], numbered["text"])
            draft = _Draft(line=line.number, question=[first], first_indent=line.indent, level=pending_level)
            pending_level = None
        elif _level(line) and (draft is None or draft.state in ("solution", "mistakes")):
            pending_level = _level(line)  # a level word written before its question
        elif draft is None:
            issues.append(warning("unrecognised-text",
                                  f"text not recognised as a card, ignored: {text[:60]!r}", line.number))
        else:
            _solution_line(draft, line, issues)
    if draft is not None:
        cards.append(_finish(draft, issues))
    return cards


def _solution_line(draft: _Draft, line: _Line, issues: list[LintIssue]) -> None:
    """A line after the options: a solution section, its body, the hint or a common mistake."""
    text = line.text
    for kind, pattern in (("step", _STEP), ("final", _FINAL), ("quick", _QUICK)):
        match = pattern.match(text)
        if match:
            draft.sections.append(_Section(kind, match["text"], line.number))
            draft.state = "solution"
            return
    hint = _HINT.match(text)
    if hint:
        draft.hint = _strip_ok(hint["text"]).strip() or None
        return
    if _MISTAKES.match(text):
        draft.state = "mistakes"
        return
    bullet = _BULLET.match(text)
    if draft.state == "mistakes":
        if bullet:
            draft.mistakes.append([bullet["text"]])
        elif draft.mistakes:
            draft.mistakes[-1].append(text)
        return
    if draft.state == "options" and draft.options:
        draft.options[-1][1].append(text)  # an option wrapped onto a second line
        return
    if draft.sections:
        section = draft.sections[-1]
        section.body.append(_strip_ok(text) if section.kind == "quick" else text)
        section.body_line = section.body_line or line.number
        return
    issues.append(warning("unrecognised-text", f"text not recognised, ignored: {text[:60]!r}", line.number))


def _finish(draft: _Draft, issues: list[LintIssue]) -> MultipleChoice:
    options = tuple(" ".join(parts) for _, parts in draft.options)
    answer: int | None = None
    final = next((s for s in draft.sections if s.kind == "final"), None)
    if final is not None:
        said = " ".join(final.body) if final.body else final.title
        keyed = _keyed(said)
        where = final.body_line or final.line
        if keyed:
            named_text, letter = keyed
            answer = ord(letter) - ord("A")
            named = _norm(named_text).casefold()
            if named and answer < len(options) and named != _norm(options[answer]).casefold():
                issues.append(warning("final-answer-text", f"Final Answer text {named_text!r} differs "
                                      f"from option {letter} {options[answer]!r}", where))
        else:
            answer = next((i for i, o in enumerate(options) if _norm(o).casefold() == _norm(said).casefold()),
                          None)
            if answer is None:
                issues.append(warning("final-answer-text", "Final Answer names no option ('… -> Option X')",
                                      where))
    quick = next((s for s in draft.sections if s.kind == "quick"), None)
    if quick is not None and answer is not None:
        checked = _checked_letter(" ".join(quick.body) if quick.body else quick.title)
        if checked and checked != option_letter(answer):
            issues.append(warning("quick-check", f"Quick Check says {checked} but Final Answer "
                                  f"says {option_letter(answer)}; the Final Answer is taken as the key",
                                  quick.body_line or quick.line))
    return MultipleChoice(
        question=_dedent(draft.question, draft.first_indent), options=options, answer=answer,
        solution=tuple(_step_text(s) for s in draft.sections), hint=draft.hint,
        mistakes=tuple(" ".join(parts) for parts in draft.mistakes), level=draft.level, line=draft.line)


def _step_text(section: _Section) -> str:
    """`Understand X: body` for a step ("Step 1:" chrome dropped); `Final Answer: …` and
    `Quick Check: …` keep their label, since they read as such."""
    title = section.title.strip()
    body = "\n".join(b.strip() for b in section.body).strip()
    label = {"final": "Final Answer", "quick": "Quick Check"}.get(section.kind)
    if label:
        return f"{label}: {' '.join(filter(None, [title, body]))}"
    if not body:
        return title
    if not title:
        return body
    return f"{title} {body}" if title.endswith((":", ".", "?", "!")) else f"{title}: {body}"

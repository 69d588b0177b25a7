"""Write a deck out: YAML (the hand-editable format), JSON (Deck.to_dict) or an Anki package.

The Anki package uses one Basic (front/back) note type: a flashcard is its front and back; a
multiple-choice question is a note whose front lists the options A, B… and whose back gives the
answer, the solution, the hint and the common mistakes; an open prompt shows its guidance on the
back. Model and deck ids derive from the slug and each note's guid from the card id, so importing a
re-export into Anki updates the notes instead of duplicating them. With a member's progress the
package also carries their review history and FSRS memory state (content/anki_progress.py).
"""

from __future__ import annotations

import hashlib
import html
import json
import os
import tempfile
import uuid
from pathlib import Path

import genanki

from content.anki_progress import MemberProgress, with_progress
from content.model import Card, Deck, Flashcard, MultipleChoice, option_letter
from content.yaml_deck import dump_yaml_deck

FORMATS = ("yaml", "json", "apkg")
_SUFFIX = {"yaml": ".yaml", "json": ".json", "apkg": ".apkg"}

_CSS = """.card { font-family: -apple-system, "Segoe UI", Arial, sans-serif; font-size: 20px;
  text-align: left; color: black; background-color: white; max-width: 40em; margin: auto; }
ol.options { list-style-type: upper-alpha; }
.label { font-weight: bold; }
.level { color: #777; font-size: 14px; }
"""


def export_deck(deck: Deck, fmt: str, out: Path, *, progress: MemberProgress | None = None) -> Path:
    """Write `deck` as `fmt` to the file `out`, or to `out/<slug>.<ext>` when `out` is a directory.
    Returns the path written. The file is replaced atomically: a failed export leaves the old one.
    Its permissions are those of any new file (0666 less the umask, so group-readable as usual);
    tempfile.mkstemp would make it 0600. `progress` (Anki packages only) adds a member's review
    history, due dates and FSRS memory state (content/anki_progress.py)."""
    fmt = fmt.casefold()
    if fmt not in FORMATS:
        raise ValueError(f"unknown export format {fmt!r}; use one of {', '.join(FORMATS)}")
    if progress is not None and fmt != "apkg":
        raise ValueError(f"a member's progress goes into an Anki package (apkg), not {fmt}")
    out = Path(out)
    target = out / f"{deck.slug}{_SUFFIX[fmt]}" if out.is_dir() else out
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.parent / f".{target.name}.{uuid.uuid4().hex}.tmp"
    os.close(os.open(tmp, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o666))  # the umask applies
    try:
        if fmt == "yaml":
            tmp.write_text(dump_yaml_deck(deck), encoding="utf-8")
        elif fmt == "json":
            tmp.write_text(json.dumps(deck.to_dict(), indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        else:
            genanki.Package(anki_deck(deck)).write_to_file(str(tmp))
            if progress is not None:
                with tempfile.TemporaryDirectory(dir=target.parent) as workdir:
                    with_progress(tmp, stable_anki_id("deck", deck.slug), progress, Path(workdir))
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)
    return target


def stable_anki_id(kind: str, slug: str) -> int:
    """An id in [2**30, 2**31) (the range genanki recommends) derived from the slug."""
    digest = hashlib.sha1(f"tutor:{kind}:{slug}".encode()).digest()
    return (1 << 30) + int.from_bytes(digest[:4], "big") % (1 << 30)


def anki_model(slug: str) -> genanki.Model:
    return genanki.Model(
        stable_anki_id("model", slug), f"tutor Basic ({slug})",
        fields=[{"name": "Front"}, {"name": "Back"}],
        templates=[{"name": "Card 1", "qfmt": "{{Front}}",
                    "afmt": "{{FrontSide}}\n\n<hr id=answer>\n\n{{Back}}"}],
        css=_CSS)


def anki_deck(deck: Deck) -> genanki.Deck:
    """The genanki deck: one note per card, tagged with its kind and level."""
    model = anki_model(deck.slug)
    out = genanki.Deck(stable_anki_id("deck", deck.slug), deck.title, description=deck.description or "")
    for card in deck.cards:
        front, back = _note_fields(card)
        tags = [card.kind.value] + ([card.level.replace(" ", "_")] if card.level else [])
        note = genanki.Note(model=model, fields=[front, back], tags=tags, guid=genanki.guid_for(card.id))
        out.add_note(note)
    return out


def _html(text: str) -> str:
    return html.escape(text).replace("\n", "<br>")


def _note_fields(card: Card) -> tuple[str, str]:
    level = f'<div class="level">{_html(card.level)}</div>' if card.level else ""
    if isinstance(card, Flashcard):
        return level + _html(card.front), _html(card.back)
    if isinstance(card, MultipleChoice):
        options = "".join(f"<li>{_html(o)}</li>" for o in card.options)
        front = f'{level}{_html(card.question)}<ol class="options">{options}</ol>'
        if card.answer is not None and 0 <= card.answer < len(card.options):
            back = [f'<p><span class="label">Answer:</span> {option_letter(card.answer)}. '
                    f"{_html(card.options[card.answer])}</p>"]
        else:
            back = ["<p>No answer key in the source.</p>"]
        if card.solution:
            back.append("<p class=\"label\">Solution</p><ol>"
                        + "".join(f"<li>{_html(s)}</li>" for s in card.solution) + "</ol>")
        if card.hint:
            back.append(f'<p><span class="label">Hint:</span> {_html(card.hint)}</p>')
        if card.mistakes:
            back.append("<p class=\"label\">Common mistakes</p><ul>"
                        + "".join(f"<li>{_html(m)}</li>" for m in card.mistakes) + "</ul>")
        return front, "".join(back)
    back = [f"<p>{_html(card.guidance)}</p>"] if card.guidance else []
    if card.model_answer:
        back.append(f'<p><span class="label">Model answer:</span> {_html(card.model_answer)}</p>')
    if card.concepts:
        back.append("<p class=\"label\">Key concepts</p><ul>"
                    + "".join(f"<li>{_html(c.text)}</li>" for c in card.concepts) + "</ul>")
    return level + _html(card.question), "".join(back) or "<p>(open question: no model answer)</p>"

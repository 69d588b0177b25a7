"""Export to YAML, JSON and Anki (.apkg, read back with zipfile and sqlite3)."""

from __future__ import annotations

import json
import sqlite3
import zipfile
from pathlib import Path

import genanki
import pytest

from content.export import export_deck, stable_anki_id
from content.loader import load_deck_file
from content.model import Deck, Flashcard, MultipleChoice

RECAPS = Path(__file__).parent / "data" / "recaps"


SHIPPED = Path(__file__).parent.parent / "content" / "decks" / "pretrained-models-cv.yaml"


@pytest.fixture(scope="module")
def deck() -> Deck:
    return load_deck_file(SHIPPED).deck


def read_apkg(path: Path, tmp_path: Path) -> tuple[list[tuple[str, int, str, str]], dict, dict, int]:
    """(guid, model id, tags, fields) per note, the models and decks JSON, and the number of cards."""
    with zipfile.ZipFile(path) as archive:
        assert archive.testzip() is None
        assert set(archive.namelist()) == {"collection.anki2", "media"}
        assert json.loads(archive.read("media")) == {}
        archive.extract("collection.anki2", tmp_path)
    db = sqlite3.connect(tmp_path / "collection.anki2")
    try:
        notes = db.execute("SELECT guid, mid, tags, flds FROM notes ORDER BY id").fetchall()
        models, decks = db.execute("SELECT models, decks FROM col").fetchone()
        cards = db.execute("SELECT count(*) FROM cards").fetchone()[0]
    finally:
        db.close()
    return notes, json.loads(models), json.loads(decks), cards


def test_apkg_has_one_note_per_card_with_stable_ids(deck, tmp_path):
    path = export_deck(deck, "apkg", tmp_path / "out.apkg")
    assert path == tmp_path / "out.apkg"
    notes, models, decks, cards = read_apkg(path, tmp_path)
    assert len(notes) == cards == 17
    assert [guid for guid, *_ in notes] == [genanki.guid_for(c.id) for c in deck.cards]
    model_id = stable_anki_id("model", deck.slug)
    assert {mid for _, mid, _, _ in notes} == {model_id}
    assert models[str(model_id)]["name"] == "tutor Basic (pretrained-models-cv)"
    deck_id = stable_anki_id("deck", deck.slug)
    assert decks[str(deck_id)]["name"] == deck.title
    assert 1 << 30 <= model_id < 1 << 31 and model_id != deck_id
    assert notes[0][2].split() == ["flashcard", "beginner"]


def test_apkg_multiple_choice_front_lists_options_and_back_gives_answer(deck, tmp_path):
    notes, *_ = read_apkg(export_deck(deck, "apkg", tmp_path / "out.apkg"), tmp_path)
    card = next(c for c in deck.cards if isinstance(c, MultipleChoice) and "resnet50" in c.options[0])
    front, back = next(flds for guid, _, _, flds in notes if guid == genanki.guid_for(card.id)).split("\x1f")
    assert front.count("<li>") == 4
    assert "<li>model = torchvision.models.resnet50(pretrained=True)</li>" in front
    assert "Answer:</span> A. model = torchvision.models.resnet50(pretrained=True)" in back
    assert "ResNet50_Weights.DEFAULT" in back and "Common mistakes" in back
    code = next(c for c in deck.cards if isinstance(c, MultipleChoice) and "MobileNetV2" in c.question)
    code_front = next(f for g, _, _, f in notes if g == genanki.guid_for(code.id)).split("\x1f")[0]
    assert "import tensorflow as tf<br>model = tf.keras" in code_front


def test_apkg_re_export_keeps_guids_and_escapes_html(tmp_path):
    card = Flashcard(front="Is 1 < 2 & 3 > 2?", back="Yes <b>really</b>")
    deck = Deck(slug="html", title="HTML", cards=(card,))
    first = read_apkg(export_deck(deck, "apkg", tmp_path / "a.apkg"), tmp_path / "a")[0]
    second = read_apkg(export_deck(deck, "apkg", tmp_path / "b.apkg"), tmp_path / "b")[0]
    assert [n[:2] for n in first] == [n[:2] for n in second]
    assert first[0][3] == "Is 1 &lt; 2 &amp; 3 &gt; 2?\x1fYes &lt;b&gt;really&lt;/b&gt;"


def test_json_export_is_deck_to_dict_and_loads_back(deck, tmp_path):
    path = export_deck(deck, "json", tmp_path)
    assert path == tmp_path / "pretrained-models-cv.json"
    assert json.loads(path.read_text(encoding="utf-8")) == deck.to_dict()
    again = load_deck_file(path)
    assert again.deck == deck and again.issues == ()


def test_yaml_export_loads_back_equal(tmp_path):
    recap = load_deck_file(RECAPS / "overfitting-regularization.txt").deck
    path = export_deck(recap, "yaml", tmp_path / "sub" / "deck.yaml")
    loaded = load_deck_file(path)
    assert loaded.deck == recap
    assert [i.code for i in loaded.issues] == ["missing-key"] * 3  # the recap's unkeyed quiz questions


def test_export_replaces_an_existing_file_and_rejects_unknown_formats(deck, tmp_path):
    target = tmp_path / "deck.yaml"
    target.write_text("old", encoding="utf-8")
    export_deck(deck, "YAML", target)
    assert target.read_text(encoding="utf-8").startswith("deck: pretrained-models-cv\n")
    with pytest.raises(ValueError, match="unknown export format 'csv'; use one of yaml, json, apkg"):
        export_deck(deck, "csv", tmp_path / "deck.csv")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["deck.yaml"]  # no temporary files left

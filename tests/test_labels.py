"""How a label is read from what members post with an image."""

from __future__ import annotations

import pytest

from bot.slack.finetune.labels import (
    MAX_LABEL_CHARS,
    label_for_file,
    label_from_filename,
    label_from_text,
    normalize_label,
    parse_label_filter,
)


@pytest.mark.parametrize("text, label", [
    ("bird", "bird"),
    ("Bird", "bird"),
    ("#bird", "bird"),
    ("#Bird.", "bird"),
    ("bird!", "bird"),
    ("  bird  \n", "bird"),
    ("label: bird", "bird"),
    ("Label:Bird", "bird"),
    ("LABEL = bird", "bird"),
    ("label: golden retriever", "golden-retriever"),
    ("golden_retriever", "golden-retriever"),
    ("golden-retriever", "golden-retriever"),
    (":cat:", "cat"),
    ("<#C0123ABC|bird>", "bird"),  # Slack turns #bird into a channel link when such a channel exists
    ("<@U0123ABC> cat", "cat"),  # a mention of the bot before the label
    ("Katze", "katze"),
])
def test_label_forms_in_text(text: str, label: str) -> None:
    assert label_from_text(text) == label


@pytest.mark.parametrize("text", [
    None, "", "   ", "look at this bird", "my cat sleeping", "#bird #cat", "!!!", "<@U0123ABC>",
    "label:", "label: " + "x" * (MAX_LABEL_CHARS + 1),
])
def test_text_that_is_not_a_label(text: str | None) -> None:
    assert label_from_text(text) is None


@pytest.mark.parametrize("name, label", [
    ("cat_012.jpg", "cat"),
    ("cat.jpg", "cat"),
    ("Cat (3).PNG", "cat"),
    ("coffee-cup-07.jpeg", "coffee-cup"),
    ("red fox 3.png", "red-fox"),
    ("IMG_20240101_cat.jpg", "cat"),  # camera words dropped, the rest kept
    ("dog copy.jpg", "dog"),
])
def test_label_from_file_name(name: str, label: str) -> None:
    assert label_from_filename(name) == label


@pytest.mark.parametrize("name", [
    None, "", "IMG_0042.JPG", "DSC01234.jpg", "DSCN0001.JPG", "PXL_20240101_093012345.jpg",
    "Screenshot 2024-01-05 at 10.22.33.png", "Screen Shot 2020-03-01 at 9.41.12 PM.png", "image.png",
    "Image from iOS.jpg", "Pasted image 20240101.png", "MVIMG_20190101_101010.jpg", "0001.jpg", "a1.jpg",
    "photo.jpeg", "unnamed.webp", "WhatsApp Image 2024-01-01 at 10.00.00.jpeg",
])
def test_camera_default_names_are_unlabelled(name: str | None) -> None:
    assert label_from_filename(name) is None


def test_text_wins_over_file_name_and_comment_falls_back_to_it() -> None:
    assert label_for_file("dog", "cat_01.jpg") == "dog"
    assert label_for_file("", "cat_01.jpg") == "cat"
    assert label_for_file("look at this one", "cat_01.jpg") == "cat"
    assert label_for_file("look at this one", "IMG_0001.jpg") is None


def test_labels_are_safe_folder_names() -> None:
    for raw in ["../../etc/passwd", ".hidden", "a/b", "C:\\x", "label: ../up"]:
        label = label_from_text(raw) or ""
        assert "/" not in label and "\\" not in label and not label.startswith(".")
    assert normalize_label("../../etc/passwd") == "etc-passwd"


def test_filter_arguments() -> None:
    assert parse_label_filter(["Cat", "#dog,", "cat", "coffee,tea"]) == ("cat", "dog", "coffee", "tea")
    assert parse_label_filter([]) == ()
    assert parse_label_filter(["!!", ","]) == ()

"""Which label an image posted in Slack carries, read from its message text or its file name.

Members label an image by what they write with it: `bird`, `#bird` or `label: bird` (any case,
punctuation ignored). A message whose text is something else (`look at this!`) gives no label from
its text, and the file name is tried instead: `cat_012.jpg` -> `cat`. Names that cameras, phones and
screenshot tools make up (`IMG_0042.JPG`, `PXL_20240101_0930.jpg`, `Screenshot 2024-…png`,
`image.png`) say nothing about the picture, so they give no label.

A label is lower-case words joined by `-` (`golden retriever` -> `golden-retriever`), at most
`MAX_LABEL_CHARS` long, so it is also a safe folder name (no `/`, no leading dot).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from storage.images import ImageSource, RecordedImage

MAX_LABEL_CHARS = 40

# Words in file names that cameras, phones, messengers and screenshot tools generate.
CAMERA_WORDS = frozenset({
    "img", "image", "images", "imag", "dsc", "dscn", "dscf", "dcim", "pxl", "mvimg", "gopr", "dji",
    "screenshot", "screenshots", "screen", "shot", "capture", "snapshot", "photo", "photos",
    "pic", "picture", "pasted", "clipboard", "whatsapp", "signal", "telegram", "from", "ios", "android",
    "iphone", "camera", "cam", "scan", "unnamed", "untitled", "download", "file", "copy", "edited",
    "original", "vid", "at", "pm", "am", "jpeg", "jpg", "png", "heic", "webp",
})

# A Slack channel link (`<#C0123|bird>`, what `#bird` becomes when a channel of that name exists),
# a user mention (`<@U123>`), or a URL in angle brackets. Slack escapes `<` in text as `&lt;`, so
# none of these holds a raw `<`: stopping at one keeps the search linear on `<@<@<@…` with no `>`
# (a scan to the end from every `<@` was quadratic).
_SLACK_CHANNEL = re.compile(r"<#[A-Z0-9]++\|([^<>]*+)>")
_SLACK_OTHER = re.compile(r"<[@!][^<>]*+>")
_LABEL_PREFIX = re.compile(r"^\s*(?:label|class|tag)\s*[:=]\s*(.*)$", re.IGNORECASE | re.DOTALL)
_NOT_WORD = re.compile(r"[^\w\s-]+")
_SEPARATORS = re.compile(r"[\s_\-]+")
_DIGITS = re.compile(r"\d+")
_EXTENSION = re.compile(r"\.[A-Za-z0-9]{1,5}$")


def normalize_label(raw: str) -> str | None:
    """`" Golden Retriever! "` -> `golden-retriever`: lower-case, punctuation dropped, words joined by
    `-`. None when nothing usable is left or the result is longer than `MAX_LABEL_CHARS`."""
    text = _NOT_WORD.sub(" ", raw.casefold())
    words = [w for w in _SEPARATORS.split(text) if w]
    label = "-".join(words)
    if not label or len(label) > MAX_LABEL_CHARS:
        return None
    return label


def label_from_text(text: str | None) -> str | None:
    """The label a message's text gives, or None.

    Accepted forms: `bird`, `#bird`, `label: bird` (also `label: golden retriever`), with any case
    and punctuation (`Bird!`, `#Bird.`). Any other text of more than one word gives None: a comment
    such as `my cat sleeping` is not a label.
    """
    if not text:
        return None
    text = _SLACK_CHANNEL.sub(r"#\1", text)
    text = _SLACK_OTHER.sub(" ", text).strip()
    if not text:
        return None
    prefixed = _LABEL_PREFIX.match(text)
    if prefixed:
        return normalize_label(prefixed.group(1))
    # One word, optionally a #hashtag; `golden-retriever` / `golden_retriever` count as one word.
    if len(text.split()) != 1:
        return None
    return normalize_label(text.lstrip("#"))


def label_from_filename(name: str | None) -> str | None:
    """The label a file name gives, or None: extension and digits dropped, camera-made words
    dropped (see `CAMERA_WORDS`). `cat_012.jpg` -> `cat`; `IMG_0042.JPG` -> None; `red fox 3.png` ->
    `red-fox`. Leftovers of one letter are not labels (`a1.jpg` -> None)."""
    if not name:
        return None
    stem = _EXTENSION.sub("", name.strip())
    stem = _DIGITS.sub(" ", stem)
    text = _NOT_WORD.sub(" ", stem.casefold())
    words = [w for w in _SEPARATORS.split(text) if w and w not in CAMERA_WORDS]
    words = [w for w in words if len(w) > 1 or len(words) > 1]
    label = "-".join(words)
    if len(label) < 2 or len(label) > MAX_LABEL_CHARS:
        return None
    return label


def label_for_file(text: str | None, file_name: str | None) -> str | None:
    """The label for one file of a message: from the text when it is a label, else from the name."""
    return label_from_text(text) or label_from_filename(file_name)


def parse_label_filter(words: Iterable[str]) -> tuple[str, ...]:
    """`/finetune Cat, #dog` -> ("cat", "dog"): each argument normalised like a label, duplicates
    dropped, order kept. Commas are separators too."""
    seen: dict[str, None] = {}
    for word in words:
        for part in word.split(","):
            label = normalize_label(part.lstrip("#"))
            if label:
                seen.setdefault(label, None)
    return tuple(seen)


# Reading Slack messages ------------------------------------------------------------------------------

IMAGE_EXTENSIONS = frozenset({"jpg", "jpeg", "png", "gif", "bmp", "webp", "tif", "tiff", "heic", "heif"})
USER_SUBTYPES = (None, "file_share", "thread_broadcast")  # what a person's own post looks like


def is_user_file_message(message: Mapping[str, Any]) -> bool:
    """True for a message a person posted with files (not a bot's, not an edit or a deletion)."""
    return (message.get("subtype") in USER_SUBTYPES and not message.get("bot_id")
            and bool(message.get("files")))


def is_image_file(file: Mapping[str, Any]) -> bool:
    """What Slack says the file is: an image by MIME type, Slack file type or extension. The bytes
    are checked when downloaded; a file that only claims to be an image is skipped then."""
    mimetype = str(file.get("mimetype") or "").lower()
    filetype = str(file.get("filetype") or "").lower()
    extension = str(file.get("name") or "").rsplit(".", 1)[-1].lower()
    return mimetype.startswith("image/") or filetype in IMAGE_EXTENSIONS or extension in IMAGE_EXTENSIONS


def images_in_message(channel: str, message: Mapping[str, Any], source: ImageSource, *,
                      files_info: Callable[[str], Mapping[str, Any] | None] | None = None
                      ) -> list[RecordedImage]:
    """The image files of one Slack message, each with the label its text or name gives. A file
    Slack sent without its details (`file_access: check_file_info`, no download link) is looked up
    with `files_info` when given; a deleted one (`mode: tombstone`) is left out."""
    found: list[RecordedImage] = []
    text = message.get("text")
    thread_ts = message.get("thread_ts")
    for file in message.get("files") or []:
        if not file.get("id") or file.get("mode") == "tombstone":
            continue
        if files_info is not None and (file.get("file_access") == "check_file_info"
                                       or not file.get("url_private_download")):
            file = {**file, **(files_info(str(file["id"])) or {})}
        if not is_image_file(file):
            continue
        name = str(file.get("name") or file.get("title") or file["id"])
        size = file.get("size")
        found.append(RecordedImage(
            channel=channel, file_id=str(file["id"]), ts=str(message.get("ts")), name=name,
            label=label_for_file(text, name), user_id=message.get("user") or file.get("user"),
            thread_ts=str(thread_ts) if thread_ts and thread_ts != message.get("ts") else None,
            mimetype=file.get("mimetype"), size=int(size) if isinstance(size, int | float) else None,
            url=file.get("url_private_download") or file.get("url_private"), source=source))
    return found

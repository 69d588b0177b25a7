"""Reading the images people give the demo: which files are usable, and decoding them safely.

Pillow only (no torch). Two steps, in two processes:
- `check_image_bytes` (the bot, and `tutor finetune` before it sends a job) reads only the header
  (and a PNG's chunk checksums): size, pixel count and format are known without allocating a single
  pixel, so memory stays bounded whatever an upload claims to be (a 105 kB PNG of 6000x6000 would
  take 108 MB decoded).
- `decode_image` (the worker) decodes; a file broken past its header is found there, and skipped
  and counted in the demo's report like any other bad file.
Bad input is skipped and counted, never fatal. A decompression bomb (a small file claiming a huge
canvas) is refused from its header in both steps.
"""

from __future__ import annotations

import io
import struct
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

from PIL import Image, ImageOps, UnidentifiedImageError

from bot.finetune.request import MAX_JOB_BYTES, ImageData
from bot.worker.protocol import JobInputError

MAX_FILE_BYTES = 20 * 1024 * 1024
MAX_PIXELS = 40_000_000
MIN_IMAGES_PER_LABEL = 3
MIN_LABELS = 2

# Pillow's own guard: it warns above MAX_IMAGE_PIXELS and raises above twice that. Ours is stricter
# (checked before decoding, and the warning is turned into an error in decode_image); this line makes
# any other decode path in the process refuse true bombs too.
Image.MAX_IMAGE_PIXELS = MAX_PIXELS

_HTML_MARKERS = (b"<!doctype html", b"<html", b"<head", b"<body", b"<meta", b"<title")


class SkipReason(StrEnum):
    NOT_IMAGE = "not an image"
    CORRUPT = "corrupt image"
    TOO_LARGE = "over 20 MB"
    TOO_MANY_PIXELS = "over 40 megapixels"
    HTML_PAGE = "an HTML page, not an image (the app may lack the files:read scope)"
    JOB_FULL = "past the 200 MB one demo can take"


@dataclass(frozen=True)
class SkippedFile:
    """A file the demo did not use; name is the file name (or path relative to the image folder)."""

    name: str
    reason: SkipReason

    def to_dict(self) -> dict[str, str]:
        return {"name": self.name, "reason": self.reason.value}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SkippedFile:
        return cls(name=str(data["name"]), reason=SkipReason(data["reason"]))


@dataclass
class ImageFolder:
    """A scanned folder: usable (path, label) pairs, what was skipped, and usable counts per label.

    classes lists every label folder that was looked at (sorted), including ones with no usable image.
    """

    items: list[tuple[Path, str]] = field(default_factory=list)
    skipped: list[SkippedFile] = field(default_factory=list)
    classes: list[str] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)


class NotEnoughImages(JobInputError):
    """The images cannot make a demo; the message says what to add."""


def _looks_like_html(head: bytes) -> bool:
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    return any(text.startswith(marker) for marker in _HTML_MARKERS) or b"<html" in text[:1024]


def _open_checked(data: bytes) -> Image.Image | SkipReason:
    """Open (header only) and check the size; the image is returned undecoded."""
    if len(data) > MAX_FILE_BYTES:
        return SkipReason.TOO_LARGE
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
    except UnidentifiedImageError:
        # Checked only now, so an image whose metadata happens to mention "<html" is still an image.
        return SkipReason.HTML_PAGE if _looks_like_html(data[:2048]) else SkipReason.NOT_IMAGE
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        return SkipReason.TOO_MANY_PIXELS
    except (OSError, ValueError, SyntaxError):
        return SkipReason.CORRUPT
    width, height = image.size
    if width <= 0 or height <= 0:
        return SkipReason.CORRUPT
    if width * height > MAX_PIXELS:
        return SkipReason.TOO_MANY_PIXELS
    return image


def decode_image(data: bytes, *, min_size: int | None = None) -> Image.Image | SkipReason:
    """Decode bytes into an upright RGB image, or say why not.

    min_size (pixels): for JPEGs, let the decoder scale down by a power of two as long as both sides
    stay at least this large (much faster on 12 MP phone photos). EXIF orientation is applied;
    transparent images are put on white; palette and grayscale become RGB.
    """
    opened = _open_checked(data)
    if isinstance(opened, SkipReason):
        return opened
    image = opened
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            if min_size is not None and image.format == "JPEG":
                image.draft("RGB", (min_size, min_size))
            image.load()
            image = ImageOps.exif_transpose(image)
            return _to_rgb(image)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        return SkipReason.TOO_MANY_PIXELS
    except (OSError, ValueError, SyntaxError, EOFError, MemoryError):
        return SkipReason.CORRUPT


def _to_rgb(image: Image.Image) -> Image.Image:
    if image.mode == "P":
        image = image.convert("RGBA" if "transparency" in image.info else "RGB")
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "RGBa"):
        rgba = image.convert("RGBA")
        background = Image.new("RGB", rgba.size, (255, 255, 255))
        background.paste(rgba, mask=rgba.getchannel("A"))
        return background
    if image.mode in ("I;16", "I;16B", "I;16L", "I"):
        # 16-bit grayscale (some PNGs): scale to 8 bits rather than clipping to white.
        image = image.point(lambda value: value / 256).convert("L")
    return image.convert("RGB") if image.mode != "RGB" else image


def check_image_bytes(data: bytes, name: str) -> SkipReason | None:
    """None when data is an image by its header, else why it would be skipped. Decodes no pixels
    (see the module docstring); PNG chunk checksums are verified, which finds truncated PNGs. name
    is used for messages only."""
    del name  # the verdict depends on the content, not on the file name or extension
    opened = _open_checked(data)
    if isinstance(opened, SkipReason):
        return opened
    try:
        opened.verify()
    except (OSError, ValueError, SyntaxError, EOFError, struct.error):
        return SkipReason.CORRUPT
    return None


def check_image_file(path: Path) -> SkipReason | None:
    """check_image_bytes for a file; the size limit is checked before reading it."""
    try:
        if path.stat().st_size > MAX_FILE_BYTES:
            return SkipReason.TOO_LARGE
        data = path.read_bytes()
    except OSError:
        return SkipReason.CORRUPT
    return check_image_bytes(data, path.name)


def _visible(path: Path) -> bool:
    return not path.name.startswith(".")


def scan_image_folder(root: Path, labels: Sequence[str] | None = None) -> ImageFolder:
    """Scan root/<label>/<files>: one sub-folder per label (hidden files and nested folders ignored),
    each file checked from its header (check_image_file).

    labels restricts (and orders nothing: classes are always sorted) which sub-folders are used.
    Raises NotADirectoryError / FileNotFoundError when root is not a readable folder.
    """
    root = Path(root)
    if not root.is_dir():
        raise NotADirectoryError(f"{root} is not a folder")
    wanted = set(labels) if labels is not None else None
    folder = ImageFolder()
    for label_dir in sorted(p for p in root.iterdir() if p.is_dir() and _visible(p)):
        label = label_dir.name
        if wanted is not None and label not in wanted:
            continue
        folder.classes.append(label)
        folder.counts[label] = 0
        for path in sorted(p for p in label_dir.iterdir() if p.is_file() and _visible(p)):
            verdict = check_image_file(path)
            if verdict is not None:
                folder.skipped.append(SkippedFile(f"{label}/{path.name}", verdict))
            else:
                folder.items.append((path, label))
                folder.counts[label] += 1
    return folder


def folder_images(folder: ImageFolder) -> tuple[list[ImageData], list[SkippedFile]]:
    """The bytes of a scanned folder's usable files, to send with a job (at most MAX_JOB_BYTES in
    all: later files are skipped as JOB_FULL), and the files skipped for that."""
    images: list[ImageData] = []
    skipped: list[SkippedFile] = []
    total = 0
    for path, label in folder.items:
        name = f"{label}/{path.name}"
        try:
            data = path.read_bytes()
        except OSError:
            skipped.append(SkippedFile(name, SkipReason.CORRUPT))
            continue
        if total + len(data) > MAX_JOB_BYTES:
            skipped.append(SkippedFile(name, SkipReason.JOB_FULL))
            continue
        total += len(data)
        images.append(ImageData(name, label, data))
    return images, skipped


def require_enough_images(folder: ImageFolder) -> list[str]:
    """The labels the demo will use, or NotEnoughImages saying what to add."""
    return require_enough(folder.classes, folder.counts)


def require_enough(classes: Sequence[str], counts: Mapping[str, int]) -> list[str]:
    """The labels (of classes, in order) with enough usable images (counts), or NotEnoughImages
    saying what to add."""
    usable = [c for c in classes if counts.get(c, 0) >= MIN_IMAGES_PER_LABEL]
    if len(usable) >= MIN_LABELS:
        return usable
    have = ", ".join(f"{c}: {counts.get(c, 0)}" for c in classes) or "no label folders"
    short = sorted(classes, key=lambda c: -counts.get(c, 0))
    adds = [
        f"{MIN_IMAGES_PER_LABEL - counts.get(c, 0)} more to {c}"
        for c in short[:MIN_LABELS]
        if counts.get(c, 0) < MIN_IMAGES_PER_LABEL
    ]
    missing_labels = MIN_LABELS - min(len(short), MIN_LABELS)
    if missing_labels:
        adds.append(f"{missing_labels} more label(s) with {MIN_IMAGES_PER_LABEL} images each")
    raise NotEnoughImages(
        f"the demo needs at least {MIN_LABELS} labels with {MIN_IMAGES_PER_LABEL} usable images each "
        f"(have {have}); add {' and '.join(adds)}"
    )


def skip_counts(skipped: Sequence[SkippedFile]) -> dict[str, int]:
    """How many files were skipped for each reason, in SkipReason order (reasons with none left out)."""
    counts = {reason.value: 0 for reason in SkipReason}
    for item in skipped:
        counts[item.reason.value] += 1
    return {reason: n for reason, n in counts.items() if n}

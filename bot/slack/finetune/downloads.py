"""Download recorded Slack images with the bot token, checking each before the demo sees it.

Slack serves `url_private_download` to a request carrying `Authorization: Bearer <bot token>`; an app
without the `files:read` scope gets an HTML login page instead, with status 200. So every download
is checked for what it is, not for what it claims to be: the recorded size first (nothing is fetched
for a file Slack says is over `MAX_FILE_BYTES`), then the body is streamed with a cap, then
`check_image_bytes` looks at the content's header (no pixel is decoded in the bot: that happens in
the worker). Bad files are skipped and counted, never fatal. The bytes are kept in memory, to go
with the job: one demo takes at most `MAX_JOB_BYTES` in all, later files are skipped as JOB_FULL.
"""

from __future__ import annotations

import threading
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from bot.finetune.images import MAX_FILE_BYTES, SkippedFile, SkipReason, check_image_bytes
from bot.finetune.request import MAX_JOB_BYTES, ImageData
from storage.images import RecordedImage

_CHUNK = 256 * 1024


class DownloadError(RuntimeError):
    """The file could not be fetched at all (HTTP error, network, no link); the message says why."""


@dataclass
class DownloadResult:
    """What a batch of downloads gave. files: usable files' bytes with the record they came from,
    in the order asked; counts: usable files per label (None: unlabelled); skipped: fetched but
    refused by the checks; failed: (file name, why) for files that could not be fetched."""

    files: list[tuple[bytes, RecordedImage]] = field(default_factory=list)
    counts: dict[str | None, int] = field(default_factory=dict)
    skipped: list[SkippedFile] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)

    @property
    def usable(self) -> int:
        return len(self.files)

    def label_counts(self) -> dict[str, int]:
        """Usable files per label, labelled ones only."""
        return {label: n for label, n in self.counts.items() if label is not None}

    def images(self, labels: Sequence[str] | None = None) -> list[ImageData]:
        """The usable files as a job's images (only those with one of `labels`, when given)."""
        return [ImageData(image.name, image.label, data) for data, image in self.files
                if labels is None or image.label in labels]


def fetch(url: str, token: str, *, max_bytes: int = MAX_FILE_BYTES,
          timeout_s: float = 30.0) -> bytes | SkipReason:
    """The body at `url` (bot token as Bearer), or the reason to skip it: TOO_LARGE as soon as the
    declared length or the bytes read pass `max_bytes` (at most `max_bytes` + 1 are read), HTML_PAGE
    for a web page. Raises DownloadError when nothing could be fetched."""
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"})
    try:
        with urllib.request.urlopen(request, timeout=timeout_s) as response:  # noqa: S310 (http(s) only)
            content_type = (response.headers.get("Content-Type") or "").lower()
            if content_type.startswith("text/html"):
                return SkipReason.HTML_PAGE
            declared = response.headers.get("Content-Length")
            if declared and declared.isdigit() and int(declared) > max_bytes:
                return SkipReason.TOO_LARGE
            chunks, size = [], 0
            while True:
                chunk = response.read(min(_CHUNK, max_bytes + 1 - size))
                if not chunk:
                    break
                chunks.append(chunk)
                size += len(chunk)
                if size > max_bytes:
                    return SkipReason.TOO_LARGE
            return b"".join(chunks)
    except urllib.error.HTTPError as exc:
        raise DownloadError(f"could not download (HTTP {exc.code})") from None
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        raise DownloadError(f"could not download ({reason})") from None


class _JobRoom:
    """How many bytes one job may still take (MAX_JOB_BYTES in all), shared by the download threads."""

    def __init__(self, total: int) -> None:
        self.left = total
        self._lock = threading.Lock()

    def take(self, size: int) -> bool:
        with self._lock:
            if size > self.left:
                return False
            self.left -= size
            return True


def _one(image: RecordedImage, token: str, timeout_s: float, room: _JobRoom) -> bytes | SkipReason | str:
    if image.size is not None and image.size > MAX_FILE_BYTES:
        return SkipReason.TOO_LARGE  # Slack's own size: nothing is fetched
    if not image.url or not image.url.startswith(("http://", "https://")):
        return "could not download (Slack gave no download link)"
    if room.left <= 0:
        return SkipReason.JOB_FULL
    try:
        body = fetch(image.url, token, timeout_s=timeout_s)
    except DownloadError as exc:
        return str(exc)
    if isinstance(body, SkipReason):
        return body
    verdict = check_image_bytes(body, image.name)
    if verdict is not None:
        return verdict
    return body if room.take(len(body)) else SkipReason.JOB_FULL


def download_images(images: Sequence[RecordedImage], *, token: str,
                    on_file: Callable[[int, int], None] | None = None, timeout_s: float = 30.0,
                    workers: int = 4, max_bytes: int = MAX_JOB_BYTES) -> DownloadResult:
    """Download and check `images`, a few at a time, keeping at most max_bytes of them.
    on_file(done, total) is called after each file (from worker threads)."""
    done, lock = 0, threading.Lock()
    room = _JobRoom(max_bytes)

    def work(image: RecordedImage) -> bytes | SkipReason | str:
        nonlocal done
        outcome = _one(image, token, timeout_s, room)
        with lock:
            done += 1
            if on_file is not None:
                on_file(done, len(images))
        return outcome

    result = DownloadResult()
    with ThreadPoolExecutor(max_workers=max(1, workers), thread_name_prefix="finetune-download") as pool:
        outcomes = list(pool.map(work, images))
    for image, outcome in zip(images, outcomes, strict=True):
        if isinstance(outcome, bytes):
            result.files.append((outcome, image))
            result.counts[image.label] = result.counts.get(image.label, 0) + 1
        elif isinstance(outcome, SkipReason):
            result.skipped.append(SkippedFile(image.name, outcome))
        else:
            result.failed.append((image.name, outcome))
    return result

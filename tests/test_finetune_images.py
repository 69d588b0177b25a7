"""Which files the demo uses: every kind of bad input is skipped and counted, never fatal."""

from __future__ import annotations

import io
import os
import struct
import subprocess
import sys
import zlib
from pathlib import Path

import pytest
from hostile_data import poster_png
from PIL import Image

from bot.finetune.images import (
    MAX_FILE_BYTES,
    NotEnoughImages,
    SkipReason,
    check_image_bytes,
    decode_image,
    require_enough_images,
    scan_image_folder,
    skip_counts,
)


def png_bytes(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def jpeg_bytes(image: Image.Image, **kwargs: object) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", **kwargs)
    return buffer.getvalue()


def png_claiming(width: int, height: int) -> bytes:
    """A valid 1x1 grayscale PNG whose header is rewritten to claim width x height (a bomb's shape)."""
    data = bytearray(png_bytes(Image.new("L", (1, 1))))
    ihdr = data.index(b"IHDR")
    data[ihdr + 4 : ihdr + 12] = struct.pack(">II", width, height)
    crc = zlib.crc32(bytes(data[ihdr : ihdr + 17]))
    data[ihdr + 17 : ihdr + 21] = struct.pack(">I", crc)
    return bytes(data)


def photo() -> Image.Image:
    image = Image.new("RGB", (64, 48), (200, 30, 30))
    image.paste((20, 20, 220), (0, 0, 32, 48))
    return image


HTML_LOGIN = (
    b"""<!DOCTYPE html>\n<html lang="en"><head><title>Slack</title></head><body>Sign in</body></html>"""
)


def test_usable_images_pass() -> None:
    assert check_image_bytes(png_bytes(photo()), "a.png") is None
    assert check_image_bytes(jpeg_bytes(photo()), "a.jpg") is None
    # Metadata that mentions HTML does not make an image an HTML page.
    commented = jpeg_bytes(photo(), comment=b"<html>saved from a web page</html>")
    assert b"<html>" in commented[:200] and check_image_bytes(commented, "c.jpg") is None


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"just some text, not a picture\n" * 4, SkipReason.NOT_IMAGE),
        (b"", SkipReason.NOT_IMAGE),
        (HTML_LOGIN, SkipReason.HTML_PAGE),
        (b"\xef\xbb\xbf  <html><body>redirect</body></html>", SkipReason.HTML_PAGE),
        (jpeg_bytes(photo())[:300], SkipReason.CORRUPT),  # truncated download
        (png_bytes(photo())[:-40], SkipReason.CORRUPT),
        (png_claiming(8000, 6000), SkipReason.TOO_MANY_PIXELS),  # 48 MP: over ours, under Pillow's error
        (png_claiming(30000, 30000), SkipReason.TOO_MANY_PIXELS),  # 900 MP: Pillow's bomb error
    ],
    ids=["text", "empty", "html", "html-bom", "truncated-jpeg", "truncated-png", "48mp", "900mp"],
)
def test_bad_bytes_are_named(data: bytes, reason: SkipReason) -> None:
    assert check_image_bytes(data, "upload") is reason


def test_over_20_mb_is_refused_before_decoding() -> None:
    data = png_bytes(photo()) + b"\0" * MAX_FILE_BYTES
    assert check_image_bytes(data, "big.png") is SkipReason.TOO_LARGE


def test_exif_orientation_is_applied() -> None:
    wide = Image.new("RGB", (40, 20), (0, 120, 0))
    exif = Image.Exif()
    exif[0x0112] = 6  # Orientation: rotate 90 degrees clockwise to display
    decoded = decode_image(jpeg_bytes(wide, exif=exif.tobytes()))
    assert isinstance(decoded, Image.Image)
    assert decoded.size == (20, 40)


@pytest.mark.parametrize("mode", ["RGBA", "P", "L", "LA", "I;16", "CMYK", "1"])
def test_other_modes_become_rgb(mode: str) -> None:
    source = photo().convert("RGBA" if mode in ("RGBA", "LA") else "RGB")
    if mode == "RGBA":
        source.putpixel((0, 0), (0, 0, 0, 0))
    image = source.convert(mode) if mode != "I;16" else Image.new("I;16", (16, 16), 40000)
    data = jpeg_bytes(image) if mode == "CMYK" else png_bytes(image)
    decoded = decode_image(data)
    assert isinstance(decoded, Image.Image)
    assert decoded.mode == "RGB"
    if mode == "RGBA":
        assert decoded.getpixel((0, 0)) == (255, 255, 255)  # transparent shows as white, not black
    if mode == "I;16":
        assert decoded.getpixel((0, 0)) == (156, 156, 156)  # 40000 / 256, not clipped to white


def make_folder(root: Path) -> Path:
    (root / "cat").mkdir(parents=True)
    (root / "dog").mkdir()
    (root / "empty").mkdir()
    for i in range(3):
        (root / "cat" / f"c{i}.png").write_bytes(png_bytes(photo()))
        (root / "dog" / f"d{i}.jpg").write_bytes(jpeg_bytes(photo()))
    (root / "cat" / "notes.txt").write_text("the cat pictures are from Ann")
    (root / "cat" / "login.jpg").write_bytes(HTML_LOGIN)
    (root / "dog" / "broken.jpg").write_bytes(jpeg_bytes(photo())[:200])
    (root / "dog" / "bomb.png").write_bytes(png_claiming(9000, 9000))
    with open(root / "dog" / "huge.png", "wb") as f:
        f.write(png_bytes(photo()))
        f.truncate(MAX_FILE_BYTES + 1)  # sparse: quick to make
    (root / "dog" / ".DS_Store").write_bytes(b"\0\0\0\1Bud1")  # hidden: ignored, not counted
    (root / "dog" / "nested").mkdir()
    return root


def test_scan_skips_and_counts_every_kind(tmp_path: Path) -> None:
    folder = scan_image_folder(make_folder(tmp_path / "images"))
    assert folder.classes == ["cat", "dog", "empty"]
    assert folder.counts == {"cat": 3, "dog": 3, "empty": 0}
    assert len(folder.items) == 6
    reasons = {s.name: s.reason for s in folder.skipped}
    assert reasons == {
        "cat/login.jpg": SkipReason.HTML_PAGE,
        "cat/notes.txt": SkipReason.NOT_IMAGE,
        "dog/bomb.png": SkipReason.TOO_MANY_PIXELS,
        "dog/broken.jpg": SkipReason.CORRUPT,
        "dog/huge.png": SkipReason.TOO_LARGE,
    }
    assert skip_counts(folder.skipped) == {
        "not an image": 1,
        "corrupt image": 1,
        "over 20 MB": 1,
        "over 40 megapixels": 1,
        SkipReason.HTML_PAGE.value: 1,
    }
    assert require_enough_images(folder) == ["cat", "dog"]


def test_scan_can_limit_labels(tmp_path: Path) -> None:
    folder = scan_image_folder(make_folder(tmp_path / "images"), labels=["dog"])
    assert folder.classes == ["dog"]
    assert {label for _, label in folder.items} == {"dog"}


def test_too_few_images_says_what_to_add(tmp_path: Path) -> None:
    (tmp_path / "cat").mkdir()
    (tmp_path / "dog").mkdir()
    for i in range(3):
        (tmp_path / "cat" / f"{i}.png").write_bytes(png_bytes(photo()))
    (tmp_path / "dog" / "0.png").write_bytes(png_bytes(photo()))
    (tmp_path / "dog" / "1.txt").write_text("not a picture")
    with pytest.raises(NotEnoughImages, match=r"have cat: 3, dog: 1\); add 2 more to dog"):
        require_enough_images(scan_image_folder(tmp_path))


def test_one_label_says_add_a_label(tmp_path: Path) -> None:
    (tmp_path / "cat").mkdir()
    for i in range(5):
        (tmp_path / "cat" / f"{i}.png").write_bytes(png_bytes(photo()))
    with pytest.raises(NotEnoughImages, match="1 more label"):
        require_enough_images(scan_image_folder(tmp_path))


def test_not_a_folder(tmp_path: Path) -> None:
    with pytest.raises(NotADirectoryError):
        scan_image_folder(tmp_path / "missing")


def test_a_file_broken_past_its_header_is_found_when_decoded() -> None:
    # The bot checks headers only; the worker decodes and skips what its decoder cannot read.
    data = jpeg_bytes(Image.effect_noise((400, 300), 60).convert("RGB"))
    cut = data[: len(data) // 2]
    assert check_image_bytes(cut, "half.jpg") is None
    assert decode_image(cut) is SkipReason.CORRUPT


# Runs in its own process, so its peak RSS is the download path's alone: a Slack stand-in serves four
# 36 MP PNGs, the bot's download code fetches and checks them, and the peak RSS is printed before and
# after (kB, from getrusage: Linux reports ru_maxrss in kB).
MEASURE_DOWNLOAD = """
import resource, sys
from pathlib import Path
from slack_standin import SlackStandin
from bot.slack.finetune.downloads import download_images
from storage.images import RecordedImage

png = Path(sys.argv[1]).read_bytes()
with SlackStandin() as slack:
    files = [slack.add_file(png, name=f"poster-{i}.png", mimetype="image/png", user="U0ALICE001")
             for i in range(4)]
    images = [RecordedImage(channel="C1", file_id=f["id"], ts="1.0", name=f["name"], label="poster",
                            size=f["size"], url=f["url_private_download"], mimetype="image/png")
              for f in files]
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    result = download_images(images, token=slack.bot_token)
    after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(len(png), result.usable, len(result.skipped), before, after)
"""


def test_the_bot_checks_huge_images_in_bounded_memory(tmp_path: Path) -> None:
    """Issue 8, finding 8: four 105 kB PNGs of 6000x6000 took the bot from 65 MB to 972 MB when it
    decoded them to check them. From their headers, the four pass in a few MB."""
    tests = Path(__file__).resolve().parent
    env = dict(os.environ, PYTHONPATH=f"{tests.parent}:{tests}")
    poster = tmp_path / "poster.png"
    poster.write_bytes(poster_png())  # made here: making it takes the 108 MB the bot must not
    done = subprocess.run([sys.executable, "-c", MEASURE_DOWNLOAD, str(poster)], capture_output=True,
                          text=True, env=env, timeout=120)
    assert done.returncode == 0, done.stderr
    size, usable, skipped, before_kb, after_kb = map(int, done.stdout.split())
    print(f"bot RSS while checking four {size // 1000} kB PNGs of 6000x6000: {before_kb // 1024} MB before, "
          f"{after_kb // 1024} MB after")
    assert usable == 4 and skipped == 0  # 36 MP is under the 40 MP limit: they are images to use
    assert after_kb - before_kb < 30 * 1024  # decoded, one alone would take 108 MB

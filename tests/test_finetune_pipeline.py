"""The demo end to end on real photos: crops of scikit-image's shipped pictures, bad files mixed in,
through `tutor finetune --json` (a warm worker process, embedding, both arms, chart), then a
classify job with the head it wrote."""

from __future__ import annotations

import argparse
import io
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import torch
from finetune_photos import crops, make_photo_folder
from PIL import Image

from bot.finetune import cli
from bot.finetune.arms import compare_arms
from bot.finetune.backbone import cached_backbone
from bot.finetune.folds import choose_folds
from bot.finetune.images import MAX_FILE_BYTES, SkipReason
from bot.finetune.request import ClassifyRequest, ImageData
from bot.worker.engine import WarmWorker

REPO = Path(__file__).resolve().parents[1]
LABELS = {"astronaut": 10, "cat": 10, "coffee": 10}


def add_bad_files(root: Path) -> None:
    """One file of every kind the demo must skip."""
    (root / "cat" / "notes.txt").write_text("Ann took these at home")
    (root / "cat" / "from-slack.jpg").write_bytes(
        b"<!DOCTYPE html><html><body>Sign in to Slack</body></html>"
    )
    good = (root / "coffee" / "coffee-00.jpg").read_bytes()
    (root / "coffee" / "half.jpg").write_bytes(good[: len(good) // 3])
    with open(root / "astronaut" / "huge.jpg", "wb") as f:
        f.write(good)
        f.truncate(MAX_FILE_BYTES + 1)
    Image.new("1", (8000, 6000)).save(root / "astronaut" / "poster.png")  # 48 megapixels, a small file


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Any], Path]:
    base = tmp_path_factory.mktemp("demo")
    root = make_photo_folder(base / "photos", LABELS)
    add_bad_files(root)
    env = dict(os.environ, PYTHONPATH=str(REPO))
    command = [
        sys.executable,
        "-m",
        "bot.finetune.cli",
        str(root),
        "--json",
        "--budget",
        "2",
        "--device",
        "cpu",
        "--out",
        str(base / "out"),
    ]
    done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=240)
    assert done.returncode == 0, done.stderr
    assert "[embedding] embedding 30/30 images" in done.stderr  # progress goes to stderr
    return json.loads(done.stdout), base


@pytest.mark.slow
def test_json_report_of_a_real_run(demo: tuple[dict[str, Any], Path]) -> None:
    report, _ = demo
    assert report["device"] == "cpu"
    assert report["classes"] == ["astronaut", "cat", "coffee"]
    assert report["images"] == 30 and report["images_per_class"] == LABELS
    assert report["split"] == "stratified 25% held out" and report["held_out"] == 9
    for arm in ("pretrained", "scratch"):
        assert 0.0 <= report[arm]["accuracy"] <= 1.0
        assert report[arm]["seconds"] >= 0.0
        assert sum(map(sum, report[arm]["confusion"])) == 9
        assert set(report[arm]["per_class"]) == set(LABELS)
    pre = report["pretrained"]
    assert pre["accuracy"] >= 8 / 9  # ImageNet features tell these photos apart at once
    assert pre["seconds"] >= report["embed_s"] > 0  # its clock includes embedding
    assert report["scratch"]["method"] == "small CNN, 64 px"
    assert report["worker"]["engine"] == "local" and report["worker"]["pid"] > 0
    assert report["time_ratio"] is None or report["time_ratio"] > 0


@pytest.mark.slow
def test_every_bad_file_is_skipped_and_counted(demo: tuple[dict[str, Any], Path]) -> None:
    report, _ = demo
    assert {s["name"]: s["reason"] for s in report["skipped"]} == {
        "astronaut/huge.jpg": SkipReason.TOO_LARGE.value,
        "astronaut/poster.png": SkipReason.TOO_MANY_PIXELS.value,
        "cat/from-slack.jpg": SkipReason.HTML_PAGE.value,
        "cat/notes.txt": SkipReason.NOT_IMAGE.value,
        "coffee/half.jpg": SkipReason.CORRUPT.value,
    }


@pytest.mark.slow
def test_chart_is_a_png(demo: tuple[dict[str, Any], Path]) -> None:
    report, base = demo
    chart = Path(report["chart"])
    assert chart.parent == base / "out" and Path(report["head"]).parent == base / "out"
    with Image.open(chart) as image:
        assert image.format == "PNG" and image.width > 400 and image.height > 300


@pytest.mark.slow
def test_classify_with_the_saved_head(demo: tuple[dict[str, Any], Path], tmp_path: Path) -> None:
    report, _ = demo
    new = {"cat": crops("cat", 2, seed=99), "coffee": crops("coffee", 1, seed=99)}
    images = []
    for label, pictures in new.items():
        for i, picture in enumerate(pictures):
            buffer = io.BytesIO()
            picture.save(buffer, "PNG")
            images.append(ImageData(f"{label}-{i}.png", None, buffer.getvalue()))
    images.append(ImageData("not-a-picture.jpg", None, b"hello"))
    request = ClassifyRequest(head=Path(report["head"]).read_bytes(), images=tuple(images), top_k=2)
    worker = WarmWorker(keep_warm=False)
    try:
        outcome = worker.run("classify", request.to_dict())
    finally:
        worker.close()
    assert outcome.ok, outcome.error
    assert outcome.result is not None
    ranked = outcome.result["ranked"]
    assert [r[0][0] for r in ranked[:3]] == ["cat", "cat", "coffee"]
    assert all(len(r) == 2 and r[0][1] >= r[1][1] and 0 <= r[1][1] <= 1 for r in ranked[:3])
    assert ranked[3] == []


def parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    cli.add_arguments(parser)
    return parser.parse_args(list(argv))


@pytest.mark.slow
def test_human_report_with_leave_one_out(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = make_photo_folder(tmp_path / "photos", {"cat": 3, "rocket": 4})
    (root / "one-picture").mkdir()
    crops("astronaut", 1)[0].save(root / "one-picture" / "a.jpg")
    code = cli.run(parse(str(root), "--budget", "0.5", "--device", "cpu", "--out", str(tmp_path / "out")))
    out = capsys.readouterr().out
    assert code == 0
    assert "7 images of 2 labels (cat 3, rocket 4)" in out
    assert "leave-one-out" in out and "7 held-out predictions" in out
    assert "Label 'one-picture' was left out: it has 1 usable image(s)" in out
    assert "<- predicted" in out and f"chart: {tmp_path / 'out' / 'finetune-chart.png'}" in out


def test_too_few_labels_says_what_to_add(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = make_photo_folder(tmp_path / "photos", {"cat": 4, "coffee": 2})
    assert cli.run(parse(str(root))) == 2
    assert "add 1 more to coffee" in capsys.readouterr().err
    assert cli.run(parse(str(tmp_path / "nowhere"))) == 2
    assert "is not a folder" in capsys.readouterr().err


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the message on machines without a GPU")
def test_cuda_without_a_gpu_is_a_clear_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = make_photo_folder(tmp_path / "photos", {"cat": 3, "coffee": 3})
    assert cli.run(parse(str(root), "--device", "cuda", "--out", str(tmp_path / "out"))) == 2
    assert "--device cuda was asked for, but torch sees no CUDA GPU here" in capsys.readouterr().err


def test_unknown_backbone_through_the_cli(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = make_photo_folder(tmp_path / "photos", {"cat": 3, "coffee": 3})
    code = cli.run(
        parse(str(root), "--backbone", "no_such_net", "--device", "cpu", "--out", str(tmp_path / "o"))
    )
    assert code == 2
    assert "unknown backbone 'no_such_net': not a timm model name" in capsys.readouterr().err


@pytest.mark.slow
def test_fine_tuning_the_last_block_runs_on_cpu_too() -> None:
    """The GPU path (linear head, then the last block fine-tuned from its cached input), forced on."""
    images = [im.convert("RGB") for name in ("cat", "rocket") for im in crops(name, 6)]
    labels = [0] * 6 + [1] * 6
    split, folds = choose_folds(labels)
    cached, _ = cached_backbone("tf_efficientnet_lite0", "cpu")  # loaded already, as in a warm worker
    before = {k: v.clone() for k, v in cached.model.state_dict().items()}
    result = compare_arms(
        images,
        labels,
        ["cat", "rocket"],
        folds,
        device=torch.device("cpu"),
        backbone_name="tf_efficientnet_lite0",
        budget_s=6.0,
        image_size=160,
        finetune=True,
    )
    assert split.startswith("stratified")
    assert result.pretrained.method == "linear head, then last block fine-tuned"
    assert result.pretrained.accuracy == 1.0
    assert result.image_size == 160 and result.held_out == 4
    assert result.pretrained.curve[-1][0] >= 6.0  # fine-tuning used the rest of the budget
    after = cached.model.state_dict()  # fine-tuned on a copy: the shared backbone is as loaded
    assert cached is result.backbone and all(torch.equal(before[k], after[k]) for k in before)

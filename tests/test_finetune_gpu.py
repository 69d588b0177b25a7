"""The demo on a CUDA GPU (skipped elsewhere; bench/gpu_check.sh runs these on a GPU machine):
bf16 autocast and channels_last give the same answers as the CPU, the scratch arm is the backbone's
own architecture, and the last block is fine-tuned after the new head."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from finetune_photos import crops, make_photo_folder
from PIL import Image
from skimage import data

from bot.finetune.backbone import build_lite0_imagenet
from bot.finetune.embedding import to_tensor
from bot.finetune.jobs import DemoRequest, DemoRunner
from bot.finetune.report import FinetuneReport
from bot.finetune.train import autocast, normalize

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")


def test_bf16_channels_last_logits_agree_with_cpu() -> None:
    photos = [Image.fromarray(np.asarray(p)).convert("RGB") for p in (data.chelsea(), data.coffee())]
    photos += crops("astronaut", 2) + crops("rocket", 2)
    pixels = to_tensor(photos, 224)
    model = build_lite0_imagenet()
    with torch.inference_mode():
        on_cpu = model(normalize(pixels, (0.5,) * 3, (0.5,) * 3)).softmax(-1)
        gpu = model.to("cuda").to(memory_format=torch.channels_last)
        with autocast(torch.device("cuda")):
            on_gpu = gpu(normalize(pixels.to("cuda"), (0.5,) * 3, (0.5,) * 3)).float().softmax(-1).cpu()
    assert torch.equal(on_cpu.argmax(-1), on_gpu.argmax(-1))
    assert (on_cpu - on_gpu).abs().max() < 0.05  # bf16 rounding, not a different network


@pytest.fixture(scope="module")
def gpu_report(tmp_path_factory: pytest.TempPathFactory) -> FinetuneReport:
    base = tmp_path_factory.mktemp("gpu")
    root = make_photo_folder(base / "photos", {"astronaut": 10, "cat": 10, "coffee": 10})
    runner = DemoRunner(lock_path=base / "lock", time_limit_s=240)
    outcome = runner.run(DemoRequest(root, base / "out", budget_s=4.0))  # device None: picks cuda
    assert outcome.ok and outcome.report is not None, outcome.error
    return outcome.report


def test_demo_runs_on_the_gpu(gpu_report: FinetuneReport) -> None:
    assert gpu_report.device == f"cuda ({torch.cuda.get_device_name()})"
    assert gpu_report.pretrained.method == "linear head, then last block fine-tuned"
    assert gpu_report.scratch.method == "tf_efficientnet_lite0, random init, 224 px"
    assert gpu_report.pretrained.accuracy >= 8 / 9
    assert gpu_report.held_out == 9 and Path(gpu_report.chart).is_file()
    assert gpu_report.scratch.steps > 10  # the GPU gets through many steps in the budget


def test_classify_on_the_gpu(gpu_report: FinetuneReport, tmp_path: Path) -> None:
    paths = []
    for label in ("cat", "coffee"):
        paths.append(tmp_path / f"{label}.png")
        crops(label, 1, seed=7)[0].save(paths[-1])
    ranked = DemoRunner(lock_path=tmp_path / "lock").classify(Path(gpu_report.head_path), paths)
    assert [r[0][0] for r in ranked] == ["cat", "coffee"]

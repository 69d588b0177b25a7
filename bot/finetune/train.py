"""Training the two arms (torch; the worker process only).

Pre-trained arm: features from the frozen backbone are computed once, then one linear head per fold
is trained on them (all folds at once, as one batched matrix product). On a GPU the last block of an
EfficientNet-style backbone is then fine-tuned too, from its cached input. Scratch arm: the same task
from random initialisation, one model per fold, for the same time budget.
All times are seconds on the arm's ArmClock; evaluation runs with the clock paused.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from bot.finetune.folds import ArmClock, Fold, Record

HEAD_STEPS = 300  # full-batch Adam steps for a linear head; it has converged by then
HEAD_LR = 1e-2
HEAD_WEIGHT_DECAY = 1e-3
Progress = Callable[[float, float], None]  # (seconds on the arm's clock, held-out accuracy 0-1)


def autocast(device: torch.device) -> contextlib.AbstractContextManager:
    """bf16 autocast on CUDA; nothing on CPU (bf16 there is slower on most CPUs)."""
    if device.type == "cuda":
        return torch.autocast(device_type="cuda", dtype=torch.bfloat16)
    return contextlib.nullcontext()


def normalize(images: torch.Tensor, mean: Sequence[float], std: Sequence[float]) -> torch.Tensor:
    """uint8 [N,3,H,W] -> float [N,3,H,W] channels_last, (x/255 - mean) / std."""
    m = torch.tensor(mean, device=images.device).view(1, 3, 1, 1)
    s = torch.tensor(std, device=images.device).view(1, 3, 1, 1)
    x = (images.float() / 255.0 - m) / s
    return x.contiguous(memory_format=torch.channels_last)


@dataclass
class LinearHeads:
    """One linear classifier per fold on standardised features: logits[f] = ((x - mean[f]) / std[f])
    @ weight[f] + bias[f]. Shapes: mean/std [F,D], weight [F,D,C], bias [F,C]."""

    mean: torch.Tensor
    std: torch.Tensor
    weight: torch.Tensor
    bias: torch.Tensor

    def logits(self, features: torch.Tensor) -> torch.Tensor:
        """features [N,D] -> logits [F,N,C]."""
        x = (features.unsqueeze(0) - self.mean.unsqueeze(1)) / self.std.unsqueeze(1)
        return torch.baddbmm(self.bias.unsqueeze(1), x, self.weight)

    def as_linear(self, fold: int = 0) -> nn.Linear:
        """Fold `fold`'s head with the standardisation folded in, as a plain nn.Linear(D, C)."""
        weight = self.weight[fold] / self.std[fold].unsqueeze(1)
        bias = self.bias[fold] - (self.mean[fold] / self.std[fold]) @ self.weight[fold]
        linear = nn.Linear(weight.shape[0], weight.shape[1]).to(weight.device)
        with torch.no_grad():
            linear.weight.copy_(weight.t())
            linear.bias.copy_(bias)
        return linear


def fold_mask(n: int, folds: Sequence[Fold], device: torch.device) -> torch.Tensor:
    mask = torch.zeros(len(folds), n, device=device)
    for f, fold in enumerate(folds):
        mask[f, fold.train] = 1.0
    return mask


def fold_predictions(logits: torch.Tensor, folds: Sequence[Fold]) -> list[int]:
    """logits [F,N,C] -> each fold's predictions on its own test items, folds in order."""
    best = logits.argmax(dim=-1).tolist()
    return [best[f][i] for f, fold in enumerate(folds) for i in fold.test]


def train_linear_heads(
    features: torch.Tensor,
    labels: torch.Tensor,
    folds: Sequence[Fold],
    num_classes: int,
    clock: ArmClock,
    record: Record | None,
    *,
    budget_s: float,
    steps: int = HEAD_STEPS,
    min_steps: int = 50,
) -> tuple[LinearHeads, int]:
    """Train one head per fold on features [N,D] (float32) until `steps` or the budget runs out
    (but at least min_steps, so a slow embedding still yields a head). Returns heads and steps run."""
    n, dim = features.shape
    mask = fold_mask(n, folds, features.device)
    count = mask.sum(1, keepdim=True)
    mean = (mask @ features) / count
    var = (mask @ features.pow(2)) / count - mean.pow(2)
    heads = LinearHeads(
        mean,
        var.clamp_min(1e-6).sqrt(),
        torch.zeros(len(folds), dim, num_classes, device=features.device),
        torch.zeros(len(folds), num_classes, device=features.device),
    )
    heads.weight.requires_grad_(True)
    heads.bias.requires_grad_(True)
    optimizer = torch.optim.Adam([heads.weight, heads.bias], lr=HEAD_LR)
    targets = labels.unsqueeze(0).expand(len(folds), n)
    step = 0
    while step < steps and (step < min_steps or clock.elapsed() < budget_s):
        logits = heads.logits(features)
        per_item = F.cross_entropy(logits.reshape(-1, num_classes), targets.reshape(-1), reduction="none")
        loss = ((per_item.view(len(folds), n) * mask).sum(1) / count.squeeze(1)).sum()
        loss = loss + HEAD_WEIGHT_DECAY * heads.weight.pow(2).sum()
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        step += 1
        if record is not None and (step % 10 == 0 or step in (1, steps)):
            with clock.paused(), torch.no_grad():
                record.add(clock.elapsed(), fold_predictions(heads.logits(features), folds))
    heads.weight.requires_grad_(False)
    heads.bias.requires_grad_(False)
    return heads, step


def finetune_last_block(
    tail: Callable[[torch.Tensor], torch.Tensor],
    tail_modules: nn.Module,
    head: nn.Linear,
    trunk_out: torch.Tensor,
    labels: torch.Tensor,
    fold: Fold,
    clock: ArmClock,
    record: Record,
    *,
    budget_s: float,
    eval_every_s: float,
) -> int:
    """Fine-tune the backbone's last block and head on the cached trunk outputs [N,c,h,w] of one fold,
    until the budget runs out. BatchNorm statistics stay frozen (eval mode): a few dozen images would
    spoil them. Returns the steps run."""
    device = trunk_out.device
    tail_modules.eval()
    tail_params, head_params = list(tail_modules.parameters()), list(head.parameters())
    for p in tail_params + head_params:
        p.requires_grad_(True)
    groups = [{"params": tail_params, "lr": 1e-4}, {"params": head_params, "lr": 1e-3}]
    optimizer = torch.optim.AdamW(groups, weight_decay=1e-4)
    train = torch.tensor(fold.train, device=device)
    test = torch.tensor(fold.test, device=device)
    generator = torch.Generator(device="cpu").manual_seed(len(fold.train))
    step, next_eval = 0, clock.elapsed() + eval_every_s
    while clock.elapsed() < budget_s:
        batch = train[torch.randperm(len(train), generator=generator)[:64].to(device)]
        with autocast(device):
            logits = head(tail(trunk_out[batch]).float())
        loss = F.cross_entropy(logits.float(), labels[batch])
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        step += 1
        if clock.elapsed() >= next_eval or clock.elapsed() >= budget_s:
            with clock.paused(), torch.no_grad(), autocast(device):
                record.add(clock.elapsed(), head(tail(trunk_out[test]).float()).argmax(-1).tolist())
            next_eval = clock.elapsed() + eval_every_s
    return step


def small_cnn(num_classes: int, width: int = 16) -> nn.Module:
    """The CPU baseline: four conv-BN-ReLU stages, global average pooling, a linear layer (~0.1 M
    parameters at width 16); small enough to learn in seconds on 64 px inputs. Width 16 learned best
    in a 10 s budget on 2 CPU cores (bench: widths 8, 16, 32 tried at 10 images per class)."""
    layers: list[nn.Module] = []
    channels = 3
    for i, out in enumerate((width, 2 * width, 4 * width, 8 * width)):
        layers += [
            nn.Conv2d(channels, out, 3, padding=1, bias=False),
            nn.BatchNorm2d(out),
            nn.ReLU(inplace=True),
        ]
        if i < 3:
            layers.append(nn.MaxPool2d(2))
        channels = out
    layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Dropout(0.2), nn.Linear(channels, num_classes)]
    return nn.Sequential(*layers)


def augment(images: torch.Tensor, generator: torch.Generator, pad: int) -> torch.Tensor:
    """Random horizontal flips and shifts of up to `pad` pixels (reflect padding), per image."""
    n, _, h, w = images.shape
    flips = torch.rand(n, generator=generator) < 0.5
    images = torch.where(flips.view(n, 1, 1, 1).to(images.device), images.flip(-1), images)
    padded = F.pad(images, (pad, pad, pad, pad), mode="reflect")
    offsets = torch.randint(0, 2 * pad + 1, (n, 2), generator=generator).tolist()
    return torch.stack([padded[i, :, dy : dy + h, dx : dx + w] for i, (dy, dx) in enumerate(offsets)])


def _batches(fold: Fold, generator: torch.Generator, size: int) -> Iterator[list[int]]:
    while True:
        order = torch.randperm(len(fold.train), generator=generator).tolist()
        for start in range(0, len(order), size):
            yield [fold.train[i] for i in order[start : start + size]]


def train_scratch(
    make_model: Callable[[], nn.Module],
    images: torch.Tensor,
    labels: torch.Tensor,
    folds: Sequence[Fold],
    clock: ArmClock,
    record: Record,
    *,
    budget_s: float,
    eval_every_s: float,
    lr: float,
    seed: int,
    batch_size: int = 64,
    progress: Progress | None = None,
) -> int:
    """Train one freshly initialised model per fold on normalised images [N,3,H,W] (on their device)
    with flips and shifts and a cosine learning-rate decay over the budget, round-robin, until the
    budget runs out. Returns the optimizer steps run (per model)."""
    device = images.device
    generator = torch.Generator(device="cpu").manual_seed(seed)
    torch.manual_seed(seed)
    models = [make_model().to(device).to(memory_format=torch.channels_last) for _ in folds]
    optimizers = [torch.optim.AdamW(m.parameters(), lr=lr, weight_decay=5e-4) for m in models]
    streams = [_batches(fold, generator, batch_size) for fold in folds]
    pad = max(2, images.shape[-1] // 16)
    step, next_eval, next_note = 0, 0.0, 0.0
    while True:
        # Cosine decay over the time budget (known in advance): the model at the end of the budget is
        # a settled one, not a snapshot of a noisy constant-rate walk.
        rate = lr * 0.5 * (1 + math.cos(math.pi * min(1.0, clock.elapsed() / budget_s)))
        for model, optimizer, stream in zip(models, optimizers, streams, strict=True):
            for group in optimizer.param_groups:
                group["lr"] = rate
            model.train()
            batch = next(stream)
            x = augment(images[batch], generator, pad).contiguous(memory_format=torch.channels_last)
            with autocast(device):
                loss = F.cross_entropy(model(x).float(), labels[batch])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
        step += 1
        elapsed = clock.elapsed()
        done = elapsed >= budget_s
        if done or elapsed >= next_eval:
            with clock.paused(), torch.no_grad(), autocast(device):
                predictions: list[int] = []
                for model, fold in zip(models, folds, strict=True):
                    model.eval()
                    predictions += model(images[fold.test]).float().argmax(-1).tolist()
                accuracy = record.add(elapsed, predictions)
            next_eval = elapsed + eval_every_s
            if progress is not None and (done or elapsed >= next_note):
                progress(elapsed, accuracy)
                next_note = elapsed + max(2.0, budget_s / 5)
        if done:
            return step

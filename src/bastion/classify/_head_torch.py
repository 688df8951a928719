"""PyTorch training of one context head (context_head.py); imported only when training."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from bastion.classify.context_head import (
    ATTENTION_HEADS,
    BATCH,
    EPOCHS,
    LEARNING_RATE,
    PROJECTED,
)


class _Head(nn.Module):  # type: ignore[misc]
    def __init__(self, classes: int) -> None:
        super().__init__()
        self.norm = nn.LayerNorm(384)
        self.drop_in = nn.Dropout(0.1)
        self.project = nn.Linear(384, PROJECTED)
        self.gelu = nn.GELU(approximate="tanh")
        self.attend = nn.Linear(PROJECTED, ATTENTION_HEADS)
        self.out = nn.Linear(PROJECTED * ATTENTION_HEADS + 384, classes)
        self.drop_out = nn.Dropout(0.2)

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        h = self.gelu(self.project(self.drop_in(self.norm(x))))
        weights = self.attend(h).masked_fill(~mask[..., None], -1e9).softmax(1)
        pooled = torch.einsum("bta,btd->bad", weights, h).flatten(1)
        mean = (x * mask[..., None]).sum(1) / mask.sum(1, keepdim=True)
        return self.out(self.drop_out(torch.cat([pooled, mean], 1)))


def _padded(states: list[np.ndarray]) -> tuple[torch.Tensor, torch.Tensor]:
    width = max(len(s) for s in states)
    x = torch.zeros(len(states), width, 384)
    mask = torch.zeros(len(states), width, dtype=torch.bool)
    for i, s in enumerate(states):
        x[i, : len(s)] = torch.from_numpy(s.astype(np.float32))
        mask[i, : len(s)] = True
    return x, mask


def train_one(
    states: list[np.ndarray], targets: list[int], classes: int, seed: int
) -> dict[str, np.ndarray]:
    """Fit one head (class-balanced cross-entropy, one-cycle AdamW); its weights as numpy."""
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    y = torch.tensor(targets)
    counts = torch.bincount(y, minlength=classes).float()
    weight = counts.sum() / (classes * counts.clamp(min=1))
    model = _Head(classes)
    optimiser = torch.optim.AdamW(model.parameters(), lr=LEARNING_RATE, weight_decay=0.01)
    # Batches of similar length waste little padding; each is padded when it is used, so
    # memory holds the states once.
    order = sorted(range(len(states)), key=lambda i: len(states[i]))
    batches = [order[i : i + BATCH] for i in range(0, len(order), BATCH)]
    schedule = torch.optim.lr_scheduler.OneCycleLR(
        optimiser, LEARNING_RATE, total_steps=EPOCHS * len(batches)
    )
    model.train()
    for _ in range(EPOCHS):
        for j in rng.permutation(len(batches)):
            x, mask = _padded([states[i] for i in batches[j]])
            target = y[batches[j]]
            loss = F.cross_entropy(model(x, mask), target, weight=weight, label_smoothing=0.05)
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
            schedule.step()
    return {
        "ln_w": model.norm.weight.detach().numpy(),
        "ln_b": model.norm.bias.detach().numpy(),
        "w1": model.project.weight.detach().numpy().T,
        "b1": model.project.bias.detach().numpy(),
        "wa": model.attend.weight.detach().numpy().T,
        "ba": model.attend.bias.detach().numpy(),
        "wo": model.out.weight.detach().numpy().T,
        "bo": model.out.bias.detach().numpy(),
    }

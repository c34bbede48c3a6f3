"""``--lr-schedule``: both players' learning rates as a function of the step, so a run ends on small, precise
steps instead of Adam's full-size jitter around the target (what separates 97 % from 99 % sharp samples on
the 2-D mixtures, docs/pitfalls.md).

The rate of a step depends only on the step and ``--steps``: nothing to checkpoint beyond each parameter
group's base rate, which is kept in the group as ``initial_lr`` (saved with the optimizer, halved by a
rollback), so a resumed run takes the very same steps.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch

#: the fraction of its base rate the step ``done`` of ``total`` takes: from 1 at the first step towards 0
FACTORS: dict[str, Callable[[int, int], float]] = {
    "linear": lambda done, total: 1.0 - done / total,
    "cosine": lambda done, total: 0.5 * (1.0 + math.cos(math.pi * done / total)),
}


def set_rates(optimizers: tuple[torch.optim.Optimizer, ...], schedule: str, done: int, total: int) -> None:
    """Set each group's rate for the step after ``done`` steps of ``total``; ``constant`` leaves them alone."""
    factor = FACTORS.get(schedule)
    if factor is None:
        return
    scale = factor(done, total)
    for optimizer in optimizers:
        for group in optimizer.param_groups:
            group["lr"] = group.setdefault("initial_lr", group["lr"]) * scale

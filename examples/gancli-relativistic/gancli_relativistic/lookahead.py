"""Adam wrapped in Lookahead (Zhang et al. 2019), which Chavdarova et al. (2021) found to damp the rotations of GAN
training."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

import torch


class LookaheadAdam(torch.optim.Adam):
    """Adam as the fast optimizer; every ``k`` steps the slow weights move ``alpha`` of the way to the
    fast ones and the fast weights restart from there (Zhang et al. 2019, "Lookahead Optimizer: k steps
    forward, 1 step back").

    The slow weights live in the optimizer state and ``k``/``alpha`` in the parameter groups, so they are
    saved in gancli's checkpoints and a resumed run continues exactly.
    """

    def __init__(
        self,
        params: Iterable[torch.nn.Parameter],
        lr: float,
        betas: tuple[float, float],
        k: int,
        alpha: float,
    ) -> None:
        if k < 1:
            raise ValueError(f"k must be at least 1, got {k}")
        if not 0.0 < alpha <= 1.0:
            raise ValueError(f"alpha must be in (0, 1], got {alpha}")
        super().__init__(params, lr=lr, betas=betas)
        for group in self.param_groups:
            group["k"], group["alpha"] = k, alpha

    @torch.no_grad()
    def step(self, closure: Callable[[], float] | None = None) -> float | None:
        # Adam creates a parameter's state on its first step, so the starting weights are copied here.
        start = {
            p: p.detach().clone()
            for group in self.param_groups
            for p in group["params"]
            if p.grad is not None and "slow" not in self.state[p]
        }
        loss = super().step(closure)
        for group in self.param_groups:
            for p in group["params"]:
                state = self.state[p]
                if p in start:
                    state["slow"] = start[p]
                if "slow" in state and int(state["step"]) % group["k"] == 0:
                    state["slow"].add_(p - state["slow"], alpha=group["alpha"])
                    p.copy_(state["slow"])
        return loss


def lookahead(params: Iterable[torch.nn.Parameter], lr: float, options: Mapping[str, Any]) -> LookaheadAdam:
    return LookaheadAdam(params, lr, (options["beta1"], options["beta2"]), options["k"], options["alpha"])

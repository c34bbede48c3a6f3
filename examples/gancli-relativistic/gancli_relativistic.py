"""A third-party gancli plugin: one loss, one optimizer and one architecture, registered through the hooks.

- ``ragan``: the relativistic average GAN (Jolicoeur-Martineau 2018, "The relativistic discriminator:
  a key element missing from standard GAN").
- ``lookahead``: Adam wrapped in Lookahead (Zhang et al. 2019), which Chavdarova et al. (2021) found to
  damp the rotations of GAN training.
- ``resmlp``: a residual MLP generator and discriminator for 2-D data (and any flat data).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

import torch
import torch.nn.functional as F
from gancli.losses.base import LogitLoss
from gancli.nets.common import NO_BATCHNORM, ArchSpec, check_requirements, numel
from gancli.plugins import Option, hookimpl
from torch import nn

# --- the loss ----------------------------------------------------------------------------------------------


class RelativisticAverage(LogitLoss):
    """RaGAN on D's logits C: D judges whether real data is more realistic than the average fake, and
    G whether fakes are more realistic than the average real sample.

    D: −log σ(C(x) − E C(G(z))) − log(1 − σ(C(G(z)) − E C(x)))
    G: −log σ(C(G(z)) − E C(x)) − log(1 − σ(C(x) − E C(G(z))))

    With −log σ(t) = softplus(−t) and −log(1 − σ(t)) = softplus(t). Unlike the standard GAN, G's loss
    depends on the real scores too, which is why ``g_loss`` receives ``d_real``.
    """

    g_loss_needs_real = True

    def d_loss(self, d_real: torch.Tensor, d_fake: torch.Tensor) -> torch.Tensor:
        return relativistic(d_real, d_fake)

    def g_loss(self, d_fake: torch.Tensor, d_real: torch.Tensor) -> torch.Tensor:
        return relativistic(d_fake, d_real)


def relativistic(favoured: torch.Tensor, other: torch.Tensor) -> torch.Tensor:
    """The RaGAN loss of the player who wants ``favoured`` judged more realistic than ``other``."""
    return F.softplus(-(favoured - other.mean())).mean() + F.softplus(other - favoured.mean()).mean()


def ragan(options: Mapping[str, Any]) -> RelativisticAverage:
    return RelativisticAverage()


# --- the optimizer -----------------------------------------------------------------------------------------


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


# --- the architecture --------------------------------------------------------------------------------------


class Residual(nn.Module):
    """x + f(x), f two LeakyReLU-activated linear layers: gradients reach the first layer undamped."""

    def __init__(self, width: int) -> None:
        super().__init__()
        self.f = nn.Sequential(nn.LeakyReLU(0.2), nn.Linear(width, width), nn.LeakyReLU(0.2), nn.Linear(width, width))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.f(x)


def residual_mlp(n_in: int, n_out: int, hidden: int, blocks: int) -> list[nn.Module]:
    return [
        nn.Linear(n_in, hidden),
        *(Residual(hidden) for _ in range(blocks)),
        nn.LeakyReLU(0.2),
        nn.Linear(hidden, n_out),
    ]


def resmlp(spec: ArchSpec, options: Mapping[str, Any]) -> tuple[nn.Module, nn.Module]:
    check_requirements("resmlp", spec, {NO_BATCHNORM})
    hidden, blocks = options["hidden"], options["blocks"]
    if hidden < 1 or blocks < 0:
        raise ValueError(f"need hidden ≥ 1 and blocks ≥ 0, got hidden={hidden}, blocks={blocks}")
    generator = nn.Sequential(
        *residual_mlp(spec.latent_dim, numel(spec.data_shape), hidden, blocks),
        nn.Unflatten(1, spec.data_shape),
        *([nn.Tanh()] if spec.is_image else []),
    )
    discriminator = nn.Sequential(nn.Flatten(), *residual_mlp(numel(spec.d_input_shape), 1, hidden, blocks))
    return generator, discriminator


# --- registration: what gancli calls -----------------------------------------------------------------------


@hookimpl
def register_losses(register: Any) -> None:
    register(
        "ragan",
        ragan,
        "relativistic average GAN (Jolicoeur-Martineau 2018)",
        recommends={"optimizer": "adam", "lr": 2e-4, "options": {"adam": {"beta1": 0.5}}},
    )


@hookimpl
def register_optimizers(register: Any) -> None:
    register(
        "lookahead",
        lookahead,
        "Adam inside Lookahead: k fast steps, then one slow step (Zhang et al. 2019)",
        options=[
            Option("k", int, 5, "fast steps between synchronisations"),
            Option("alpha", float, 0.5, "how far the slow weights move towards the fast ones"),
            Option("beta1", float, 0.5, "Adam's first-moment decay"),
            Option("beta2", float, 0.999, "Adam's second-moment decay"),
        ],
    )


@hookimpl
def register_architectures(register: Any) -> None:
    register(
        "resmlp",
        resmlp,
        "residual MLP G and D (LeakyReLU, no normalisation); for 2-D data",
        options=[
            Option("hidden", int, 128, "units per layer"),
            Option("blocks", int, 2, "residual blocks in each network"),
        ],
    )

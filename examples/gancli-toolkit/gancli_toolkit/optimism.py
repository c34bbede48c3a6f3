"""Optimistic gradient descent-ascent (Daskalakis, Ilyas, Syrgkanis & Zeng 2018, "Training GANs with
Optimism"): both players step along g_t + β(g_t − g_(t−1)), with β = 1 the paper's 2·g_t − g_(t−1).

Simultaneous gradient descent circles away from the equilibrium of even the simplest bilinear game
min_θ max_w θ·w; the optimistic correction, a cheap stand-in for extragradient's look-ahead (one gradient per
step instead of two), makes it converge. The corrected field goes through each player's own optimizer: with
``--optimizer sgd`` this is exactly OGDA; Adam instead normalises the corrected field (the paper's Optimistic
Adam applies the correction to Adam's steps).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
from gancli.api import Game


class Optimistic:
    """The field v_t = (∇_D L_D, ∇_G L_G) at one batch, corrected by the previous step's field.

    The previous field is this rule's memory: ``state_dict``/``load_state_dict`` put it in gancli's checkpoints,
    so ``--resume`` continues with the field the uninterrupted run would have used.
    """

    def __init__(self, optimism: float) -> None:
        self.optimism = optimism
        self.previous: list[torch.Tensor] | None = None

    def step(self, game: Game) -> None:
        d_grads, g_grads = game.gradient_field(game.sample_real(), game.sample_latent())
        current = [g.detach() for g in [*d_grads, *g_grads]]
        previous = self.previous if self.previous is not None else current
        corrected = [g + self.optimism * (g - p) for g, p in zip(current, previous, strict=True)]
        self.previous = current
        game.set_grads(corrected[: len(d_grads)], corrected[len(d_grads) :])
        game.step_d()
        game.step_g()

    def state_dict(self) -> dict[str, Any]:
        return {"previous": self.previous} if self.previous is not None else {}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        self.previous = state.get("previous")


def optimistic(options: Mapping[str, Any]) -> Optimistic:
    return Optimistic(options["optimism"])

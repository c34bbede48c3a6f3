"""The Dirac-GAN (Mescheder et al. 2018, "Which Training Methods for GANs do actually Converge?"): data at 0,
G(z) = θ, D(x) = ψ·x, the only equilibrium θ = ψ = 0. The update rules are gancli's own, stepping a real ``Game``,
so the picture shows exactly what ``--update`` does: simultaneous gradient descent spirals out, alternating
circles, consensus (Mescheder et al. 2017) and extragradient spiral in.
"""

from __future__ import annotations

import io
import math
from collections.abc import Sequence

import numpy as np
import torch
from torch import nn

from gancli.losses.base import Loss
from gancli.plugins.registry import Registration
from gancli.train.game import Game


class DiracGenerator(nn.Module):
    """G(z) = θ for every z."""

    def __init__(self, theta: float) -> None:
        super().__init__()
        self.theta = nn.Parameter(torch.tensor(float(theta)))

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.theta.expand(z.shape[0], 1)


def dirac_game(loss: Loss, theta: float = 1.0, psi: float = 1.0, lr: float = 0.1) -> Game:
    """The Dirac-GAN at (θ, ψ) with plain gradient steps of size ``lr`` for both players."""
    generator = DiracGenerator(theta)
    discriminator = nn.Linear(1, 1, bias=False)  # D(x) = ψ·x
    with torch.no_grad():
        discriminator.weight.fill_(psi)
    return Game(
        generator,
        discriminator,
        loss,
        torch.optim.SGD(generator.parameters(), lr=lr),
        torch.optim.SGD(discriminator.parameters(), lr=lr),
        sample_real=lambda: torch.zeros(4, 1),  # the real data sit at 0
        sample_latent=lambda: torch.zeros(4, 1),
    )


def position(game: Game) -> tuple[float, float]:
    return game.G.theta.item(), game.D.weight.item()


def trajectory(rule: object, loss: Loss, steps: int, lr: float, start: tuple[float, float] = (1.0, 1.0)) -> np.ndarray:
    """(steps + 1, 2) positions (θ, ψ) of ``rule`` stepping the Dirac-GAN from ``start``."""
    game = dirac_game(loss, *start, lr=lr)
    points = [position(game)]
    for _ in range(steps):
        rule.step(game)  # type: ignore[attr-defined]
        points.append(position(game))
    return np.array(points)


def gradient_field(loss: Loss, thetas: np.ndarray, psis: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The direction each player moves, −(∂L_G/∂θ, ∂L_D/∂ψ), at every grid point."""
    u, v = np.zeros((len(psis), len(thetas))), np.zeros((len(psis), len(thetas)))
    for i, psi in enumerate(psis):
        for j, theta in enumerate(thetas):
            game = dirac_game(loss, theta, psi)
            d_grads, g_grads = game.gradient_field(game.sample_real(), game.sample_latent())
            u[i, j], v[i, j] = -g_grads[0].item(), -d_grads[0].item()
    return u, v


def dynamics_png(
    loss_reg: Registration, rules: Sequence[tuple[str, object]], steps: int, lr: float, width: float = 2.0
) -> bytes:
    """A PNG of the field with each rule's trajectory from (1, 1), and their distances to the equilibrium."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    loss = loss_reg.create()
    axis = np.linspace(-width, width, 17)
    u, v = gradient_field(loss, axis, axis)
    figure, (field, distance) = plt.subplots(1, 2, figsize=(12, 5.5), gridspec_kw={"width_ratios": [1.1, 1]})
    field.quiver(axis, axis, u, v, np.hypot(u, v), cmap="Greys", alpha=0.6)
    for name, rule in rules:
        path = trajectory(rule, loss, steps, lr)
        field.plot(path[:, 0], path[:, 1], lw=1.4, label=name)
        distance.plot(np.hypot(path[:, 0], path[:, 1]), label=name)
    field.plot([0], [0], "k*", ms=12)
    field.set(xlim=(-width, width), ylim=(-width, width), xlabel="θ (generator)", ylabel="ψ (discriminator)")
    field.set_title(f"Dirac-GAN, loss {loss_reg.name}, lr {lr}, {steps} steps from (1, 1)")
    field.legend(loc="lower left", fontsize=8)
    distance.axhline(math.sqrt(2), color="grey", lw=0.8, ls=":")
    distance.set(yscale="log", xlabel="step", ylabel="distance to the equilibrium ‖(θ, ψ)‖")
    distance.legend(fontsize=8)
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=110)
    plt.close(figure)
    return buffer.getvalue()

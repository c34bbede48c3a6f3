"""Update rules: how one training step moves the two players.

Each rule's ``step(game)`` does one generator update and the discriminator updates that go with it, using
only ``gancli.train.Game``; the training loop calls nothing else.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Protocol

import torch

from gancli.train.game import Game

if TYPE_CHECKING:
    from gancli.plugins.registry import Registration


class UpdateRule(Protocol):
    def step(self, game: Game) -> None: ...


def is_update_rule(obj: Any) -> bool:
    """What an update rule's factory must return: anything with a ``step(game)``."""
    return callable(getattr(obj, "step", None))


def first_step(reg: Registration, rule: UpdateRule, game: Game) -> None:
    """The rule's first step, refused naming the rule when it left a player as it was (no ``step_d``/``step_g``
    and the same weights): a rule that never steps G would otherwise train all its steps and end without a
    word. A step the optimizer skipped (an fp16 overflow) still counts as the player's."""
    players = (("D", game.d_params, game.d_updates), ("G", game.g_params, game.g_updates))
    before = [[p.detach().clone() for p in params] for _, params, _ in players]
    rule.step(game)
    after = (game.d_updates, game.g_updates)
    for (player, params, updates), old, now in zip(players, before, after, strict=True):
        if now == updates and params and all(torch.equal(p.detach(), q) for p, q in zip(params, old, strict=True)):
            raise reg.error(
                f"update rule {reg.name!r}: its first step left {player}'s weights unchanged; step(game) must update "
                "both players (game.step_d() and game.step_g())"
            )


class Alternating:
    """The seeds' algorithm (Goodfellow et al. 2014, Alg. 1): k discriminator steps, then one generator step."""

    def step(self, game: Game) -> None:
        for _ in range(game.d_steps):
            real = game.sample_real()
            with torch.no_grad():
                fake = game.generate()
            game.zero_grad()
            game.d_loss(real, fake).backward()
            game.step_d()
        z = game.sample_latent()
        game.zero_grad()
        # only G's gradients: D's weight gradients would be computed here and zeroed unused by the next D step
        game.g_loss(game.G(z), real, z).backward(inputs=game.g_params)
        game.step_g()


class Simultaneous:
    """Both players follow the gradient field v at the same point: the dynamics consensus corrects."""

    def step(self, game: Game) -> None:
        d_grads, g_grads = game.gradient_field(game.sample_real(), game.sample_latent())
        game.set_grads(d_grads, g_grads)
        game.step_d()
        game.step_g()


class Consensus:
    """Consensus optimization (Mescheder et al. 2017, "The Numerics of GANs"): follow v + γ·∇(½‖v‖²).

    The extra term pulls both players towards points where the field is small, damping the rotation
    around the equilibrium that makes simultaneous gradient descent circle or diverge. ∇½‖v‖² = Jᵀv (J the
    field's Jacobian) is taken as a vector-Jacobian product with the field averaged over the processes, so that
    on several processes the averaged step is J̄ᵀv̄ of the global batch, not the mean of each shard's own.
    """

    def __init__(self, gamma: float) -> None:
        self.gamma = gamma

    def step(self, game: Game) -> None:
        d_grads, g_grads = game.gradient_field(game.sample_real(), game.sample_latent(), create_graph=True)
        field = [*d_grads, *g_grads]
        mean_field = game.average([g.detach() for g in field])
        params = game.d_params + game.g_params
        connected = [(g, m) for g, m in zip(field, mean_field, strict=True) if g.requires_grad]
        products = torch.autograd.grad(
            [g for g, _ in connected], params, grad_outputs=[m for _, m in connected], allow_unused=True
        )
        regulariser = [torch.zeros_like(p) if r is None else r for p, r in zip(params, products, strict=True)]
        d_reg, g_reg = regulariser[: len(d_grads)], regulariser[len(d_grads) :]
        game.set_grads(
            [g + self.gamma * r for g, r in zip(d_grads, d_reg, strict=True)],
            [g + self.gamma * r for g, r in zip(g_grads, g_reg, strict=True)],
        )
        game.step_d()
        game.step_g()


class Extragradient:
    """Extragradient (Korpelevich 1976; Gidel et al. 2019): take a look-ahead gradient step with each
    player's learning rate, then update from the starting point with the gradients found there."""

    def step(self, game: Game) -> None:
        real, z = game.sample_real(), game.sample_latent()
        params = game.d_params + game.g_params
        start = [p.detach().clone() for p in params]
        d_grads, g_grads = game.gradient_field(real, z)
        d_grads, g_grads = game.average(d_grads), game.average(g_grads)  # every process looks ahead alike
        with torch.no_grad():
            for opt, ps, gs in ((game.opt_d, game.d_params, d_grads), (game.opt_g, game.g_params, g_grads)):
                torch._foreach_add_(ps, gs, alpha=-opt.param_groups[0]["lr"])
        d_grads, g_grads = game.gradient_field(real, z)
        with torch.no_grad():
            torch._foreach_copy_(params, start)
        game.set_grads(d_grads, g_grads)
        game.step_d()
        game.step_g()


def consensus(options: Mapping[str, Any]) -> UpdateRule:
    return Consensus(options["gamma"])

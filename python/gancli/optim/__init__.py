"""Optimizers (one per player) and update rules (how the players' steps combine): the built-in plugin.

Registered by reference, so listing them imports no torch: ``optimizers`` holds the torch.optim factories,
``rules`` the update rules.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from gancli.lazy import lazy_attributes
from gancli.plugins import Option, hookimpl, without_options

if TYPE_CHECKING:
    from gancli.optim.rules import UpdateRule

__all__ = ["UpdateRule"]
__getattr__, __dir__ = lazy_attributes(globals(), {"UpdateRule": "gancli.optim.rules:UpdateRule"})

#: the range of a moving average's decay (Adam's betas, RMSProp's alpha, momentum): [0, 1), as torch requires
#: of the betas; at 1 the average never moves
DECAY: dict[str, Any] = {"min": 0, "max": 1, "max_open": True}


@hookimpl
def register_optimizers(register: Any) -> None:
    register(
        "adam",
        "gancli.optim.optimizers:adam",
        "Adam (Kingma & Ba 2015); DCGAN uses β1 = 0.5",
        options=[
            Option("beta1", float, 0.5, "decay of the first-moment estimate", **DECAY),
            Option("beta2", float, 0.999, "decay of the second-moment estimate", **DECAY),
            Option("eps", float, 1e-8, "added to the denominator", min=0),
        ],
    )
    register(
        "rmsprop",
        "gancli.optim.optimizers:rmsprop",
        "RMSProp, WGAN's optimizer (no momentum: momentum destabilises the critic)",
        options=[
            Option("alpha", float, 0.99, "decay of the squared-gradient average", **DECAY),
            Option("momentum", float, 0.0, "momentum factor", **DECAY),
        ],
    )
    register(
        "sgd",
        "gancli.optim.optimizers:sgd",
        "stochastic gradient descent, optionally with (Nesterov) momentum",
        options=[
            Option("momentum", float, 0.0, "momentum factor", **DECAY),
            Option("nesterov", bool, False, "use Nesterov momentum"),
        ],
    )


@hookimpl
def register_update_rules(register: Any) -> None:
    register(
        "alternating",
        without_options("gancli.optim.rules:Alternating"),
        "k discriminator steps (--d-steps), then one generator step",
    )
    register(
        "simultaneous",
        without_options("gancli.optim.rules:Simultaneous"),
        "both players step at once on the same gradient field",
    )
    register(
        "consensus",
        "gancli.optim.rules:consensus",
        "consensus optimization: v + γ∇½‖v‖² (Mescheder et al. 2017)",
        options=[Option("gamma", float, 10.0, "γ, the weight of the consensus term", min=0)],
    )
    register(
        "extragradient",
        without_options("gancli.optim.rules:Extragradient"),
        "extrapolate one step, then update (Gidel et al. 2019)",
    )

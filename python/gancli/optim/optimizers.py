"""Per-player optimizers: thin factories over torch.optim with their hyper-parameters as plugin options."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import torch

from gancli.plugins import Option, hookimpl


def adam(params: Iterable[torch.nn.Parameter], lr: float, options: Mapping[str, Any]) -> torch.optim.Optimizer:
    return torch.optim.Adam(params, lr=lr, betas=(options["beta1"], options["beta2"]), eps=options["eps"])


def rmsprop(params: Iterable[torch.nn.Parameter], lr: float, options: Mapping[str, Any]) -> torch.optim.Optimizer:
    return torch.optim.RMSprop(params, lr=lr, alpha=options["alpha"], momentum=options["momentum"])


def sgd(params: Iterable[torch.nn.Parameter], lr: float, options: Mapping[str, Any]) -> torch.optim.Optimizer:
    return torch.optim.SGD(params, lr=lr, momentum=options["momentum"], nesterov=options["nesterov"])


@hookimpl
def register_optimizers(register: Any) -> None:
    register(
        "adam",
        adam,
        "Adam (Kingma & Ba 2015); DCGAN uses β1 = 0.5",
        options=[
            Option("beta1", float, 0.5, "decay of the first-moment estimate"),
            Option("beta2", float, 0.999, "decay of the second-moment estimate"),
            Option("eps", float, 1e-8, "added to the denominator"),
        ],
    )
    register(
        "rmsprop",
        rmsprop,
        "RMSProp, WGAN's optimizer (no momentum: momentum destabilises the critic)",
        options=[
            Option("alpha", float, 0.99, "decay of the squared-gradient average"),
            Option("momentum", float, 0.0, "momentum factor"),
        ],
    )
    register(
        "sgd",
        sgd,
        "stochastic gradient descent, optionally with (Nesterov) momentum",
        options=[
            Option("momentum", float, 0.0, "momentum factor"),
            Option("nesterov", bool, False, "use Nesterov momentum"),
        ],
    )

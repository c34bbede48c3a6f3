"""Per-player optimizers: thin factories over torch.optim with their hyper-parameters as plugin options."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import torch


def adam(params: Iterable[torch.nn.Parameter], lr: float, options: Mapping[str, Any]) -> torch.optim.Optimizer:
    return torch.optim.Adam(params, lr=lr, betas=(options["beta1"], options["beta2"]), eps=options["eps"])


def rmsprop(params: Iterable[torch.nn.Parameter], lr: float, options: Mapping[str, Any]) -> torch.optim.Optimizer:
    return torch.optim.RMSprop(params, lr=lr, alpha=options["alpha"], momentum=options["momentum"])


def sgd(params: Iterable[torch.nn.Parameter], lr: float, options: Mapping[str, Any]) -> torch.optim.Optimizer:
    return torch.optim.SGD(params, lr=lr, momentum=options["momentum"], nesterov=options["nesterov"])

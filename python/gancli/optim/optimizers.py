"""Per-player optimizers: thin factories over torch.optim with their hyper-parameters as plugin options."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import torch


def is_optimizer(obj: Any) -> bool:
    """What an optimizer's factory must return."""
    return isinstance(obj, torch.optim.Optimizer)


def fused(params: list[torch.nn.Parameter]) -> dict[str, bool]:
    """``fused=True`` where torch has a fused kernel for these parameters (floating point, on the CPU or CUDA):
    one pass over all of them instead of a loop of small kernels per tensor; Adam's step on the digits' DCGAN
    G takes 0.7 ms instead of 4.2 ms on one CPU thread (docs/performance.md)."""
    supported = all(p.is_floating_point() and p.device.type in ("cpu", "cuda") for p in params)
    return {"fused": True} if params and supported else {}


def adam(params: Iterable[torch.nn.Parameter], lr: float, options: Mapping[str, Any]) -> torch.optim.Optimizer:
    params = list(params)
    betas = (options["beta1"], options["beta2"])
    return torch.optim.Adam(params, lr=lr, betas=betas, eps=options["eps"], **fused(params))


def rmsprop(params: Iterable[torch.nn.Parameter], lr: float, options: Mapping[str, Any]) -> torch.optim.Optimizer:
    # no fused kernel in torch; its per-tensor loop is faster than the foreach one on the CPU (1.4 against 2.0 ms)
    return torch.optim.RMSprop(params, lr=lr, alpha=options["alpha"], momentum=options["momentum"])


def sgd(params: Iterable[torch.nn.Parameter], lr: float, options: Mapping[str, Any]) -> torch.optim.Optimizer:
    params = list(params)
    momentum, nesterov = options["momentum"], options["nesterov"]
    return torch.optim.SGD(params, lr=lr, momentum=momentum, nesterov=nesterov, **fused(params))

"""A residual MLP generator and discriminator for 2-D data (and any flat data)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
from gancli.api import NO_BATCHNORM, ArchSpec, check_requirements, numel
from torch import nn


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

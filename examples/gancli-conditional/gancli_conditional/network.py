"""A class-conditional architecture: G reads a learned embedding of the class beside z; D adds to its score the
projection of its features on the class's embedding (Miyato & Koyama 2018)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
from gancli.api import CONDITIONAL, ArchSpec, GancliError, check_requirements, numel
from torch import nn


class Generator(nn.Module):
    def __init__(self, spec: ArchSpec, hidden: int) -> None:
        super().__init__()
        self.embed = nn.Embedding(spec.classes, hidden)
        self.net = nn.Sequential(
            nn.Linear(spec.latent_dim + hidden, hidden),
            nn.ReLU(),
            nn.Linear(hidden, hidden),
            nn.ReLU(),
            nn.Linear(hidden, numel(spec.data_shape)),
            nn.Unflatten(1, spec.data_shape),
        )

    def forward(self, z: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        return self.net(torch.cat([z, self.embed(labels)], dim=1))


class Critic(nn.Module):
    def __init__(self, spec: ArchSpec, hidden: int) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.Flatten(),
            nn.Linear(numel(spec.d_input_shape), hidden),
            nn.LeakyReLU(0.2),
            nn.Linear(hidden, hidden),
            nn.LeakyReLU(0.2),
        )
        self.score = nn.Linear(hidden, 1)
        self.embed = nn.Embedding(spec.classes, hidden)

    def forward(self, x: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        features = self.body(x)
        return self.score(features).squeeze(1) + (self.embed(labels) * features).sum(dim=1)


def build(spec: ArchSpec, options: Mapping[str, Any]) -> tuple[nn.Module, nn.Module]:
    check_requirements("moons-net", spec, {CONDITIONAL})  # it takes the class, and nothing else asked of it
    if not spec.classes:
        raise GancliError("architecture 'moons-net' is class-conditional only: train with --conditional")
    return Generator(spec, options["hidden"]), Critic(spec, options["hidden"])

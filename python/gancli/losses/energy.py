"""Energy-based GAN (Zhao et al. 2017): D is a cost network, an auto-encoder whose reconstruction error
is the energy C(x), low on real data and high elsewhere.

C is trained with C(x) + [m − C(G(z))]⁺ and G with C(G(z)). Once fakes cost at least the margin m, the
hinge is zero and they no longer push C. The architecture builds C on request (requirement "autoencoder"):
its forward returns the per-sample mean squared reconstruction error.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
import torch.nn.functional as F

from gancli.losses.base import Loss


class EnergyBased(Loss):
    requirements = frozenset({"autoencoder"})
    boundary = None  # energies are positive: the margin bounds the fakes' hinge, it parts nothing

    def __init__(self, margin: float) -> None:
        if margin <= 0:
            raise ValueError(f"margin must be positive, got {margin}")
        self.margin = margin

    def d_loss(self, d_real: torch.Tensor, d_fake: torch.Tensor) -> torch.Tensor:
        return d_real.mean() + F.relu(self.margin - d_fake).mean()

    def g_loss(self, d_fake: torch.Tensor, d_real: torch.Tensor | None) -> torch.Tensor:
        return d_fake.mean()


def energy_based(options: Mapping[str, Any]) -> Loss:
    return EnergyBased(options["margin"])

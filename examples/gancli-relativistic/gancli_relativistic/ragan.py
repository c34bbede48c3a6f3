"""The relativistic average GAN (Jolicoeur-Martineau 2018, "The relativistic discriminator: a key element missing
from standard GAN")."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
import torch.nn.functional as F
from gancli.api import LogitLoss


class RelativisticAverage(LogitLoss):
    """RaGAN on D's logits C: D judges whether real data is more realistic than the average fake, and
    G whether fakes are more realistic than the average real sample.

    D: −log σ(C(x) − E C(G(z))) − log(1 − σ(C(G(z)) − E C(x)))
    G: −log σ(C(G(z)) − E C(x)) − log(1 − σ(C(x) − E C(G(z))))

    With −log σ(t) = softplus(−t) and −log(1 − σ(t)) = softplus(t). Unlike the standard GAN, G's loss
    depends on the real scores too, which is why ``g_loss`` receives ``d_real``.
    """

    g_loss_needs_real = True

    def d_loss(self, d_real: torch.Tensor, d_fake: torch.Tensor) -> torch.Tensor:
        return relativistic(d_real, d_fake)

    def g_loss(self, d_fake: torch.Tensor, d_real: torch.Tensor) -> torch.Tensor:
        return relativistic(d_fake, d_real)


def relativistic(favoured: torch.Tensor, other: torch.Tensor) -> torch.Tensor:
    """The RaGAN loss of the player who wants ``favoured`` judged more realistic than ``other``."""
    return F.softplus(-(favoured - other.mean())).mean() + F.softplus(other - favoured.mean()).mean()


def ragan(options: Mapping[str, Any]) -> RelativisticAverage:
    return RelativisticAverage()

"""The minimax game of Goodfellow et al. (2014) and its common relatives, all on D's logits.

With logits l, D = σ(l): −log D = softplus(−l) and −log(1 − D) = softplus(l), so no Sigmoid-then-log
ever loses precision when D is confident.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from gancli.losses.base import LogitLoss, Loss


class Minimax(LogitLoss):
    """min_G max_D E log D(x) + E log(1 − D(G(z))): D's optimum is D*(x) = p_r / (p_r + p_g).

    G minimises log(1 − D(G(z))) as in the theory: its gradient vanishes when D confidently rejects fakes.
    """

    def d_loss(self, d_real: torch.Tensor, d_fake: torch.Tensor) -> torch.Tensor:
        return F.softplus(-d_real).mean() + F.softplus(d_fake).mean()

    def g_loss(self, d_fake: torch.Tensor, d_real: torch.Tensor | None) -> torch.Tensor:
        return -F.softplus(d_fake).mean()


class NonSaturating(Minimax):
    """The "log D trick": G maximises log D(G(z)) instead, strong gradients early in training."""

    def g_loss(self, d_fake: torch.Tensor, d_real: torch.Tensor | None) -> torch.Tensor:
        return F.softplus(-d_fake).mean()


class LeastSquares(Loss):
    """LSGAN (Mao et al. 2017), a = 0, b = c = 1: penalises fakes by their distance to the decision boundary."""

    boundary = 0.5  # halfway between the fakes' target 0 and the reals' 1

    def d_loss(self, d_real: torch.Tensor, d_fake: torch.Tensor) -> torch.Tensor:
        return 0.5 * ((d_real - 1) ** 2).mean() + 0.5 * (d_fake**2).mean()

    def g_loss(self, d_fake: torch.Tensor, d_real: torch.Tensor | None) -> torch.Tensor:
        return 0.5 * ((d_fake - 1) ** 2).mean()


class Hinge(Loss):
    """The hinge loss of SAGAN/BigGAN (Lim & Ye 2017; Miyato et al. 2018)."""

    # the scores are unbounded, but the margins at ±1 hold them at a logit's scale, and the auxiliary classifier is
    # a head of its own that the loss never reads: nothing of the hinge reaches it
    admits_aux_classifier = True

    def d_loss(self, d_real: torch.Tensor, d_fake: torch.Tensor) -> torch.Tensor:
        return F.relu(1 - d_real).mean() + F.relu(1 + d_fake).mean()

    def g_loss(self, d_fake: torch.Tensor, d_real: torch.Tensor | None) -> torch.Tensor:
        return -d_fake.mean()


class RelativisticPairing(Loss):
    """RpGAN (Huang et al. 2024, R3GAN; Jolicoeur-Martineau 2018): D scores each real image against one generated
    image, L_D = E[softplus(D(G(z)) − D(x))] and L_G = E[softplus(D(x) − D(G(z)))], pairs taken by position in the
    batches. Only differences of scores count, so G is pulled towards every real image it is paired with, which
    R3GAN shows avoids the mode dropping of the classic loss; with R1 and R2 (``--r1 γ --r2 γ``) it converges
    locally. The scores' level is free, as a critic's: no boundary for ``--ada``, D(x) read as the mean score."""

    g_loss_needs_real = True
    boundary = None
    admits_aux_classifier = True  # a difference of two scores is a logit, of P(x real rather than G(z))

    def d_loss(self, d_real: torch.Tensor, d_fake: torch.Tensor) -> torch.Tensor:
        return F.softplus(d_fake - d_real).mean()

    def g_loss(self, d_fake: torch.Tensor, d_real: torch.Tensor | None) -> torch.Tensor:
        assert d_real is not None
        return F.softplus(d_real - d_fake).mean()

"""The one interface of a loss plugin."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import torch
from torch import nn

from gancli.plugins.contracts import describe

if TYPE_CHECKING:
    from gancli.plugins.registry import Registration


class Loss:
    """A two-player objective on discriminator scores.

    ``d_real`` and ``d_fake`` are D's raw outputs of shape (B,): logits for the probabilistic losses,
    critic values for Wasserstein losses, energies for EBGAN. Both methods return scalars to *minimise*.
    """

    #: what the architecture must provide for this loss, e.g. {"no_batchnorm"} or {"autoencoder"}
    requirements: frozenset[str] = frozenset()
    #: whether ``g_loss`` reads ``d_real`` (relativistic losses). Only then does G's step run D on a real
    #: batch; every other loss gets ``d_real=None`` and saves that pass.
    g_loss_needs_real: bool = False
    #: D's score where it cannot tell real from fake (a logit's 0): ``--ada`` counts the real images scored above
    #: it, E[sign(D(x) − boundary)], to see D overfit. None for scores without such a point (a Wasserstein
    #: critic's drift, an energy), for which --ada is refused.
    boundary: float | None = 0.0
    #: whether ACGAN's auxiliary classifier (``--aux-classifier``) may join this loss: its cross-entropy, in nats,
    #: weighs against a loss on logits (or hinge margins) at a fixed scale. Not for a critic (its scores' scale is
    #: free, and WGAN's clipping would clip the classifier too) nor for an energy (an auto-encoder has no class head)
    admits_aux_classifier: bool = False

    def d_loss(self, d_real: torch.Tensor, d_fake: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def g_loss(self, d_fake: torch.Tensor, d_real: torch.Tensor | None) -> torch.Tensor:
        raise NotImplementedError

    def penalty(self, discriminator: nn.Module, real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor | None:
        """An extra term added to the D loss (e.g. a gradient penalty); None when there is none."""
        return None

    def after_d_step(self, discriminator: nn.Module) -> None:
        """Called after every discriminator update (e.g. WGAN's weight clipping)."""

    def readout(self, scores: torch.Tensor) -> torch.Tensor:
        """What a practitioner watches of D's output: the mean probability for logit losses, else the mean.

        Returned as a tensor so that logging, not every step, pays for moving it off the GPU.
        """
        return scores.detach().float().mean()


class LogitLoss(Loss):
    """A loss whose D outputs logits, so D(x) is reported as the mean probability sigmoid(logit)."""

    admits_aux_classifier = True

    def readout(self, scores: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(scores.detach().float()).mean()


def is_loss(obj: Any) -> bool:
    """What a loss factory must return."""
    return isinstance(obj, Loss)


def check_loss(reg: Registration, loss: Loss, scores: torch.Tensor) -> None:
    """The loss's contract, checked once as a run is built on D's scores of a dry batch: ``d_loss`` and ``g_loss``
    each return a scalar tensor (a vector fails in backward() with "grad can be implicitly created only for scalar
    outputs", far from the plugin); a failure names the plugin and the method."""
    with reg.calling("d_loss"):
        d_loss = loss.d_loss(scores, scores)
    with reg.calling("g_loss"):
        g_loss = loss.g_loss(scores, scores if loss.g_loss_needs_real else None)
    for method, value in (("d_loss", d_loss), ("g_loss", g_loss)):
        if not (isinstance(value, torch.Tensor) and value.is_floating_point() and value.numel() == 1):
            got = f"a tensor of shape {tuple(value.shape)}" if isinstance(value, torch.Tensor) else describe(value)
            raise reg.error(f"loss {reg.name!r}: {method} must return a scalar tensor, got {got}")


def gradient_norms(discriminator: nn.Module, inputs: torch.Tensor) -> torch.Tensor:
    """Per-sample ‖∇ₓD(x)‖ at ``inputs``, kept in the graph so that a penalty on it can be trained."""
    inputs = inputs.detach().requires_grad_(True)
    return input_gradient_norms(discriminator(inputs), inputs)


def input_gradient_norms(scores: torch.Tensor, inputs: torch.Tensor) -> torch.Tensor:
    """Per-sample ‖∇ₓD(x)‖ from D's ``scores`` of ``inputs`` (a tensor that required grad when D saw it), kept
    in the graph: a pass of D that serves a loss too serves its gradient penalty without another forward."""
    (grad,) = torch.autograd.grad(scores.sum(), inputs, create_graph=True)
    return grad.flatten(1).norm(dim=1)

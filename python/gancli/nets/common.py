"""What every architecture plugin receives, and the layers several architectures share."""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

import torch
from torch import nn

from gancli.errors import GancliError

#: requirements a loss or a flag may place on the architecture
NO_BATCHNORM = "no_batchnorm"  # the critic must treat samples independently (gradient penalties)
AUTOENCODER = "autoencoder"  # D is an auto-encoder returning its reconstruction energy (EBGAN)
MINIBATCH_STD = "minibatch_std"  # D sees the spread of its minibatch (Karras et al. 2018)


@dataclass(frozen=True)
class ArchSpec:
    """The shapes and demands an architecture builds G and D for.

    ``d_input_shape`` differs from ``data_shape`` when D judges packed samples (PacGAN): m samples stacked
    along the first axis.
    """

    data_shape: tuple[int, ...]
    latent_dim: int
    d_input_shape: tuple[int, ...]
    requirements: frozenset[str] = frozenset()

    @property
    def is_image(self) -> bool:
        return len(self.data_shape) == 3


#: where each requirement comes from, for the error that names it
REQUIRED_BY = {
    MINIBATCH_STD: "asked for by --minibatch-std or the dataset's recommendation; --no-minibatch-std turns it off",
    NO_BATCHNORM: "the loss needs a critic without BatchNorm",
    AUTOENCODER: "the loss needs an auto-encoder cost network",
}


def check_requirements(arch: str, spec: ArchSpec, supported: Iterable[str]) -> None:
    missing = sorted(spec.requirements - set(supported))
    if missing:
        why = "; ".join(REQUIRED_BY.get(name, name) for name in missing)
        raise GancliError(f"architecture {arch!r} cannot provide {', '.join(missing)} ({why})")


class MinibatchStd(nn.Module):
    """Appends the average standard deviation across the batch as one more feature (channel), so that D can
    tell a batch of near-identical fakes from a varied real one (ProGAN, Karras et al. 2018)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        std = x.float().std(dim=0, unbiased=False).mean().to(x.dtype)
        extra = std.expand(x.shape[0], 1, *x.shape[2:])
        return torch.cat([x, extra], dim=1)


class ReconstructionEnergy(nn.Module):
    """EBGAN's cost network: the per-sample mean squared error of an auto-encoder."""

    def __init__(self, autoencoder: nn.Module) -> None:
        super().__init__()
        self.autoencoder = autoencoder

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return ((self.autoencoder(x) - x) ** 2).flatten(1).mean(dim=1)


def dcgan_init(module: nn.Module) -> None:
    """The DCGAN initialisation (Radford et al. 2016): weights N(0, 0.02), BatchNorm scales N(1, 0.02)."""
    for m in module.modules():
        if isinstance(m, nn.Conv2d | nn.ConvTranspose2d | nn.Linear):
            nn.init.normal_(m.weight, 0.0, 0.02)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.BatchNorm2d | nn.BatchNorm1d):
            nn.init.normal_(m.weight, 1.0, 0.02)
            nn.init.zeros_(m.bias)


def apply_spectral_norm(module: nn.Module) -> nn.Module:
    """Spectral normalisation (Miyato et al. 2018) on every linear and convolutional layer of ``module``."""
    for m in list(module.modules()):
        if isinstance(m, nn.Conv2d | nn.ConvTranspose2d | nn.Linear):
            nn.utils.parametrizations.spectral_norm(m)
    return module


def numel(shape: tuple[int, ...]) -> int:
    return math.prod(shape)

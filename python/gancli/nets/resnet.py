"""The residual G and D of SNGAN (Miyato et al. 2018, appendix B; after Gulrajani et al. 2017).

G: a linear layer to 4×4 (3×3 for sides three times a power of two, such as 48), upsampling residual blocks
(BatchNorm, ReLU, nearest ×2, 3×3 conv, BatchNorm, ReLU, 3×3 conv, with a 1×1-conv shortcut) to the image size,
then BatchNorm, ReLU, 3×3 conv and Tanh.
D: downsampling residual blocks (ReLU, 3×3 conv, ReLU, 3×3 conv, 2×2 average pooling; the first block
starts without ReLU) to 4×4 (3×3), one more block there, ReLU, global sum pooling and a linear layer. D has no
BatchNorm at all, so ``no_batchnorm`` costs nothing; add ``--spectral-norm`` for the SNGAN critic. Widths
halve towards the image (``g_width``, ``d_width`` are the widths next to it). Weights start Xavier-uniform
with gain √2 inside the residual branches and 1 elsewhere, as in the SNGAN code.

Requirements: ``minibatch_std`` adds the batch's spread as one more channel before D's last block;
``autoencoder`` makes D the EBGAN cost network: D's blocks encode to 4×4, G-like upsampling blocks decode
(BatchNorm unless ``no_batchnorm``), and D returns the per-sample reconstruction error; ``conditional``
(``--conditional``) makes G's BatchNorms conditional on the class and adds a projection to D's score (the
class-conditional SNGAN of Miyato & Koyama 2018); ``aux_classifier`` (``--aux-classifier``) adds ACGAN's class
logits from the pooled features (Odena et al. 2017).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from itertools import pairwise
from typing import Any

import torch
from torch import nn

from gancli.nets.common import (
    AUTOENCODER,
    AUX_CLASSIFIER,
    CONDITIONAL,
    MINIBATCH_STD,
    NO_BATCHNORM,
    ArchSpec,
    ClassConditional,
    ClassEmbedding,
    ClassLogits,
    ClassSequential,
    MinibatchStd,
    ReconstructionEnergy,
    batchnorm,
    check_requirements,
    refuse_conditional_energy,
)
from gancli.nets.convolutional import image_levels, level_widths


def conv(c_in: int, c_out: int, kernel: int, gain: float = 1.0) -> nn.Conv2d:
    layer = nn.Conv2d(c_in, c_out, kernel, padding=kernel // 2)
    nn.init.xavier_uniform_(layer.weight, gain)
    nn.init.zeros_(layer.bias)
    return layer


def norm(channels: int, normed: bool, layout: tuple[int, ...] = ()) -> nn.Module:
    return batchnorm(channels, layout) if normed else nn.Identity()


def shortcut(c_in: int, c_out: int) -> nn.Module:
    return nn.Identity() if c_in == c_out else conv(c_in, c_out, 1)


class UpBlock(nn.Module):
    """Doubles the resolution."""

    def __init__(self, c_in: int, c_out: int, batchnorm: bool) -> None:
        super().__init__()
        self.residual = nn.Sequential(*self.layers(c_in, c_out, batchnorm))
        self.shortcut = nn.Sequential(nn.Upsample(scale_factor=2), shortcut(c_in, c_out))

    @staticmethod
    def layers(c_in: int, c_out: int, normed: bool, layout: tuple[int, ...] = ()) -> list[nn.Module]:
        return [
            norm(c_in, normed, layout),
            nn.ReLU(),
            nn.Upsample(scale_factor=2),
            conv(c_in, c_out, 3, math.sqrt(2)),
            norm(c_out, normed, layout),
            nn.ReLU(),
            conv(c_out, c_out, 3, math.sqrt(2)),
        ]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.residual(x) + self.shortcut(x)


class ConditionalUpBlock(ClassConditional):
    """``UpBlock`` with its BatchNorms conditional on the class."""

    def __init__(self, c_in: int, c_out: int, layout: tuple[int, ...]) -> None:
        super().__init__()
        self.residual = ClassSequential(*UpBlock.layers(c_in, c_out, True, layout))
        self.shortcut = nn.Sequential(nn.Upsample(scale_factor=2), shortcut(c_in, c_out))

    def forward(self, x: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        return self.residual(x, labels) + self.shortcut(x)


class DownBlock(nn.Module):
    """Halves the resolution (unless ``downsample`` is off); the block that sees the image starts with
    its convolution, since a ReLU would discard half of the pixel values."""

    def __init__(self, c_in: int, c_out: int, first: bool = False, downsample: bool = True) -> None:
        super().__init__()
        pool = nn.AvgPool2d(2) if downsample else nn.Identity()
        self.residual = nn.Sequential(
            *([] if first else [nn.ReLU()]),
            conv(c_in, c_out, 3, math.sqrt(2)),
            nn.ReLU(),
            conv(c_out, c_out, 3, math.sqrt(2)),
            pool,
        )
        self.shortcut = nn.Sequential(shortcut(c_in, c_out), pool)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.residual(x) + self.shortcut(x)


def upsampling(widths: list[int], c_in: int, batchnorm: bool, layout: tuple[int, ...] = ()) -> list[nn.Module]:
    """From ``c_in`` channels at 4×4 (3×3) to ``widths[0]`` at full size: each resolution as wide as D's
    ``widths`` (image side first) at half of it, so the widths mirror D's."""
    top_down = [c_in, *widths[-2::-1], widths[0]]
    if layout:
        return [ConditionalUpBlock(a, b, layout) for a, b in pairwise(top_down)]
    return [UpBlock(a, b, batchnorm) for a, b in pairwise(top_down)]


def to_image(width: int, channels: int, batchnorm: bool, layout: tuple[int, ...] = ()) -> list[nn.Module]:
    return [norm(width, batchnorm, layout), nn.ReLU(), conv(width, channels, 3)]


def generator(spec: ArchSpec, widths: list[int], corner: int) -> nn.Module:
    """G; with classes, its BatchNorms conditional and its forward ``(z, labels)``."""
    top = widths[-1]
    project = nn.Linear(spec.latent_dim, top * corner * corner)
    nn.init.xavier_uniform_(project.weight)
    nn.init.zeros_(project.bias)
    layers = [
        project,
        nn.Unflatten(1, (top, corner, corner)),
        *upsampling(widths, top, True, spec.class_layout),
        *to_image(widths[0], spec.data_shape[0], True, spec.class_layout),
        nn.Tanh(),
    ]
    return ClassSequential(*layers) if spec.classes else nn.Sequential(*layers)


class Discriminator(nn.Module):
    """Blocks, ReLU, global sum pooling and a linear score; with classes (``layout``), plus the projection of the
    pooled features on the class's embedding (Miyato & Koyama 2018), and with ``classify`` (``--aux-classifier``)
    ACGAN's class logits from a linear layer on the same features (Odena et al. 2017), returned beside the scores."""

    def __init__(
        self, blocks: list[nn.Module], width: int, layout: tuple[int, ...] = (), classify: bool = False
    ) -> None:
        super().__init__()
        self.blocks = nn.Sequential(*blocks)
        self.score = nn.Linear(width, 1)
        nn.init.xavier_uniform_(self.score.weight)
        nn.init.zeros_(self.score.bias)
        self.embed = ClassEmbedding(layout, width) if layout else None
        if self.embed is not None:
            nn.init.xavier_uniform_(self.embed.weight)
        self.classifier = ClassLogits(width, layout) if classify else None

    def forward(
        self, x: torch.Tensor, labels: torch.Tensor | None = None
    ) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
        features = torch.relu(self.blocks(x)).sum(dim=(2, 3))
        score = self.score(features).squeeze(1)
        if self.embed is None or labels is None:
            return score
        score = score + (self.embed(labels) * features).sum(dim=1)
        return score if self.classifier is None else (score, self.classifier(features))


def discriminator(spec: ArchSpec, widths: list[int]) -> nn.Module:
    channels = spec.d_input_shape[0]
    blocks = [DownBlock(channels, widths[0], first=True)]
    blocks += [DownBlock(a, b) for a, b in pairwise(widths)]
    top = widths[-1]
    if MINIBATCH_STD in spec.requirements:
        blocks.append(MinibatchStd())
        top += 1
    if AUTOENCODER in spec.requirements:
        batchnorm = NO_BATCHNORM not in spec.requirements
        decode = [*upsampling(widths, top, batchnorm), *to_image(widths[0], channels, batchnorm)]
        return ReconstructionEnergy(nn.Sequential(*blocks, *decode))
    classify = AUX_CLASSIFIER in spec.requirements
    blocks.append(DownBlock(top, widths[-1], downsample=False))
    return Discriminator(blocks, widths[-1], spec.class_layout, classify)


def build(spec: ArchSpec, options: Mapping[str, Any]) -> tuple[nn.Module, nn.Module]:
    check_requirements("resnet", spec, {NO_BATCHNORM, AUTOENCODER, MINIBATCH_STD, CONDITIONAL, AUX_CLASSIFIER})
    refuse_conditional_energy("resnet", spec)
    levels, corner = image_levels("resnet", spec)
    return (
        generator(spec, level_widths(options["g_width"], levels), corner),
        discriminator(spec, level_widths(options["d_width"], levels)),
    )

"""DCGAN (Radford et al. 2016), the architecture of the seed (pytorch/examples ``dcgan/main.py``).

G projects z to 4×4 (3×3 for sides three times a power of two, such as 48) with a transposed convolution,
then doubles the resolution with 4×4 stride-2 transposed convolutions, each followed by BatchNorm and ReLU, and
ends in Tanh. D mirrors it with 4×4 stride-2 convolutions and LeakyReLU(0.2), BatchNorm on every layer but the
first, and a 4×4 (3×3) convolution to one score. Widths halve towards the image (``g_width``, ``d_width`` are the
widths next to it), as in the seed, where a 64×64 G has ngf·8, ·4, ·2, ·1 channels. Weights start from N(0, 0.02).

Requirements: ``no_batchnorm`` drops D's BatchNorm without a replacement (the WGAN-GP critic of
Gulrajani et al. 2017, section 4: the penalty is per sample); ``minibatch_std`` adds the batch's spread
as one more channel before D's last convolution; ``autoencoder`` makes D the EBGAN cost network (Zhao et
al. 2017): D's convolutions encode to 4×4, G-like transposed convolutions decode, and D returns the
per-sample reconstruction error; ``conditional`` (``--conditional``) makes every BatchNorm of G conditional on
the class and gives D a projection head on its last features (Miyato & Koyama 2018); ``aux_classifier``
(``--aux-classifier``) adds ACGAN's class logits from those features (Odena et al. 2017); an EBGAN cost network
takes no class.
"""

from __future__ import annotations

from collections.abc import Mapping
from itertools import pairwise
from typing import Any

from torch import nn

from gancli.nets.common import (
    AUTOENCODER,
    AUX_CLASSIFIER,
    CONDITIONAL,
    MINIBATCH_STD,
    NO_BATCHNORM,
    ArchSpec,
    ClassSequential,
    MinibatchStd,
    Projection,
    ReconstructionEnergy,
    batchnorm,
    check_requirements,
    dcgan_init,
    refuse_conditional_energy,
)
from gancli.nets.convolutional import image_levels, level_widths


def up(c_in: int, c_out: int, normed: bool, layout: tuple[int, ...] = ()) -> list[nn.Module]:
    """Double the resolution: transposed conv 4×4 stride 2, BatchNorm (conditional with classes, ``layout``), ReLU."""
    norm = [batchnorm(c_out, layout)] if normed else []
    return [nn.ConvTranspose2d(c_in, c_out, 4, 2, 1, bias=not normed), *norm, nn.ReLU()]


def down(c_in: int, c_out: int, batchnorm: bool) -> list[nn.Module]:
    """Halve the resolution: conv 4×4 stride 2, BatchNorm, LeakyReLU(0.2)."""
    norm = [nn.BatchNorm2d(c_out)] if batchnorm else []
    return [nn.Conv2d(c_in, c_out, 4, 2, 1, bias=not batchnorm), *norm, nn.LeakyReLU(0.2)]


def decoder(widths: list[int], c_in: int, c_out: int, normed: bool, layout: tuple[int, ...] = ()) -> list[nn.Module]:
    """From ``c_in`` channels at 4×4 (3×3) up through ``widths`` (image side first) to ``c_out`` at full size."""
    top_down = [c_in, *widths[-2::-1]]
    layers = [layer for a, b in pairwise(top_down) for layer in up(a, b, normed, layout)]
    return [*layers, nn.ConvTranspose2d(top_down[-1], c_out, 4, 2, 1)]


def encoder(widths: list[int], c_in: int, batchnorm: bool) -> list[nn.Module]:
    """From ``c_in`` channels at full size down through ``widths`` to 4×4 (3×3); no BatchNorm on the input layer."""
    layers = down(c_in, widths[0], batchnorm=False)
    return layers + [layer for a, b in pairwise(widths) for layer in down(a, b, batchnorm)]


def generator(spec: ArchSpec, widths: list[int], corner: int) -> nn.Module:
    """G; with classes, its BatchNorms conditional and its forward ``(z, labels)``."""
    top = widths[-1]
    layers = [
        nn.Unflatten(1, (spec.latent_dim, 1, 1)),
        nn.ConvTranspose2d(spec.latent_dim, top, corner, 1, 0, bias=False),
        batchnorm(top, spec.class_layout),
        nn.ReLU(),
        *decoder(widths, top, spec.data_shape[0], True, spec.class_layout),
        nn.Tanh(),
    ]
    return ClassSequential(*layers) if spec.classes else nn.Sequential(*layers)


def discriminator(spec: ArchSpec, widths: list[int], corner: int) -> nn.Module:
    channels = spec.d_input_shape[0]
    batchnorm = NO_BATCHNORM not in spec.requirements
    layers = encoder(widths, channels, batchnorm)
    top = widths[-1]
    if MINIBATCH_STD in spec.requirements:
        layers.append(MinibatchStd())
        top += 1
    if AUTOENCODER in spec.requirements:
        return ReconstructionEnergy(nn.Sequential(*layers, *decoder(widths, top, channels, batchnorm)))
    head = nn.Sequential(nn.Conv2d(top, 1, corner, 1, 0), nn.Flatten(0))
    if spec.classes:
        return Projection(nn.Sequential(*layers), head, top, spec.class_layout, AUX_CLASSIFIER in spec.requirements)
    return nn.Sequential(*layers, *head)


def build(spec: ArchSpec, options: Mapping[str, Any]) -> tuple[nn.Module, nn.Module]:
    check_requirements("dcgan", spec, {NO_BATCHNORM, AUTOENCODER, MINIBATCH_STD, CONDITIONAL, AUX_CLASSIFIER})
    refuse_conditional_energy("dcgan", spec)
    levels, corner = image_levels("dcgan", spec)
    gen = generator(spec, level_widths(options["g_width"], levels), corner)
    disc = discriminator(spec, level_widths(options["d_width"], levels), corner)
    dcgan_init(gen)
    dcgan_init(disc)
    return gen, disc

"""Fully connected G and D: for 2-D mixtures and small images.

``conditional`` (``--conditional``): G reads the class as a one-hot vector beside z (Mirza & Osindero 2014), and D
has a projection head on its last hidden layer (Miyato & Koyama 2018); ``aux_classifier`` (``--aux-classifier``)
adds ACGAN's class logits from that layer (Odena et al. 2017); an EBGAN cost network takes no class.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from typing import Any

from torch import nn

from gancli.nets.common import (
    AUTOENCODER,
    AUX_CLASSIFIER,
    CONDITIONAL,
    MINIBATCH_STD,
    NO_BATCHNORM,
    ArchSpec,
    MinibatchStd,
    OneHotInput,
    Projection,
    ReconstructionEnergy,
    check_requirements,
    numel,
    refuse_conditional_energy,
)


def stack(sizes: list[int], activation: type[nn.Module], batchnorm: bool = False) -> list[nn.Module]:
    layers: list[nn.Module] = []
    for n_in, n_out in itertools.pairwise(sizes):
        layers.append(nn.Linear(n_in, n_out))
        if batchnorm:
            layers.append(nn.BatchNorm1d(n_out))
        layers.append(activation(0.2) if activation is nn.LeakyReLU else activation())
    return layers


class Generator(nn.Sequential):
    def __init__(self, spec: ArchSpec, hidden: int, layers: int, batchnorm: bool) -> None:
        out = [nn.Linear(hidden, numel(spec.data_shape)), nn.Unflatten(1, spec.data_shape)]
        if spec.is_image:
            out.append(nn.Tanh())
        sizes = [spec.latent_dim + sum(spec.class_layout)] + [hidden] * layers
        super().__init__(*stack(sizes, nn.ReLU, batchnorm), *out)


def discriminator(spec: ArchSpec, hidden: int, layers: int) -> nn.Module:
    n_in = numel(spec.d_input_shape)
    if AUTOENCODER in spec.requirements:
        code = max(hidden // 4, 2)
        autoencoder = nn.Sequential(
            nn.Flatten(),
            *stack([n_in, hidden, code], nn.LeakyReLU),
            *stack([code, hidden], nn.LeakyReLU),
            nn.Linear(hidden, n_in),
            nn.Unflatten(1, spec.d_input_shape),
        )
        return ReconstructionEnergy(autoencoder)
    layers: list[nn.Module] = [nn.Flatten(), *stack([n_in] + [hidden] * layers, nn.LeakyReLU)]
    width = hidden
    if MINIBATCH_STD in spec.requirements:
        layers.append(MinibatchStd())
        width += 1
    if spec.classes:
        classify = AUX_CLASSIFIER in spec.requirements
        return Projection(nn.Sequential(*layers), nn.Linear(width, 1), width, spec.class_layout, classify)
    return nn.Sequential(*layers, nn.Linear(width, 1))


def build(spec: ArchSpec, options: Mapping[str, Any]) -> tuple[nn.Module, nn.Module]:
    check_requirements("mlp", spec, {NO_BATCHNORM, AUTOENCODER, MINIBATCH_STD, CONDITIONAL, AUX_CLASSIFIER})
    refuse_conditional_energy("mlp", spec)
    hidden, layers = options["hidden"], options["layers"]
    generator = Generator(spec, hidden, layers, options["batchnorm"])
    return (
        OneHotInput(generator, spec.class_layout) if spec.classes else generator,
        discriminator(spec, options["d_hidden"] or hidden, layers),
    )

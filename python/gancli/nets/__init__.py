"""Architectures: the built-in architecture plugin, and the spec every architecture builds from.

Registered by reference, so listing them imports no torch: ``mlp`` (fully connected), ``dcgan`` (the seed's)
and ``resnet`` (SNGAN's) each live in their own module; ``common`` holds the layers they share.
"""

from __future__ import annotations

from typing import Any

from gancli.nets.spec import ArchSpec
from gancli.plugins import Option, hookimpl

__all__ = ["ArchSpec"]

#: what the convolutional architectures recommend: channels-last tensors, for which oneDNN's convolutions need
#: no reordering of the activations around each layer (the digits' DCGAN step: 1.1× on one CPU thread at batch
#: 64, 1.2× at 256; docs/performance.md); cuDNN prefers the layout too. Not the default for every
#: architecture: a plugin's network that calls ``view`` on its activations would fail on it
CONVOLUTIONAL = {"channels_last": True}

#: the options of ``mlp.build``, for any registration that builds with it
MLP_OPTIONS = (
    Option("hidden", int, 256, "units per hidden layer"),
    Option("d_hidden", int, 0, "units per hidden layer of D (0: same as G)"),
    Option("layers", int, 3, "hidden layers in each network"),
    Option("batchnorm", bool, False, "BatchNorm in the generator"),
)


@hookimpl
def register_architectures(register: Any) -> None:
    register(
        "mlp",
        "gancli.nets.mlp:build",
        "fully connected G (ReLU) and D (LeakyReLU); for 2-D data and small images",
        options=MLP_OPTIONS,
    )
    register(
        "dcgan",
        "gancli.nets.dcgan:build",
        "DCGAN (Radford et al. 2016): strided (transposed) convolutions, BatchNorm, ReLU/LeakyReLU, Tanh; "
        "square power-of-two images 16–256",
        options=[
            Option("g_width", int, 32, "channels of G's last hidden layer; doubled per halving, up to 8×"),
            Option("d_width", int, 32, "channels of D's first layer; doubled per halving, up to 8×"),
        ],
        recommends=CONVOLUTIONAL,
    )
    register(
        "resnet",
        "gancli.nets.resnet:build",
        "SNGAN residual G (upsampling blocks, BatchNorm) and D (downsampling blocks, sum pooling); "
        "square power-of-two images 16–256",
        options=[
            Option("g_width", int, 64, "channels of G's last block; doubled per halving, up to 8×"),
            Option("d_width", int, 64, "channels of D's first block; doubled per halving, up to 8×"),
        ],
        recommends=CONVOLUTIONAL,
    )

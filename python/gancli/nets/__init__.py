"""Architectures: the built-in architecture plugin, and the spec every architecture builds from.

Registered by reference, so listing them imports no torch: ``mlp`` (fully connected), ``dcgan`` (the seed's)
and ``resnet`` (SNGAN's) each live in their own module; ``common`` holds the layers they share.
"""

from __future__ import annotations

from typing import Any

from gancli.nets.spec import ArchSpec
from gancli.plugins import Option, hookimpl

__all__ = ["ArchSpec"]

MAX_UNITS = 2**16  # a layer of 65,536 × 65,536 units holds 4 billion weights: beyond, a typo
MAX_LAYERS = 100  # a 100-layer MLP is far past any GAN's; 100,000 took minutes to build before failing
MAX_WIDTH = 1024  # a base width of 1,024 doubles to 8,192 channels: gigabytes of weights per layer

#: what the convolutional architectures recommend: channels-last tensors, for which oneDNN's convolutions need
#: no reordering of the activations around each layer (the digits' DCGAN step: 1.1× on one CPU thread at batch
#: 64, 1.2× at 256; docs/performance.md); cuDNN prefers the layout too. Not the default for every
#: architecture: a plugin's network that calls ``view`` on its activations would fail on it
CONVOLUTIONAL = {"channels_last": True}

#: the options of ``mlp.build``, for any registration that builds with it
MLP_OPTIONS = (
    Option("hidden", int, 256, "units per hidden layer", min=1, max=MAX_UNITS),
    Option("d_hidden", int, 0, "units per hidden layer of D (0: same as G)", min=0, max=MAX_UNITS),
    Option("layers", int, 3, "hidden layers in each network", min=1, max=MAX_LAYERS),
    Option("batchnorm", bool, False, "BatchNorm in the generator"),
)


def widths(g_width: int, d_width: int, what: str) -> list[Option]:
    """The base widths of a convolutional G and D, doubled per halving of the resolution."""
    return [
        Option(
            "g_width", int, g_width, f"channels of G's last {what}; doubled per halving, up to 8×", min=1, max=MAX_WIDTH
        ),
        Option(
            "d_width",
            int,
            d_width,
            f"channels of D's first {what}; doubled per halving, up to 8×",
            min=1,
            max=MAX_WIDTH,
        ),
    ]


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
        "square images 16–256 px, a power of two or three times one (48)",
        options=widths(32, 32, "layer"),
        recommends=CONVOLUTIONAL,
    )
    register(
        "resnet",
        "gancli.nets.resnet:build",
        "SNGAN residual G (upsampling blocks, BatchNorm) and D (downsampling blocks, sum pooling); "
        "square images 16–256 px, a power of two or three times one (48)",
        options=widths(64, 64, "block"),
        recommends=CONVOLUTIONAL,
    )

"""What an architecture plugin builds for: the spec of shapes and the requirements a loss or a flag places on
the networks. Plain data, no torch, so plugins can name requirements at registration time."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from gancli.errors import GancliError

#: requirements a loss or a flag may place on the architecture
NO_BATCHNORM = "no_batchnorm"  # the critic must treat samples independently (gradient penalties)
AUTOENCODER = "autoencoder"  # D is an auto-encoder returning its reconstruction energy (EBGAN)
MINIBATCH_STD = "minibatch_std"  # D sees the spread of its minibatch (Karras et al. 2018)
#: G and D take the class (--conditional): G(z, labels) and D(x, labels), ``ArchSpec.classes`` of them
CONDITIONAL = "conditional"
#: D also predicts the class (--aux-classifier, ACGAN): D(x, labels) returns (scores (B,), class logits (B, classes))
AUX_CLASSIFIER = "aux_classifier"
REQUIREMENTS = (NO_BATCHNORM, AUTOENCODER, MINIBATCH_STD, CONDITIONAL, AUX_CLASSIFIER)

#: the channels an image (C, H, W) may have, gray or RGB: what the data, G, the grids and --channels take
CHANNELS = (1, 3)

#: where each requirement comes from, for the error that names it
REQUIRED_BY = {
    MINIBATCH_STD: "asked for by --minibatch-std or the dataset's recommendation; --no-minibatch-std turns it off",
    NO_BATCHNORM: "the loss needs a critic without BatchNorm",
    AUTOENCODER: "the loss needs an auto-encoder cost network",
    CONDITIONAL: "asked for by --conditional: G and D must take the class",
    AUX_CLASSIFIER: "asked for by --aux-classifier: D must also give class logits, (scores, logits)",
}


@dataclass(frozen=True)
class ArchSpec:
    """The shapes and demands an architecture builds G and D for.

    ``d_input_shape`` differs from ``data_shape`` when D judges packed samples (PacGAN): m samples stacked
    along the first axis. ``classes`` > 0 (with the ``conditional`` requirement) asks for class-conditional
    networks: G(z, labels) and D(x, labels), ``labels`` an int64 (B,) tensor of indices below ``classes``.
    ``class_factors``, when the data declares its classes as combinations of independent factors (stacked digits:
    (10, 10, 10), a label ``100·a + 10·b + c``), lets an architecture learn one embedding per factor's value.
    """

    data_shape: tuple[int, ...]
    latent_dim: int
    d_input_shape: tuple[int, ...]
    requirements: frozenset[str] = frozenset()
    classes: int = 0
    class_factors: tuple[int, ...] = ()

    @property
    def is_image(self) -> bool:
        return len(self.data_shape) == 3

    @property
    def class_layout(self) -> tuple[int, ...]:
        """The factors the built-in layers embed a class by: ``class_factors``, else the classes as one factor;
        () for an unconditional run."""
        return self.class_factors or ((self.classes,) if self.classes else ())


def factors_fit(factors: Sequence[int], classes: int) -> bool:
    """Whether ``factors`` are whole numbers above 1 whose product is ``classes``: the rule class factors follow,
    whether a dataset declares them, a checkpoint records them or a run is built with them."""
    return all(type(radix) is int and radix > 1 for radix in factors) and math.prod(factors) == classes


def check_requirements(arch: str, spec: ArchSpec, supported: Iterable[str]) -> None:
    """Refuse, naming the architecture and where each demand came from, what it cannot build."""
    missing = sorted(spec.requirements - set(supported))
    if missing:
        why = "; ".join(REQUIRED_BY.get(name, name) for name in missing)
        raise GancliError(f"architecture {arch!r} cannot provide {', '.join(missing)} ({why})")


def numel(shape: tuple[int, ...]) -> int:
    return math.prod(shape)

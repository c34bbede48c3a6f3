"""The one interface of a dataset plugin, a DataSource that hands out batches, and the capabilities a data
source may declare (labelled images, a known mixture) for the metrics that need them."""

from __future__ import annotations

import numbers
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

import numpy as np
import torch

from gancli.errors import GancliError
from gancli.nets.spec import CHANNELS
from gancli.plugins.contracts import describe

if TYPE_CHECKING:
    from gancli.kernels import AugmentSpec
    from gancli.plugins.registry import Registration


@dataclass(frozen=True)
class DataRequest:
    """What the run asks of an image dataset; point datasets ignore it."""

    image_size: int | None = None
    channels: int | None = None
    augment: str = ""
    skip_bad: bool = False
    background: str = "black"  # under transparent pixels and around padded images: black, white or #rrggbb


class DataSource(ABC):
    """Training data: a sample shape and seeded batches.

    Batches come from the run's numpy Generator only, so a seed fixes them and a resumed run, whose
    generator state was saved, continues with the very batches the uninterrupted run would have seen.
    """

    name: str
    shape: tuple[int, ...]
    #: points (2-D samples, drawn as a scatter) or images (C, H, W in [-1, 1], drawn as a grid)
    is_image: bool = False

    @abstractmethod
    def __len__(self) -> int:
        """How many distinct training examples there are (for information)."""

    @abstractmethod
    def batch(self, size: int, rng: np.random.Generator) -> torch.Tensor:
        """A float32 CPU tensor of ``size`` samples of ``shape``."""

    def fingerprint(self) -> str | None:
        """A digest of the examples' content, recorded in every checkpoint so that ``--resume`` notices data
        that changed under the run; None (the default) for data drawn from a formula, whose options the run's
        configuration already records."""
        return None


class ImageSource(DataSource):
    """Images held as one uint8 array (N, C, H, W), augmented by the native kernels on the way out.

    ``augment`` is the ``--augment`` spec; a bad one is refused here, naming the flag, so every image
    dataset (built-in or third-party) checks it the same way.
    """

    is_image = True

    def __init__(self, name: str, images: np.ndarray, augment: str = "") -> None:
        if images.ndim != 4 or images.dtype != np.uint8:
            raise ValueError(f"{name}: expected a uint8 array (N, C, H, W), got {images.dtype} {images.shape}")
        if len(images) == 0:
            raise ValueError(f"{name}: the dataset holds no images")
        self.name = name
        self.images = images
        self.shape = tuple(images.shape[1:])
        self.augment = self.parse_augment(augment)
        self._fingerprint: str | None = None

    @staticmethod
    def parse_augment(spec: str) -> AugmentSpec:
        """The parsed ``--augment`` spec, or a one-line GancliError naming the flag. A dataset that reads for
        long may call this first, so that a typo fails before the reading rather than after it."""
        from gancli import kernels

        try:
            return kernels.AugmentSpec.parse(spec)
        except ValueError as exc:
            raise GancliError(f"--augment {spec!r}: {exc}") from None

    def __len__(self) -> int:
        return len(self.images)

    def fingerprint(self) -> str:
        """XXH3-64 of the pixels, (N, C, H, W) in C order, once per session: the native kernel reads the array
        in place with the GIL released, memory-mapped files included (docs/kernels.md has its cost)."""
        if self._fingerprint is None:
            from gancli import kernels

            self._fingerprint = f"xxh3:{kernels.checksum(np.ascontiguousarray(self.images)):016x}"
        return self._fingerprint

    def draw_indices(self, size: int, rng: np.random.Generator) -> np.ndarray:
        """The examples of the next batch, sorted (the gather then reads memory forwards)."""
        return np.sort(rng.integers(0, len(self.images), size=size))

    def batch(self, size: int, rng: np.random.Generator) -> torch.Tensor:
        batch = self.images[self.draw_indices(size, rng)]
        if self.augment:
            from gancli import kernels

            batch = kernels.augment(batch, self.augment, seed=int(rng.integers(0, 2**63 - 1)))
        return torch.from_numpy(batch).float().div_(127.5).sub_(1.0)


def is_data_source(obj: Any) -> bool:
    """What a dataset's factory must return."""
    return isinstance(obj, DataSource)


DRY_BATCH = 2


def check_data(reg: Registration, data: DataSource) -> None:
    """The dataset's contract, checked once as a run is built, naming the plugin: a shape of positive sizes,
    images (C, H, W) of 1 or 3 channels, and a batch of that shape as a float tensor, drawn from a generator of its
    own (the run's batches stay the ones it would draw without the check)."""
    declared = getattr(data, "shape", None)
    shape = tuple(declared) if isinstance(declared, tuple | list) else ()
    if not shape or not all(isinstance(n, numbers.Integral) and not isinstance(n, bool) and n > 0 for n in shape):
        raise reg.error(f"dataset {reg.name!r}: its shape must be a tuple of positive sizes, got {declared!r}")
    if data.is_image and (len(shape) != 3 or shape[0] not in CHANNELS):
        raise reg.error(
            f"dataset {reg.name!r}: images must be (C, H, W) with 1 (gray) or 3 (RGB) channels, got shape {shape}"
        )
    with reg.calling("batch"):
        batch = data.batch(DRY_BATCH, np.random.default_rng(0))
    if not (isinstance(batch, torch.Tensor) and batch.is_floating_point() and batch.shape == (DRY_BATCH, *shape)):
        got = f"shape {tuple(batch.shape)} of {batch.dtype}" if isinstance(batch, torch.Tensor) else describe(batch)
        raise reg.error(
            f"dataset {reg.name!r}: batch({DRY_BATCH}, rng) returned {got}, expected floats of shape "
            f"{(DRY_BATCH, *shape)}"
        )


@runtime_checkable
class LabelledImages(Protocol):
    """Images whose examples carry class labels; class-aware metrics (``recognition``) score such data.

    A third-party dataset gains those metrics by having both attributes."""

    images: np.ndarray  # uint8 (N, C, H, W)
    labels: np.ndarray  # integer class of each image, (N,)


@runtime_checkable
class KnownMixture(Protocol):
    """Points drawn from equal-weight isotropic Gaussians at known centres; mode-coverage metrics (``modes``)
    score such data."""

    modes: np.ndarray  # (K, D) centres
    std: float  # standard deviation of every mode

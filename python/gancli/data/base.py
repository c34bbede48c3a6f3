"""The one interface of a dataset plugin: a DataSource that hands out batches."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass

import numpy as np
import torch

from gancli.errors import GancliError
from gancli.plugins.registry import Registration, Registry, unknown_message


@dataclass(frozen=True)
class DataRequest:
    """What the run asks of an image dataset; point datasets ignore it."""

    image_size: int | None = None
    channels: int | None = None
    augment: str = ""
    skip_bad: bool = False


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


class ImageSource(DataSource):
    """Images held as one uint8 array (N, C, H, W), augmented by the native kernels on the way out."""

    is_image = True

    def __init__(self, name: str, images: np.ndarray, augment: str = "") -> None:
        if images.ndim != 4 or images.dtype != np.uint8:
            raise ValueError(f"{name}: expected a uint8 array (N, C, H, W), got {images.dtype} {images.shape}")
        if len(images) == 0:
            raise ValueError(f"{name}: the dataset holds no images")
        self.name = name
        self.images = images
        self.shape = tuple(images.shape[1:])
        self.augment = augment

    def __len__(self) -> int:
        return len(self.images)

    def batch(self, size: int, rng: np.random.Generator) -> torch.Tensor:
        idx = np.sort(rng.integers(0, len(self.images), size=size))
        batch = self.images[idx]
        if self.augment:
            from gancli import kernels

            batch = kernels.augment(batch, self.augment, seed=int(rng.integers(0, 2**63 - 1)))
        return torch.from_numpy(batch).float().div_(127.5).sub_(1.0)


def dataset_registration(registry: Registry, spec: str) -> Registration:
    """The dataset plugin for ``--data SPEC``: a registered name, else the first plugin matching the path."""
    names = registry.entries["dataset"]
    if spec in names:
        return registry.get("dataset", spec)
    for reg in names.values():
        if reg.matches is not None and reg.matches(spec):
            return reg
    raise GancliError(f"--data: {unknown_message('dataset', spec, names)}, and no file or folder of that name")

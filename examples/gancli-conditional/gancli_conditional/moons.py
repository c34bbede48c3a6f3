"""Two moons, each point labelled with its moon: a dataset that declares classes and draws labelled batches."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import torch
from gancli.api import DataRequest, DataSource, Labelled


class Moons(DataSource):
    """The upper moon (class 0) is the half circle of radius 1 about the origin; the lower (class 1) the same
    half circle flipped and moved to (1, 0.5)."""

    shape = (2,)
    classes = ("upper", "lower")

    def __init__(self, name: str, noise: float) -> None:
        self.name, self.noise = name, noise

    def __len__(self) -> int:
        return len(self.classes)

    def draw(self, size: int, rng: np.random.Generator) -> tuple[np.ndarray, torch.Tensor]:
        """The moon of each of ``size`` points, and the points: everything from ``rng``, so a seed fixes them."""
        moon = rng.integers(0, 2, size=size)
        angle = rng.uniform(0, np.pi, size=size)
        points = np.stack([np.cos(angle) + moon, np.sin(angle) * (1 - 2 * moon) + 0.5 * moon], axis=1)
        points += rng.normal(0.0, self.noise, size=points.shape)
        return moon, torch.from_numpy(points.astype(np.float32))

    def batch(self, size: int, rng: np.random.Generator) -> torch.Tensor:
        return self.draw(size, rng)[1]

    def labelled_batch(self, size: int, rng: np.random.Generator) -> Labelled:
        moon, points = self.draw(size, rng)
        return Labelled(points, torch.from_numpy(moon))


def open_moons(spec: str, request: DataRequest, options: Mapping[str, Any]) -> Moons:
    return Moons(spec, options["noise"])

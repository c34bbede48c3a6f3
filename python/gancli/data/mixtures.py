"""2-D Gaussian mixtures on which mode collapse is visible at a glance (PacGAN / VEEGAN benchmarks).

``ring8``: 8 equal modes at radius·(cos 2πi/8, sin 2πi/8), std 0.01 (PacGAN); the Unrolled-GAN variant is
``--set radius=2 --set std=0.02``. ``grid25``: 25 equal modes on the grid {-4,-2,0,2,4}², std 0.05.
Each point's class is the mode it was drawn from (named by its index), so ``--conditional`` learns to draw the
mode asked for.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import torch

from gancli.data.base import DataRequest, DataSource, Labelled


class GaussianMixture(DataSource):
    """Equal-weight isotropic Gaussians at ``modes``; ``modes`` and ``std`` also serve mode-coverage metrics, and
    the modes are the classes of a conditional run."""

    shape = (2,)

    def __init__(self, name: str, modes: np.ndarray, std: float) -> None:
        self.name = name
        self.modes = modes.astype(np.float64)
        self.std = float(std)

    def __len__(self) -> int:
        return len(self.modes)

    @property
    def classes(self) -> tuple[str, ...]:  # type: ignore[override]
        return tuple(str(mode) for mode in range(len(self.modes)))

    def batch(self, size: int, rng: np.random.Generator) -> torch.Tensor:
        return self.draw(size, rng)[1]

    def labelled_batch(self, size: int, rng: np.random.Generator) -> Labelled:
        which, points = self.draw(size, rng)
        return Labelled(points, torch.from_numpy(which))

    def draw(self, size: int, rng: np.random.Generator) -> tuple[np.ndarray, torch.Tensor]:
        """The mode of each of ``size`` points, and the points."""
        which = rng.integers(0, len(self.modes), size=size)
        points = self.modes[which] + rng.normal(0.0, self.std, size=(size, 2))
        return which, torch.from_numpy(points.astype(np.float32))


def ring(n: int, radius: float) -> np.ndarray:
    angles = 2 * np.pi * np.arange(n) / n
    return radius * np.stack([np.cos(angles), np.sin(angles)], axis=1)


def grid(side: int, spacing: float) -> np.ndarray:
    axis = (np.arange(side) - (side - 1) / 2) * spacing
    xs, ys = np.meshgrid(axis, axis, indexing="ij")
    return np.stack([xs.ravel(), ys.ravel()], axis=1)


def open_ring(spec: str, request: DataRequest, options: Mapping[str, Any]) -> GaussianMixture:
    return GaussianMixture(spec, ring(options["modes"], options["radius"]), options["std"])


def open_grid(spec: str, request: DataRequest, options: Mapping[str, Any]) -> GaussianMixture:
    return GaussianMixture(spec, grid(options["side"], options["spacing"]), options["std"])

"""The 2-D swiss roll of the WGAN-GP toy experiments (Gulrajani et al. 2017, "Improved Training of Wasserstein
GANs"): sklearn's ``make_swiss_roll`` seen from above, ``(t cos t, t sin t)`` for t uniform in [1.5π, 4.5π],
plus Gaussian noise, scaled by 1/7.5.

Unlike ring8 and grid25 it is one continuous manifold, not a mixture of modes, so mode coverage says nothing
about it: it does not implement ``KnownMixture``, and the ``energy`` metric scores it instead.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import torch
from gancli.api import DataRequest, DataSource

SCALE = 7.5
#: the training set is the same for every run, as a file on disk would be; the run's seed picks the batches
DATA_SEED = 0


def swiss_roll(n: int, noise: float, rng: np.random.Generator) -> np.ndarray:
    """``n`` points (n, 2) of the roll."""
    t = 1.5 * np.pi * (1 + 2 * rng.random(n))
    points = np.stack([t * np.cos(t), t * np.sin(t)], axis=1) + rng.normal(0.0, noise, size=(n, 2))
    return points / SCALE


class SwissRoll(DataSource):
    shape = (2,)

    def __init__(self, name: str, points: int, noise: float) -> None:
        if points < 1:
            raise ValueError(f"points must be at least 1, got {points}")
        if noise < 0:
            raise ValueError(f"noise must be non-negative, got {noise}")
        self.name = name
        self.points = swiss_roll(points, noise, np.random.default_rng(DATA_SEED)).astype(np.float32)

    def __len__(self) -> int:
        return len(self.points)

    def batch(self, size: int, rng: np.random.Generator) -> torch.Tensor:
        return torch.from_numpy(self.points[rng.integers(0, len(self.points), size=size)])


def open_swissroll(spec: str, request: DataRequest, options: Mapping[str, Any]) -> SwissRoll:
    return SwissRoll(spec, options["points"], options["noise"])

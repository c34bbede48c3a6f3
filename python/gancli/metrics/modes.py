"""Mode coverage on Gaussian mixtures, the measure of mode collapse used by VEEGAN and PacGAN.

A sample is high quality if it lies within 3 standard deviations of its nearest mode; a mode is covered
if at least ``min_count`` of the samples are high-quality samples of it (20 of 2,500 in the papers).
``mode_kl`` is KL(p‖uniform) of the high-quality samples' distribution over the modes, as in PacGAN's code:
0 when they spread evenly, log K when they all sit on one mode or when there is none at all.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import torch

from gancli.data.base import DataSource, KnownMixture
from gancli.metrics.base import Metric, kl_from_uniform


class ModeCoverage(Metric):
    def __init__(self, samples: int, min_count: int) -> None:
        self.samples_needed = samples
        self.min_count = min_count

    def applies_to(self, data: DataSource) -> bool:
        return isinstance(data, KnownMixture)

    def compute(self, samples: torch.Tensor, data: DataSource) -> dict[str, float]:
        if not isinstance(data, KnownMixture):
            raise ValueError(f"dataset {data.name!r} has no modes to cover")
        modes = data.modes
        points = samples.detach().cpu().double().numpy().reshape(len(samples), -1)
        distances = np.linalg.norm(points[:, None, :] - modes[None, :, :], axis=2)
        nearest = distances.argmin(axis=1)
        good = distances[np.arange(len(points)), nearest] <= 3 * data.std
        counts = np.bincount(nearest[good], minlength=len(modes))
        return {
            "modes_covered": int((counts >= self.min_count).sum()),
            "modes_total": len(modes),
            "high_quality": float(good.mean()),
            "mode_kl": kl_from_uniform(counts),
        }


def mode_coverage(options: Mapping[str, Any]) -> Metric:
    return ModeCoverage(options["samples"], options["min_count"])

"""Modes of stacked digits covered, the image measure of mode collapse (VEEGAN, PacGAN, R3GAN).

The ``digits-cnn`` classifier labels each channel of every sample with its most probable digit, which names
the sample's mode (``100·a + 10·b + c``). ``stacked_modes`` counts the modes with at least one sample, as the
papers do (of 26,000 samples), and ``stacked_kl`` is KL(mode histogram ‖ uniform): about 0.02 for a perfect
generator at 26,000 samples, log 1000 ≈ 6.91 for one collapsed to a single triple. The real floor,
``stacked_modes_real`` and ``stacked_kl_real``, scores as many fresh triples of the 1,000 digits the classifier
never saw, so that its mistakes weigh on real and generated digits alike.
"""

from __future__ import annotations

import weakref
from collections.abc import Mapping
from typing import Any

import numpy as np
import torch

from gancli.data.base import DataSource
from gancli.data.stacked import CHANNELS, MODES, StackedDigits, mode_of, stack
from gancli.metrics.base import Metric, kl_from_uniform

#: the extractor that labels the digits, created through the feature-extractor registry with its default options
CLASSIFIER = "digits-cnn"
REAL_SEED = 0


def classifier() -> Any:
    """The registered ``digits-cnn`` extractor (trained once, cached), whose ``classify`` labels channels."""
    from gancli.plugins import get_plugins

    return get_plugins().registry.get("features", CLASSIFIER).create(CLASSIFIER)


def modes(probabilities: torch.Tensor) -> np.ndarray:
    """Each sample's mode from its channels' class probabilities (N, 3, 10)."""
    return mode_of(probabilities.argmax(dim=2).numpy())


def mode_figures(labels: np.ndarray) -> tuple[int, float]:
    """(modes with at least one sample, KL of the mode histogram to uniform over the 1,000 modes)."""
    counts = np.bincount(labels, minlength=MODES)
    return int((counts > 0).sum()), kl_from_uniform(counts)


_floors: weakref.WeakKeyDictionary[StackedDigits, dict[int, tuple[int, float]]] = weakref.WeakKeyDictionary()


class StackedModes(Metric):
    def __init__(self, samples: int) -> None:
        self.samples_needed = samples
        self._classifier: Any = None

    def applies_to(self, data: DataSource) -> bool:
        return isinstance(data, StackedDigits)

    def labels(self, images: torch.Tensor) -> np.ndarray:
        if self._classifier is None:
            self._classifier = classifier()
        return modes(self._classifier.classify(images))

    def real_floor(self, data: StackedDigits, count: int) -> tuple[int, float]:
        """The figures of ``count`` fresh real triples of unseen digits (computed once per dataset and count)."""
        from gancli.features.digits_cnn import split

        floors = _floors.setdefault(data, {})
        if count not in floors:
            picks = np.random.default_rng(REAL_SEED).choice(split()[1], size=(count, CHANNELS))
            real = torch.from_numpy(stack(data.singles, picks)).float().div(127.5).sub(1.0)
            floors[count] = mode_figures(self.labels(real))
        return floors[count]

    def compute(self, samples: torch.Tensor, data: DataSource) -> dict[str, float]:
        if not isinstance(data, StackedDigits):
            raise ValueError(f"dataset {data.name!r} is not stacked digits")
        if samples.shape[1:2] != (CHANNELS,):
            raise ValueError(f"stacked digits have {CHANNELS} channels, the samples {samples.shape[1]}")
        covered, kl = mode_figures(self.labels(samples.detach().cpu()))
        covered_real, kl_real = self.real_floor(data, len(samples))
        return {
            "stacked_modes": covered,
            "stacked_kl": kl,
            "stacked_modes_real": covered_real,
            "stacked_kl_real": kl_real,
        }


def stacked_modes(options: Mapping[str, Any]) -> Metric:
    return StackedModes(options["samples"])

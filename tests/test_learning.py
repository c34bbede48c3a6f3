"""Training learns: the mixtures' recommended runs cover their modes through the real command line, and the
remedies against mode collapse make a visible difference. Seeds are fixed and runs go on the CPU, so each
figure repeats; the bounds sit below the measured figures (docs/pitfalls.md) with a margin for other CPUs.
"""

from __future__ import annotations

import math

import pytest
import torch
from gancli.data.mixtures import GaussianMixture, ring
from gancli.metrics.modes import ModeCoverage

RING = GaussianMixture("ring8", ring(8, 1.0), 0.01)


def test_no_high_quality_sample_is_the_worst_mode_kl_not_the_best() -> None:
    """A generator that lands nowhere near a mode must not score mode_kl 0 (a perfect spread)."""
    nowhere = ModeCoverage(200, 20).compute(torch.zeros(200, 2), RING)
    assert (nowhere["modes_covered"], nowhere["high_quality"]) == (0, 0.0)
    assert nowhere["mode_kl"] == pytest.approx(math.log(8))

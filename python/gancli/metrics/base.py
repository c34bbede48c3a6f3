"""The one interface of a metric plugin."""

from __future__ import annotations

from abc import ABC, abstractmethod

import numpy as np
import torch

from gancli.data.base import DataSource


class Metric(ABC):
    """Scores generated samples against the training data; computed from a saved run, never during a step."""

    #: how many generated samples ``compute`` wants
    samples_needed: int = 2500
    #: whether training's evaluations score it unless the run names its metrics; False: only ``gancli eval``
    live: bool = True

    def applies_to(self, data: DataSource) -> bool:
        """Whether this metric means anything for ``data`` (metrics not chosen explicitly run only then)."""
        return True

    @abstractmethod
    def compute(self, samples: torch.Tensor, data: DataSource) -> dict[str, float]:
        """{name: value} for ``samples`` (a CPU float tensor of ``samples_needed`` generated samples)."""


def kl_from_uniform(counts: np.ndarray) -> float:
    """KL(p ‖ uniform) of the distribution ``counts`` describes over its K bins: 0 when even, log K when
    everything sits in one bin, and log K too when nothing was counted (undefined; 0, "perfect", would hide
    the worst case)."""
    return kl_divergence(counts, np.ones(len(counts)))


def kl_divergence(counts: np.ndarray, reference: np.ndarray) -> float:
    """KL(p ‖ q) of the histograms ``counts`` (p) and ``reference`` (q) over the same bins: 0 when alike; when
    nothing was counted, log K for K bins, as if all had fallen into one. Bins that ``reference`` leaves empty
    but p fills count as if q held a hundredth of a sample there, so the value stays finite."""
    counts = np.asarray(counts, dtype=np.float64)
    if counts.sum() == 0:
        return float(np.log(len(counts)))
    q = np.maximum(np.asarray(reference, dtype=np.float64), 0.01)
    q = q / q.sum()
    p = counts / counts.sum()
    filled = p > 0
    return float(np.sum(p[filled] * np.log(p[filled] / q[filled])))


#: words in a metric's name that mean smaller is better: divergences and distances
LOWER_IS_BETTER = ("kl", "fd", "kid", "distance")


def lower_is_better(metric: str) -> bool:
    """Whether a smaller value of ``metric`` is the better one (a KL divergence, a Fréchet distance), where the
    larger is for the rest (modes covered, share recognised, precision)."""
    return any(word in metric.lower() for word in LOWER_IS_BETTER)


def improves(metric: str, value: float, best: float | None) -> bool:
    return best is None or (value < best if lower_is_better(metric) else value > best)

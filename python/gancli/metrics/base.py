"""The one interface of a metric plugin."""

from __future__ import annotations

from abc import ABC, abstractmethod

import torch

from gancli.data.base import DataSource


class Metric(ABC):
    """Scores generated samples against the training data; computed from a saved run, never during a step."""

    #: how many generated samples ``compute`` wants
    samples_needed: int = 2500

    def applies_to(self, data: DataSource) -> bool:
        """Whether this metric means anything for ``data`` (metrics not chosen explicitly run only then)."""
        return True

    @abstractmethod
    def compute(self, samples: torch.Tensor, data: DataSource) -> dict[str, float]:
        """{name: value} for ``samples`` (a CPU float tensor of ``samples_needed`` generated samples)."""

"""The one interface of a feature extractor: the space in which image metrics compare samples with data."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any

import numpy as np
import torch

from gancli.data.base import DataSource


class FeatureExtractor(ABC):
    """Maps images (N, C, H, W) in [-1, 1] to feature vectors (N, D), where distances mean something."""

    def applies_to(self, data: DataSource) -> bool:
        """Whether this space means anything for ``data`` (images, by default)."""
        return data.is_image

    @abstractmethod
    def embed(self, images: torch.Tensor) -> torch.Tensor:
        """(N, D) float features of ``images``, deterministic for the same input."""

    def classify(self, images: torch.Tensor) -> torch.Tensor | None:
        """(N, C, K) class probabilities of each of the images' C channels, for an extractor that is also a
        classifier (class coverage, stacked-digit modes); None for one that is not."""
        return None

    def unseen(self, data: DataSource) -> np.ndarray | None:
        """Indices of ``data``'s images this extractor was never trained on, when it was trained on some of
        them: the real floor is drawn from those, so that real and generated images are equally new to it."""
        return None


def is_feature_extractor(obj: Any) -> bool:
    """What a feature extractor's factory must return."""
    return isinstance(obj, FeatureExtractor)

"""A run's feature space: the extractor, and the real images every image metric compares samples with.

Two disjoint sets of real images are drawn once: the *reference* that samples are compared with, and the
*held-out* set scored against the same reference, which gives each figure's real floor (what the data's own
images score; a generator cannot be expected to do better). Both have ``size`` images, as many as the samples
scored, since FD and precision/recall depend on the sample size. An extractor trained on some of the data
(``digits-cnn`` on the MNIST digits) gives the held-out set from the images it never saw.
"""

from __future__ import annotations

from functools import cached_property
from typing import Any

import numpy as np
import torch

from gancli.data.base import DataSource, ImageSource
from gancli.errors import GancliError
from gancli.features.base import FeatureExtractor

MIN_SIZE = 50


class FeatureSpace:
    def __init__(self, extractor: FeatureExtractor, data: DataSource, size: int) -> None:
        if not isinstance(data, ImageSource):
            raise GancliError(f"dataset {data.name!r} has no images to compare in a feature space")
        self.extractor = extractor
        self.data = data
        rng = np.random.default_rng(0)
        unseen = extractor.unseen(data)
        if unseen is not None:
            held_out = rng.permutation(unseen)
            rest = np.setdiff1d(np.arange(len(data.images)), unseen)
        else:
            order = rng.permutation(len(data.images))
            held_out, rest = order[: len(order) // 2], order[len(order) // 2 :]
        #: --eval-samples; the images each set can have (the held-out ones are half the data, or those the
        #: extractor never saw); the images each set has: the smaller, as the samples scored against them
        self.asked, self.available = size, min(len(held_out), len(rest))
        self.size = min(size, self.available)
        if self.size < MIN_SIZE:
            raise GancliError(
                f"dataset {data.name!r}: {len(data.images)} images are too few for feature-space metrics "
                f"(they need {2 * MIN_SIZE})"
            )
        reference = rng.permutation(rest)[: self.size]
        self.reference_images = self.images(reference)
        self.held_out_images = self.images(held_out[: self.size])
        #: the class of each reference and held-out image, for labelled data (None otherwise): class metrics'
        self.reference_labels, self.held_out_labels = self.labels(reference), self.labels(held_out[: self.size])
        self._floors: dict[Any, dict[str, float]] = {}

    def images(self, indices: np.ndarray) -> torch.Tensor:
        assert isinstance(self.data, ImageSource)
        return torch.from_numpy(self.data.images[np.sort(indices)]).float().div(127.5).sub(1.0)

    def labels(self, indices: np.ndarray) -> torch.Tensor | None:
        """The classes of the images at ``indices`` in the order ``images`` takes them; None for unlabelled data."""
        targets = getattr(self.data, "targets", None)
        return None if targets is None else torch.from_numpy(targets[np.sort(indices)])

    def embed(self, images: torch.Tensor) -> torch.Tensor:
        features = self.extractor.embed(images).double()
        if features.ndim != 2 or len(features) != len(images) or not bool(torch.isfinite(features).all()):
            raise ValueError(f"the feature extractor returned {tuple(features.shape)} for {len(images)} images")
        return features

    def floor(self, metric: Any) -> dict[str, float]:
        """``metric.compare(held_out, reference)``: the real floor, the same all run long, so computed once."""
        if metric not in self._floors:  # keyed by the object (held), never by an id a new object may reuse
            self._floors[metric] = metric.compare(self.held_out, self.reference)
        return self._floors[metric]

    @cached_property
    def reference(self) -> torch.Tensor:
        return self.embed(self.reference_images)

    @cached_property
    def held_out(self) -> torch.Tensor:
        return self.embed(self.held_out_images)

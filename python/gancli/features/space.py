"""A run's feature space: the extractor, and the real images every image metric compares samples with.

Two disjoint sets of real images are drawn once: the *reference* that samples are compared with, and the
*held-out* set scored against the same reference, which gives each figure's real floor (what the data's own
images score; a generator cannot be expected to do better). Both have ``size`` images, as many as the samples
scored, since FD and precision/recall depend on the sample size. An extractor trained on some of the data
(``digits-cnn`` on the MNIST digits) gives the held-out set from the images it never saw; otherwise a run's
``--holdout`` images, which G never saw, are the held-out set (the extractor's choice wins because every figure's
floor depends on it: features of images an extractor trained on lie closer together); else half the data.

Memorisation is judged against every training image (``training``, embedded on first use; a ``--holdout`` image
is none): a sample's nearest training image (``nearest``) beside a held-out real image's nearest *other* training
image.
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
#: images converted to floats and embedded at once when the whole training set is embedded; samples whose
#: distances to every training image are held at once
EMBED_CHUNK = 1024


class FeatureSpace:
    def __init__(self, extractor: FeatureExtractor, data: DataSource, size: int) -> None:
        if not isinstance(data, ImageSource):
            raise GancliError(f"dataset {data.name!r} has no images to compare in a feature space")
        self.extractor = extractor
        self.data = data
        rng = np.random.default_rng(0)
        unseen = extractor.unseen(data)
        if unseen is None and len(data.held_out_indices):
            unseen = data.held_out_indices
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
        #: the held-out images' indices in the data, sorted as ``held_out_images`` are
        self.held_out_indices = np.sort(held_out[: self.size])
        self.held_out_images = self.images(self.held_out_indices)
        #: the class of each reference and held-out image, for labelled data (None otherwise): class metrics'
        self.reference_labels, self.held_out_labels = self.labels(reference), self.labels(self.held_out_indices)
        self._floors: dict[Any, dict[str, float]] = {}

    def images(self, indices: np.ndarray) -> torch.Tensor:
        """The images at ``indices``, in the order of the data (memory read forwards), in [-1, 1]."""
        return self.pixels(np.sort(indices))

    def pixels(self, indices: np.ndarray) -> torch.Tensor:
        """The images at ``indices``, in that order, in [-1, 1]."""
        assert isinstance(self.data, ImageSource)
        return self.data.pixels(indices)

    def labels(self, indices: np.ndarray) -> torch.Tensor | None:
        """The classes of the images at ``indices`` in the order ``images`` takes them; None for unlabelled data."""
        targets = getattr(self.data, "targets", None)
        return None if targets is None else torch.from_numpy(targets[np.sort(indices)])

    def embed(self, images: torch.Tensor) -> torch.Tensor:
        """The features of ``images``, checked: one finite vector per image."""
        features = self.extractor.embed(images).double()
        if features.ndim != 2 or len(features) != len(images) or not bool(torch.isfinite(features).all()):
            raise ValueError(f"the feature extractor returned {tuple(features.shape)} for {len(images)} images")
        return features

    def floor(self, metric: Any) -> dict[str, float]:
        """``metric.compare(held_out, reference)``: the real floor, the same all run long, so computed once."""
        if metric not in self._floors:  # keyed by the object (held), never by an id a new object may reuse
            self._floors[metric] = metric.compare(self.held_out, self.reference)
        return self._floors[metric]

    def nearest(self, features: torch.Tensor, exclude: np.ndarray | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """Each feature vector's distance to its nearest training image and that image's index in the data; with
        ``exclude`` (one data index per vector), each vector's own image is left out where it is a training image:
        a training image's nearest *other* one, where a new image from the data would find its nearest."""
        assert isinstance(self.data, ImageSource)
        training = self.data.training_indices
        values, indices = [], []
        for start in range(0, len(features), EMBED_CHUNK):  # a chunk's distances to all: 1,024 × N float64 at most
            distances = torch.cdist(features[start : start + EMBED_CHUNK], self.training)
            if exclude is not None:
                own = exclude[start : start + EMBED_CHUNK]
                place = np.minimum(np.searchsorted(training, own), len(training) - 1)
                trained = training[place] == own
                distances[torch.from_numpy(np.flatnonzero(trained)), torch.from_numpy(place[trained])] = float("inf")
            nearest = distances.min(dim=1)
            values.append(nearest.values)
            indices.append(torch.from_numpy(training)[nearest.indices])
        return torch.cat(values), torch.cat(indices)

    @cached_property
    def training(self) -> torch.Tensor:
        """Every training image of the data embedded (all but the ``--holdout`` ones), in the data's order."""
        assert isinstance(self.data, ImageSource)
        training = self.data.training_indices
        chunks = np.array_split(training, max(1, len(training) // EMBED_CHUNK))
        return torch.cat([self.embed(self.pixels(chunk)) for chunk in chunks])

    @cached_property
    def reference(self) -> torch.Tensor:
        return self.embed(self.reference_images)

    @cached_property
    def held_out(self) -> torch.Tensor:
        return self.embed(self.held_out_images)

"""Metrics in a feature space: the interface (``FeatureMetric``) and the built-in statistics.

Fréchet distance and KID are torchmetrics' own computations (``FrechetInceptionDistance`` and
``KernelInceptionDistance``, given a pass-through "network" since the features are already computed by the
run's extractor); precision and recall (Kynkäänniemi et al. 2019) and density and coverage (Naeem et al.
2020) are the papers' k-nearest-neighbour definitions, which torchmetrics does not provide. Each figure comes
with its real floor, ``NAME_real``: the same statistic of held-out real images against the same reference.
"""

from __future__ import annotations

import warnings
from abc import ABC, abstractmethod
from collections.abc import Mapping
from typing import Any

import torch
from torch import nn

from gancli.data.base import DataSource
from gancli.features.space import FeatureSpace
from gancli.metrics.base import Metric

KID_SUBSETS = 100


class FeatureMetric(ABC):
    """Scores generated samples by their features, in the space the run's ``--features`` extractor defines."""

    #: whether training's evaluations score it unless the run names its metrics; False: only ``gancli eval``
    live: bool = True

    def applies_to(self, data: DataSource) -> bool:
        return data.is_image

    @abstractmethod
    def compare(self, fake: torch.Tensor, real: torch.Tensor) -> dict[str, float]:
        """{name: value} comparing generated features (N, D) with real reference features (N, D), float64."""

    def score(self, space: FeatureSpace, fake: torch.Tensor) -> dict[str, float]:
        """The figures for ``fake`` features and, beside each, the held-out real images' own (``_real``)."""
        values = self.compare(fake, space.reference)
        floor = space.floor(self)
        return {**values, **{f"{name}_real": value for name, value in floor.items()}}


class ClassMetric(ABC):
    """Scores a conditional run's samples against the classes they were asked for, in the run's feature space:
    created for every run, scored only for ``--conditional`` ones."""

    #: whether training's evaluations score it unless the run names its metrics; False: only ``gancli eval``
    live: bool = True

    def applies_to(self, data: DataSource) -> bool:
        return data.is_image and data.classes is not None

    @abstractmethod
    def score(self, space: FeatureSpace, samples: torch.Tensor, asked: torch.Tensor) -> dict[str, float]:
        """{name: value} for ``samples`` (N, C, H, W) in [-1, 1], sample i asked for class ``asked[i]``; with
        each figure the held-out real images' own (``NAME_real``) where there is one. {} where the space cannot
        tell (an extractor that is no classifier)."""


def is_metric(obj: Any) -> bool:
    """What a metric's factory must return: a Metric, or a FeatureMetric or ClassMetric scored in the run's
    feature space."""
    return isinstance(obj, Metric | FeatureMetric | ClassMetric)


class GivenFeatures(nn.Module):
    """The "network" torchmetrics applies: the identity on features the extractor already computed."""

    def __init__(self, num_features: int) -> None:
        super().__init__()
        self.num_features = num_features

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        return features


class Frechet(FeatureMetric):
    """Fréchet distance between Gaussians fitted to the two feature sets (FID when the space is Inception's)."""

    def compare(self, fake: torch.Tensor, real: torch.Tensor) -> dict[str, float]:
        from torchmetrics.image.fid import FrechetInceptionDistance

        fd = FrechetInceptionDistance(feature=GivenFeatures(real.shape[1]), sync_on_compute=False)
        fd.update(real, real=True)
        fd.update(fake, real=False)
        return {"fd": float(fd.compute())}


class KernelDistance(FeatureMetric):
    """KID: the unbiased MMD² with a cubic polynomial kernel, mean and standard deviation over subsets."""

    def __init__(self, subset: int) -> None:
        self.subset = subset

    def compare(self, fake: torch.Tensor, real: torch.Tensor) -> dict[str, float]:
        from torchmetrics.image.kid import KernelInceptionDistance

        size = min(self.subset, len(real) // 2, len(fake) // 2)
        with warnings.catch_warnings():  # that it keeps the features in memory: 2 × N × D floats, known
            warnings.simplefilter("ignore", UserWarning)
            kid = KernelInceptionDistance(
                feature=GivenFeatures(real.shape[1]), subsets=KID_SUBSETS, subset_size=size, sync_on_compute=False
            )
        kid.update(real, real=True)
        kid.update(fake, real=False)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(0)  # the subsets are drawn with torch's generator: the same ones every time
            mean, std = kid.compute()
        return {"kid": float(mean), "kid_std": float(std)}


def kth_neighbour_radius(points: torch.Tensor, k: int) -> torch.Tensor:
    """Each point's distance to its k-th nearest other point."""
    return torch.cdist(points, points).kthvalue(k + 1, dim=1).values  # the 1st is the point itself


class Manifold(FeatureMetric):
    """Precision, recall, density and coverage: k-NN balls around each sample estimate the supports.

    precision: share of fakes inside some real ball; recall: share of reals inside some fake ball;
    density: real balls holding each fake, averaged and divided by k; coverage: share of real balls that
    hold a fake (Naeem et al.: unlike recall, not fooled by fakes spread into empty space)."""

    def __init__(self, k: int) -> None:
        self.k = k

    def compare(self, fake: torch.Tensor, real: torch.Tensor) -> dict[str, float]:
        real_radius = kth_neighbour_radius(real, self.k)
        fake_radius = kth_neighbour_radius(fake, self.k)
        distance = torch.cdist(real, fake)  # (real, fake)
        inside_real = distance <= real_radius[:, None]
        return {
            "precision": float(inside_real.any(dim=0).double().mean()),
            "recall": float((distance <= fake_radius[None, :]).any(dim=1).double().mean()),
            "density": float(inside_real.sum(dim=0).double().mean() / self.k),
            "coverage": float((distance.min(dim=1).values <= real_radius).double().mean()),
        }


class Memorisation(FeatureMetric):
    """Whether G copies its training images: each sample's distance to its nearest training image (the median,
    ``nn_distance``) beside a held-out real image's distance to its nearest *other* training image
    (``nn_distance_real``). A G that copies scores far below real; one that draws new images of the data scores
    about level with it (a poor one, above). ``near_copies``: the share of samples nearer a training image than
    95 % of the held-out real images are (their own share: 5 %).

    Without ``--holdout`` gancli trains on every image, so no real image is new to the run: the held-out figure
    leaves each image out of the training set it is compared with, which is where a new image of the data would
    find its nearest; with it, the held-out images are the ones G never saw (``FeatureSpace``). The
    distances are taken in the run's feature space, not in pixels: pixel distance sees only exact copies (a copy
    moved by a pixel, or a shade lighter, is as far as another image), where features see a copy through such
    changes, as a person would, and are the space fd and precision are scored in. Only ``gancli eval`` scores it
    (``live`` False): it is no target to train towards, and every training image is embedded for it.
    """

    live = False

    def __init__(self, share: float) -> None:
        self.share = share

    def compare(self, fake: torch.Tensor, real: torch.Tensor) -> dict[str, float]:
        """``real`` taken as the whole training set; each real image's nearest other one, as the floor."""
        generated = torch.cdist(fake, real).min(dim=1).values
        own = torch.cdist(real, real).fill_diagonal_(float("inf")).min(dim=1).values
        return self.figures(generated, own)

    def score(self, space: FeatureSpace, fake: torch.Tensor) -> dict[str, float]:
        generated, _ = space.nearest(fake)
        real, _ = space.nearest(space.held_out, exclude=space.held_out_indices)
        return self.figures(generated, real)

    def figures(self, generated: torch.Tensor, real: torch.Tensor) -> dict[str, float]:
        close = torch.quantile(real, self.share)
        return {
            "nn_distance": float(generated.median()),
            "nn_distance_real": float(real.median()),
            "near_copies": float((generated < close).double().mean()),
            "near_copies_real": float((real < close).double().mean()),
        }


def frechet(options: Mapping[str, Any]) -> FeatureMetric:
    return Frechet()


def kernel_distance(options: Mapping[str, Any]) -> FeatureMetric:
    return KernelDistance(options["subset"])


def manifold(options: Mapping[str, Any]) -> FeatureMetric:
    return Manifold(options["k"])


def memorisation(options: Mapping[str, Any]) -> FeatureMetric:
    return Memorisation(options["share"])

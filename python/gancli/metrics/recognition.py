"""Are the samples recognisable? A classifier trained on the run's own labelled images judges them.

The digit analogue of the Inception Score, with no download: a multinomial logistic regression fitted
on 90 % of the training images (pooled to at most 32×32); the other 10 % give the real data's own score,
``recognised_real``, so a user sees what "good" is on this data. A sample is recognised when the
classifier gives one class at least ``confidence``; ``classes_covered`` counts the classes that receive
at least ``min_share`` of the recognised samples (mode collapse shows as few classes), and ``class_kl``
is KL(class shares ‖ the data's class shares), log 10 when nothing is recognised. Each figure comes with the
held-out real images' own (``recognised_real``, ...).
"""

from __future__ import annotations

import weakref
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from gancli.data.base import DataSource, LabelledImages
from gancli.metrics.base import Metric, kl_divergence

HELD_OUT = 0.1
WEIGHT_DECAY = 1e-3
FEATURE_SIDE = 32  # larger images are average-pooled to 32×32 first


def features(images: torch.Tensor) -> torch.Tensor:
    side = min(FEATURE_SIDE, images.shape[-1])
    return F.adaptive_avg_pool2d(images.float(), side).flatten(1)


@dataclass(frozen=True)
class Classifier:
    weight: torch.Tensor  # (features, classes)
    bias: torch.Tensor
    held_out: torch.Tensor  # real images in [-1, 1] the classifier never saw
    class_counts: np.ndarray  # images of each class in the data

    def probabilities(self, images: torch.Tensor) -> torch.Tensor:
        return F.softmax(features(images) @ self.weight + self.bias, dim=1)


_fitted: weakref.WeakKeyDictionary[DataSource, Classifier] = weakref.WeakKeyDictionary()


def fit_classifier(data: LabelledImages) -> Classifier:
    """Logistic regression on the data's images (L-BFGS, deterministic), fitted once per dataset object."""
    if data in _fitted:
        return _fitted[data]
    images = torch.from_numpy(data.images).float().div(127.5).sub(1.0)
    labels = torch.from_numpy(np.asarray(data.labels, dtype=np.int64))
    order = torch.from_numpy(np.random.default_rng(0).permutation(len(images)))
    cut = int(len(images) * (1 - HELD_OUT))
    train, held_out = order[:cut], order[cut:]
    x, y = features(images[train]), labels[train]
    classes = int(labels.max()) + 1
    weight = torch.zeros(x.shape[1], classes, requires_grad=True)
    bias = torch.zeros(classes, requires_grad=True)
    optimizer = torch.optim.LBFGS([weight, bias], max_iter=100, line_search_fn="strong_wolfe")

    def closure() -> torch.Tensor:
        optimizer.zero_grad()
        loss = F.cross_entropy(x @ weight + bias, y) + WEIGHT_DECAY * weight.square().sum()
        loss.backward()
        return loss

    with torch.enable_grad():
        optimizer.step(closure)
    classifier = Classifier(weight.detach(), bias.detach(), images[held_out], np.bincount(labels.numpy()))
    _fitted[data] = classifier
    return classifier


class Recognition(Metric):
    def __init__(self, samples: int, confidence: float, min_share: float) -> None:
        self.samples_needed = samples
        self.confidence = confidence
        self.min_share = min_share

    def applies_to(self, data: DataSource) -> bool:
        return isinstance(data, LabelledImages)

    def score(self, classifier: Classifier, images: torch.Tensor) -> dict[str, float]:
        probabilities = classifier.probabilities(images)
        confidence, label = probabilities.max(dim=1)
        sure = confidence >= self.confidence
        counts = torch.bincount(label[sure], minlength=probabilities.shape[1]).numpy()
        share = counts / max(counts.sum(), 1)
        return {
            "recognised": float(sure.double().mean()),
            "classes_covered": int((share >= self.min_share).sum()),
            "class_kl": kl_divergence(counts, classifier.class_counts),
        }

    def compute(self, samples: torch.Tensor, data: DataSource) -> dict[str, float]:
        if not isinstance(data, LabelledImages):
            raise ValueError(f"dataset {data.name!r} has no labelled images")
        classifier = fit_classifier(data)
        floor = self.score(classifier, classifier.held_out)
        return {**self.score(classifier, samples), **{f"{name}_real": value for name, value in floor.items()}}


def recognition(options: Mapping[str, Any]) -> Metric:
    return Recognition(options["samples"], options["confidence"], options["min_share"])

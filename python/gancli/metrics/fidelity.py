"""Class fidelity: does a conditional generator draw the class it is asked for?

The run's feature extractor, when it is also a classifier (``digits-cnn``), names each sample's class: its
``classify`` gives each channel's most probable class, and a sample's predicted class name is those indices
written one after another ("7" for a digit, "372" for stacked digits, whose classes are named so). A sample
counts when that name is the name of the class it was asked for. ``class_fidelity`` is the share of samples
that count, ``class_fidelity_worst`` the share of the worst class, and for at most ``PER_CLASS`` classes each
class's own (``class_fidelity.NAME``); held-out real images, with their labels, give the floor
``class_fidelity_real`` and ``class_fidelity_worst_real`` (the classifier's own mistakes). Chance is 1/K.

Where the space classifies nothing (``random-cnn``, Inception), ``class-fd`` still says whether each class's
samples look like that class's images: the Fréchet distance between the samples asked for class c and the
reference images of class c, averaged over the classes (``class_fd``; intra-class FD, as in BigGAN's and
StudioGAN's evaluations), and the precision and recall of each class's samples against its images (``class_precision``,
``class_recall``: a class drawn well but narrowly keeps its precision and loses recall), each beside held-out real
images' own (``class_fd_real``, …); for at most ``PER_CLASS`` classes each class's own FD too (``class_fd.NAME``,
beside its held-out images' ``class_fd.NAME_real``; none for a class whose name ends in "_real"), which names the
class drawn worst.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import torch

from gancli.features.space import FeatureSpace
from gancli.metrics import REAL_SUFFIX
from gancli.metrics.feature import ClassMetric, Frechet, Manifold

#: up to this many classes each has its own figure; beyond, the overall and the worst
PER_CLASS = 20


def predicted_names(probabilities: torch.Tensor) -> list[str]:
    """Each sample's predicted class name from its channels' class probabilities (N, C, K)."""
    return ["".join(map(str, row)) for row in probabilities.argmax(dim=2).tolist()]


def nameable(name: str, channels: int, kinds: int) -> bool:
    """Whether a classifier of ``kinds`` classes per channel, over ``channels`` channels, can name the class
    ``name``: a digit below ``kinds`` for each channel."""
    return len(name) == channels and all(ch.isdigit() and int(ch) < kinds for ch in name)


class ClassFidelity(ClassMetric):
    def __init__(self) -> None:
        self._floors: dict[FeatureSpace, dict[str, float]] = {}

    def figures(self, space: FeatureSpace, images: torch.Tensor, asked: torch.Tensor) -> dict[str, float]:
        """The shares for ``images`` asked for ``asked``; {} where the space's extractor classifies nothing or
        names none of the data's classes."""
        probabilities = space.extractor.classify(images)
        classes = space.data.classes
        if probabilities is None or classes is None:
            return {}
        if not all(nameable(name, *probabilities.shape[1:]) for name in classes):
            return {}
        named = np.array(classes)[asked.numpy()]
        hits = np.array(predicted_names(probabilities)) == named
        present = np.unique(asked.numpy())
        per_class = {int(k): float(hits[asked.numpy() == k].mean()) for k in present}
        figures = {"class_fidelity": float(hits.mean()), "class_fidelity_worst": min(per_class.values())}
        if len(classes) <= PER_CLASS:
            figures |= {f"class_fidelity.{classes[k]}": share for k, share in per_class.items()}
        return figures

    def score(self, space: FeatureSpace, samples: torch.Tensor, asked: torch.Tensor) -> dict[str, float]:
        values = self.figures(space, samples, asked)
        if not values or space.held_out_labels is None:
            return values
        if space not in self._floors:
            floor = self.figures(space, space.held_out_images, space.held_out_labels)
            self._floors[space] = {f"{name}_real": floor[name] for name in ("class_fidelity", "class_fidelity_worst")}
        return {**values, **self._floors[space]}


#: images of a class, generated and real, below which its figures are left out (a covariance of fewer is noise)
MIN_PER_CLASS = 10
#: neighbours that set each image's ball in the per-class precision and recall (prdc's default)
NEIGHBOURS = 5
#: the per-class figures class-fd averages over the classes
MEANS = ("fd", "precision", "recall")


class IntraClass(ClassMetric):
    """Each class's samples against that class's reference images: FD, precision and recall, each averaged over
    the classes (``class_fd``, ``class_precision``, ``class_recall``), and each class's own FD where the classes are
    few, beside held-out real images' own."""

    def __init__(self) -> None:
        self.frechet, self.manifold = Frechet(), Manifold(NEIGHBOURS)
        self._floors: dict[FeatureSpace, dict[str, float]] = {}

    def mean_figures(self, space: FeatureSpace, features: torch.Tensor, labels: torch.Tensor) -> dict[str, float]:
        """The per-class figures averaged over the classes and, for at most PER_CLASS classes, each class's own FD
        (``class_fd.NAME``: which class is drawn worst); {} when no class has MIN_PER_CLASS of each."""
        reference, classes = space.reference, space.reference_labels
        assert classes is not None, "scored for labelled data only"
        per_class: dict[int, dict[str, float]] = {}
        for k in torch.unique(labels).tolist():
            fake, real = features[labels == k], reference[classes == k]
            if min(len(fake), len(real)) < MIN_PER_CLASS:
                continue
            support = self.manifold.compare(fake, real)
            figures = {"fd": self.frechet.compare(fake, real)["fd"], **support}
            per_class[k] = {name: figures[name] for name in MEANS}
        if not per_class:
            return {}
        means = {f"class_{name}": float(np.mean([c[name] for c in per_class.values()])) for name in MEANS}
        names = space.data.classes or ()
        if len(names) > PER_CLASS:
            return means
        # a class named "x_real" is left out: its figure would read as class x's floor
        own = {f"class_fd.{names[k]}": c["fd"] for k, c in per_class.items() if not names[k].endswith(REAL_SUFFIX)}
        return means | own

    def score(self, space: FeatureSpace, samples: torch.Tensor, asked: torch.Tensor) -> dict[str, float]:
        if space.reference_labels is None or space.held_out_labels is None:
            return {}
        values = self.mean_figures(space, space.embed(samples), asked)
        if not values:
            return {}
        if space not in self._floors:
            floor = self.mean_figures(space, space.held_out, space.held_out_labels)
            self._floors[space] = {f"{name}_real": floor.get(name, float("nan")) for name in values}
        return {**values, **self._floors[space]}


def class_fidelity(options: Mapping[str, Any]) -> ClassMetric:
    return ClassFidelity()


def intra_class_fd(options: Mapping[str, Any]) -> ClassMetric:
    return IntraClass()

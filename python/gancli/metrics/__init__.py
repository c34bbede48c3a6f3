"""Evaluation metrics: the built-in metric plugin, and the interface every metric implements (``Metric``).

Registered by reference, so listing them imports no torch: ``modes`` (coverage of a known mixture's modes)
and ``recognition`` (digits a classifier recognises) each live in their own module; ``fd``, ``kid`` and
``prdc`` compare images in the run's feature space (``--features``), in ``metrics/feature.py``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from gancli.lazy import lazy_attributes
from gancli.plugins import Option, hookimpl

if TYPE_CHECKING:
    from gancli.metrics.base import Metric

__all__ = ["Metric"]
__getattr__, __dir__ = lazy_attributes(globals(), {"Metric": "gancli.metrics.base:Metric"})

#: a metric's figure for real data (its floor) is the figure's name with this suffix: ``fd_real`` beside ``fd``
REAL_SUFFIX = "_real"
MAX_SAMPLES = 10**7  # generated samples a metric scores: ten million 2-D points; far more images than memory holds
#: how many generated samples to score: at least one, at most MAX_SAMPLES
SAMPLES: dict[str, Any] = {"min": 1, "max": MAX_SAMPLES}
#: a share or a probability, strictly inside (0, 1)
SHARE: dict[str, Any] = {"min": 0, "max": 1, "min_open": True, "max_open": True}


@hookimpl
def register_metrics(register: Any) -> None:
    register(
        "modes",
        "gancli.metrics.modes:mode_coverage",
        "modes covered and share of high-quality samples (within 3σ) on Gaussian mixtures",
        options=[
            Option("samples", int, 2500, "generated samples to score", **SAMPLES),
            Option("min_count", int, 20, "high-quality samples a mode needs to count as covered", min=1),
        ],
    )
    register(
        "recognition",
        "gancli.metrics.recognition:recognition",
        "share of samples a classifier trained on the labelled training images recognises, and classes covered",
        options=[
            Option("samples", int, 1000, "generated samples to score", **SAMPLES),
            Option("confidence", float, 0.9, "class probability at which a sample counts as recognised", **SHARE),
            Option(
                "min_share", float, 0.02, "share of the recognised samples a class needs to count as covered", **SHARE
            ),
        ],
    )
    register(
        "stacked-modes",
        "gancli.metrics.stacked:stacked_modes",
        "stacked digits: modes (of 1,000) the digits-cnn classifier finds in the samples, KL to uniform, real floor",
        options=[Option("samples", int, 26000, "generated samples to score (26,000 in VEEGAN and PacGAN)", **SAMPLES)],
    )
    register(
        "fd",
        "gancli.metrics.feature:frechet",
        "Fréchet distance of the samples to real images in the --features space (torchmetrics), and the real floor",
    )
    register(
        "class-fidelity",
        "gancli.metrics.fidelity:class_fidelity",
        "conditional runs: share of samples the --features classifier (digits-cnn) assigns to the class asked "
        "for, overall, worst class and each class, beside held-out real images' own",
    )
    register(
        "class-fd",
        "gancli.metrics.fidelity:intra_class_fd",
        "conditional runs: Fréchet distance, precision and recall of each class's samples against that class's real "
        "images in the --features space, averaged over the classes (intra-class), beside held-out real images' own",
    )
    register(
        "kid",
        "gancli.metrics.feature:kernel_distance",
        "kernel distance (unbiased MMD², cubic kernel; torchmetrics) in the --features space, and the real floor",
        options=[Option("subset", int, 1000, "images per subset (at most half the scored images)", min=2)],
    )
    register(
        "prdc",
        "gancli.metrics.feature:manifold",
        "precision, recall, density and coverage (k-nearest-neighbour supports) in the --features space",
        options=[Option("k", int, 5, "neighbours that set each image's ball", min=1)],
    )
    register(
        "memorisation",
        "gancli.metrics.feature:memorisation",
        "gancli eval only: samples' distance to their nearest training image beside held-out real images' "
        "(far below: G copies)",
        options=[
            Option("share", float, 0.05, "near copies: nearer than all but this share of real images are", **SHARE)
        ],
    )

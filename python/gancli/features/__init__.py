"""Feature extractors: the built-in plugin that registers them, and the interface they implement.

Image metrics (FD, KID, precision and recall, density and coverage) compare generated and real images in a
feature space; no extractor downloads anything. ``digits-cnn`` is a small classifier gancli trains once on the
packaged MNIST digits and caches; ``random-cnn`` is a fixed-seed random network for any other images (random
embeddings are a documented choice where no pretrained network is at hand, Naeem et al. 2020); ``inception:PATH``
loads the Inception-v3 weights of pytorch-fid / torch-fidelity from a file the user already has.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from gancli.lazy import lazy_attributes
from gancli.plugins import Option, hookimpl
from gancli.values import MAX_SEED

if TYPE_CHECKING:
    from gancli.features.base import FeatureExtractor

__all__ = ["FeatureExtractor"]
__getattr__, __dir__ = lazy_attributes(globals(), {"FeatureExtractor": "gancli.features.base:FeatureExtractor"})


def is_inception_spec(spec: str) -> bool:
    return spec.startswith("inception:")


@hookimpl
def register_feature_extractors(register: Any) -> None:
    register(
        "digits-cnn",
        "gancli.features.digits_cnn:digits_cnn",
        "a small CNN trained once on the packaged MNIST digits (cached): 128 features and the digit's class",
        options=[Option("epochs", int, 8, "training epochs on the 4,000 digits it learns from", min=1, max=1000)],
    )
    register(
        "random-cnn",
        "gancli.features.random_cnn:random_cnn",
        "a fixed-seed random CNN for any images (Naeem et al. 2020): 512 features, nothing to download",
        options=[Option("seed", int, 0, "seed of the random weights", min=0, max=MAX_SEED)],
    )
    register(
        "inception",
        "gancli.features.inception:inception",
        "Inception-v3 pool features from a weights file you supply: --features inception:PATH (needs torch-fidelity)",
        matches=is_inception_spec,
    )

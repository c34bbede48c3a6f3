"""Stacked digits, the image benchmark of mode collapse (Stacked MNIST: Metz et al. 2017, VEEGAN, PacGAN).

Each example stacks three digits drawn at random from the 5,000 packaged MNIST digits as its three channels,
so the data has 10³ = 1,000 modes, each labelled ``100·a + 10·b + c`` by the digits ``a, b, c`` of its R, G
and B channels. The triples are drawn once from a fixed seed (``seed`` option), so that every run of the same
options trains on the very same ``examples``; the digits are resized to ``--image-size`` (default 32) first.
The ``stacked-modes`` metric counts the modes a generator covers, with the ``digits-cnn`` classifier.

For ``--conditional`` runs the classes are the 1,000 modes, named ``"000"`` … ``"999"`` (the digits of R, G,
B): a label says the whole triple, so asking for class ``"372"`` asks for a 3, a 7 and a 2. The classes declare
their three factors (``class_factors`` (10, 10, 10)): the built-in architectures learn a digit's embedding per
channel from every class with that digit there, not each of the 1,000 from the batches that hold it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from gancli.data import DIGITS_SIZE
from gancli.data.base import DataRequest, ImageSource
from gancli.data.digits import load_mnist, resize
from gancli.errors import GancliError

CHANNELS = 3
MODES = 10**CHANNELS
MODE_NAMES = tuple(f"{mode:03d}" for mode in range(MODES))


def mode_of(digits: np.ndarray) -> np.ndarray:
    """The mode label ``100·a + 10·b + c`` of each row (a, b, c) of per-channel digits, (N, 3) → (N,)."""
    return digits @ (10 ** np.arange(CHANNELS - 1, -1, -1))


def stack(singles: np.ndarray, picks: np.ndarray) -> np.ndarray:
    """uint8 (N, 3, H, W) images whose channel k is the single-channel digit ``singles[picks[:, k]]``."""
    return np.ascontiguousarray(singles[picks, 0])


class StackedDigits(ImageSource):
    """Three-channel images of three digits, with each example's digits (``digits``, (N, 3)) and mode
    (``mode_labels``, also the ``targets`` when ``labelled`` for a ``--conditional`` run); ``singles`` and
    ``single_labels`` are the 5,000 one-channel digits at the same size, from which the metric draws fresh real
    triples. (No ``labels`` attribute: the 1,000 modes are not the classes a ``recognition`` classifier could learn
    from a few examples each.)"""

    def __init__(
        self,
        name: str,
        singles: np.ndarray,
        single_labels: np.ndarray,
        picks: np.ndarray,
        augment: str,
        labelled: bool = False,
    ) -> None:
        digits = single_labels[picks]
        modes = mode_of(digits)
        # labelled for --conditional runs only: a small draw (--set examples) may miss a mode, which they refuse
        targets, classes = (modes, MODE_NAMES) if labelled else (None, None)
        super().__init__(name, stack(singles, picks), augment, targets, classes)
        self.class_factors = (10,) * CHANNELS if labelled else None
        self.singles = singles
        self.single_labels = single_labels
        self.digits = digits
        self.mode_labels = modes


def open_stacked(spec: str, request: DataRequest, options: Mapping[str, Any]) -> StackedDigits:
    if request.channels not in (None, CHANNELS):
        raise GancliError(f"dataset 'stacked-digits': --channels must be {CHANNELS} (one digit per channel)")
    size = request.image_size or DIGITS_SIZE
    if size < 1:
        raise GancliError(f"dataset 'stacked-digits': --image-size must be positive, got {size}")
    ImageSource.parse_augment(request.augment)  # a typo fails before the reading
    images, labels = load_mnist()
    picks = np.random.default_rng(options["seed"]).integers(0, len(images), size=(options["examples"], CHANNELS))
    return StackedDigits(spec, resize(images, size, 1), labels, picks, request.augment, request.labels)

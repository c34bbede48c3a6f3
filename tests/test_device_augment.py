"""--augment on the device (train/device_augment.py) against the native kernels it stands in for: the same
transforms with the same parameter ranges, so the same distribution of augmented images, over many draws of
one image; and exactly the kernels' output where a spec leaves nothing to chance."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from gancli import kernels
from gancli.kernels import AugmentSpec
from gancli.train.device_augment import augment_on_device

DRAWS = 20_000


def image(channels: int, side: int = 8) -> np.ndarray:
    return np.random.default_rng(channels).integers(0, 256, size=(1, channels, side, side), dtype=np.uint8)


def both(spec: str, channels: int, draws: int = DRAWS) -> tuple[np.ndarray, np.ndarray]:
    """``draws`` augmentations of one image, by the kernels and on the device (here the CPU), as float64."""
    batch = np.repeat(image(channels), draws, axis=0)
    native = kernels.augment(batch, spec, seed=1).astype(np.float64)
    device = augment_on_device(torch.from_numpy(batch), AugmentSpec.parse(spec), seed=2).numpy().astype(np.float64)
    return native, device


@pytest.mark.parametrize(
    ("spec", "channels"),
    [
        ("flip,translate=0.25", 3),
        ("translate=0.375:reflect", 1),
        ("brightness=0.3,contrast=0.4", 1),
        ("saturation=0.5,brightness=0.2@0.5", 3),
        ("cutout=0.5", 3),
        ("flip,translate=0.125,brightness=0.2,contrast=0.2,saturation=0.2,cutout=0.5@0.7", 3),
    ],
)
def test_each_pixel_is_distributed_as_the_kernels_make_it(spec: str, channels: int) -> None:
    """Per pixel, the mean and spread over 20,000 draws agree within what sampling allows (a pixel's values
    span 0-255, so its mean's standard error is at most 1 level here), where a shift range one pixel off, zero
    padding for reflection or a factor range of another width moves border pixels' means or every pixel's
    spread by several levels."""
    native, device = both(spec, channels)
    assert device.min() >= 0 and device.max() <= 255 and np.array_equal(device, np.round(device))
    assert np.abs(native.mean(axis=0) - device.mean(axis=0)).max() < 5.0
    assert np.abs(native.std(axis=0) - device.std(axis=0)).max() < 5.0
    assert np.quantile(native.sum(axis=(1, 2, 3)), [0.1, 0.5, 0.9]) == pytest.approx(
        np.quantile(device.sum(axis=(1, 2, 3)), [0.1, 0.5, 0.9]), rel=0.02
    )


@pytest.mark.parametrize("spec", ["flip@1", "brightness=0@1,contrast=0@1,saturation=0@1", "translate=0,cutout=0"])
def test_what_a_spec_leaves_to_no_chance_equals_the_kernels_output(spec: str) -> None:
    native, device = both(spec, 3, draws=4)
    assert np.array_equal(native, device)


def test_a_seed_gives_the_same_batch_and_another_seed_another() -> None:
    batch = torch.from_numpy(np.repeat(image(3), 16, axis=0))
    spec = AugmentSpec.parse("flip,translate=0.25,cutout=0.5")
    first, again, other = (augment_on_device(batch, spec, seed) for seed in (7, 7, 8))
    assert torch.equal(first, again) and not torch.equal(first, other)

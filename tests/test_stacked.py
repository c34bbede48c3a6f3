"""Stacked digits (1,000 modes) and the stacked-modes metric against samples whose scores are known: real
triples, a generator collapsed to one triple, and hand-made histograms."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import torch
from gancli.data.base import DataRequest
from gancli.data.digits import open_digits
from gancli.data.stacked import StackedDigits, open_stacked
from gancli.errors import GancliError
from gancli.metrics.stacked import StackedModes, mode_figures, modes
from gancli.plugins import get_plugins


@pytest.fixture(scope="module")
def stacked() -> StackedDigits:
    return open_stacked("stacked-digits", DataRequest(), {"examples": 6000, "seed": 0})


def as_input(images: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(images).float().div(127.5).sub(1.0)


def test_each_channel_is_a_packaged_digit_of_the_stated_label(stacked: StackedDigits) -> None:
    assert stacked.images.shape == (6000, 3, 32, 32) and stacked.is_image
    label_of = {one.tobytes(): int(label) for one, label in zip(stacked.singles, stacked.single_labels, strict=True)}
    found = [[label_of[channel.tobytes()] for channel in image] for image in stacked.images[:500]]
    np.testing.assert_array_equal(found, stacked.digits[:500])
    a, b, c = stacked.digits.T
    np.testing.assert_array_equal(stacked.mode_labels, 100 * a + 10 * b + c)
    assert len(np.unique(stacked.mode_labels)) > 990  # 6 per mode on average: nearly all appear


def test_options_and_flags() -> None:
    again = open_stacked("stacked-digits", DataRequest(image_size=16), {"examples": 100, "seed": 0})
    other = open_stacked("stacked-digits", DataRequest(image_size=16), {"examples": 100, "seed": 1})
    assert again.shape == (3, 16, 16) and len(again) == 100
    first = open_stacked("stacked-digits", DataRequest(image_size=16), {"examples": 100, "seed": 0})
    np.testing.assert_array_equal(again.images, first.images)  # a seed fixes the triples
    assert not np.array_equal(again.digits, other.digits)
    with pytest.raises(GancliError, match="--channels must be 3"):
        open_stacked("stacked-digits", DataRequest(channels=1), {"examples": 100, "seed": 0})
    registration = get_plugins().registry.get("dataset", "stacked-digits")
    with pytest.raises(GancliError, match=r"option stacked-digits.examples must be between 1 and 10000000, got 0"):
        registration.create("stacked-digits", DataRequest(), options={"examples": 0})


def test_hand_made_histograms() -> None:
    assert mode_figures(np.arange(1000)) == (1000, pytest.approx(0.0))
    assert mode_figures(np.repeat(np.arange(0, 1000, 2), 3)) == (500, pytest.approx(math.log(2)))
    assert mode_figures(np.full(50, 417)) == (1, pytest.approx(math.log(1000)))
    probabilities = torch.full((2, 3, 10), 0.05)
    probabilities[0, [0, 1, 2], [4, 1, 7]] = 0.55  # digits 4, 1, 7
    probabilities[1, [0, 1, 2], [0, 0, 9]] = 0.55
    np.testing.assert_array_equal(modes(probabilities), [417, 9])


def test_real_triples_cover_the_modes_and_a_collapsed_generator_one(
    stacked: StackedDigits, trained_models: Path, one_thread: None
) -> None:
    metric = StackedModes(6000)
    result = metric.compute(as_input(stacked.images), stacked)
    for suffix in ("", "_real"):  # digits the classifier learnt from, and digits it never saw
        assert result[f"stacked_modes{suffix}"] >= 990
        assert result[f"stacked_kl{suffix}"] < 0.15  # 0.08 for perfect labels of 6,000 uniform samples
    collapsed = metric.compute(as_input(np.repeat(stacked.images[:1], 200, axis=0)), stacked)
    assert collapsed["stacked_modes"] == 1
    assert collapsed["stacked_kl"] == pytest.approx(math.log(1000))
    assert collapsed["stacked_modes_real"] > 150  # 200 real triples: nearly all distinct


def test_the_metric_is_registered_for_stacked_digits_only(stacked: StackedDigits) -> None:
    metric = get_plugins().registry.get("metric", "stacked-modes").create()
    assert metric.samples_needed == 26000
    assert metric.applies_to(stacked)
    assert not metric.applies_to(open_digits("digits", DataRequest(image_size=16), {"source": "mnist"}))
    with pytest.raises(ValueError, match="3 channels"):
        metric.compute(torch.zeros(4, 1, 32, 32), stacked)

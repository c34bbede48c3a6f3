"""The metrics against hand-made samples whose scores are known: mode coverage on ring8, and digit
recognition by the classifier fitted on the real digits."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from gancli.data.base import DataRequest
from gancli.data.digits import open_digits
from gancli.data.mixtures import GaussianMixture, ring
from gancli.metrics.modes import ModeCoverage
from gancli.metrics.recognition import Recognition, fit_classifier
from gancli.plugins import get_plugins

RING = GaussianMixture("ring8", ring(8, 1.0), 0.01)


def test_samples_on_every_mode_cover_all_of_them() -> None:
    points = torch.from_numpy(np.repeat(RING.modes, 25, axis=0) + 0.005)  # 0.5σ·√2 off, inside 3σ
    result = ModeCoverage(200, 20).compute(points, RING)
    assert result == {"modes_covered": 8, "modes_total": 8, "high_quality": 1.0, "mode_kl": pytest.approx(0.0)}


def test_a_collapsed_generator_covers_one_mode() -> None:
    points = torch.tensor(RING.modes[[3]]).repeat(200, 1)
    result = ModeCoverage(200, 20).compute(points, RING)
    assert (result["modes_covered"], result["high_quality"]) == (1, 1.0)
    assert result["mode_kl"] == pytest.approx(math.log(8))


def test_samples_between_modes_are_low_quality_and_cover_nothing() -> None:
    points = torch.zeros(200, 2)  # the centre of the ring: 1 away from every mode, 100σ
    half = torch.cat([torch.tensor(RING.modes[:4]).repeat(10, 1), torch.zeros(160, 2)])
    assert ModeCoverage(200, 20).compute(points, RING)["high_quality"] == 0.0
    result = ModeCoverage(200, 10).compute(half, RING)
    assert (result["modes_covered"], result["high_quality"]) == (4, 0.2)


@pytest.fixture(scope="module")
def digits():
    return open_digits("digits", DataRequest(), {"source": "mnist"})


def test_real_held_out_digits_are_recognised_and_noise_is_not(digits) -> None:
    metric = Recognition(1000, 0.9, 0.02)
    some = np.random.default_rng(1).choice(len(digits.images), 1000, replace=False)  # the file is sorted by class
    result = metric.compute(torch.from_numpy(digits.images[some]).float() / 127.5 - 1, digits)
    assert result["recognised_real"] > 0.6  # digits the classifier never saw
    assert result["recognised"] >= result["recognised_real"]  # these it was fitted on
    assert result["classes_covered"] == 10 and result["class_kl"] < 0.05
    noise = metric.compute(torch.rand(1000, 1, 32, 32) * 2 - 1, digits)
    assert noise["recognised"] < 0.1
    blank = metric.compute(-torch.ones(100, 1, 32, 32), digits)  # black squares: nothing is recognised
    assert (blank["recognised"], blank["classes_covered"]) == (0.0, 0)
    assert blank["class_kl"] == pytest.approx(math.log(10))


def test_samples_of_one_digit_cover_one_class(digits) -> None:
    sevens = torch.from_numpy(digits.images[digits.labels == 7][:300]).float() / 127.5 - 1
    result = Recognition(300, 0.9, 0.02).compute(sevens, digits)
    assert result["classes_covered"] == 1
    assert result["class_kl"] == pytest.approx(math.log(10), abs=0.05)


def test_the_classifier_is_fitted_once_per_dataset_and_deterministic(digits) -> None:
    first = fit_classifier(digits)
    assert fit_classifier(digits) is first
    again = open_digits("digits", DataRequest(), {"source": "mnist"})
    assert torch.equal(fit_classifier(again).weight, first.weight)


def test_recognition_runs_by_default_on_digits_and_not_on_points(digits) -> None:
    registry = get_plugins().registry
    metric = registry.get("metric", "recognition").create(options={})
    assert metric.applies_to(digits) and not metric.applies_to(RING)
    with pytest.raises(Exception, match="confidence"):
        registry.get("metric", "recognition").create(options={"confidence": 1.5})


def test_class_kl_is_against_the_datas_own_class_shares() -> None:
    from gancli.metrics.base import kl_divergence

    # p = (1/2, 1/2), q = (3/4, 1/4): ½ log(½ / ¾) + ½ log(½ / ¼)
    expected = 0.5 * math.log(2 / 3) + 0.5 * math.log(2)
    assert kl_divergence(np.array([5, 5]), np.array([30, 10])) == pytest.approx(expected)
    assert kl_divergence(np.array([3, 1]), np.array([30, 10])) == pytest.approx(0.0)
    assert kl_divergence(np.array([0, 0, 0]), np.array([1, 1, 1])) == pytest.approx(math.log(3))

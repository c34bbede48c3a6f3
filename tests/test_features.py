"""Feature-space metrics: each statistic against a hand computation or a closed form, the extractors, the
real floor, and ``gancli eval``'s table, JSON and every-checkpoint output."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
import torch
from cli_helpers import ok, one_line_error
from gancli.data.digits import Digits
from gancli.errors import GancliError
from gancli.features import digits_cnn
from gancli.features.random_cnn import RandomCNN
from gancli.features.space import FeatureSpace
from gancli.metrics.feature import Frechet, KernelDistance, Manifold

TINY_DIGITS = ["--steps", "20", "--checkpoint-every", "10", "--eval-every", "20", "--device", "cpu", "--quiet"]


def gaussian(n: int, dim: int, mean: float, std: float, seed: int) -> torch.Tensor:
    generator = torch.Generator().manual_seed(seed)
    return (mean + std * torch.randn(n, dim, generator=generator)).double()


def test_frechet_distance_of_two_gaussians_matches_the_closed_form() -> None:
    # FD(N(m1, s1² I), N(m2, s2² I)) = |m1 - m2|² + D (s1 - s2)²: here 8·0.25 + 8·0.25 = 4
    real, fake = gaussian(20000, 8, 0.0, 1.0, 0), gaussian(20000, 8, 0.5, 1.5, 1)
    assert Frechet().compare(fake, real)["fd"] == pytest.approx(4.0, rel=0.03)
    assert Frechet().compare(gaussian(20000, 8, 0.0, 1.0, 2), real)["fd"] < 0.01


def test_kernel_distance_is_unbiased_near_zero_for_the_same_distribution_and_grows_with_the_gap() -> None:
    real = gaussian(1000, 16, 0.0, 1.0, 0)
    same = KernelDistance(500).compare(gaussian(1000, 16, 0.0, 1.0, 1), real)
    near = KernelDistance(500).compare(gaussian(1000, 16, 0.2, 1.0, 2), real)
    far = KernelDistance(500).compare(gaussian(1000, 16, 1.0, 1.0, 3), real)
    assert abs(same["kid"]) < 3 * same["kid_std"] + 1e-3
    assert same["kid"] < near["kid"] < far["kid"]
    assert KernelDistance(500).compare(gaussian(1000, 16, 1.0, 1.0, 3), real) == far  # same subsets each time


def test_precision_recall_density_coverage_on_hand_made_cases() -> None:
    real = gaussian(500, 4, 0.0, 1.0, 0)
    same = Manifold(5).compare(real.clone(), real)
    assert same["precision"] == same["recall"] == same["coverage"] == 1.0
    # each ball holds its centre and k others: N (k + 1) memberships over N samples, divided by k
    assert same["density"] == pytest.approx(6 / 5)
    collapsed = Manifold(5).compare(real[:1].repeat(500, 1), real)  # one sample, repeated
    assert collapsed["precision"] == 1.0 and collapsed["recall"] <= 2 / 500 and collapsed["coverage"] <= 0.02
    away = Manifold(5).compare(real + 10.0, real)  # far from every real point
    assert away["precision"] == away["recall"] == away["density"] == away["coverage"] == 0.0


def test_precision_and_recall_by_hand_on_a_line() -> None:
    # reals at 0, 1, 2, 3 (k = 1: each ball has radius 1); fakes at 0.5, 1.5 (radius 1) and 10 (radius 8.5)
    real = torch.tensor([[0.0], [1.0], [2.0], [3.0]], dtype=torch.float64)
    fake = torch.tensor([[0.5], [1.5], [10.0]], dtype=torch.float64)
    result = Manifold(1).compare(fake, real)
    assert result["precision"] == pytest.approx(2 / 3)  # 10 lies in no real ball
    assert result["recall"] == 1.0  # the ball of radius 8.5 around 10 holds 2 and 3; the others hold 0 and 1
    assert result["coverage"] == pytest.approx(3 / 4)  # the reals 0, 1, 2 have a fake within 1; 3 does not
    assert result["density"] == pytest.approx((2 + 2 + 0) / 3)  # 0.5 in the balls of 0, 1; 1.5 in 1, 2


def test_random_cnn_is_fixed_by_its_seed() -> None:
    images = torch.rand(8, 3, 32, 32) * 2 - 1
    a, b, c = RandomCNN(0).embed(images), RandomCNN(0).embed(images), RandomCNN(1).embed(images)
    assert a.shape == (8, 512) and torch.equal(a, b) and not torch.equal(a, c)


@pytest.fixture(scope="module")
def digit_net(trained_models: Path) -> digits_cnn.DigitsCNN:
    extractor = digits_cnn.digits_cnn("digits-cnn", {"epochs": 8})
    assert isinstance(extractor, digits_cnn.DigitsCNN)
    return extractor


def test_digits_cnn_recognises_the_digits_it_never_saw(digit_net: digits_cnn.DigitsCNN) -> None:
    images, labels = digits_cnn.mnist_at_side()
    seen, unseen = digits_cnn.split()
    assert len(np.intersect1d(seen, unseen)) == 0 and len(unseen) == 1000
    probabilities = digit_net.classify(torch.from_numpy(images[unseen]).float().div(127.5).sub(1.0))
    assert probabilities.shape == (1000, 1, 10)
    assert (probabilities[:, 0].argmax(dim=1).numpy() == labels[unseen]).mean() > 0.93


def test_digits_cnn_cache_is_checksummed(digit_net: digits_cnn.DigitsCNN, tmp_path: Path) -> None:
    path = tmp_path / "net.safetensors"
    digits_cnn.store(digit_net.net, path)
    loaded = digits_cnn.load_cached(path)
    assert loaded is not None and all(
        torch.equal(a, b)
        for a, b in zip(loaded.state_dict().values(), digit_net.net.state_dict().values(), strict=True)
    )
    data = bytearray(path.read_bytes())
    data[-5] ^= 0xFF  # one flipped bit in the last tensor
    path.write_bytes(bytes(data))
    assert digits_cnn.load_cached(path) is None  # trained again, never trusted
    assert digits_cnn.load_cached(tmp_path / "missing.safetensors") is None


def test_the_digit_space_floor_comes_from_digits_the_extractor_never_saw(digit_net: digits_cnn.DigitsCNN) -> None:
    images, labels = digits_cnn.mnist_at_side()
    space = FeatureSpace(digit_net, Digits("digits", images, labels, "mnist"), 1000)
    unseen = torch.from_numpy(images[np.sort(digits_cnn.split()[1])]).float().div(127.5).sub(1.0)
    assert torch.equal(space.held_out_images, unseen)
    floor = Frechet().score(space, space.held_out)
    assert floor["fd"] == floor["fd_real"]  # held-out images scored as samples: the floor itself
    ones = space.embed(space.held_out_images[torch.from_numpy(labels[np.sort(digits_cnn.split()[1])] == 1)])
    collapsed = Manifold(5).score(space, ones.repeat(10, 1)[:1000])  # a generator of ones only
    assert collapsed["recall"] < 0.2 < 0.8 < collapsed["recall_real"]
    assert Frechet().compare(ones, space.reference)["fd"] > 10 * floor["fd_real"]


def test_eval_prints_each_figure_beside_the_real_floor(gancli, tmp_path: Path) -> None:
    ok(gancli("train", *TINY_DIGITS, "--out", "run"))
    table = ok(gancli("eval", "run"))
    assert "features: digits-cnn" in table and "real data" in table
    row = next(line for line in table.splitlines() if "│ fd " in line)
    untrained, floor = (float(cell.split("±")[0]) for cell in row.split("│")[2:4])  # the mean, ± its spread
    assert floor > 0 and untrained > 20 * floor  # 20 steps of training are far from the data
    ratio, images = (cell.strip() for cell in row.split("│")[4:6])
    assert math.isclose(float(ratio.removesuffix("×")), untrained / floor, rel_tol=0.01)
    assert images == "1,000 generated vs 1,000 real"
    said = " ".join(table.split())  # the note, unwrapped
    assert "scored 1,000 generated images against 1,000 real ones (the reference)" in said
    assert "1,000 held-out real images against the same reference" in said and "asked for more" not in said
    more = " ".join(ok(gancli("eval", "run", "--eval-samples", "5000")).split())
    assert "--eval-samples 5,000 asked for more: 1,000 of the 5,000 images are held out" in more
    result = json.loads(ok(gancli("eval", "run", "--json")))
    assert result["step"] == 20 and math.isclose(result["fd_real"], floor, rel_tol=1e-3)
    assert result["images"]["fd"] == result["images"]["fd_real"] == {"generated": 1000, "real": 1000}
    assert 0.8 < result["precision_real"] <= 1 and 0.8 < result["recall_real"] <= 1
    assert "diagnostics: none raised" in table and result["diagnostics"] == []
    finding = {"step": 10, "diagnostic": "vanishing-gradients", "message": "D(x) 0.999", "hint": "try wgan"}
    (tmp_path / "run" / "diagnostics.jsonl").write_text(json.dumps({**finding, "values": {}}) + "\n")
    every = json.loads(ok(gancli("eval", "run", "--all", "--json", "--features", "random-cnn")))
    assert every["diagnostics"] == [{**finding, "values": {}}]
    table = ok(gancli("eval", "run", "--checkpoint", "10", "--eval-samples", "100"))
    assert "step 10" in table and "vanishing-gradients" in table and "try wgan" in table
    assert "100 generated vs 100 real" in table
    every = every["evaluations"]
    assert [row["step"] for row in every] == [10, 20] and every[0]["fd"] != every[1]["fd"]
    assert every[0]["fd_real"] == every[1]["fd_real"] != result["fd_real"]  # another space, the same floor
    one_line_error(gancli("eval", "run", "--all", "--checkpoint", "10"), "--all and --checkpoint")
    one_line_error(gancli("eval", "run", "--features", "incept"), "unknown features 'incept'")


@pytest.fixture
def inception_weights(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A weights file of the FID Inception's exact layout, with random values (the real one is a download):
    torch-fidelity's class is built once without loading anything, and its state saved."""
    from torch_fidelity.feature_extractor_inceptionv3 import FeatureExtractorInceptionV3

    with monkeypatch.context() as patch:
        patch.setattr(torch, "load", lambda *args, **kwargs: {})
        patch.setattr(FeatureExtractorInceptionV3, "load_state_dict", lambda self, state: None)
        network = FeatureExtractorInceptionV3("inception-v3-compat", ["2048"], feature_extractor_weights_path="-")
    path = tmp_path / "pt_inception.pth"
    torch.save(network.state_dict(), path)
    return path


@pytest.mark.filterwarnings("ignore:Detected pickle protocol")  # torch's note on the hostile file below
def test_inception_features_come_from_the_users_weights_file(inception_weights: Path, tmp_path: Path) -> None:
    from gancli.features.inception import inception

    extractor = inception(f"inception:{inception_weights}", {})
    gray = torch.rand(4, 1, 32, 32) * 2 - 1
    features = extractor.embed(gray)
    assert features.shape == (4, 2048) and torch.equal(features, extractor.embed(gray.expand(-1, 3, -1, -1)))
    with pytest.raises(GancliError, match="no such weights file"):
        inception(f"inception:{tmp_path / 'none.pth'}", {})
    torch.save({"conv.weight": torch.zeros(1)}, tmp_path / "other.pth")
    with pytest.raises(GancliError, match="not the FID Inception's weights"):
        inception(f"inception:{tmp_path / 'other.pth'}", {})
    (tmp_path / "code.pth").write_bytes(b"\x80\x04cos\nsystem\n.")  # a pickle that would run code
    with pytest.raises(GancliError, match="not a file of tensors"):
        inception(f"inception:{tmp_path / 'code.pth'}", {})


class Copier(torch.nn.Module):
    """A generator that copies training images: each latent picks one of ``images`` (N, C, H, W) in [-1, 1],
    plus ``noise`` uniform in ±noise."""

    def __init__(self, images: torch.Tensor, noise: float = 0.0) -> None:
        super().__init__()
        self.images, self.noise = images, noise

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        picked = self.images[(z[:, 0].abs() * 1e6).long() % len(self.images)]
        jitter = torch.rand(picked.shape, generator=torch.Generator().manual_seed(0)) * 2 - 1
        return (picked + self.noise * jitter).clamp(-1, 1)


def test_memorisation_sets_a_copying_generator_far_below_held_out_real_images(gancli, tmp_path: Path) -> None:
    """The figure of a G that copies training images, of one that copies them with a little noise, and of an
    untrained one, each beside held-out real images' own distance to their nearest other training image."""
    from gancli.api import open_run
    from gancli.cli import beside_nearest
    from gancli.train.evaluation import Evaluation

    ok(gancli("train", *TINY_DIGITS, "--ema", "0", "--out", "run"))
    session, _ = open_run(tmp_path / "run")
    assert "nn_distance" not in json.loads((tmp_path / "run" / "eval.jsonl").read_text().splitlines()[-1])
    evaluation = Evaluation(session, strict=True, offline=True)
    untrained = evaluation(0)
    training = torch.from_numpy(session.data.images[:500]).float().div(127.5).sub(1.0)
    session.generator = Copier(training)
    copied = evaluation(0)
    session.generator = Copier(training, noise=0.1)
    near = evaluation(0)
    floor = copied["nn_distance_real"]
    assert floor > 0 and untrained["nn_distance_real"] == near["nn_distance_real"] == floor
    assert untrained["nn_distance"] > 1.5 * floor  # 20 steps: far from every image
    assert copied["nn_distance"] < 1e-3 * floor and copied["near_copies"] == 1.0
    assert near["nn_distance"] < 0.5 * floor and near["near_copies"] > 0.5
    assert untrained["near_copies"] == 0.0 and 0.03 < copied["near_copies_real"] < 0.07
    session.generator = Copier(training)
    pairs = beside_nearest(session, session.generate(6, 0))
    assert pairs.shape == (12, *session.data.shape) and torch.equal(pairs[0::2], pairs[1::2])


def test_eval_and_grid_show_memorisation(gancli, tmp_path: Path) -> None:
    ok(gancli("train", *TINY_DIGITS, "--out", "run"))
    table = ok(gancli("eval", "run", "--eval-samples", "200"))
    row = next(line for line in table.splitlines() if "│ nn_distance " in line)
    generated, real = (float(cell.split("±")[0]) for cell in row.split("│")[2:4])  # the mean, ± its spread
    assert generated > real > 0 and row.split("│")[5].strip() == "200 generated vs 200 real"
    assert "nearest of the 5,000 training images" in " ".join(table.split())
    ok(gancli("grid", "run", "--neighbours", "--n", "5", "--nrow", "3", "-o", "pairs.png"))
    ok(gancli("grid", "run", "--n", "10", "--nrow", "4", "-o", "plain.png"))
    from gancli import kernels

    grid, plain = (kernels.decode_image((tmp_path / f"{n}.png").read_bytes(), name=n) for n in ("pairs", "plain"))
    assert grid.shape == plain.shape  # 10 pictures, 4 to a row: --nrow 3 rounded up to even
    one_line_error(gancli("grid", "run", "--neighbours", "--animate"), "--animate and --neighbours")

"""The second example package, gancli-toolkit, installed with pip as a user would: each of its four hooks used for
real. The swiss roll trains through the CLI and gets closer to the data, the energy distance equals a hand
computation, optimistic descent-ascent takes the hand-computed step and converges on the bilinear game where
simultaneous descent spirals out, and ``energy-curve`` scores every checkpoint of a run. About 20 s in all, most
of it pip and the 300-step run.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import torch
from cli_helpers import ok, one_line_error
from gancli.api import DataRequest, DataSource, Game, Loss, PluginError
from gancli.config import resolve
from gancli.plugins.manager import Plugins
from gancli.train.session import Session
from test_example_plugin import pip_installed
from torch import nn

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "gancli-toolkit"
PACKAGE = "gancli-toolkit"


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    with pip_installed(EXAMPLE, ("gancli_toolkit",), tmp_path_factory.mktemp("toolkit")):
        yield


@pytest.fixture(scope="module")
def plugins(installed: None) -> Plugins:
    return Plugins()


def test_the_package_lists_its_four_hooks_and_what_they_add(installed: None, gancli) -> None:
    listed = gancli("plugins", "list", "--packages", "--json")
    (entry,) = [e for e in json.loads(ok(listed)) if e["package"] == PACKAGE]
    assert entry["version"] == "0.1.0"
    (module,) = entry["modules"]
    assert module["hooks"] == ["register_update_rules", "register_datasets", "register_metrics", "register_commands"]
    assert module["provides"] == ["update optimistic", "dataset swissroll", "metric energy", "command energy-curve"]
    assert "energy-curve (command, plugin toolkit, package gancli-toolkit)" in ok(
        gancli("plugins", "show", "energy-curve")
    )


# --- the dataset ----------------------------------------------------------------------------------------------


def test_swissroll_points_lie_on_the_roll(plugins: Plugins) -> None:
    reg = plugins.registry.get("dataset", "swissroll")
    exact = reg.create("swissroll", DataRequest(), options={"noise": 0.0, "points": 500})
    points = exact.batch(500, np.random.default_rng(0)).numpy()
    assert points.dtype == np.float32 and points.shape == (500, 2) and len(exact) == 500
    # (t cos t, t sin t) / 7.5: the angle of each point is its unscaled radius t, which lies in [1.5π, 4.5π]
    t = 7.5 * np.linalg.norm(points, axis=1)
    assert t.min() >= 1.5 * math.pi - 1e-4 and t.max() <= 4.5 * math.pi + 1e-4
    np.testing.assert_allclose(points, np.stack([t * np.cos(t), t * np.sin(t)], axis=1) / 7.5, atol=1e-5)

    data = reg.create("swissroll", DataRequest())
    first, again = (data.batch(64, np.random.default_rng(3)) for _ in range(2))
    assert torch.equal(first, again) and len(data) == 10_000
    with pytest.raises(PluginError, match=r"plugin 'toolkit' .* dataset 'swissroll' failed: points must be at least 1"):
        reg.create("swissroll", DataRequest(), options={"points": 0})


# --- the metric -----------------------------------------------------------------------------------------------


class OnePoint(DataSource):
    """Data that is a single point, so the metric's reference sample is known whatever its seed."""

    name, shape = "origin", (2,)

    def __len__(self) -> int:
        return 1

    def batch(self, size: int, rng: np.random.Generator) -> torch.Tensor:
        return torch.zeros(size, 2)


def test_energy_distance_matches_a_hand_computation(plugins: Plugins) -> None:
    from gancli_toolkit.energy import energy_distance

    # x = {(0,0), (3,4)}, y = {(0,0)}: 2·(0+5)/2 − (0+5+5+0)/4 − 0
    assert energy_distance(torch.tensor([[0.0, 0.0], [3.0, 4.0]]), torch.zeros(1, 2)) == pytest.approx(2.5)
    assert energy_distance(torch.eye(2), torch.eye(2)) == 0.0

    metric = plugins.registry.get("metric", "energy").create(options={"samples": 3})
    assert metric.samples_needed == 3 and metric.applies_to(OnePoint())
    samples = torch.tensor([[3.0, 4.0], [0.0, 0.0], [-3.0, 4.0]])
    # to the origin: 5, 0, 5; between the samples: 5, 6, 5 each way. 2·10/3 − 2·16/9 − 0 = 28/9
    assert metric.compute(samples, OnePoint()) == {"energy": pytest.approx(28 / 9, rel=1e-12)}


# --- the update rule ------------------------------------------------------------------------------------------


class Point(nn.Module):
    """A generator that ignores its noise: every sample is the parameter θ."""

    def __init__(self, theta: float) -> None:
        super().__init__()
        self.theta = nn.Parameter(torch.tensor([theta]))

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.theta.expand(len(z), 1)


class Linear(Loss):
    """The Wasserstein game: with real data at 0 and D(x) = w·x, D minimises w·θ and G minimises −w·θ."""

    def d_loss(self, d_real: torch.Tensor, d_fake: torch.Tensor) -> torch.Tensor:
        return d_fake.mean() - d_real.mean()

    def g_loss(self, d_fake: torch.Tensor, d_real: torch.Tensor | None) -> torch.Tensor:
        return -d_fake.mean()


def bilinear_game(lr: float) -> Game:
    generator, discriminator = Point(1.0), nn.Linear(1, 1, bias=False)
    nn.init.ones_(discriminator.weight)
    return Game(
        generator,
        discriminator,
        Linear(),
        torch.optim.SGD(generator.parameters(), lr=lr),
        torch.optim.SGD(discriminator.parameters(), lr=lr),
        sample_real=lambda: torch.zeros(4, 1),
        sample_latent=lambda: torch.zeros(4, 1),
    )


def players(game: Game) -> tuple[float, float]:
    return game.D.weight.item(), game.G.theta.item()


def test_optimistic_takes_the_hand_computed_steps(plugins: Plugins) -> None:
    game, lr = bilinear_game(0.1), 0.1
    rule = plugins.registry.get("update", "optimistic").create()
    # ∂(wθ)/∂w = θ for D, ∂(−wθ)/∂θ = −w for G; the first step has no past field and is plain descent
    rule.step(game)
    w1, t1 = 1 - lr * 1, 1 + lr * 1
    assert players(game) == pytest.approx((w1, t1), rel=1e-6)
    rule.step(game)  # then along 2·g_t − g_(t−1)
    assert players(game) == pytest.approx((w1 - lr * (2 * t1 - 1), t1 + lr * (2 * w1 - 1)), rel=1e-6)


def test_optimism_converges_where_simultaneous_descent_spirals_out(plugins: Plugins) -> None:
    radius = {}
    for optimism in (0.0, 1.0):
        game = bilinear_game(0.1)
        rule = plugins.registry.get("update", "optimistic").create(options={"optimism": optimism})
        for _ in range(500):
            rule.step(game)
        radius[optimism] = math.hypot(*players(game)) / math.sqrt(2)
    # simultaneous descent: each step multiplies the radius by √(1 + lr²), 12× over 500 steps
    assert radius[0.0] == pytest.approx(1.01**250, rel=1e-3)
    assert radius[1.0] < 0.1


# --- a run through the CLI, and the command -------------------------------------------------------------------


def energy_by_hand(samples: np.ndarray, reference: np.ndarray) -> float:
    def mean_distance(a: np.ndarray, b: np.ndarray) -> float:
        return float(np.linalg.norm(a[:, None, :] - b[None, :, :], axis=2).mean())

    return 2 * mean_distance(samples, reference) - mean_distance(samples, samples) - mean_distance(reference, reference)


def test_a_swissroll_run_learns_and_energy_curve_scores_each_checkpoint(
    plugins: Plugins, gancli, tmp_path: Path
) -> None:
    args = ["--data", "swissroll", "--steps", "300", "--checkpoint-every", "100", "--eval-every", "100"]
    ok(gancli("train", *args, "--sample-every", "300", "--seed", "0", "--device", "cpu", "--quiet"))
    (run,) = (tmp_path / "runs").iterdir()
    config = json.loads((run / "config.json").read_text())
    assert config["plugins"]["dataset"]["package"] == PACKAGE
    assert (config["arch"], config["latent_dim"]) == ("mlp", 2)  # the dataset's recommendation
    evaluations = [json.loads(line) for line in (run / "eval.jsonl").read_text().splitlines()]
    assert [e["step"] for e in evaluations] == [100, 200, 300]  # `energy` applies to point data unasked

    # the networks before any step, built from the run's config: the run moved G towards the roll
    resolved = resolve(plugins.registry, {"device": "cpu"}, run / "config.json")
    before = Session.build(resolved)
    untrained = before.generate(2000, seed=0)
    energy_before = plugins.registry.get("metric", "energy").create().compute(untrained, before.data)["energy"]
    assert evaluations[-1]["energy"] < 0.5 * energy_before

    curve = ok(gancli("energy-curve", "--samples", "500"))  # no RUN: the newest run under runs/
    lines = [line.split() for line in curve.splitlines() if line.startswith("step")]
    assert [int(line[1]) for line in lines] == [100, 200, 300]
    assert sum("lowest" in line[-1] for line in lines) == 1
    ok(gancli("sample", "-o", "last.npy", "--n", "500", "--seed", "0"))
    reference = before.data.batch(500, np.random.default_rng(0)).numpy()
    assert float(lines[-1][2]) == pytest.approx(energy_by_hand(np.load("last.npy"), reference), abs=2e-6)


def test_energy_curve_says_what_is_wrong_in_one_line(installed: None, gancli, tmp_path: Path) -> None:
    one_line_error(gancli("energy-curve"), "no run directory under runs/")
    one_line_error(gancli("energy-curve", "--samples", "1"), "--samples must be at least 2")
    (tmp_path / "no-metrics.toml").write_text("metrics = []\n")
    tiny_images = ["--data", "digits", "--set", "source=sklearn", "--image-size", "8", "--arch", "mlp"]
    tiny_images += ["--set", "mlp.hidden=16", "--latent-dim", "4", "--batch-size", "16", "--steps", "2"]
    ok(gancli("train", *tiny_images, "--config", "no-metrics.toml", "--device", "cpu", "--out", "digits", "--quiet"))
    one_line_error(gancli("energy-curve", "digits"), "energy-curve scores point data, and 'digits' holds images")


def test_a_resumed_optimistic_run_continues_with_the_rule_s_memory(installed: None, gancli, tmp_path: Path) -> None:
    """The rule's previous field goes into the checkpoint (state_dict), so 10 steps, a stop and --resume to 20
    equal 20 steps in one go; without it the resumed step would start from a plain simultaneous one."""
    from safetensors.numpy import load_file

    args = ["--data", "ring8", "--update", "optimistic", "--steps", "20", "--batch-size", "32", "--seed", "1"]
    args += ["--set", "mlp.hidden=16", "--checkpoint-every", "10", "--eval-every", "1000", "--quiet", "--device", "cpu"]
    args += ["--lr-schedule", "constant"]  # not ring8's decay to 0 by --steps, which moves with --steps
    ok(gancli("train", *args, "--out", "whole"))
    ok(gancli("train", *[a if a != "20" else "10" for a in args], "--out", "split"))
    ok(gancli("train", "--resume", "split", "--steps", "20", "--quiet"))
    name = "checkpoints/step-00000020.safetensors"
    whole, split = load_file(tmp_path / "whole" / name), load_file(tmp_path / "split" / name)
    assert any(key.startswith("rule/previous/") for key in whole)
    assert [k for k in whole if not np.array_equal(whole[k], split[k])] == []

"""Training learns: the mixtures' recommended runs cover their modes through the real command line, and the
remedies against mode collapse and saturation make a visible difference. Seeds are fixed and runs go on the
CPU with one thread, so each figure repeats on this machine; the bounds sit below the figures measured
(docs/pitfalls.md) with a margin for another CPU's rounding.

Each run takes 10–50 s of CPU; the file about two and a half minutes.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
import torch
from cli_helpers import ok
from gancli import cli
from gancli.config import resolve
from gancli.data import POINT_SETTINGS
from gancli.data.mixtures import GaussianMixture, ring
from gancli.metrics.modes import ModeCoverage
from gancli.plugins import get_plugins
from rich.console import Console
from typer.testing import CliRunner

RING = GaussianMixture("ring8", ring(8, 1.0), 0.01)


@pytest.fixture
def gancli(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    """Run ``gancli ARGS`` in-process from ``tmp_path`` on one CPU thread; returns the click Result."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(cli, "out", Console(width=250))
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    app, runner = cli.build_app(), CliRunner()

    def invoke(*args: str):
        return runner.invoke(app, [str(a) for a in args], prog_name="gancli")

    yield invoke
    torch.set_num_threads(threads)


def evaluations(run: Path) -> list[dict]:
    return [json.loads(line) for line in (run / "eval.jsonl").read_text().splitlines()]


def metrics(run: Path) -> list[dict]:
    return [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]


def test_no_high_quality_sample_is_the_worst_mode_kl_not_the_best() -> None:
    """A generator that lands nowhere near a mode must not score mode_kl 0 (a perfect spread)."""
    nowhere = ModeCoverage(200, 20).compute(torch.zeros(200, 2), RING)
    assert (nowhere["modes_covered"], nowhere["high_quality"]) == (0, 0.0)
    assert nowhere["mode_kl"] == pytest.approx(math.log(8))


def test_a_plain_ring8_run_covers_every_mode(gancli, tmp_path: Path) -> None:
    """`gancli train --data ring8` with nothing else: the dataset's recommended run, 3,000 steps (~25 s).

    Measured: 8/8 modes, 93 % high quality (3 % at step 1,000), mode KL 0.010.
    """
    ok(gancli("train", "--data", "ring8", "--device", "cpu", "--seed", "0", "--quiet", "--out", "run"))
    config = json.loads((tmp_path / "run" / "config.json").read_text())
    assert (config["arch"], config["steps"], config["latent_dim"], config["minibatch_std"]) == ("mlp", 3000, 2, True)
    first, *_, last = evaluations(tmp_path / "run")
    assert (first["step"], last["step"]) == (1000, 3000)
    assert last["modes_covered"] >= 7 and last["modes_total"] == 8
    assert last["high_quality"] >= 0.6 and last["mode_kl"] < 0.1
    assert last["high_quality"] > first["high_quality"] + 0.3  # it learned: 3 % of the samples at step 1,000


def test_the_mixtures_recommended_learning_rate_reaches_the_run() -> None:
    """No loss of the DCGAN family may shadow it: grid25 at RunConfig's 2e-4 covered 11/25 modes in 20,000
    steps (4 min), at 1e-3 25/25 in 6,000."""
    registry = get_plugins().registry
    for data in ("ring8", "grid25"):
        for loss in ("nonsaturating", "minimax", "lsgan", "hinge"):
            assert resolve(registry, {"data": data, "loss": loss}).config.lr == POINT_SETTINGS["lr"], (data, loss)


def test_grid25_covers_most_modes_at_a_small_budget(gancli, tmp_path: Path) -> None:
    """6,000 of the recommended 10,000 steps (~50 s); measured 25/25 modes, 91 % high quality."""
    args = ["--data", "grid25", "--steps", "6000", "--eval-every", "3000", "--seed", "0"]
    ok(gancli("train", *args, "--device", "cpu", "--quiet", "--out", "run"))
    halfway, last = evaluations(tmp_path / "run")
    assert last["step"] == 6000 and last["modes_total"] == 25
    assert last["modes_covered"] >= 20 and last["high_quality"] >= 0.75 and last["mode_kl"] < 0.2
    assert last["modes_covered"] >= halfway["modes_covered"]


def test_minibatch_std_undoes_the_mode_collapse_of_a_plain_gan(gancli, tmp_path: Path) -> None:
    """ring8, 2,000 steps each: a plain GAN (no minibatch std, no average) covers a few modes;
    the recommended run covers all eight. Measured: 3/8 modes (50 % HQ) against 8/8 (88 %)."""
    common = ["--data", "ring8", "--steps", "2000", "--seed", "0", "--device", "cpu", "--quiet"]
    ok(gancli("train", *common, "--no-minibatch-std", "--ema", "0", "--out", "plain"))
    ok(gancli("train", *common, "--out", "remedy"))
    plain, remedy = evaluations(tmp_path / "plain")[-1], evaluations(tmp_path / "remedy")[-1]
    assert plain["modes_covered"] <= 5
    assert remedy["modes_covered"] == 8 and remedy["high_quality"] >= 0.7
    assert remedy["mode_kl"] < plain["mode_kl"]


def test_the_minimax_generator_starves_when_d_wins_and_the_nonsaturating_one_does_not(gancli, tmp_path) -> None:
    """Five D steps per G step on ring8: D soon rejects the fakes (D(G(z)) ≈ 0.05); G's gradient under the
    minimax loss, log(1 − D(G(z))), is scaled by D(G(z)) and shrinks; under log D(G(z)) it is scaled by
    1 − D(G(z)). Measured over steps 100–300 (metrics.jsonl): median ‖∇G‖ 2.8 against 37."""
    common = ["--data", "ring8", "--d-steps", "5", "--steps", "300", "--no-minibatch-std"]
    common += ["--ema", "0", "--seed", "0", "--device", "cpu", "--quiet", "--eval-every", "300"]
    ok(gancli("train", *common, "--loss", "minimax", "--out", "minimax"))
    ok(gancli("train", *common, "--loss", "nonsaturating", "--out", "nonsaturating"))

    def late(run: str, key: str) -> float:
        values = sorted(r[key] for r in metrics(tmp_path / run) if r["step"] >= 100)
        return values[len(values) // 2]

    assert late("minimax", "d_fake") < 0.15  # D is confident
    assert late("nonsaturating", "grad_norm_g") > 5 * late("minimax", "grad_norm_g")

"""One evaluation protocol: a checkpoint scores the same in the run's own evaluation and in ``gancli eval``, and
each figure is the mean of its noise draws with their standard deviation beside it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cli_helpers import ok, one_line_error

#: a DCGAN with a moving average on 16-px digits, FD and precision/recall of 100 samples in a random CNN's space,
#: each the mean of 3 draws: 3 steps, evaluated at the last
SCORED_RUN = ["--data", "digits", "--set", "source=sklearn", "--image-size", "16", "--batch-size", "16"]
SCORED_RUN += ["--ema", "0.9", "--steps", "3", "--features", "random-cnn", "--eval-samples", "100"]
SCORED_RUN += ["--eval-draws", "3", "--config", "scored.toml", "--quiet", "--out", "run"]


@pytest.fixture
def scored_run(gancli, tmp_path: Path) -> dict:
    """The run's own last evaluation (RUN/eval.jsonl)."""
    (tmp_path / "scored.toml").write_text('metrics = ["fd", "prdc"]\n')
    ok(gancli("train", *SCORED_RUN))
    return json.loads((tmp_path / "run" / "eval.jsonl").read_text().splitlines()[-1])


def evaluated(gancli, *args: object) -> dict:
    return json.loads(ok(gancli("eval", "run", "--json", *args)))


def test_eval_scores_a_checkpoint_as_the_run_did(gancli, scored_run: dict) -> None:
    again = evaluated(gancli)
    assert again["draws"] == 3 and scored_run["step"] == again["step"] == 3
    for name in ("fd", "fd_real", "precision", "recall", "density", "coverage"):
        assert again[name] == scored_run[name], name  # the same figure, to the last digit
    assert again["spread"] == scored_run["spread"] and set(again["spread"]) >= {"fd", "precision"}
    assert not any(name.endswith("_real") for name in again["spread"])  # a floor does not depend on the noise


def test_a_figure_is_the_mean_and_std_of_its_draws(gancli, scored_run: dict) -> None:
    draws = [evaluated(gancli, "--draws", "1", "--seed", seed) for seed in (3, 4, 5)]  # the run's seed 0, + 3
    fds = [draw["fd"] for draw in draws]
    assert len(set(fds)) == 3 and all(draw["spread"] == {} for draw in draws)
    assert scored_run["fd"] == pytest.approx(sum(fds) / 3, rel=1e-12)
    mean = sum(fds) / 3
    by_hand = (sum((fd - mean) ** 2 for fd in fds) / 2) ** 0.5  # the sample standard deviation, n - 1 = 2
    assert scored_run["spread"]["fd"] == pytest.approx(by_hand, rel=1e-9)
    table = ok(gancli("eval", "run"))
    assert "mean ± std of 3 noise draws" in table
    assert f"{scored_run['fd']:.4g} ± {scored_run['spread']['fd']:.4g}" in table
    one_line_error(gancli("eval", "run", "--draws", "0"), "--draws must be")

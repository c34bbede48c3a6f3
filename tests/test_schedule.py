"""--lr-schedule: the rate of each step follows the schedule from the base rate, a resumed run takes the very
same steps (the base rate travels in the checkpoint), and a bad name is one line naming the flag."""

from __future__ import annotations

import itertools
import json
import math
import shutil
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import torch
from cli_helpers import ok, one_line_error
from gancli.train.schedule import set_rates
from safetensors.numpy import load_file

RING = ["--data", "ring8", "--steps", "20", "--batch-size", "32", "--latent-dim", "2", "--seed", "4"]
RING += ["--set", "mlp.hidden=16", "--set", "modes.samples=200", "--quiet", "--device", "cpu"]
RING += ["--checkpoint-every", "10", "--eval-every", "10", "--log-every", "5", "--keep", "5", "--ema", "0.9"]


def rates(run: Path, step: int) -> tuple[float, float]:
    meta = json.loads((run / "checkpoints" / f"step-{step:08d}.json").read_text())
    group = meta["opt_g"]["param_groups"][0]
    return group["lr"], group["initial_lr"]


@pytest.mark.parametrize(
    ("schedule", "factor"), [("linear", lambda t: 1 - t), ("cosine", lambda t: 0.5 * (1 + math.cos(math.pi * t)))]
)
def test_each_step_takes_the_scheduled_share_of_the_base_rate(schedule: str, factor: Callable[[float], float]) -> None:
    weight = torch.nn.Parameter(torch.zeros(1))
    optimizer = torch.optim.Adam([weight], lr=0.01)
    taken = []
    for done in range(4):
        set_rates((optimizer,), schedule, done, 4)
        taken.append(optimizer.param_groups[0]["lr"])
    assert taken == pytest.approx([0.01 * factor(done / 4) for done in range(4)])
    assert taken[0] == 0.01 and all(a > b > 0 for a, b in itertools.pairwise(taken))


def test_constant_leaves_the_rates_alone() -> None:
    optimizer = torch.optim.Adam([torch.nn.Parameter(torch.zeros(1))], lr=0.01)
    set_rates((optimizer,), "constant", 3, 4)
    assert optimizer.param_groups[0]["lr"] == 0.01 and "initial_lr" not in optimizer.param_groups[0]


def test_a_scheduled_run_resumes_exactly(gancli, tmp_path: Path) -> None:
    ok(gancli("train", *RING, "--lr-schedule", "cosine", "--lr", "0.002", "--out", "whole"))
    assert rates(tmp_path / "whole", 20) == pytest.approx((0.001 * (1 + math.cos(math.pi * 19 / 20)), 0.002))
    shutil.copytree(tmp_path / "whole", tmp_path / "split")
    ok(gancli("train", "--resume", "split", "--checkpoint", "10", "--quiet"))
    whole, split = (
        load_file(tmp_path / run / "checkpoints" / "step-00000020.safetensors") for run in ("whole", "split")
    )
    assert [k for k in whole if not np.array_equal(whole[k], split[k])] == []
    ok(gancli("train", *RING, "--lr", "0.002", "--out", "constant"))
    constant = load_file(tmp_path / "constant" / "checkpoints" / "step-00000020.safetensors")
    assert not np.array_equal(constant["G/0.weight"], whole["G/0.weight"])  # the schedule did change the steps


def test_an_unknown_schedule_names_the_flag(gancli) -> None:
    one_line_error(gancli("train", *RING, "--lr-schedule", "step"), "--lr-schedule", "cosine")

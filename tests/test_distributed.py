"""Training on two processes (torchrun, gloo on the CPU): the ranks end with identical networks (the loop checks
it and fails otherwise), the result equals one process on the same global batch to float tolerance, for the
alternating and the consensus rule, and a resumed two-process run continues exactly.

Each run starts two Python processes with torch (about 10 s on a quiet 2-core machine).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from safetensors.numpy import load_file

TINY = ["--data", "ring8", "--batch-size", "64", "--latent-dim", "2", "--set", "mlp.hidden=16", "--seed", "3"]
TINY += ["--no-minibatch-std", "--ema", "0", "--log-every", "10", "--eval-every", "1000", "--quiet", "--device", "cpu"]
TINY += ["--lr-schedule", "constant"]  # not ring8's decay to 0 by --steps: 10 steps, then --resume to 20 must equal 20


def gancli(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    env.pop("WORLD_SIZE", None)
    result = subprocess.run(
        [sys.executable, "-m", "gancli", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return result


def weights(run: Path, step: int) -> dict[str, np.ndarray]:
    tensors = load_file(run / "checkpoints" / f"step-{step:08d}.safetensors")
    return {k: v for k, v in tensors.items() if k.startswith(("G/", "D/", "opt_"))}


def assert_close(a: dict[str, np.ndarray], b: dict[str, np.ndarray], tolerance: float) -> None:
    assert a.keys() == b.keys()
    gaps = {k: float(np.abs(a[k].astype(np.float64) - b[k].astype(np.float64)).max()) for k in a if a[k].size}
    assert max(gaps.values()) <= tolerance, sorted(gaps.items(), key=lambda kv: -kv[1])[:3]


@pytest.mark.parametrize("update", ["alternating", "consensus"])
def test_two_processes_train_like_one_on_the_same_global_batch(tmp_path: Path, update: str) -> None:
    args = [*TINY, "--steps", "30", "--checkpoint-every", "30", "--update", update]
    gancli(tmp_path, "train", *args, "--out", "one")
    gancli(tmp_path, "train", *args, "--nproc", "2", "--out", "two")
    # measured: gaps of 1e-7 (alternating) after 30 steps; the sums over the batch are split differently
    assert_close(weights(tmp_path / "one", 30), weights(tmp_path / "two", 30), 1e-4)
    one, two = ((tmp_path / name / "metrics.jsonl").read_text().splitlines() for name in ("one", "two"))
    for a, b in zip(one, two, strict=True):  # the logged statistics are the global batch's
        first, second = json.loads(a), json.loads(b)
        assert first.keys() == second.keys()
        assert all(abs(first[k] - second[k]) <= 1e-3 for k in first), (first, second)
    config = json.loads((tmp_path / "two" / "config.json").read_text())
    assert config["batch_size"] == 64  # the global batch, split 32 + 32


def test_a_two_process_run_resumes_exactly(tmp_path: Path) -> None:
    args = [*TINY, "--checkpoint-every", "10", "--nproc", "2"]
    gancli(tmp_path, "train", *args, "--steps", "20", "--out", "whole")
    gancli(tmp_path, "train", *args, "--steps", "10", "--out", "split")
    gancli(tmp_path, "train", "--resume", "split", "--steps", "20", "--nproc", "2", "--quiet")
    assert_close(weights(tmp_path / "whole", 20), weights(tmp_path / "split", 20), 0.0)

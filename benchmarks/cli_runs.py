"""What the benchmarks that train through the command line share: one run as a user types it, and mean ± std."""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path


def train_run(data: str, flags: list[str], seed: int, steps: int | None, out: Path) -> tuple[dict, float]:
    """``gancli train --data DATA`` with ``flags`` on the CPU, one thread, evaluated once at its last step;
    (that evaluation, wall seconds)."""
    command = [sys.executable, "-m", "gancli", "train", "--data", data, "--device", "cpu", "--quiet"]
    command += ["--seed", str(seed), "--out", str(out), *flags]
    if steps is not None:
        command += ["--steps", str(steps)]
    command += ["--eval-every", str(10**9)]  # the last step is always evaluated: only it, here
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    start = time.perf_counter()
    done = subprocess.run(command, env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        sys.exit(f"{' '.join(command)} failed:\n{done.stderr}")
    return json.loads((out / "eval.jsonl").read_text().splitlines()[-1]), seconds


def spread(values: list[float], fmt: str) -> str:
    """``mean ± std`` of ``values`` in ``fmt`` (the mean alone for one value)."""
    mean = statistics.fmean(values)
    if len(values) == 1:
        return format(mean, fmt)
    return f"{format(mean, fmt)} ± {format(statistics.stdev(values), fmt)}"

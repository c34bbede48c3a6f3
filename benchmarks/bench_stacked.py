"""Modes of stacked digits (Stacked MNIST, 1,000 modes) that gancli's recommended run covers (not a test).

Each seed trains through the real command line (``gancli train --data stacked-digits ... --device cpu --quiet``),
one run at a time with one thread, with the one evaluation at the last step, and reads eval.jsonl: the
``stacked-modes`` metric labels each channel of 26,000 samples from fixed noise with the ``digits-cnn``
classifier; a mode counts as covered with one sample, and KL is KL(mode histogram ‖ uniform), beside the same
figures for 26,000 real triples of digits the classifier never saw. Printed as mean ± std over seeds, beside
the published rows (PacGAN, Lin et al. 2018, Table 2, the VEEGAN setup; R3GAN, Huang et al. 2024).

Usage: python benchmarks/bench_stacked.py [--seeds 0 1 2] [--steps N] [--flags "..."] [--keep DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PAPER = [  # (row, modes of 1,000, KL)
    ("DCGAN (PacGAN Table 2)", "99", "3.40"),
    ("Unrolled GAN (PacGAN Table 2)", "48.7", "4.32"),
    ("VEEGAN (PacGAN Table 2)", "150", "2.95"),
    ("PacDCGAN4 (PacGAN Table 2)", "1,000", "0.07"),
    ("R3GAN (Huang et al. 2024)", "1,000", "0.029"),
]
FIGURES = ("stacked_modes", "stacked_kl", "stacked_modes_real", "stacked_kl_real")


def train(flags: list[str], seed: int, steps: int | None, out: Path) -> tuple[dict, float]:
    """Train one run through the CLI, evaluated once at its end; (that evaluation, wall seconds)."""
    command = [sys.executable, "-m", "gancli", "train", "--data", "stacked-digits", "--device", "cpu", "--quiet"]
    command += ["--seed", str(seed), "--out", str(out), *flags]
    if steps is not None:
        command += ["--steps", str(steps)]
    command += ["--eval-every", str(steps or 10**9)]  # one evaluation, the one at the last step
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    start = time.perf_counter()
    done = subprocess.run(command, env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        sys.exit(f"{' '.join(command)} failed:\n{done.stderr}")
    return json.loads((out / "eval.jsonl").read_text().splitlines()[-1]), seconds


def spread(values: list[float], fmt: str) -> str:
    mean = statistics.fmean(values)
    if len(values) == 1:
        return format(mean, fmt)
    return f"{format(mean, fmt)} ± {format(statistics.stdev(values), fmt)}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--steps", type=int, default=None, help="default: the dataset's recommended budget")
    parser.add_argument("--flags", default="", help="more gancli train flags, e.g. '--pack 4'")
    parser.add_argument("--keep", type=Path, default=None, help="keep the run directories here")
    args = parser.parse_args()
    flags = shlex.split(args.flags)

    print(f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, load {os.getloadavg()[0]:.2f}")
    print(f"seeds {args.seeds}, steps {args.steps or 'as recommended'}, flags {args.flags or 'none'}, one thread")
    root = args.keep or Path(tempfile.mkdtemp(prefix="bench_stacked-"))
    runs = []
    for seed in args.seeds:
        result, seconds = train(flags, seed, args.steps, root / f"seed{seed}")
        runs.append((result, seconds))
        print(
            f"  seed {seed}: {result['stacked_modes']}/1000 modes, KL {result['stacked_kl']:.3f} "
            f"(real: {result['stacked_modes_real']}, {result['stacked_kl_real']:.3f}), step {result['step']}, "
            f"{seconds:.0f} s",
            flush=True,
        )
    print("\nmean ± std over seeds\n\n| run | modes (of 1,000) | KL | real modes | real KL | seconds |")
    print("|---|---|---|---|---|---|")
    formats = zip(FIGURES, (".1f", ".3f") * 2, strict=True)
    cells = [spread([float(r[name]) for r, _ in runs], fmt) for name, fmt in formats]
    print(f"| gancli {args.flags or 'recommended'} | {' | '.join(cells)} | {spread([s for _, s in runs], '.0f')} |")
    for name, modes, kl in PAPER:
        print(f"| {name} | {modes} | {kl} | | | |")
    print(f"\nload {os.getloadavg()[0]:.2f} at the end; run directories: {root}")


if __name__ == "__main__":
    main()

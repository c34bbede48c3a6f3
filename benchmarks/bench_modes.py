"""Mode coverage on grid25 (PacGAN's 2-D grid) of gancli's recommended run against a plain GAN (not a test).

Each row trains through the real command line (``gancli train --data grid25 ... --device cpu --quiet``), one
run at a time with one thread, reads the run's last line of eval.jsonl (2,500 samples from fixed noise: a
sample is high quality within 3σ of its nearest mode, a mode is covered by 20 of them, mode KL is KL(p‖
uniform) of the high-quality samples over the modes) and prints the mean ± std over seeds beside
the PacGAN paper's figures (Lin et al. 2018, Table 1: 400k steps, 100,000 training samples, 10 trials).

- recommended: ``gancli train --data grid25`` as it comes: the dataset's recommendations (docs/pitfalls.md);
- no minibatch-std: the same with ``--no-minibatch-std``, the remedy against mode collapse taken away;
- plain GAN: ``--no-minibatch-std --ema 0``, no remedy at all;
- ``--extra NAME=FLAGS`` adds a row, e.g. ``--extra "pack 4=--no-minibatch-std --pack 4"``.

Usage: python benchmarks/bench_modes.py [--seeds 0 1 2] [--steps N] [--quick] [--extra NAME=FLAGS] [--keep DIR]
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

ROWS = {
    "recommended": [],
    "no minibatch-std": ["--no-minibatch-std"],
    "plain GAN": ["--no-minibatch-std", "--ema", "0"],
}
PAPER = [  # Lin et al. 2018 (PacGAN), Table 1, grid25: modes covered (of 25), high-quality samples
    ("paper: GAN", 17.3, 0.948),
    ("paper: PacGAN4", 24.8, 0.936),
]


def train(flags: list[str], seed: int, steps: int | None, out: Path) -> tuple[dict, float]:
    """Train one run through the CLI; (its last evaluation, wall seconds)."""
    command = [sys.executable, "-m", "gancli", "train", "--data", "grid25", "--device", "cpu", "--quiet"]
    command += ["--seed", str(seed), "--out", str(out), *flags]
    if steps is not None:
        command += ["--steps", str(steps), "--eval-every", str(steps)]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    start = time.perf_counter()
    done = subprocess.run(command, env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        sys.exit(f"{' '.join(command)} failed:\n{done.stderr}")
    last = (out / "eval.jsonl").read_text().splitlines()[-1]
    return json.loads(last), seconds


def spread(values: list[float], fmt: str) -> str:
    mean = statistics.fmean(values)
    if len(values) == 1:
        return format(mean, fmt)
    return f"{format(mean, fmt)} ± {format(statistics.stdev(values), fmt)}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--steps", type=int, default=None, help="default: the dataset's recommended budget")
    parser.add_argument("--quick", action="store_true", help="one seed, 2,000 steps: a smoke run")
    parser.add_argument("--extra", action="append", default=[], metavar="NAME=FLAGS", help="another row")
    parser.add_argument("--keep", type=Path, default=None, help="keep the run directories here")
    args = parser.parse_args()
    if args.quick:
        args.seeds, args.steps = args.seeds[:1], args.steps or 2000
    rows = dict(ROWS)
    for item in args.extra:
        name, _, flags = item.partition("=")
        rows[name.strip()] = shlex.split(flags)

    print(f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, load {os.getloadavg()[0]:.2f}")
    print(f"grid25, seeds {args.seeds}, steps {args.steps or 'as recommended'}, one thread per run\n")
    root = args.keep or Path(tempfile.mkdtemp(prefix="bench_modes-"))
    results: dict[str, list[tuple[dict, float]]] = {}
    for name, flags in rows.items():
        for seed in args.seeds:
            out = root / f"{name.replace(' ', '_')}-seed{seed}"
            result, seconds = train(flags, seed, args.steps, out)
            results.setdefault(name, []).append((result, seconds))
            print(
                f"  {name:<18} seed {seed}: {result['modes_covered']:>2}/25 modes, "
                f"{100 * result['high_quality']:.1f} % HQ, KL {result['mode_kl']:.3f}, step {result['step']}, "
                f"{seconds:.0f} s  ({' '.join(flags) or 'no flags'})",
                flush=True,
            )

    header = f"\n{'run':<20} {'modes (of 25)':>14} {'high quality %':>16} {'mode KL':>14} {'seconds':>10}"
    print(header)
    print("-" * (len(header) - 1))
    for name, runs in results.items():
        modes = [float(r["modes_covered"]) for r, _ in runs]
        hq = [100 * r["high_quality"] for r, _ in runs]
        kl = [r["mode_kl"] for r, _ in runs]
        secs = [s for _, s in runs]
        print(
            f"{name:<20} {spread(modes, '.1f'):>14} {spread(hq, '.1f'):>16} {spread(kl, '.3f'):>14} "
            f"{spread(secs, '.0f'):>10}"
        )
    for name, modes, hq in PAPER:
        print(f"{name:<20} {modes:>14.1f} {100 * hq:>16.1f} {'':>14} {'400k steps':>10}")
    if args.keep is None:
        print(f"\nrun directories: {root}")


if __name__ == "__main__":
    main()

"""Mode coverage on ring8 and grid25 (PacGAN's 2-D mixtures) of gancli's recommended runs, over seeds (not a test).

Each row trains through the real command line (``gancli train --data DATA ... --device cpu --quiet``), one
run at a time with one thread, reads the run's last line of eval.jsonl (2,500 samples from fixed noise: a
sample is high quality within 3σ of its nearest mode, a mode is covered by 20 of them, mode KL is KL(p‖
uniform) of the high-quality samples over the modes) and prints, per column, the mean ± std over seeds and
the worst seed (fewest modes, lowest HQ, highest KL), beside the published rows: Lin et al. 2018 (PacGAN),
Table 1, mean ± std of 10 trials of 400k steps on 100,000 training samples, and VEEGAN's own table
(Srivastava et al. 2017, Table 1, which reports no KL).

- recommended: ``gancli train --data DATA`` as it comes: the dataset's recommendations (docs/pitfalls.md);
- ``--ablations`` adds the same run with ``--no-minibatch-std`` (the remedy against mode collapse taken
  away) and with ``--no-minibatch-std --ema 0 --lr-schedule constant`` (a plain GAN): three times the time;
- ``--extra NAME=FLAGS`` adds a row, e.g. ``--extra "pack 4=--no-minibatch-std --pack 4"``.

Usage: python benchmarks/bench_modes.py [--data ring8 grid25] [--seeds 0 1 2 3 4] [--steps N] [--quick]
       [--ablations] [--extra NAME=FLAGS] [--keep DIR]
"""

from __future__ import annotations

import argparse
import os
import platform
import shlex
import tempfile
import time
from pathlib import Path

from cli_runs import spread, train_run

RECOMMENDED = {"recommended": []}
ABLATIONS = {
    "no minibatch-std": ["--no-minibatch-std"],
    "plain GAN": ["--no-minibatch-std", "--ema", "0", "--lr-schedule", "constant"],
}
MODES = {"ring8": 8, "grid25": 25}
#: (row, modes, HQ %, mode KL or None, training budget), each "mean ± std" as published
PAPER = {
    "ring8": [
        ("PacGAN paper: GAN", "6.3 ± 0.5", "98.2 ± 0.2", "0.45 ± 0.09", "400k steps"),
        ("PacGAN paper: ALI", "6.6 ± 0.3", "97.6 ± 0.4", "0.36 ± 0.04", "400k steps"),
        ("PacGAN paper: PacGAN2", "7.9 ± 0.1", "95.6 ± 2.0", "0.07 ± 0.03", "400k steps"),
        ("PacGAN paper: PacGAN3", "7.8 ± 0.1", "97.7 ± 0.3", "0.10 ± 0.02", "400k steps"),
        ("PacGAN paper: PacGAN4", "7.8 ± 0.1", "95.9 ± 0.8", "0.07 ± 0.02", "400k steps"),
        ("VEEGAN paper: VEEGAN", "8.0", "52.9", None, ""),
    ],
    "grid25": [
        ("PacGAN paper: GAN", "17.3 ± 0.8", "94.8 ± 0.7", "0.70 ± 0.07", "400k steps"),
        ("PacGAN paper: ALI", "24.1 ± 0.4", "95.7 ± 0.6", "0.14 ± 0.03", "400k steps"),
        ("PacGAN paper: PacGAN2", "23.8 ± 0.7", "91.3 ± 0.8", "0.13 ± 0.04", "400k steps"),
        ("PacGAN paper: PacGAN3", "24.6 ± 0.4", "94.2 ± 0.4", "0.06 ± 0.02", "400k steps"),
        ("PacGAN paper: PacGAN4", "24.8 ± 0.2", "93.6 ± 0.6", "0.04 ± 0.01", "400k steps"),
        ("VEEGAN paper: VEEGAN", "24.6", "40.0", None, ""),
    ],
}


def column(values: list[float], fmt: str, worst: float) -> str:
    """Mean ± std over seeds, and the worst seed's value in brackets."""
    return f"{spread(values, fmt)} ({format(worst, fmt)})"


def table(data: str, results: dict[str, list[tuple[dict, float]]]) -> None:
    """One dataset's rows as a Markdown table: gancli's over seeds, then the published ones."""
    print(f"\n{data}: mean ± std over seeds (worst seed)\n")
    print(f"| run | modes (of {MODES[data]}) | high quality % | mode KL | seconds |")
    print("|---|---|---|---|---|")
    for name, runs in results.items():
        modes = [float(r["modes_covered"]) for r, _ in runs]
        hq = [100 * r["high_quality"] for r, _ in runs]
        kl = [r["mode_kl"] for r, _ in runs]
        secs = [s for _, s in runs]
        cells = [column(modes, ".1f", min(modes)), column(hq, ".1f", min(hq)), column(kl, ".3f", max(kl))]
        print(f"| {name} | {' | '.join(cells)} | {spread(secs, '.0f')} |")
    for name, modes, hq, kl, budget in PAPER[data]:
        print(f"| {name} | {modes} | {hq} | {kl or '—'} | {budget or '—'} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", nargs="+", choices=list(MODES), default=list(MODES))
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    parser.add_argument("--steps", type=int, default=None, help="default: the dataset's recommended budget")
    parser.add_argument("--quick", action="store_true", help="one seed, 2,000 steps: a smoke run")
    parser.add_argument("--ablations", action="store_true", help="also without minibatch std, and a plain GAN")
    parser.add_argument("--extra", action="append", default=[], metavar="NAME=FLAGS", help="another row")
    parser.add_argument("--keep", type=Path, default=None, help="keep the run directories here")
    args = parser.parse_args()
    if args.quick:
        args.seeds, args.steps = args.seeds[:1], args.steps or 2000
    rows = {**RECOMMENDED, **(ABLATIONS if args.ablations else {})}
    for item in args.extra:
        name, _, flags = item.partition("=")
        rows[name.strip()] = shlex.split(flags)

    print(f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, load {os.getloadavg()[0]:.2f}")
    print(f"{' and '.join(args.data)}, seeds {args.seeds}, steps {args.steps or 'as recommended'}, one thread per run")
    root = args.keep or Path(tempfile.mkdtemp(prefix="bench_modes-"))
    start = time.perf_counter()
    for data in args.data:
        results: dict[str, list[tuple[dict, float]]] = {}
        for name, flags in rows.items():
            for seed in args.seeds:
                out = root / f"{data}-{name.replace(' ', '_')}-seed{seed}"
                result, seconds = train_run(data, flags, seed, args.steps, out)
                results.setdefault(name, []).append((result, seconds))
                print(
                    f"  {data} {name:<18} seed {seed}: {result['modes_covered']:>2}/{MODES[data]} modes, "
                    f"{100 * result['high_quality']:.1f} % HQ, KL {result['mode_kl']:.3f}, step {result['step']}, "
                    f"{seconds:.0f} s  ({' '.join(flags) or 'no flags'})",
                    flush=True,
                )
        table(data, results)
    print(f"\n{time.perf_counter() - start:.0f} s in all, load {os.getloadavg()[0]:.2f} at the end")
    if args.keep is None:
        print(f"run directories: {root}")


if __name__ == "__main__":
    main()

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
import os
import platform
import shlex
import tempfile
from pathlib import Path

from cli_runs import spread, train_run

PAPER = [  # (row, modes of 1,000, KL)
    ("DCGAN (PacGAN Table 2)", "99", "3.40"),
    ("Unrolled GAN (PacGAN Table 2)", "48.7", "4.32"),
    ("VEEGAN (PacGAN Table 2)", "150", "2.95"),
    ("PacDCGAN4 (PacGAN Table 2)", "1,000", "0.07"),
    ("R3GAN (Huang et al. 2024)", "1,000", "0.029"),
]
FIGURES = ("stacked_modes", "stacked_kl", "stacked_modes_real", "stacked_kl_real")


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
        result, seconds = train_run("stacked-digits", flags, seed, args.steps, root / f"seed{seed}")
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

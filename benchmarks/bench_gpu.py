"""Images per second of `gancli train` for the DCGAN at 64×64 with and without each option of the GPU path,
each against the plain fp32 run measured in the same process (not a test).

    python benchmarks/bench_gpu.py [--device cuda] [--steps N] [--batch B] [--repeats R]

Variants: fp32 (the baseline), --precision bf16, --precision fp16 (loss scaling), --channels-last, --compile,
--prefetch, and all of them that fit together (bf16 + channels-last + compile + prefetch). Each is a fresh run
of ``--steps`` steps after a warm-up run (compilation included there), timed around ``gancli.train.loop.train``;
printed: the median images per second (generator samples trained on: steps × batch) and the ratio to fp32.
Absolute figures hold only on the GPU they were measured on; on the CPU this runs too, slowly, as a check.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

import torch
from gancli.train import lifecycle, loop
from load import load_report

VARIANTS = {
    "fp32": {},
    "bf16": {"precision": "bf16"},
    "fp16": {"precision": "fp16"},
    "channels-last": {"channels_last": True},
    "compile": {"compile": True},
    "prefetch": {"prefetch": True},
    "bf16+cl+compile+prefetch": {"precision": "bf16", "channels_last": True, "compile": True, "prefetch": True},
}


def images_per_second(device: str, steps: int, batch: int, options: dict[str, object]) -> float:
    flags = {
        "data": "digits",
        "image_size": 64,
        "arch": "dcgan",
        "steps": steps,
        "batch_size": batch,
        "device": device,
        "metrics": [],
        "log_every": 10,
        "sample_every": 10**6,
        "checkpoint_every": 10**6,
        "eval_every": 10**6,
        "prefetch": False,
        **options,
    }
    with tempfile.TemporaryDirectory() as tmp:
        session, run = lifecycle.start(flags, None, ["dcgan.g_width=64", "dcgan.d_width=64"], Path(tmp) / "run")
        if device.startswith("cuda"):
            torch.cuda.synchronize()
        start = time.perf_counter()
        loop.train(session, run, show_progress=False)
        if device.startswith("cuda"):
            torch.cuda.synchronize()
        return steps * batch / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    name = torch.cuda.get_device_name() if args.device.startswith("cuda") else "CPU"
    load_before = os.getloadavg()[0]
    print(f"{name}; DCGAN 64×64×1, widths 64, batch {args.batch}, {args.steps} steps")
    results: dict[str, float] = {}
    for variant, options in VARIANTS.items():
        images_per_second(args.device, 10, args.batch, options)  # warm-up: kernels chosen, graphs compiled
        runs = [images_per_second(args.device, args.steps, args.batch, options) for _ in range(args.repeats)]
        results[variant] = statistics.median(runs)
        ratio = results[variant] / results["fp32"]
        print(f"{variant:<26} {results[variant]:10.0f} images/s   {ratio:5.2f}× fp32", flush=True)
    print(load_report(load_before, f"torch {torch.__version__}"))


if __name__ == "__main__":
    main()

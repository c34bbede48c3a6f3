"""Whether the data path keeps up with the training step (not a test).

A ``.ganpack`` of ``--images`` 64×64 RGB images (memory-mapped, as `gancli data prepare` writes it) is opened
as ``gancli train --data FILE.ganpack`` opens it, and the run's own data path is timed: ``Game.sample_real``,
which draws a batch of 256 from the seeded generator, augments it with the native kernels (``--augment``),
lays it out for the networks and, on CUDA, pins it and copies it to the GPU. Printed, for no augmentation and
for ``flip,translate=0.125``: the images per second that path delivers on one thread (the Rust kernels use
their own pool), and the images per second the training step consumes on the same device at the same batch
(the default DCGAN at 64×64, the same updates as bench_train.py), and their ratio: above 1, the loader is not
the bottleneck. With ``--prefetch`` (a background thread, on by default on CUDA) the two overlap.

On the CPU the step is far slower than the loader; the figure that matters is on a GPU.

    python benchmarks/bench_loader.py [--images N] [--batches B] [--device cpu|cuda]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from bench_train import start_run
from gancli.data.packed import write_packed
from load import load_report

BATCH = 256
AUGMENTS = {"none": "", "flip,translate=0.125": "flip,translate=0.125"}


def rate(fn: object, count: int, images: int, device: str) -> float:
    """Images per second over ``count`` calls of ``fn`` (after one untimed call)."""
    sync = torch.cuda.synchronize if device.startswith("cuda") else lambda: None
    fn()
    sync()
    start = time.perf_counter()
    for _ in range(count):
        fn()
    sync()
    return count * images / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--images", type=int, default=20000, help="images in the packed file (default 20,000)")
    parser.add_argument("--batches", type=int, default=20, help="timed batches of each (default 20)")
    parser.add_argument("--steps", type=int, default=5, help="timed training steps (default 5)")
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    args = parser.parse_args()
    torch.set_num_threads(1)
    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory() as tmp:
        pack = Path(tmp) / "images.ganpack"
        pixels = np.random.default_rng(0).integers(0, 256, (args.images, 3, 64, 64), dtype=np.uint8)
        write_packed(pack, pixels, source="bench_loader", source_count=args.images)
        del pixels
        print(f"{args.images} images of 3x64x64 in {pack.stat().st_size / 2**20:.0f} MiB, batch {BATCH}, {args.device}")
        for name, spec in AUGMENTS.items():
            flags = ["--data", str(pack), "--augment", spec] if spec else ["--data", str(pack)]
            session, run = start_run(Path(tmp) / name, args.steps + 1, args.device, BATCH, flags)
            run.release()
            delivered = rate(session.game.sample_real, args.batches, BATCH, args.device)
            consumed = rate(lambda s=session: s.rule.step(s.game), args.steps, BATCH, args.device)
            print(
                f"  augment {name:<22} loader {delivered:9.0f} images/s   step {consumed:9.0f} images/s   "
                f"loader / step {delivered / consumed:6.1f}"
            )
    print(load_report(load_before, f"torch {torch.__version__}, one torch thread"))


if __name__ == "__main__":
    main()

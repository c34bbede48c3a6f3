"""Whether the data path keeps up with the training step (not a test).

A ``.ganpack`` of ``--images`` 64×64 RGB images (memory-mapped, as `gancli data prepare` writes it) is opened
as ``gancli train --data FILE.ganpack --no-data-on-device`` opens it (the host path of data larger than the
device holds), and the run's own data path is timed (train/inputs.py):
the host's share, ``RealBatches.draw`` (what ``--prefetch``'s thread runs: a batch of 256 drawn from the seeded
generator, augmented by the native kernels with ``--augment``, kept uint8 as stored and, on CUDA, pinned), and
the whole of ``Game.sample_real`` (then the copy to the device and the conversion to floats in the networks'
layout there; on the CPU the conversion is host work too, as the host did all of it before the batches
travelled as stored). Printed, for no augmentation and for ``flip,translate=0.125``: the images per second each
delivers on one thread (the Rust kernels use their own pool), the images per second the training step consumes
on the same device at the same batch (the default DCGAN at 64×64, the same updates as bench_train.py), and the
host's share against the step: above 1, the loader is not the bottleneck. With ``--prefetch`` (a background
thread, on by default on CUDA) the host's share overlaps the step.

The batches are timed after ``--warm`` untimed ones (a memory-mapped file's pages are mapped on first touch;
a long run touches them in its first epoch). On the CPU the step is far slower than the loader; the figure that
matters is on a GPU.

    python benchmarks/bench_loader.py [--images N] [--batches B] [--warm W] [--steps S] [--device cpu|cuda]
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
from gancli.train.inputs import RealBatches
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
    parser.add_argument("--batches", type=int, default=100, help="timed batches of each (default 100)")
    parser.add_argument("--warm", type=int, default=100, help="untimed batches first (default 100)")
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
            # the host path, as for data larger than the device holds (this file would be held there on CUDA)
            flags = ["--data", str(pack), "--no-data-on-device", *(["--augment", spec] if spec else [])]
            session, run = start_run(Path(tmp) / name, args.steps + 1, args.device, BATCH, flags)
            run.release()
            batches = session.game.sample_real
            assert isinstance(batches, RealBatches)
            rate(batches.draw, args.warm, BATCH, args.device)
            host = rate(batches.draw, args.batches, BATCH, args.device)
            whole = rate(batches, args.batches, BATCH, args.device)
            consumed = rate(lambda s=session: s.rule.step(s.game), args.steps, BATCH, args.device)
            print(
                f"  augment {name:<22} host's share {host:9.0f} images/s   whole {whole:9.0f}   "
                f"step {consumed:9.0f}   host's share / step {host / consumed:6.1f}"
            )
    print(load_report(load_before, f"torch {torch.__version__}, one torch thread"))


if __name__ == "__main__":
    main()

"""The cost of the data fingerprint a run records in every checkpoint and checks on ``--resume``: XXH3-64 of the
decoded pixels (``ImageSource.fingerprint``, the native kernel, GIL released), on 20,000 images of 3×64×64 held
in memory and memory-mapped from a ``.ganpack``, beside hashlib's SHA-256 of the same bytes.

    python benchmarks/bench_fingerprint.py [--images N] [--repeats R]

Prints the best wall time of each, its throughput and the load average. The mapped file is measured warm (its
pages in the page cache, as after ``data prepare`` or a recent run) and cold (its pages dropped from the cache
with posix_fadvise first, so the disk is read).
"""

from __future__ import annotations

import argparse
import hashlib
import os
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
from gancli.data.base import ImageSource
from gancli.data.packed import read_packed, write_packed
from load import load_report


def best(work: Callable[[], object], repeats: int, before: Callable[[], None] = lambda: None) -> float:
    """The shortest wall time of ``repeats`` calls of ``work``, each after ``before``."""
    times = []
    for _ in range(repeats):
        before()
        start = time.perf_counter()
        work()
        times.append(time.perf_counter() - start)
    return min(times)


def drop_from_cache(path: Path) -> None:
    """Evict ``path``'s pages from the page cache (this file only), so the next read comes from the disk."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
    finally:
        os.close(fd)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=20000)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    images = np.random.default_rng(0).integers(0, 256, (args.images, 3, 64, 64), dtype=np.uint8)
    size = images.nbytes
    load_before = os.getloadavg()[0]

    def fingerprint(array: np.ndarray) -> Callable[[], object]:
        return lambda: ImageSource("bench", array).fingerprint()  # a new source each time: no cached digest

    rows = [("in memory: xxh3 (ImageSource.fingerprint)", best(fingerprint(images), args.repeats))]
    rows.append(("in memory: hashlib.sha256", best(lambda: hashlib.sha256(images).digest(), args.repeats)))
    with tempfile.TemporaryDirectory(dir=".") as folder:  # on disk, where a dataset is
        path = Path(folder) / "bench.ganpack"
        write_packed(path, images, source="bench", source_count=args.images)

        def mapped() -> object:
            return ImageSource("bench", read_packed(path, verify=False).images).fingerprint()

        rows.append(("mapped .ganpack, warm: xxh3", best(mapped, args.repeats)))
        rows.append(("mapped .ganpack, cold: xxh3", best(mapped, args.repeats, lambda: drop_from_cache(path))))
    print(load_report(load_before, f"{args.images} images of 3×64×64 uint8: {size / 1e6:.1f} MB"))
    for name, seconds in rows:
        print(f"{name:45} {seconds * 1000:8.1f} ms  {size / seconds / 1e9:6.2f} GB/s")


if __name__ == "__main__":
    main()

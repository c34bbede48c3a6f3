"""Benchmark gancli.kernels against the Python baselines it replaces (not a test).

Each job runs ours and the baselines side by side in one process on data generated here, and prints
wall-clock seconds (best of --repeat), the speed-up ratio, megapixels per second and the CPU seconds
of that run (this process plus finished workers). On a shared machine the wall-clock ratio of a
parallel job shrinks with the load, which is printed first; the CPU seconds show the work itself:

- decode: PNG + JPEG files at 256x256 to a (N, 3, 64, 64) uint8 batch (bicubic, centre crop), vs
  (a) a Pillow + numpy loop and (b) a torch DataLoader over the same Pillow Dataset with 2 workers;
- augment: a 256-image 64x64 batch with flip, translate, brightness/contrast/saturation and cutout,
  vs torchvision.transforms.v2 with the same ops applied per image (per-image random parameters);
- PNG per core: 256x256 RGB PNGs (photo-like, and uniform noise that deflate cannot shrink) decoded one at a
  time at their own size on one thread, no resize, vs Pillow's ``Image.open(...).convert("RGB")``;
- grid: 64 float images of 64x64 tiled and encoded as PNG, vs torchvision make_grid + save_image
  (ours with its "fast" compression, the default of `gancli grid`, and with "default" compression,
  which gives about the size Pillow's PNG writer does).

Usage: python benchmarks/bench_kernels.py [--quick] [--images N] [--repeat R]
"""

from __future__ import annotations

import argparse
import io
import os
import resource
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
import torchvision
from gancli import kernels
from load import load_report
from PIL import Image
from torch.utils.data import DataLoader, Dataset
from torchvision.transforms import v2
from torchvision.utils import make_grid, save_image

SIZE = 64
SPEC = "flip@0.5,translate=0.125@1,brightness=0.2@1,contrast=0.2@1,saturation=0.2@1,cutout=0.5@0.5"


def cpu_seconds() -> float:
    """User + system CPU time of this process and of its children that have exited (DataLoader workers)."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def best_time(fn: Callable[[], object], repeat: int) -> tuple[float, float]:
    """(wall, CPU) seconds of the fastest of ``repeat`` runs, the one least disturbed by other processes."""
    runs = []
    for _ in range(repeat):
        start, cpu = time.perf_counter(), cpu_seconds()
        fn()
        runs.append((time.perf_counter() - start, cpu_seconds() - cpu))
    return min(runs)


def photo_like(rng: np.random.Generator, side: int) -> np.ndarray:
    """Smooth colour blobs plus grain: compresses roughly like a photograph."""
    coarse = rng.integers(0, 256, (8, 8, 3), dtype=np.uint8)
    smooth = np.asarray(Image.fromarray(coarse).resize((side, side), Image.Resampling.BICUBIC), dtype=np.int16)
    grain = rng.integers(-6, 7, smooth.shape, dtype=np.int16)
    return np.clip(smooth + grain, 0, 255).astype(np.uint8)


def make_files(root: Path, count: int, side: int) -> list[Path]:
    rng = np.random.default_rng(0)
    paths = []
    for i in range(count):
        image = Image.fromarray(photo_like(rng, side))
        png, jpg = root / f"{i:05d}.png", root / f"{i:05d}.jpg"
        image.save(png)
        image.save(jpg, quality=90)
        paths += [png, jpg]
    return paths


def pillow_load(path: Path) -> np.ndarray:
    """The baseline's per-image work: decode, RGB, bicubic resize of the centre square, CHW."""
    with Image.open(path) as image:
        rgb = image.convert("RGB")
    w, h = rgb.size
    side = min(w, h)
    left, top = (w - side) / 2, (h - side) / 2
    resized = rgb.resize((SIZE, SIZE), Image.Resampling.BICUBIC, box=(left, top, left + side, top + side))
    return np.asarray(resized).transpose(2, 0, 1)


class PillowDataset(Dataset):
    def __init__(self, paths: list[Path]) -> None:
        self.paths = paths

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, index: int) -> torch.Tensor:
        return torch.from_numpy(np.ascontiguousarray(pillow_load(self.paths[index])))


def decode_with_dataloader(paths: list[Path]) -> torch.Tensor:
    loader = DataLoader(PillowDataset(paths), batch_size=64, num_workers=2)
    return torch.cat(list(loader))


def torchvision_augment() -> Callable[[torch.Tensor], torch.Tensor]:
    transform = v2.Compose(
        [
            v2.RandomHorizontalFlip(p=0.5),
            v2.RandomAffine(degrees=0, translate=(0.125, 0.125)),
            v2.ColorJitter(brightness=0.2, contrast=0.2, saturation=0.2),
            v2.RandomErasing(p=0.5, scale=(0.25, 0.25), ratio=(1.0, 1.0), value=0),
        ]
    )
    # Loop so every image gets its own random parameters, as ours does.
    return lambda batch: torch.stack([transform(image) for image in batch])


def report(
    job: str, megapixels: float, ours: dict[str, tuple[float, float]], baselines: dict[str, tuple[float, float]]
) -> None:
    """Print each run's seconds and rate, and how many times faster the first of ``ours`` is than each other."""
    print(f"\n{job}")
    print(f"  {'':<36}{'seconds':>9}{'MP/s':>9}{'CPU s':>8}{'ours is':>10}")
    (_, (reference, _)), *_ = ours.items()
    for name, (seconds, cpu) in {**ours, **baselines}.items():
        ratio = f"{seconds / reference:>9.1f}x" if name in baselines else ""
        print(f"  {name:<36}{seconds:>9.3f}{megapixels / seconds:>9.1f}{cpu:>8.2f}{ratio}")


def png_per_core(count: int, repeat: int) -> None:
    """One PNG after another on one thread, decode only: the rate of the decoder itself (MP/s per core)."""
    rng = np.random.default_rng(2)
    kinds = {
        "photo-like": lambda: photo_like(rng, 256),
        "uniform noise": lambda: rng.integers(0, 256, (256, 256, 3), dtype=np.uint8),
    }
    for kind, draw in kinds.items():
        blobs = []
        for _ in range(count):
            buffer = io.BytesIO()
            Image.fromarray(draw()).save(buffer, format="PNG")
            blobs.append(buffer.getvalue())
        ours = best_time(lambda blobs=blobs: [kernels.decode_image(b) for b in blobs], repeat)
        theirs = best_time(lambda blobs=blobs: [Image.open(io.BytesIO(b)).convert("RGB") for b in blobs], repeat)
        size = sum(map(len, blobs)) / len(blobs) / 1024
        report(
            f"PNG per core: {count} x 256x256 RGB, {kind} ({size:.0f} KiB a file), decode only, one thread",
            count * 256 * 256 / 1e6,
            {"gancli.kernels.decode_image": ours},
            {"Pillow open + convert": theirs},
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="200 + 200 files and fewer repeats")
    parser.add_argument("--images", type=int, default=None, help="PNG files (and as many JPEGs); default 2000")
    parser.add_argument("--repeat", type=int, default=None, help="runs per measurement (best kept); default 3")
    args = parser.parse_args()
    count = args.images or (200 if args.quick else 2000)
    repeat = args.repeat or (2 if args.quick else 3)
    torch.set_num_threads(os.cpu_count() or 1)

    load_before = os.getloadavg()[0]
    versions = f"torch {torch.__version__}, torchvision {torchvision.__version__}, Pillow {Image.__version__}"
    print(versions)
    with tempfile.TemporaryDirectory() as tmp:
        paths = make_files(Path(tmp), count, 256)
        source_mp = len(paths) * 256 * 256 / 1e6
        ours_batch = kernels.decode_images(paths, SIZE, 3).images
        pillow_batch = np.stack([pillow_load(p) for p in paths])
        diff = np.abs(ours_batch.astype(np.int16) - pillow_batch.astype(np.int16))
        print(f"decode agreement with Pillow: mean |diff| {diff.mean():.3f}, max {diff.max()}")
        ours = best_time(lambda: kernels.decode_images(paths, SIZE, 3), repeat)
        pillow = best_time(lambda: np.stack([pillow_load(p) for p in paths]), max(1, repeat - 1))
        loader = best_time(lambda: decode_with_dataloader(paths), max(1, repeat - 1))
        report(
            f"decode {count} PNG + {count} JPEG, 256x256 -> 3x{SIZE}x{SIZE} (MP/s of source pixels)",
            source_mp,
            {"gancli.kernels": ours},
            {"Pillow + numpy loop": pillow, "DataLoader(2 workers) over Pillow": loader},
        )

    png_per_core(count // 10 or 1, repeat)
    rng = np.random.default_rng(1)
    batch = np.stack([photo_like(rng, SIZE).transpose(2, 0, 1) for _ in range(256)])
    tensor = torch.from_numpy(batch)
    tv_augment = torchvision_augment()
    aug_repeat = repeat * 3
    ours = best_time(lambda: kernels.augment(batch, SPEC, seed=0), aug_repeat)
    theirs = best_time(lambda: tv_augment(tensor), aug_repeat)
    report(
        f"augment 256 x 3x{SIZE}x{SIZE} uint8 ({SPEC})",
        batch.size / 3 / 1e6,
        {"gancli.kernels": ours},
        {"torchvision.transforms.v2": theirs},
    )

    samples = np.tanh(rng.standard_normal((64, 3, SIZE, SIZE))).astype(np.float32)
    samples_tensor = torch.from_numpy(samples)

    def torchvision_grid() -> bytes:
        buffer = io.BytesIO()
        save_image(make_grid(samples_tensor, nrow=8, normalize=True, value_range=(-1, 1)), buffer, format="PNG")
        return buffer.getvalue()

    ours = {
        f"gancli.kernels, {level} compression": best_time(
            lambda level=level: kernels.encode_grid_png(samples, nrow=8, compression=level), aug_repeat
        )
        for level in ("fast", "default")
    }
    theirs = best_time(torchvision_grid, aug_repeat)
    sizes = ", ".join(
        f"{len(kernels.encode_grid_png(samples, compression=level))} B {level}" for level in ("fast", "default")
    )
    report(
        f"grid PNG of 64 x 3x{SIZE}x{SIZE} float32 (file: {sizes}; torchvision {len(torchvision_grid())} B)",
        samples.size / 3 / 1e6,
        ours,
        {"make_grid + save_image": theirs},
    )
    print(load_report(load_before, versions))


if __name__ == "__main__":
    main()

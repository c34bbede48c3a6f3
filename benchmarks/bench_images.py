"""Your own images: gancli's recommended recipe against a plain PyTorch DCGAN script on the same icons (not a test).

Both sides train on one folder of images (default: the Oxygen icon theme's 48×48 icons, RGBA and palette PNGs,
some of them broken symbolic links) at ``--image-size``, over ``--background``, for ``--steps`` steps of batch
``--batch``, from the same starting weights:

- gancli: ``gancli train --data FOLDER --skip-bad`` with the recipe the ``images`` dataset recommends (lr 5e-4,
  lazy R1 γ 1 every 16th D step, G's moving average 0.998) on DCGAN networks of width 64:
  ``gancli.train.lifecycle.start``, then, timed, ``gancli.train.loop.train`` (a record every 10 steps, a sample
  image and a checkpoint at the end). Its images are decoded by the Rust kernels, unreadable files counted and named.
- plain: the loop of bench_train.py (``HandWritten``: pytorch/examples ``dcgan/main.py``'s step, binary
  cross-entropy on D's logits, Adam 2e-4 β1 0.5, the same networks copied before gancli's first step) on images a
  user loads with Pillow: each file gancli kept opened, composited over the same background (a plain
  ``convert("RGB")`` would keep whatever colour the transparent pixels hold), its centre square resized bicubically;
  its samples are drawn in training mode, as that script draws them.

Printed: each side's seconds per step and their ratio; the load of the images (gancli's decoder against the Pillow
loop, and how far their pixels differ); and, in gancli's random-cnn feature space with gancli's own metric code, each
side's FD, precision and recall on ``--eval-samples`` images beside the real floor (held-out real images against the
same reference). Each side's grid of 64 samples is written to ``--out``.

    python benchmarks/bench_images.py [--data FOLDER] [--image-size 32] [--steps 2000] [--batch 64]
                                      [--eval-samples 500] [--background black] [--seed 0] [--threads 1] [--device cpu]
                                      [--out DIR] [--gancli-flags "--diffaugment translation,color"] [--skip-plain]

``--skip-plain`` trains gancli's side only: a variant of the recipe (``--gancli-flags``) against a seed whose plain
loop was measured before (the plain side depends on the seed, not on gancli's flags).
"""

from __future__ import annotations

import argparse
import copy
import os
import shlex
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
from bench_train import HandWritten, start_run
from gancli import kernels
from gancli.data import IMAGES_SETTINGS
from gancli.features.space import FeatureSpace
from gancli.plugins.manager import get_plugins
from gancli.train import loop
from gancli.train.evaluation import Evaluation
from gancli.values import parse_colour
from load import load_report
from PIL import Image

ICONS = "/usr/share/icons/oxygen/base/48x48"
#: the recipe `gancli train --data FOLDER` recommends, as flags (bench_train.start_run sets the bare ones)
RECIPE = [f"--{key.replace('_', '-')}={value}" for key, value in IMAGES_SETTINGS.items()]
SAMPLE_SEED = 1


def pillow_images(files: list[Path], size: int, background: str) -> np.ndarray:
    """The images as a user loads them with Pillow: over the background, the centre square resized (N, 3, S, S)."""
    colour = (*parse_colour(background), 255)
    loaded = []
    for file in files:
        with Image.open(file) as image:
            rgba = image.convert("RGBA")
        rgb = Image.alpha_composite(Image.new("RGBA", rgba.size, colour), rgba).convert("RGB")
        side = min(rgb.size)
        left, top = (rgb.width - side) / 2, (rgb.height - side) / 2
        square = rgb.resize((size, size), Image.Resampling.BICUBIC, box=(left, top, left + side, top + side))
        loaded.append(np.asarray(square).transpose(2, 0, 1))
    return np.stack(loaded)


def scores(space: FeatureSpace, samples: torch.Tensor) -> dict[str, float]:
    """FD, precision and recall of ``samples`` and their real floors, by gancli's metric plugins."""
    registry = get_plugins().registry
    features = space.embed(samples)
    result: dict[str, float] = {}
    for name in ("fd", "prdc"):
        reg = registry.get("metric", name)
        result |= reg.create(options=reg.defaults()).score(space, features)
    return result


def timed(train: Callable[[], object], device: str) -> float:
    """Seconds ``train()`` takes, the device's queued work included."""
    start = time.perf_counter()
    train()
    if device == "cuda":
        torch.cuda.synchronize()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", default=ICONS, help=f"a folder of images (default {ICONS})")
    parser.add_argument("--image-size", type=int, default=32, help="image side (default 32)")
    parser.add_argument("--steps", type=int, default=2000, help="training steps of each side (default 2000)")
    parser.add_argument("--batch", type=int, default=64, help="batch size (default 64)")
    parser.add_argument("--eval-samples", type=int, default=500, help="images each figure scores (default 500)")
    parser.add_argument("--background", default="black", help="under transparent pixels (default black)")
    parser.add_argument("--seed", type=int, default=0, help="gancli's --seed: both sides' starting weights (default 0)")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (default 1)")
    parser.add_argument("--device", default="cpu", help="where both sides train: cpu or cuda (default cpu)")
    parser.add_argument("--out", type=Path, default=Path("bench_images"), help="where the grids go")
    parser.add_argument(
        "--gancli-flags", default="", help='more `gancli train` flags for gancli\'s side: "--diffaugment translation"'
    )
    parser.add_argument("--skip-plain", action="store_true", help="train gancli's side only (the loop's is seed-bound)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    load_before = os.getloadavg()[0]
    args.out.mkdir(parents=True, exist_ok=True)

    files = kernels.find_images(args.data)
    start = time.perf_counter()
    decoded = kernels.decode_images(files, args.image_size, 3, background=args.background, skip_bad=True)
    decode_seconds = time.perf_counter() - start
    skipped = {Path(path) for path, _ in decoded.skipped}
    kept = [file for file in files if file not in skipped]
    start = time.perf_counter()
    plain_pixels = pillow_images(kept, args.image_size, args.background)
    pillow_seconds = time.perf_counter() - start
    difference = np.abs(plain_pixels.astype(np.int16) - decoded.images.astype(np.int16))

    with tempfile.TemporaryDirectory() as tmp:
        flags = ["--data", args.data, "--image-size", str(args.image_size), "--background", args.background]
        flags += ["--skip-bad", "--eval-samples", str(args.eval_samples), "--seed", str(args.seed), *RECIPE]
        flags += shlex.split(args.gancli_flags)
        session, run = start_run(Path(tmp) / "gancli", args.steps, args.device, args.batch, flags)
        # the plain side's networks are copied before gancli's first step: the same starting weights
        plain = (
            None
            if args.skip_plain
            else HandWritten(
                copy.deepcopy(session.generator),
                copy.deepcopy(session.discriminator),
                torch.from_numpy(plain_pixels).float().div_(127.5).sub_(1.0).to(args.device),
                session.config.latent_dim,
            )
        )
        seconds = {"gancli": timed(lambda: loop.train(session, run, show_progress=False), args.device)}
        samples = {"gancli": session.generate(args.eval_samples, SAMPLE_SEED)}
        if plain is not None:
            seconds["plain"] = timed(lambda: plain.train(args.steps, args.batch), args.device)
            noise_seed = torch.Generator().manual_seed(0)
            noise = torch.randn(args.eval_samples, session.config.latent_dim, generator=noise_seed)
            with torch.no_grad():  # the plain script samples in training mode (batch statistics), as it trains
                samples["plain"] = torch.cat([plain.G(chunk.to(args.device)).cpu() for chunk in noise.split(1024)])
        space = Evaluation(session, strict=True).space

    print(load_report(load_before, f"torch {torch.__version__}, {args.threads} thread(s), {args.device}"))
    kinds = ", ".join(sorted({why.partition(":")[0] for _, why in decoded.skipped})) or "none"
    print(
        f"{args.data}: {len(files):,} image files, {len(kept):,} decoded at 3x{args.image_size}x{args.image_size} "
        f"over {args.background} ({len(skipped)} unreadable: {kinds}); decoding: gancli {decode_seconds:.2f} s, "
        f"the Pillow loop {pillow_seconds:.2f} s (its pixels differ by {difference.mean():.2f} on average, "
        f"{difference.max()} at most)"
    )
    print(f"{args.steps} steps of batch {args.batch} each, from the same weights; figures on {space.size} images:")
    recipe = (
        f"lr {IMAGES_SETTINGS['lr']:g}, lazy R1 every {IMAGES_SETTINGS['r1_every']}, EMA {IMAGES_SETTINGS['ema']:g}"
    )
    extra = f", {args.gancli_flags}" if args.gancli_flags else ""
    names = {"gancli": f"gancli, the recipe ({recipe}{extra})", "plain": "plain PyTorch DCGAN (BCE, Adam 2e-4 b1 0.5)"}
    for side in samples:
        name = names[side]
        figures = scores(space, samples[side])
        grid = args.out / f"{side}.png"
        grid.write_bytes(kernels.encode_grid_png(samples[side][:64].numpy()))
        print(
            f"  {name:<62} {seconds[side] / args.steps:.4f} s/step"
            f"  FD {figures['fd']:.4g} (real {figures['fd_real']:.4g})"
            f"  precision {figures['precision']:.3f} (real {figures['precision_real']:.3f})"
            f"  recall {figures['recall']:.3f} (real {figures['recall_real']:.3f})  grid {grid}"
        )
    if "plain" in seconds:
        print(f"gancli / plain: {seconds['gancli'] / seconds['plain']:.2f}x the seconds per step")


if __name__ == "__main__":
    main()

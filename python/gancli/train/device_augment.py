"""``--augment`` on the training device, for images held there (train/resident.py).

The native kernels' ops (rust/kernels/src/augment.rs), in their order (flip, translate, brightness, contrast,
saturation, cutout), with their parameter ranges and their rounding to bytes after each op, on a uint8 batch
as a handful of batched tensor operations instead of a host round trip. The random draws come from a torch
generator seeded per batch from the run's numpy generator, as the host path seeds the kernels: augmented
batches match the host path's in distribution, not bit for bit, and a resumed run draws the same ones.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch

from gancli.kernels import AugmentSpec

#: ITU-R 601-2 luma weights, the kernels' (and torchvision's rgb_to_grayscale)
GRAY = (0.299, 0.587, 0.114)


def augment_on_device(batch: torch.Tensor, spec: AugmentSpec, seed: int) -> torch.Tensor:
    """``batch`` (N, C, H, W) uint8 augmented by ``spec``: float32 holding byte values 0…255."""
    n, c, h, w = batch.shape
    device = batch.device
    generator = torch.Generator(device=device)
    generator.manual_seed(seed)

    def unit() -> torch.Tensor:
        return torch.rand(n, generator=generator, device=device)

    def integers(lo: int, hi: int) -> torch.Tensor:  # uniform in [lo, hi]
        return torch.randint(lo, hi + 1, (n,), generator=generator, device=device)

    def factor(magnitude: float) -> torch.Tensor:  # uniform in [max(0, 1 - m), 1 + m]
        lo = max(0.0, 1.0 - magnitude)
        return (lo + (1.0 + magnitude - lo) * unit()).view(n, 1, 1, 1)

    def to_bytes(x: torch.Tensor) -> torch.Tensor:  # the kernels' round half away from zero, clamped
        return torch.floor(x + 0.5).clamp_(0.0, 255.0)

    x = geometry(batch, spec, unit, integers).float()
    if spec.brightness_p > 0:
        fires = (unit() < spec.brightness_p).view(n, 1, 1, 1)
        x = torch.where(fires, to_bytes(x * factor(spec.brightness)), x)
    if spec.contrast_p > 0:
        fires = (unit() < spec.contrast_p).view(n, 1, 1, 1)
        f = factor(spec.contrast)
        x = torch.where(fires, to_bytes(f * x + (1.0 - f) * gray(x).mean(dim=(1, 2, 3), keepdim=True)), x)
    if spec.saturation_p > 0 and c == 3:
        fires = (unit() < spec.saturation_p).view(n, 1, 1, 1)
        f = factor(spec.saturation)
        x = torch.where(fires, to_bytes(f * x + (1.0 - f) * gray(x)), x)
    if spec.cutout_p > 0 and spec.cutout > 0:
        fires = unit() < spec.cutout_p
        x = x * ~(cutout_box(spec.cutout, h, w, integers) & fires.view(n, 1, 1)).unsqueeze(1)
    return x


def gray(x: torch.Tensor) -> torch.Tensor:
    """Each pixel's gray (N, 1, H, W); a one-channel image is its own."""
    if x.shape[1] == 1:
        return x
    return GRAY[0] * x[:, 0:1] + GRAY[1] * x[:, 1:2] + GRAY[2] * x[:, 2:3]


Units = Callable[[], torch.Tensor]  # one uniform draw in [0, 1) per image
Integers = Callable[[int, int], torch.Tensor]  # one uniform integer in [lo, hi] per image


def geometry(batch: torch.Tensor, spec: AugmentSpec, unit: Units, integers: Integers) -> torch.Tensor:
    """Flip and translate as one gather: out(y, x) = flip(in)(y - dy, x - dx), zero or reflected outside."""
    if spec.flip_p <= 0 and spec.translate_p <= 0:
        return batch
    n, c, h, w = batch.shape
    flip = unit() < spec.flip_p
    shift = unit() < spec.translate_p
    dy = integers(-half_up(spec.translate * h), half_up(spec.translate * h)) * shift
    dx = integers(-half_up(spec.translate * w), half_up(spec.translate * w)) * shift
    positions = torch.arange(max(h, w), device=batch.device)
    rows = source_index(positions[:h].view(1, h) - dy.view(n, 1), h, spec.translate_reflect)
    cols = source_index(positions[:w].view(1, w) - dx.view(n, 1), w, spec.translate_reflect)
    cols = torch.where(flip.view(n, 1) & (cols >= 0), w - 1 - cols, cols)
    inside = (rows >= 0).view(n, h, 1) & (cols >= 0).view(n, 1, w)
    index = (rows.clamp(min=0).view(n, h, 1) * w + cols.clamp(min=0).view(n, 1, w)).view(n, 1, h * w)
    moved = torch.gather(batch.reshape(n, c, h * w), 2, index.expand(n, c, h * w)).view(n, c, h, w)
    return moved * inside.unsqueeze(1)


def source_index(i: torch.Tensor, size: int, reflect: bool) -> torch.Tensor:
    """Coordinates mapped into [0, size): reflected without repeating the edge, or -1 (zero padding) outside."""
    if not reflect:
        return torch.where((i >= 0) & (i < size), i, -1)
    if size == 1:
        return torch.zeros_like(i)
    period = 2 * (size - 1)
    m = i.remainder(period)
    return torch.where(m < size, m, period - m)


def cutout_box(fraction: float, h: int, w: int, integers: Integers) -> torch.Tensor:
    """Each image's zeroed square (N, H, W): a side of ``fraction`` of the image's, centred on a uniform pixel
    and clipped at the borders."""
    cy, cx = integers(0, h - 1), integers(0, w - 1)

    def span(centre: torch.Tensor, size: int) -> torch.Tensor:  # (N, size): inside the box along one axis
        side = min(max(half_up(fraction * size), 0), size)
        start = (centre - side // 2).view(-1, 1)
        position = torch.arange(size, device=centre.device).view(1, size)
        return (position >= start) & (position < start + side)

    return span(cy, h).unsqueeze(2) & span(cx, w).unsqueeze(1)


def half_up(value: float) -> int:
    """Rust's ``f32::round`` for a non-negative value (Python's ``round`` takes halves to even)."""
    return math.floor(value + 0.5)

"""Pictures of samples: a tiled grid for images, a scatter over the real data for 2-D points."""

from __future__ import annotations

import numpy as np
import torch

from gancli.data.base import DataSource

SCATTER_SIZE = 512
REAL_COLOR = (170, 170, 170)
FAKE_COLOR = (214, 39, 40)


def samples_png(samples: torch.Tensor, data: DataSource, nrow: int = 8, compression: str = "fast") -> bytes:
    """The PNG a run writes for its samples."""
    from gancli import kernels

    if data.is_image:
        return kernels.encode_grid_png(samples.detach().cpu().float().numpy(), nrow=nrow, compression=compression)
    reference = data.batch(2000, np.random.default_rng(0)).numpy()
    return kernels.encode_png(scatter(samples.detach().cpu().numpy(), reference))


def scatter(points: np.ndarray, reference: np.ndarray, size: int = SCATTER_SIZE) -> np.ndarray:
    """An RGB image (H, W, 3) of ``points`` (red) over ``reference`` (gray), framed on the reference."""
    low, high = reference.min(axis=0), reference.max(axis=0)
    margin = 0.15 * (high - low).max() + 1e-6
    low, high = low - margin, high + margin
    span = (high - low).max()
    image = np.full((size, size, 3), 255, dtype=np.uint8)
    for pts, color in ((reference, REAL_COLOR), (points, FAKE_COLOR)):
        xy = (pts[:, :2] - low[:2]) / span * (size - 1)
        cols, rows = np.round(xy[:, 0]).astype(int), np.round((size - 1) - xy[:, 1]).astype(int)
        for dr in (-1, 0, 1):
            for dc in (-1, 0, 1):
                r, c = rows + dr, cols + dc
                inside = (r >= 0) & (r < size) & (c >= 0) & (c < size)
                image[r[inside], c[inside]] = color
    return image

"""Pictures of samples: a tiled grid for images, a scatter over the real data for 2-D points, and for a
conditional run a labelled row per class."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import torch

from gancli.data.base import DataSource

if TYPE_CHECKING:
    from gancli.train.session import Session

#: a conditional run of at most this many classes writes its sample images a labelled row per class
SAMPLE_ROWS = 16
#: samples in each row of a run's sample images by class
SAMPLES_PER_ROW = 8

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


def run_samples_png(session: Session, seed: int) -> bytes:
    """The sample image a run writes as it trains: 64 samples in a grid (or a scatter); for a conditional run of
    images in at most SAMPLE_ROWS classes, a labelled row of SAMPLES_PER_ROW per class (so that ``grid --animate``
    shows each class learned)."""
    classes = session.classes
    if classes is not None and session.data.is_image and len(classes) <= SAMPLE_ROWS:
        return by_class_png(session, list(range(len(classes))), SAMPLES_PER_ROW, seed)
    return samples_png(session.generate(64, seed), session.data)


def by_class_png(session: Session, rows: list[int], per_row: int, seed: int) -> bytes:
    """A row of ``per_row`` samples of each class in ``rows`` (indices), labelled with the class names."""
    assert session.classes is not None, "the caller checked that the run is conditional"
    return class_grid_png(by_class_samples(session, rows, per_row, seed), [session.classes[k] for k in rows])


def by_class_samples(session: Session, rows: list[int], per_row: int, seed: int) -> torch.Tensor:
    """``per_row`` samples of each class in ``rows``, row by row; one noise vector per column, shared by every row,
    so that a column changes only the class and shows what G keeps of z across classes (its style)."""
    noise = torch.randn(per_row, session.config.latent_dim, generator=torch.Generator().manual_seed(seed))
    labels = torch.tensor(rows).repeat_interleave(per_row)
    return session.generate_from(noise.repeat(len(rows), 1), labels=labels)


def class_grid_png(samples: torch.Tensor, names: list[str], padding: int = 2) -> bytes:
    """Image samples (K·M, C, H, W) in [-1, 1] as a PNG of K rows of M, each row labelled with its class name."""
    import io

    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    rows = len(names)
    pixels = ((samples.detach().cpu().float().clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8).numpy()
    count, channels, height, width = pixels.shape
    per_row = count // rows
    step_y, step_x = height + padding, width + padding
    grid = np.zeros((rows * step_y + padding, per_row * step_x + padding, channels), dtype=np.uint8)
    for index, image in enumerate(pixels):
        y, x = padding + (index // per_row) * step_y, padding + (index % per_row) * step_x
        grid[y : y + height, x : x + width] = image.transpose(1, 2, 0)
    dpi, label_inches = 100, 0.12 * max(len(name) for name in names) + 0.3
    figure = Figure(figsize=(grid.shape[1] / dpi + label_inches, grid.shape[0] / dpi), dpi=dpi)
    axes = figure.add_axes((label_inches / figure.get_figwidth(), 0, 1 - label_inches / figure.get_figwidth(), 1))
    axes.imshow(grid[..., 0] if channels == 1 else grid, cmap="gray", vmin=0, vmax=255, interpolation="nearest")
    axes.set_xticks([])
    axes.set_yticks([padding + row * step_y + height / 2 for row in range(rows)], labels=names, fontsize=8)
    axes.tick_params(length=0)
    for spine in axes.spines.values():
        spine.set_visible(False)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=dpi, facecolor="white")
    return buffer.getvalue()


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

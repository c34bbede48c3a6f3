"""The typed Python face of the Rust kernels in ``gancli._native``.

Decoding a folder of images, augmenting batches and writing sample grids run on every training step
or epoch, so they live in Rust (parallel, GIL released). This module is the only one that imports
``_native``: it documents behaviour, hands numpy arrays over in the form the kernels read in place and
parses the augmentation spec. Each argument is checked once: sizes, channels, fits and compressions by
the Rust kernels (a ``ValueError`` saying what is wrong; an integer outside the argument's type, such as a
negative size, is an ``OverflowError``), array dtypes and ranks and background colours (``gancli.values``) here.
See ``docs/kernels.md`` for the choices (filters, alpha, formats) and benchmark figures.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from gancli import _native
from gancli.values import parse_colour

ImageError = _native.ImageError
"""Raised when an image cannot be read or decoded; a ``ValueError`` whose message starts with the path."""

DEFAULT_MAX_PIXELS: int = _native.DEFAULT_MAX_PIXELS
"""Images declaring more pixels (width × height) than this are refused before any allocation."""

IMAGE_EXTENSIONS: tuple[str, ...] = _native.IMAGE_EXTENSIONS
"""Lower-case extensions (no dot) that claim an image: such files are dataset images whatever their content,
so a broken or empty one is reported rather than ignored; other files count only if their content is an image."""

FITS: tuple[str, ...] = _native.FITS
"""How a non-square image becomes a square: ``crop`` (short side, centre square) or ``pad`` (long side, centred on
the background)."""

PathLike = str | os.PathLike[str]


# --------------------------------------------------------------------------------------------- decoding


@dataclasses.dataclass(frozen=True)
class DecodedImages:
    """A decoded batch and the inputs left out of it."""

    images: np.ndarray
    """uint8 array of shape (N, C, size, size)."""
    skipped: list[tuple[str, str]]
    """(path or name, reason) of each input skipped with ``skip_bad=True``, in input order."""


def _uint8_batch(batch: np.ndarray) -> np.ndarray:
    """``batch`` as the C-contiguous uint8 (N, C, H, W) array the kernels read in place."""
    array = np.ascontiguousarray(batch)
    if array.dtype != np.uint8 or array.ndim != 4:
        raise ValueError(f"batch must be uint8 (N, C, H, W), got {array.dtype} with shape {array.shape}")
    return array


def decode_images(
    paths: Sequence[PathLike],
    size: int,
    channels: int,
    *,
    fit: str = "crop",
    background: str = "black",
    skip_bad: bool = False,
    threads: int | None = None,
    max_pixels: int = DEFAULT_MAX_PIXELS,
) -> DecodedImages:
    """Decode image files (PNG, JPEG, GIF, BMP, WebP, recognised by content) into one square batch.

    Each image is converted to ``channels`` (1 gray or 3 RGB; alpha composited over ``background``:
    ``black``, ``white`` or ``#rrggbb``), resized with an antialiased bicubic filter (Catmull-Rom, as
    Pillow's ``BICUBIC``) so its short side is ``size`` and centre-cropped (``fit="crop"``), or so its long
    side is ``size`` and centred on the background (``fit="pad"``). Images are decoded in parallel on
    ``threads`` threads (default: all cores). A bad file (a link to nothing included) raises
    :class:`ImageError` naming it, or, with ``skip_bad``, is left out and listed in ``skipped``. A bad size,
    channel count, fit or background raises ``ValueError``.
    """
    images, skipped = _native.decode_paths(
        [os.fspath(p) for p in paths], size, channels, fit, parse_colour(background), skip_bad, threads, max_pixels
    )
    return DecodedImages(images=images, skipped=skipped)


def decode_image_bytes(
    blobs: Sequence[bytes],
    names: Sequence[str],
    size: int,
    channels: int,
    *,
    fit: str = "crop",
    background: str = "black",
    skip_bad: bool = False,
    threads: int | None = None,
    max_pixels: int = DEFAULT_MAX_PIXELS,
) -> DecodedImages:
    """Like :func:`decode_images` for encoded images already in memory (e.g. zip members).

    ``names`` label the blobs in errors and in ``skipped``.
    """
    images, skipped = _native.decode_blobs(
        [bytes(b) for b in blobs],
        list(names),
        size,
        channels,
        fit,
        parse_colour(background),
        skip_bad,
        threads,
        max_pixels,
    )
    return DecodedImages(images=images, skipped=skipped)


def decode_image(
    data: bytes,
    *,
    name: str = "<bytes>",
    channels: int = 3,
    background: str = "black",
    max_pixels: int = DEFAULT_MAX_PIXELS,
) -> np.ndarray:
    """Decode one encoded image at its own size to a uint8 (H, W, channels) array, alpha over ``background``."""
    return _native.decode_image(bytes(data), name, channels, parse_colour(background), max_pixels)


def resize_images(
    batch: np.ndarray,
    size: int,
    channels: int,
    *,
    fit: str = "crop",
    background: str = "black",
    threads: int | None = None,
) -> np.ndarray:
    """Resize a uint8 (N, C, H, W) batch to (N, channels, size, size) exactly as decoding would.

    ``C`` is 1 (gray), 2 (gray + alpha), 3 (RGB) or 4 (RGBA): the same channel conversion (alpha over
    ``background``, ITU-R 601-2 luma), bicubic filter and ``fit`` as :func:`decode_images`, so in-memory datasets
    need no round trip through an encoded image. Runs in parallel with the GIL released and reads a
    C-contiguous input in place. ``size * size`` may not exceed :data:`DEFAULT_MAX_PIXELS`.
    """
    return _native.resize_images(_uint8_batch(batch), size, channels, fit, parse_colour(background), threads)


def image_sizes(paths: Sequence[PathLike], *, threads: int | None = None) -> list[tuple[int, int] | None]:
    """The (width, height) each image file declares in its header, read in parallel without decoding pixels;
    None for a file that cannot be read or parsed (decoding it says why). What sizes a dataset by its images."""
    return _native.image_sizes([os.fspath(p) for p in paths], threads)


def image_sizes_of_bytes(blobs: Sequence[bytes], *, threads: int | None = None) -> list[tuple[int, int] | None]:
    """Like :func:`image_sizes` for encoded images already in memory (zip members)."""
    return _native.image_sizes_of_bytes([bytes(b) for b in blobs], threads)


def image_format(data: bytes) -> str | None:
    """``"png"``, ``"jpeg"``, ``"gif"``, ``"bmp"`` or ``"webp"`` as announced by the first bytes, else None.

    The same content sniffing :func:`find_images` and the decoders use; the extension plays no part.
    """
    return _native.image_format(bytes(data))


def find_images(root: PathLike) -> list[Path]:
    """Image files under ``root``, recursively and sorted; hidden files and directories are skipped.

    A file is taken when its first bytes are a supported image (whatever its name, e.g. a PNG named
    ``.jpg`` or without extension) or when its name ends in one of :data:`IMAGE_EXTENSIONS`, so that an
    empty or broken ``.png`` reaches the decoder and is reported instead of silently dropped. Symlinked
    directories are not followed.
    """
    return [Path(p) for p in _native.find_images(os.fspath(root))]


# ----------------------------------------------------------------------------------------- augmentation

_DEFAULTS: dict[str, tuple[float, float]] = {
    # op: (default magnitude, default probability)
    "flip": (0.0, 0.5),
    "translate": (0.125, 1.0),
    "cutout": (0.5, 1.0),
    "brightness": (0.2, 1.0),
    "contrast": (0.2, 1.0),
    "saturation": (0.2, 1.0),
}


@dataclasses.dataclass(frozen=True)
class AugmentSpec:
    """Probability and magnitude of each augmentation op; a probability of 0 disables the op.

    Build one with :meth:`parse` from a string such as
    ``"flip,translate=0.125,cutout=0.5,brightness=0.2,contrast=0.2,saturation=0.2"``.
    """

    flip_p: float = 0.0
    translate_p: float = 0.0
    translate: float = 0.0
    """Largest shift as a fraction of the side (integer pixels)."""
    translate_reflect: bool = False
    """Fill the uncovered border by reflection instead of zeros."""
    cutout_p: float = 0.0
    cutout: float = 0.0
    """Side of the zeroed square as a fraction of the image side."""
    brightness_p: float = 0.0
    brightness: float = 0.0
    """Values are multiplied by a factor drawn from [1 - b, 1 + b]."""
    contrast_p: float = 0.0
    contrast: float = 0.0
    """Values are blended with the image's mean gray by a factor drawn from [1 - c, 1 + c]."""
    saturation_p: float = 0.0
    saturation: float = 0.0
    """Pixels are blended with their gray by a factor drawn from [1 - s, 1 + s]; RGB only."""

    @classmethod
    def parse(cls, spec: str) -> AugmentSpec:
        """Parse ``"op[=magnitude][:reflect][@probability],..."``.

        Ops: ``flip``, ``translate`` (``:reflect`` or ``:zero`` padding, zero by default), ``cutout``,
        ``brightness``, ``contrast``, ``saturation``. Defaults: ``flip@0.5``, ``translate=0.125@1``,
        ``cutout=0.5@1``, ``brightness=0.2@1``, ``contrast=0.2@1``, ``saturation=0.2@1``. An empty
        string disables everything. Raises ``ValueError`` naming the bad item.
        """
        fields: dict[str, float | bool] = {}
        for raw in spec.split(","):
            item = raw.strip()
            if not item:
                continue
            body, _, prob_text = item.partition("@")
            name, has_value, value_text = body.partition("=")
            name = name.strip()
            if name not in _DEFAULTS:
                raise ValueError(f"unknown augmentation {item!r}; known: {', '.join(_DEFAULTS)}")
            if f"{name}_p" in fields:
                raise ValueError(f"augmentation {name!r} given twice in {spec!r}")
            magnitude, prob = _DEFAULTS[name]
            value_text, _, mode = value_text.partition(":")
            if mode and name != "translate":
                raise ValueError(f"bad augmentation {item!r}: only translate takes a ':reflect' mode")
            if mode not in ("", "zero", "reflect"):
                raise ValueError(f"bad augmentation {item!r}: padding must be 'zero' or 'reflect'")
            try:
                if has_value:
                    if name == "flip":
                        raise ValueError("flip takes no magnitude")
                    magnitude = float(value_text)
                if prob_text:
                    prob = float(prob_text)
            except ValueError as err:
                raise ValueError(f"bad augmentation {item!r}: {err}") from None
            if not 0.0 <= prob <= 1.0:
                raise ValueError(f"bad augmentation {item!r}: probability must be in [0, 1]")
            upper = 1.0 if name in ("translate", "cutout") else float("inf")
            if not 0.0 <= magnitude <= upper:
                raise ValueError(f"bad augmentation {item!r}: magnitude must be in [0, {upper}]")
            fields[f"{name}_p"] = prob
            if name != "flip":
                fields[name] = magnitude
            if name == "translate":
                fields["translate_reflect"] = mode == "reflect"
        return cls(**fields)  # type: ignore[arg-type]

    def __bool__(self) -> bool:
        """Whether any op is enabled."""
        return any(getattr(self, f"{name}_p") > 0.0 for name in _DEFAULTS)

    def __str__(self) -> str:
        """The canonical spec string, which :meth:`parse` reads back to an equal spec."""
        items = []
        for name in _DEFAULTS:
            prob = getattr(self, f"{name}_p")
            if prob <= 0.0:
                continue
            value = "" if name == "flip" else f"={getattr(self, name):g}"
            mode = ":reflect" if name == "translate" and self.translate_reflect else ""
            items.append(f"{name}{value}{mode}@{prob:g}")
        return ",".join(items)


def augment(batch: np.ndarray, spec: str | AugmentSpec, seed: int, *, threads: int | None = None) -> np.ndarray:
    """Augment a uint8 (N, C, H, W) batch; returns a new array of the same shape.

    Order: flip, translate, brightness, contrast, saturation, cutout. Each image's random choices
    come from a generator seeded by ``(seed, index)``, so the result depends only on the seed, the
    spec and the input — not on the thread count.
    """
    parsed = AugmentSpec.parse(spec) if isinstance(spec, str) else spec
    return _native.augment(_uint8_batch(batch), parsed, seed % 2**64, threads)


# ----------------------------------------------------------------------------------------- PNG encoding


def encode_grid_png(
    batch: np.ndarray,
    nrow: int = 8,
    padding: int = 2,
    pad_value: int = 0,
    compression: str = "fast",
) -> bytes:
    """Tile a (N, C, H, W) batch into a PNG laid out like ``torchvision.utils.make_grid``.

    Floats are taken to be in [-1, 1] and mapped like ``make_grid(normalize=True, value_range=(-1, 1))``
    followed by ``save_image`` (clamp, ``(x + 1) / 2 * 255``, rounded); uint8 is used as is. ``C`` is 1
    (saved as gray) or 3. ``pad_value`` is the byte (0–255) of the padding. ``compression`` is
    ``"fast"`` (fdeflate), ``"default"`` or ``"best"``.
    """
    if nrow <= 0 or padding < 0 or not 0 <= pad_value <= 255:
        raise ValueError(f"need nrow > 0, padding >= 0, 0 <= pad_value <= 255; got {nrow}, {padding}, {pad_value}")
    array = np.asarray(batch)
    if np.issubdtype(array.dtype, np.floating):
        array = np.ascontiguousarray(array, dtype=np.float32)
    elif array.dtype == np.uint8:
        array = np.ascontiguousarray(array)
    else:
        raise ValueError(f"batch must be floating point or uint8, not {array.dtype}")
    return _native.encode_grid_png(array, nrow, padding, pad_value, compression)


def encode_png(image: np.ndarray, compression: str = "fast") -> bytes:
    """Encode a uint8 (H, W) or (H, W, C) image (C in 1–4) as PNG."""
    array = np.ascontiguousarray(image)
    if array.dtype != np.uint8:
        raise ValueError(f"image must be uint8, not {array.dtype}")
    return _native.encode_png(array, compression)


def encode_animation(frames: Sequence[np.ndarray], delay_ms: int = 200) -> bytes:
    """Encode equally shaped uint8 (H, W, C) frames as an endlessly looping APNG, ``delay_ms`` per frame."""
    if not 0 <= delay_ms <= 65535:
        raise ValueError(f"delay_ms must be in [0, 65535], not {delay_ms}")
    arrays = [np.ascontiguousarray(f) for f in frames]
    for i, frame in enumerate(arrays):
        if frame.dtype != np.uint8:
            raise ValueError(f"frame {i} must be uint8, not {frame.dtype}")
    return _native.encode_apng(arrays, delay_ms)


def checksum(data: np.ndarray | bytes) -> int:
    """XXH3-64 of the raw bytes of a contiguous array (read in place, memmaps included) or bytes."""
    array = np.frombuffer(data, dtype=np.uint8) if isinstance(data, bytes | bytearray) else data
    if not isinstance(array, np.ndarray) or not array.flags.c_contiguous:
        raise ValueError("checksum needs bytes or a C-contiguous array")
    return _native.xxh3_64(array.reshape(-1).view(np.uint8))

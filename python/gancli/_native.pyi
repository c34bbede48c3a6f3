"""Type stub of the Rust extension ``gancli._native`` (rust/native). Use ``gancli.kernels`` instead.

Arguments the Rust kernels check (size, channels, fit, compression, threads) raise ``ValueError`` with the reason.
"""

import numpy as np
import numpy.typing as npt

from gancli.kernels import AugmentSpec

class ImageError(ValueError):
    """An image could not be read or decoded; the message starts with the file's path."""

DEFAULT_MAX_PIXELS: int
FITS: tuple[str, ...]
IMAGE_EXTENSIONS: tuple[str, ...]

def decode_paths(
    paths: list[str],
    size: int,
    channels: int,
    fit: str,
    background: tuple[int, int, int],
    skip_bad: bool,
    threads: int | None,
    max_pixels: int,
) -> tuple[npt.NDArray[np.uint8], list[tuple[str, str]]]: ...
def decode_blobs(
    blobs: list[bytes],
    names: list[str],
    size: int,
    channels: int,
    fit: str,
    background: tuple[int, int, int],
    skip_bad: bool,
    threads: int | None,
    max_pixels: int,
) -> tuple[npt.NDArray[np.uint8], list[tuple[str, str]]]: ...
def decode_image(
    blob: bytes, name: str, channels: int, background: tuple[int, int, int], max_pixels: int
) -> npt.NDArray[np.uint8]: ...
def resize_images(
    batch: npt.NDArray[np.uint8],
    size: int,
    channels: int,
    fit: str,
    background: tuple[int, int, int],
    threads: int | None,
) -> npt.NDArray[np.uint8]: ...
def image_sizes(paths: list[str], threads: int | None) -> list[tuple[int, int] | None]: ...
def image_sizes_of_bytes(blobs: list[bytes], threads: int | None) -> list[tuple[int, int] | None]: ...
def image_format(data: bytes) -> str | None: ...
def find_images(root: str) -> list[str]: ...
def augment(
    batch: npt.NDArray[np.uint8], spec: AugmentSpec, seed: int, threads: int | None
) -> npt.NDArray[np.uint8]: ...
def encode_grid_png(
    batch: npt.NDArray[np.float32] | npt.NDArray[np.uint8],
    nrow: int,
    padding: int,
    pad_value: int,
    compression: str,
) -> bytes: ...
def encode_png(image: npt.NDArray[np.uint8], compression: str) -> bytes: ...
def encode_apng(frames: list[npt.NDArray[np.uint8]], delay_ms: int) -> bytes: ...
def xxh3_64(data: npt.NDArray[np.uint8]) -> int: ...

"""The packed dataset file (``.ganpack``): decoded images stored once and memory-mapped on every later run.

A header (magic, version, N, C, H, W, where the images came from, checksums) padded to a page, then the raw
uint8 (N, C, H, W) pixels, so opening a dataset maps it without reading it. The layout is tabulated in
``docs/kernels.md``; the checksums are the kernels' XXH3-64, which runs at memory speed.
"""

from __future__ import annotations

import dataclasses
import os
import struct
from pathlib import Path

import numpy as np

from gancli.io import Output, check_output, write_all
from gancli.kernels import PathLike, checksum

MAGIC = b"GANPACK\x00"
VERSION = 1
_ALIGN = 4096
# magic, version, data offset, N, C, H, W, source count, pixel checksum, source description length
PACKED_CHANNELS = (1, 2, 3, 4)  # gray, gray + alpha, RGB, RGBA, as arrays may hold
_HEADER = struct.Struct("<8sIIQIIIQQI")
_CHECKSUM = struct.Struct("<Q")
_MAX_SOURCE_BYTES = 1 << 20


class PackedFormatError(ValueError):
    """A packed dataset file is short, corrupt, of another format or fails its checksum."""


@dataclasses.dataclass(frozen=True)
class PackedDataset:
    """A packed dataset: header fields and the pixels as a read-only memory map."""

    path: Path
    count: int
    channels: int
    height: int
    width: int
    source: str
    """Where the images came from (e.g. the folder or zip decoded)."""
    source_count: int
    """How many source files there were (some may have been skipped)."""
    checksum: int
    """XXH3-64 of the pixel bytes."""
    images: np.ndarray
    """uint8 (N, C, H, W), a read-only ``numpy.memmap`` (no copy)."""


def _header_bytes(images: np.ndarray, source: str, source_count: int, pixel_checksum: int) -> bytes:
    text = source.encode("utf-8")
    if len(text) > _MAX_SOURCE_BYTES:
        raise ValueError(f"source description is longer than {_MAX_SOURCE_BYTES} bytes")
    n, c, h, w = images.shape
    fixed_len = _HEADER.size + len(text) + _CHECKSUM.size
    offset = -(-fixed_len // _ALIGN) * _ALIGN
    head = _HEADER.pack(MAGIC, VERSION, offset, n, c, h, w, source_count, pixel_checksum, len(text))
    head += text
    head += _CHECKSUM.pack(checksum(head))
    return head + bytes(offset - len(head))


def write_packed(path: PathLike, images: np.ndarray, *, source: str, source_count: int, replace: bool = True) -> Output:
    """Write a uint8 (N, C, H, W) batch as a packed dataset, by the output rule of :mod:`gancli.io`.

    The file is a header (magic ``GANPACK\\0``, version, data offset, N, C, H, W, source count, XXH3-64
    of the pixels, source description, XXH3-64 of the header) padded to 4096 bytes, then the raw
    pixels. A regular file is written to a temporary file in the same directory, fsynced and renamed over
    ``path``, so readers never see a half-written dataset; an existing one is replaced only with ``replace``.
    Returns where it went.
    """
    array = np.ascontiguousarray(images)
    if array.dtype != np.uint8 or array.ndim != 4:
        raise ValueError(f"images must be uint8 (N, C, H, W), got {array.dtype} with shape {array.shape}")
    if 0 in array.shape or array.shape[1] not in PACKED_CHANNELS:
        raise ValueError(f"images must be at least one, with 1 to 4 channels, got shape {array.shape}")
    if source_count < 0:
        raise ValueError(f"source_count must be non-negative, not {source_count}")
    target = Path(path)
    header = _header_bytes(array, source, source_count, checksum(array))
    output = check_output(target, replace)
    with output.open() as f:
        write_all(f, header)
        write_all(f, array.reshape(-1))
    return output


def read_packed(path: PathLike, *, verify: bool = True) -> PackedDataset:
    """Open a packed dataset written by :func:`write_packed`, mapping the pixels without copying.

    The header is always checked; with ``verify`` the pixel checksum is too (one pass over the file
    at memory speed). Raises :class:`PackedFormatError` naming the file on any mismatch.
    """
    target = Path(path)

    def bad(reason: str) -> PackedFormatError:
        return PackedFormatError(f"{target}: {reason}")

    with open(target, "rb") as f:
        fixed = f.read(_HEADER.size)
        if len(fixed) < _HEADER.size:
            raise bad("file is too short to be a packed dataset")
        magic, version, offset, n, c, h, w, source_count, pixel_sum, text_len = _HEADER.unpack(fixed)
        if magic != MAGIC:
            raise bad("not a packed dataset (bad magic bytes)")
        if version != VERSION:
            raise bad(f"unsupported packed dataset version {version} (expected {VERSION})")
        if text_len > _MAX_SOURCE_BYTES:
            raise bad("corrupt header (source description too long)")
        rest = f.read(text_len + _CHECKSUM.size)
        if len(rest) < text_len + _CHECKSUM.size:
            raise bad("file is truncated inside the header")
        text, (header_sum,) = rest[:text_len], _CHECKSUM.unpack(rest[text_len:])
        if checksum(fixed + text) != header_sum:
            raise bad("corrupt header (checksum mismatch)")
        size = os.fstat(f.fileno()).st_size
    if n < 1 or h < 1 or w < 1 or c not in PACKED_CHANNELS:
        raise bad(f"holds {n} images of {c}×{h}×{w}: a packed dataset has images, with 1 to 4 channels")
    pixels = n * c * h * w
    if offset < _HEADER.size + text_len + _CHECKSUM.size or size != offset + pixels:
        raise bad(f"file has {size} bytes, the header promises {offset + pixels} (truncated or extended)")
    try:
        source = text.decode("utf-8")
    except UnicodeDecodeError:
        raise bad("corrupt header (source description is not UTF-8)") from None
    if pixels:
        images: np.ndarray = np.memmap(target, dtype=np.uint8, mode="r", offset=offset, shape=(n, c, h, w))
    else:
        images = np.zeros((n, c, h, w), dtype=np.uint8)
        images.flags.writeable = False
    if verify and pixels and checksum(images) != pixel_sum:
        raise bad("pixel data checksum mismatch (file is corrupt)")
    return PackedDataset(
        path=target,
        count=n,
        channels=c,
        height=h,
        width=w,
        source=source,
        source_count=source_count,
        checksum=pixel_sum,
        images=images,
    )

"""The packed dataset file (``.ganpack``): decoded images stored once and memory-mapped on every later run.

A header (magic, version, N, C, H, W, where the images came from, checksums) padded to a page, then the raw
uint8 (N, C, H, W) pixels, so opening a dataset maps it without reading it. Version 2 adds the class names (a
JSON list in the header) and, after the pixels, each image's class index as int64, for labelled datasets;
version 1 files (no labels) still read. The layout is tabulated in ``docs/kernels.md``; the checksums are the
kernels' XXH3-64, which runs at memory speed.
"""

from __future__ import annotations

import dataclasses
import json
import os
import struct
from pathlib import Path

import numpy as np

from gancli.io import Output, check_output, write_all
from gancli.kernels import PathLike, checksum

MAGIC = b"GANPACK\x00"
VERSION = 2
READABLE = (1, VERSION)
_ALIGN = 4096
# magic, version, data offset, N, C, H, W, source count, pixel checksum, source description length
PACKED_CHANNELS = (1, 2, 3, 4)  # gray, gray + alpha, RGB, RGBA, as arrays may hold
_HEADER = struct.Struct("<8sIIQIIIQQI")
# version 2 then: class names' length (0: unlabelled), labels' checksum; the names follow the source description
_LABELS = struct.Struct("<IQ")
_CHECKSUM = struct.Struct("<Q")
_MAX_SOURCE_BYTES = 1 << 20
_LABEL = np.dtype("<i8")


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
    classes: tuple[str, ...] | None = None
    """The class names of a labelled dataset (version 2), None for an unlabelled one."""
    labels: np.ndarray | None = None
    """int64 (N,): each image's index into ``classes``; None with them."""


def _header_bytes(
    images: np.ndarray, source: str, source_count: int, pixel_checksum: int, names: bytes, label_checksum: int
) -> bytes:
    text = source.encode("utf-8")
    if len(text) > _MAX_SOURCE_BYTES or len(names) > _MAX_SOURCE_BYTES:
        raise ValueError(f"source description or class names are longer than {_MAX_SOURCE_BYTES} bytes")
    n, c, h, w = images.shape
    fixed_len = _HEADER.size + _LABELS.size + len(text) + len(names) + _CHECKSUM.size
    offset = -(-fixed_len // _ALIGN) * _ALIGN
    head = _HEADER.pack(MAGIC, VERSION, offset, n, c, h, w, source_count, pixel_checksum, len(text))
    head += _LABELS.pack(len(names), label_checksum) + text + names
    head += _CHECKSUM.pack(checksum(head))
    return head + bytes(offset - len(head))


def write_packed(
    path: PathLike,
    images: np.ndarray,
    *,
    source: str,
    source_count: int,
    replace: bool = True,
    classes: tuple[str, ...] | None = None,
    labels: np.ndarray | None = None,
) -> Output:
    """Write a uint8 (N, C, H, W) batch as a packed dataset, by the output rule of :mod:`gancli.io`.

    The file is a header (magic ``GANPACK\\0``, version, data offset, N, C, H, W, source count, XXH3-64
    of the pixels, source description length, class names length, XXH3-64 of the labels, source description,
    class names as a JSON list, XXH3-64 of the header) padded to 4096 bytes, then the raw pixels, then, with
    ``classes``, the ``labels`` as little-endian int64. A regular file is written to a temporary file in the same
    directory, fsynced and renamed over ``path``, so readers never see a half-written dataset; an existing one is
    replaced only with ``replace``. Returns where it went.
    """
    array = np.ascontiguousarray(images)
    if array.dtype != np.uint8 or array.ndim != 4:
        raise ValueError(f"images must be uint8 (N, C, H, W), got {array.dtype} with shape {array.shape}")
    if 0 in array.shape or array.shape[1] not in PACKED_CHANNELS:
        raise ValueError(f"images must be at least one, with 1 to 4 channels, got shape {array.shape}")
    if source_count < 0:
        raise ValueError(f"source_count must be non-negative, not {source_count}")
    if (classes is None) != (labels is None):
        raise ValueError("classes and labels go together")
    names, label_bytes = b"", np.zeros(0, _LABEL)
    if classes is not None and labels is not None:
        label_bytes = np.ascontiguousarray(labels, dtype=_LABEL)
        inside = bool(((label_bytes >= 0) & (label_bytes < len(classes))).all())
        if label_bytes.shape != (len(array),) or not classes or not inside:
            raise ValueError(f"labels must be one index into the {len(classes)} classes per image")
        names = json.dumps(list(classes), ensure_ascii=False).encode("utf-8")
    target = Path(path)
    header = _header_bytes(array, source, source_count, checksum(array), names, checksum(label_bytes))
    output = check_output(target, replace)
    with output.open() as f:
        write_all(f, header)
        write_all(f, array.reshape(-1))
        if names:
            write_all(f, label_bytes.view(np.uint8))
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
        if version not in READABLE:
            raise bad(f"unsupported packed dataset version {version} (this gancli reads {READABLE[0]} to {VERSION})")
        extra = f.read(_LABELS.size) if version >= 2 else b""
        if len(extra) < (_LABELS.size if version >= 2 else 0):
            raise bad("file is truncated inside the header")
        names_len, label_sum = _LABELS.unpack(extra) if extra else (0, 0)
        if text_len > _MAX_SOURCE_BYTES or names_len > _MAX_SOURCE_BYTES:
            raise bad("corrupt header (source description or class names too long)")
        rest = f.read(text_len + names_len + _CHECKSUM.size)
        if len(rest) < text_len + names_len + _CHECKSUM.size:
            raise bad("file is truncated inside the header")
        text, names = rest[:text_len], rest[text_len : text_len + names_len]
        (header_sum,) = _CHECKSUM.unpack(rest[text_len + names_len :])
        if checksum(fixed + extra + text + names) != header_sum:
            raise bad("corrupt header (checksum mismatch)")
        size = os.fstat(f.fileno()).st_size
    if n < 1 or h < 1 or w < 1 or c not in PACKED_CHANNELS:
        raise bad(f"holds {n} images of {c}×{h}×{w}: a packed dataset has images, with 1 to 4 channels")
    pixels = n * c * h * w
    label_bytes = n * _LABEL.itemsize if names_len else 0
    header_len = _HEADER.size + len(extra) + text_len + names_len + _CHECKSUM.size
    if offset < header_len or size != offset + pixels + label_bytes:
        promised = offset + pixels + label_bytes
        raise bad(f"file has {size} bytes, the header promises {promised} (truncated or extended)")
    try:
        source = text.decode("utf-8")
        classes = tuple(json.loads(names.decode("utf-8"))) if names_len else None
    except (UnicodeDecodeError, ValueError):
        raise bad("corrupt header (source description or class names are not UTF-8 JSON)") from None
    if classes is not None and not (classes and all(isinstance(name, str) for name in classes)):
        raise bad("corrupt header (the class names are not a list of names)")
    labels = None
    if classes is not None:
        labels = np.array(np.memmap(target, dtype=_LABEL, mode="r", offset=offset + pixels, shape=(n,)), np.int64)
        if checksum(labels.astype(_LABEL).view(np.uint8)) != label_sum:
            raise bad("label checksum mismatch (file is corrupt)")
        if not bool(((labels >= 0) & (labels < len(classes))).all()):
            raise bad(f"labels outside the {len(classes)} classes (file is corrupt)")
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
        classes=classes,
        labels=labels,
    )

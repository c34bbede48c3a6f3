"""Image datasets from disk: a folder of images, a zip of images, a .npy/.npz array or a packed file.

Folders and zips are decoded once by the native kernels (in parallel, GIL released) into a packed,
memory-mapped ``.ganpack`` file in the cache (``$GANCLI_CACHE``, default ``~/.cache/gancli``); later runs
on the same files, size, channels, fit and background reuse it instead of decoding again, and any change to the
files (name, size, modification time; CRC inside a zip) decodes afresh and replaces the stale entry. Without
``--image-size`` they are decoded at their own size, read from their headers first (``own_size``: the most common
when they differ, at most MAX_OWN_SIZE, said in one line). A source with unreadable files (broken links included)
is never cached, so every ``--skip-bad`` run counts and names them again. Files in an image format the kernels
do not decode (SVG, XPM, TIFF, …) are counted by extension on every load (``report_unread_formats``).
``gancli data prepare`` writes a packed file explicitly, and ``--data FILE.ganpack`` trains on it directly.

Labels, read only for ``--conditional`` runs (``DataRequest.labels``): a ``dataset.json`` beside the images
(``{"labels": [["sub/file.png", 3], ...]}``, StyleGAN2-ADA's convention; in a zip, at its root) wins; else each
first-level subfolder is a class (torchvision's ImageFolder: classes named by their folders, sorted), and an image
lying beside the subfolders is refused by name, as is a subfolder without images. An ``.npz`` holding ``x`` and
``y`` gives its images and labels (and ``classes``, an array of names, if it holds one); a packed file its stored
ones. A bad label is one line naming the file and the entry.

Arrays and packed files are trained on at their own size and channels unless ``--image-size`` or
``--channels`` ask otherwise (or the images are not square); they are then resized natively with the same
filter, channel conversion and fit as decoding.

What a file declares is checked before it is read: a zip's images may declare at most MAX_MEMBER_BYTES each
and MAX_ARCHIVE_BYTES together, the array taken from an .npz MAX_ARCHIVE_BYTES. Zip members are then decoded
DECODE_CHUNK_BYTES at a time, and arrays read in their stored order (C or Fortran) CONVERT_SLAB_BYTES at a
time, into the one result, so peak memory is the decoded dataset plus a fixed margin (docs/kernels.md,
"Bounded input").
"""

from __future__ import annotations

import hashlib
import lzma
import math
import os
import sys
import zipfile
import zlib
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, NamedTuple

import numpy as np

from gancli.config import MAX_OWN_SIZE, check_background
from gancli.data import ARRAY_SUFFIXES, PACKED_SUFFIX
from gancli.data.base import DataRequest, ImageSource
from gancli.errors import GancliError
from gancli.io import cache_dir
from gancli.values import parse_colour

if TYPE_CHECKING:
    from gancli import kernels

DEFAULT_SIZE = 64
DEFAULT_CHANNELS = 3
ARRAY_CHANNELS = (1, 2, 3, 4)
"""Channel counts an array may have: gray, gray + alpha, RGB, RGBA (alpha is composited over --background)."""
SNIFF_BYTES = 32
"""Leading bytes of a zip member without an image extension read to tell whether it is an image."""
#: what reads labels, named when a source has none to give
NEEDS_LABELS = "--conditional and --balance-classes need"
#: image formats the kernels do not decode, counted when a folder or zip holds them (``report_unread_formats``)
UNREAD_FORMATS = frozenset(
    "svg svgz xpm xbm tif tiff ico icns cur heic heif avif jxl psd xcf jp2 j2k exr hdr pnm ppm pgm pbm pam tga dds "  # noqa: SIM905
    "dng cr2 nef arw eps".split()
)
# Zip reading fails with BadZipFile for bad structure or CRC, zlib.error for a corrupt deflate stream,
# EOFError when truncated, RuntimeError when encrypted, NotImplementedError for unknown compression and
# LZMAError for an LZMA member whose filter properties are corrupt.
ZIP_ERRORS = (
    zipfile.BadZipFile,
    zlib.error,
    lzma.LZMAError,
    EOFError,
    RuntimeError,
    NotImplementedError,
    OSError,
    UnicodeDecodeError,  # a member name flagged UTF-8 that is not
)


def cache_prefix(path: Path, size: int | None, channels: int, fit: str, background: str) -> str:
    """The part of a cache file's name fixed by the source's location and the requested form: ``auto`` for the size
    the images choose, the background as ``rrggbb`` (``black`` and ``#000000`` share an entry)."""
    where = hashlib.sha256(str(path.resolve()).encode()).hexdigest()[:12]
    colour = "".join(f"{value:02x}" for value in parse_colour(background))
    return f"{path.stem}-{where}-{size or 'auto'}px-{channels}c-{fit}-{colour}-"


def cache_path(prefix: str, members: Iterable[tuple[str, int, int]]) -> Path:
    """The cache file for a source whose members are (name, byte size, mtime in ns or CRC)."""
    digest = hashlib.sha256()
    for name, length, stamp in members:
        digest.update(f"{name}\0{length}\0{stamp}\n".encode())
    return cache_dir() / f"{prefix}{digest.hexdigest()[:16]}{PACKED_SUFFIX}"


def read_cache(cached: Path) -> np.ndarray | None:
    """The cached images, or None when there is no usable entry (a damaged one is decoded again)."""
    from gancli.data import packed

    try:
        return packed.read_packed(cached).images
    except (OSError, ValueError):
        return None


def write_cache(cached: Path, prefix: str, images: np.ndarray, source: Path, count: int) -> None:
    """Store decoded images and drop older entries of the same source and form; caching is only a
    speed-up, so a cache that cannot be written is reported and training goes on."""
    from gancli.data import packed

    try:
        cached.parent.mkdir(parents=True, exist_ok=True)
        packed.write_packed(cached, images, source=str(source.resolve()), source_count=count)
        for stale in cached.parent.iterdir():
            if stale.name.startswith(prefix) and stale.suffix == PACKED_SUFFIX and stale != cached:
                stale.unlink(missing_ok=True)
    except OSError as exc:
        print(f"warning: cannot cache decoded images in {cached.parent}: {exc}", file=sys.stderr)


def folder_members(path: Path) -> tuple[list[Path], list[tuple[str, int, int]]]:
    """The image files under a folder (by content, hidden ones left out) and their cache stamps."""
    from gancli import kernels

    try:
        files = kernels.find_images(path)
        stats = [f.stat() if f.exists() else f.lstat() for f in files]  # a link to nothing: decoding names it
    except OSError as exc:
        raise GancliError(f"--data {path}: {exc}") from None
    return files, [(str(f), st.st_size, st.st_mtime_ns) for f, st in zip(files, stats, strict=True)]


def folder_files(path: Path) -> Iterator[str]:
    """Every file under a folder, relative, as ``kernels.find_images`` walks it (hidden ones and symbolically
    linked folders left out)."""
    for root, folders, files in os.walk(path):
        folders[:] = [folder for folder in folders if not is_hidden(folder)]
        base = Path(root).relative_to(path)
        yield from ((base / name).as_posix() for name in files if not is_hidden(name))


def report_unread_formats(path: Path, others: Iterable[str]) -> None:
    """Count, by extension, those of a source's files not taken as images (``others``) that are in an image format
    the kernels do not decode (an icon theme's SVG and XPM icons), on every load: left out, but said, not silently.
    Other files (a README, an index) are not images."""
    kinds = Counter(suffix for name in others if (suffix := Path(name).suffix.lower().lstrip(".")) in UNREAD_FORMATS)
    if kinds:
        listed = ", ".join(f"{count:,} .{kind}" for kind, count in sorted(kinds.items(), key=lambda k: (-k[1], k[0])))
        print(
            f"--data {path}: {kinds.total():,} files in formats gancli does not read left out ({listed}); it reads "
            "PNG, JPEG, GIF, BMP and WebP",
            file=sys.stderr,
        )


def zip_members(path: Path) -> tuple[list[zipfile.ZipInfo], list[str]]:
    """A zip's images: members named like images or whose first bytes are one (so a cache hit decompresses
    only those bytes), as ``kernels.find_images`` picks files; directories, hidden files and ``__MACOSX``
    are left out. Then the names of its other files (for ``report_unread_formats``)."""
    from gancli import kernels

    try:
        with zipfile.ZipFile(path) as archive:
            members, others = [], []
            for info in archive.infolist():
                # a nameless member is no image file, and zipfile's own is_dir() and messages fail on it
                if not info.filename or info.filename.endswith("/") or is_hidden(info.filename):
                    continue
                if Path(info.filename).suffix.lower().lstrip(".") in kernels.IMAGE_EXTENSIONS:
                    members.append(info)
                    continue
                with archive.open(info) as member:
                    if kernels.image_format(member.read(SNIFF_BYTES)) is not None:
                        members.append(info)
                    else:
                        others.append(info.filename)
            return members, others
    except ZIP_ERRORS as exc:
        raise GancliError(f"--data {path}: not a readable zip ({exc})") from None


MAX_MEMBER_BYTES = 256 << 20
"""Uncompressed bytes a zip member may declare: no compressed image within the pixel limit comes near this."""
MAX_ARCHIVE_BYTES = 16 << 30
"""Uncompressed bytes a zip's images may declare together, and the array taken from an .npz on its own: far
above image datasets in use (CelebA's zip holds 1.4 GB), far below what a small hostile file can claim."""
DECODE_CHUNK_BYTES = 64 << 20
"""Encoded zip members held in memory at once: enough images to keep every core busy, a fixed cost in memory."""


def size_text(count: int) -> str:
    """A byte count for messages: ``"256 MiB"``, ``"8200 bytes"``."""
    for shift, unit in ((30, "GiB"), (20, "MiB"), (10, "KiB")):
        if count >= 1 << shift and count % (1 << shift) == 0:
            return f"{count >> shift} {unit}"
    return f"{count} bytes"


def check_declared_sizes(path: Path, members: list[zipfile.ZipInfo]) -> None:
    """Refuse a zip bomb by the sizes its members declare, before decompressing any of them."""
    total = 0
    for info in members:
        if info.file_size > MAX_MEMBER_BYTES:
            raise GancliError(
                f"--data {path}:{info.filename}: declares {info.file_size} bytes uncompressed, "
                f"over the {size_text(MAX_MEMBER_BYTES)} limit of an image file"
            )
        total += info.file_size
        if total > MAX_ARCHIVE_BYTES:
            raise GancliError(
                f"--data {path}: its images declare over {size_text(MAX_ARCHIVE_BYTES)} uncompressed "
                f"(the limit, passed at {info.filename}); unpack it to a folder to use it"
            )


def chunks(members: list[zipfile.ZipInfo]) -> Iterable[list[zipfile.ZipInfo]]:
    """Consecutive runs of members declaring about DECODE_CHUNK_BYTES together (a bigger member on its own)."""
    chunk: list[zipfile.ZipInfo] = []
    held = 0
    for info in members:
        if chunk and held + info.file_size > DECODE_CHUNK_BYTES:
            yield chunk
            chunk, held = [], 0
        chunk.append(info)
        held += info.file_size
    if chunk:
        yield chunk


def decode_zip(
    path: Path,
    members: list[zipfile.ZipInfo],
    size: int,
    channels: int,
    fit: str,
    skip_bad: bool,
    background: str = "black",
) -> kernels.DecodedImages:
    """Decode a zip's image members (their declared sizes already checked) a chunk at a time into one preallocated
    batch, so that memory holds the decoded images and one chunk of encoded ones, never the whole archive."""
    from gancli import kernels

    images = np.empty((len(members), channels, size, size), dtype=np.uint8)
    kept = 0
    skipped: list[tuple[str, str]] = []
    for chunk, blobs in read_chunks(path, members):
        names = [f"{path}:{info.filename}" for info in chunk]
        decoded = kernels.decode_image_bytes(
            blobs, names, size, channels, fit=fit, background=background, skip_bad=skip_bad
        )
        del blobs  # before the next chunk is read
        images[kept : kept + len(decoded.images)] = decoded.images
        kept += len(decoded.images)
        skipped += decoded.skipped
    return kernels.DecodedImages(images=images[:kept], skipped=skipped)


def read_chunks(path: Path, members: list[zipfile.ZipInfo]) -> Iterator[tuple[list[zipfile.ZipInfo], list[bytes]]]:
    """Each chunk of members with their bytes, one chunk in memory at a time; a damaged zip is one line."""
    try:
        with zipfile.ZipFile(path) as archive:
            for chunk in chunks(members):
                yield chunk, [archive.read(info) for info in chunk]
    except ZIP_ERRORS as exc:
        raise GancliError(f"--data {path}: not a readable zip ({exc})") from None


def zip_sizes(path: Path, members: list[zipfile.ZipInfo]) -> list[tuple[int, int] | None]:
    """The (width, height) each image member declares, read a chunk at a time as decoding reads them."""
    from gancli import kernels

    return [size for _, blobs in read_chunks(path, members) for size in kernels.image_sizes_of_bytes(blobs)]


def own_size(path: Path, sizes: list[tuple[int, int] | None], fit: str) -> int:
    """The side a folder or zip is decoded at without --image-size: the images' own when they are all one size, else
    the most common (the larger of a tie), at most MAX_OWN_SIZE. An image counts by the side its fit keeps (the short
    one for crop, the long one for pad). Anything but the images' one size is said in one line, with the rule."""
    sides = Counter((min if fit == "crop" else max)(width, height) for width, height in filter(None, sizes))
    if not sides:
        return DEFAULT_SIZE  # nothing readable: decoding names the files
    side, count = max(sides.items(), key=lambda item: (item[1], item[0]))
    size = min(side, MAX_OWN_SIZE)
    if len(sides) == 1 and size == side:
        return size
    kind = "short" if fit == "crop" else "long"
    capped = f", capped at {MAX_OWN_SIZE}" if size != side else ""
    if len(sides) == 1:
        found, rule = f"{kind} sides of {side} px", f"at most {MAX_OWN_SIZE} unless asked"
    else:
        total = sum(sides.values())
        found = f"{kind} sides from {min(sides)} to {max(sides)} px"
        rule = f"the most common, {side} px ({count:,} of {total:,} images){capped}"
    print(f"--data {path}: {found}: decoded at {size}×{size}, {rule}; --image-size N chooses", file=sys.stderr)
    return size


class Decoded(NamedTuple):
    images: np.ndarray
    origin: str  # the cache file holding them, or the source when not cached
    count: int  # image files found
    names: list[str]  # each decoded image's path inside the source (relative, with "/")


def decode_source(path: Path, request: DataRequest, fit: str) -> Decoded:
    """Decode a folder or zip, or reuse its cache entry, at ``request.image_size`` (else the images' own size:
    ``own_size``) and ``request.channels`` (else 3).

    Unreadable files (broken links, empty, corrupt or too large) raise a one-line GancliError naming the first and
    counting them; with ``request.skip_bad`` they are left out, counted and named.
    """
    from gancli import kernels

    size = request.image_size
    if path.is_dir():
        files, stamps = folder_members(path)
        names = [f.relative_to(path).as_posix() for f in files]
        decoded_names = [str(f) for f in files]
        taken = set(names)
        report_unread_formats(path, (name for name in folder_files(path) if name not in taken))
        # the headers are read on a cache hit too (about 30 µs a file), so the size's rule is said on every load
        size = size or own_size(path, kernels.image_sizes(files), fit)
    else:
        members, others = zip_members(path)
        stamps = [(info.filename, info.file_size, info.CRC) for info in members]
        names = [info.filename for info in members]
        decoded_names = [f"{path}:{name}" for name in names]
        report_unread_formats(path, others)
    channels = request.channels or DEFAULT_CHANNELS
    prefix = cache_prefix(path, request.image_size, channels, fit, request.background)
    cached = cache_path(prefix, stamps)
    images = read_cache(cached)
    if images is not None:
        return Decoded(images, str(cached), len(images), names)
    background = request.background
    try:  # every file is tried, so that a refusal counts the unreadable ones
        if path.is_dir():
            decoded = kernels.decode_images(files, size, channels, fit=fit, background=background, skip_bad=True)
        else:
            check_declared_sizes(path, members)
            size = request.image_size or own_size(path, zip_sizes(path, members), fit)
            decoded = decode_zip(path, members, size, channels, fit, True, background)
    except ValueError as exc:
        raise GancliError(f"--data {path}: {exc}") from None
    if decoded.skipped and not request.skip_bad:
        first, why = decoded.skipped[0]
        kind, _, message = why.partition(": ")
        count = len(decoded.skipped)
        more = f"; {count:,} unreadable image files in all" if count > 1 else ""
        raise GancliError(f"--data {path}: {first}: {message} ({kind}){more}; --skip-bad leaves unreadable files out")
    report_skipped(decoded.skipped, len(stamps))
    if len(decoded.images) == 0:
        raise GancliError(f"--data {path}: no readable images found")
    if decoded.skipped:
        left_out = {name for name, _ in decoded.skipped}
        kept = [name for name, full in zip(names, decoded_names, strict=True) if full not in left_out]
        return Decoded(decoded.images, str(path), len(stamps), kept)
    write_cache(cached, prefix, decoded.images, path, len(stamps))
    return Decoded(decoded.images, str(cached), len(stamps), names)


DATASET_JSON = "dataset.json"
MAX_LISTING_BYTES = 256 << 20  # a dataset.json: about 50 bytes an image, five million images


def source_labels(path: Path, names: list[str], required: bool) -> tuple[np.ndarray, tuple[str, ...]] | None:
    """The class of each image ``names`` lists, from the source's dataset.json or else its class subfolders (the
    module's rule); None where there are neither and labels are not ``required`` (``gancli data prepare``), which
    otherwise is a one-line refusal saying how to label the images."""
    listing = read_listing(path)
    if listing is not None:
        return listed_labels(f"{path / DATASET_JSON if path.is_dir() else f'{path}:{DATASET_JSON}'}", listing, names)
    loose = [name for name in names if "/" not in name]
    folders = sorted({name.split("/", 1)[0] for name in names if "/" in name})
    if not folders or loose:
        if not required:
            return None
        if not folders:
            raise GancliError(
                f"--data {path}: {NEEDS_LABELS} class labels: one subfolder per class, or a {DATASET_JSON}"
            )
        raise GancliError(
            f"--data {path}: {loose[0]} lies beside the class subfolders ({len(loose)} such images): move each into "
            "its class's subfolder, or train without --conditional or --balance-classes"
        )
    if path.is_dir():
        for folder in sorted(p.name for p in path.iterdir() if p.is_dir() and not is_hidden(p.name)):
            if folder not in folders:
                raise GancliError(f"--data {path}: class {folder!r} ({path / folder}) has no image")
    index = {folder: k for k, folder in enumerate(folders)}
    return np.array([index[name.split("/", 1)[0]] for name in names], np.int64), tuple(folders)


def read_listing(path: Path) -> bytes | None:
    """The bytes of the source's dataset.json (beside the images, or at a zip's root), None without one."""
    if path.is_dir():
        listing = path / DATASET_JSON
        return listing.read_bytes() if listing.is_file() else None
    try:
        with zipfile.ZipFile(path) as archive:
            return archive.read(DATASET_JSON) if DATASET_JSON in archive.namelist() else None
    except ZIP_ERRORS as exc:
        raise GancliError(f"--data {path}: not a readable zip ({exc})") from None


def listed_labels(where: str, listing: bytes, names: list[str]) -> tuple[np.ndarray, tuple[str, ...]]:
    """The labels a dataset.json gives the images ``names``: every entry a [file, class index] pair naming an
    image, every image with an entry, every class from 0 to the largest with an image; else one line naming the
    file and the entry."""
    from gancli.data.base import check_targets
    from gancli.io import parse_document

    try:
        document = parse_document(listing, limit=MAX_LISTING_BYTES)
    except ValueError as exc:
        raise GancliError(f"{where}: not JSON ({exc})") from None
    entries = document.get("labels") if isinstance(document, dict) else None
    if not isinstance(entries, list):
        raise GancliError(f'{where}: expected {{"labels": [["file.png", class index], ...]}}')
    wanted = set(names)
    given: dict[str, int] = {}
    for number, entry in enumerate(entries):
        if not (isinstance(entry, list) and len(entry) == 2 and isinstance(entry[0], str)):
            raise GancliError(f"{where}: entry {number} {entry!r} is not a [file, class index] pair")
        name, label = entry
        if isinstance(label, bool) or not isinstance(label, int) or label < 0:
            raise GancliError(f"{where}: entry {number} {entry!r}: the label must be a class index ≥ 0")
        if name not in wanted:
            raise GancliError(f"{where}: entry {number} {entry!r} names no image of the dataset")
        given[name] = label
    missing = [name for name in names if name not in given]
    if missing:
        raise GancliError(f"{where}: no label for {missing[0]} ({len(missing)} of {len(names)} images have none)")
    labels = check_targets(where, np.array([given[name] for name in names], np.int64), len(names))
    return labels, tuple(str(k) for k in range(int(labels.max()) + 1))


def is_hidden(name: str) -> bool:
    return any(part.startswith(".") or part == "__MACOSX" for part in Path(name).parts)


def report_skipped(skipped: list[tuple[str, str]], files: int) -> None:
    """Count and name (the first five) the image files left out, by kind, on every load that leaves any out."""
    if skipped:
        kinds = Counter(why.partition(":")[0] for _, why in skipped)
        counts = ", ".join(f"{count} {kind}" for kind, count in kinds.most_common())
        listed = "; ".join(f"{p} ({why})" for p, why in skipped[:5])
        more = f"; and {len(skipped) - 5} more" if len(skipped) > 5 else ""
        print(f"skipped {len(skipped)} of {files:,} image files ({counts}): {listed}{more}", file=sys.stderr)


CONVERT_SLAB_BYTES = 16 << 20
"""Stored bytes read and converted to uint8 at a time, so that wide pixels and .npz members cost this margin
rather than copies of the whole array."""

#: (where in the array's stored layout, the stored values that go there): a piece of an array read in order
Piece = tuple[Any, np.ndarray]
#: the header of a .npy stream: shape, Fortran order, dtype
Header = tuple[tuple[int, ...], bool, np.dtype]


def npz_labels(path: Path, count: int) -> tuple[np.ndarray, tuple[str, ...] | None]:
    """The ``y`` of an .npz (checked against its ``count`` images) and its ``classes`` when it holds them."""
    from gancli.data.base import check_targets

    try:
        with np.load(path, allow_pickle=False) as arrays:
            if "y" not in arrays.files:
                raise GancliError(f"--data {path}: {NEEDS_LABELS} the labels as an array y beside x")
            labels = arrays["y"]
            names = arrays["classes"] if "classes" in arrays.files else None
    except (OSError, ValueError, EOFError, zipfile.BadZipFile, zlib.error) as exc:
        raise GancliError(f"--data {path}: not a readable numpy file ({exc})") from None
    if names is not None and (names.ndim != 1 or names.dtype.kind not in "US" or len(names) == 0):
        raise GancliError(f"--data {path}:classes: expected an array of class names, got {names.dtype} {names.shape}")
    classes = None if names is None else tuple(str(name) for name in names)
    return check_targets(f"{path}:y", labels, count, classes), classes


def load_array(path: Path, key: str) -> np.ndarray:
    """A uint8 (N, C, H, W) array from .npy/.npz holding (N, H, W), (N, H, W, C) or (N, C, H, W), C in 1–4.

    uint8 is used as is (a C-order (N, C, H, W) or (N, H, W) .npy is memory-mapped, not read); other integers
    must lie in 0..255; floats in [0, 1] or, when any is negative, [-1, 1] are scaled to 0..255. Anything else
    is read from the file or member CONVERT_SLAB_BYTES at a time, in the order it is stored (Fortran order
    included), into the one uint8 result: peak memory is the result plus a slab.
    """
    try:
        loaded = np.load(path, mmap_mode="r", allow_pickle=False)
        if isinstance(loaded, np.lib.npyio.NpzFile):
            with loaded:
                return npz_images(path, loaded.zip, pick_array(path, loaded.files, key))
        _, arrange, _ = image_layout(path, loaded.shape)
        if loaded.dtype == np.uint8 and arrange(loaded).flags.c_contiguous:
            return arrange(loaded)
        with path.open("rb") as stream:
            header = read_npy_header(stream)
        return stream_images(path, lambda: path.open("rb"), header)
    except (OSError, ValueError, EOFError, zipfile.BadZipFile, zlib.error) as exc:
        raise GancliError(f"--data {path}: not a readable numpy file ({exc})") from None


def read_npy_header(member: IO[bytes]) -> Header:
    """(shape, Fortran order, dtype) from the header of a .npy stream, which is left at the data."""
    version = np.lib.format.read_magic(member)
    read_header = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
    return read_header(member)


def npz_images(path: Path, archive: zipfile.ZipFile, name: str) -> np.ndarray:
    """The array ``name`` of an .npz, refused by the sizes it declares (the zip's and the .npy header's) before
    anything is decompressed, as a few compressed bytes may declare gigabytes; then streamed from the member."""
    info = archive.getinfo(f"{name}.npy" if f"{name}.npy" in archive.namelist() else name)
    if info.file_size > MAX_ARCHIVE_BYTES:
        raise GancliError(
            f"--data {path}: array {name!r} declares {info.file_size} bytes uncompressed, "
            f"over the {size_text(MAX_ARCHIVE_BYTES)} limit"
        )
    with archive.open(info) as member:
        header = read_npy_header(member)
    shape, _, dtype = header
    declared = math.prod(shape) * dtype.itemsize
    if declared > MAX_ARCHIVE_BYTES:
        raise GancliError(
            f"--data {path}: array {name!r} declares shape {shape} of {dtype}, {declared} bytes, "
            f"over the {size_text(MAX_ARCHIVE_BYTES)} limit"
        )
    if declared > info.file_size:
        raise GancliError(f"--data {path}: array {name!r} declares {declared} bytes but holds {info.file_size}")
    return stream_images(path, lambda: archive.open(info), header)


def pieces_of(open_stream: Callable[[], IO[bytes]], header: Header) -> Callable[[int], Iterator[Piece]]:
    """The stored array of a .npy stream in pieces of about ``budget`` bytes, each read once, in the stream's
    order: runs of whole images for C order; for Fortran order, where the image index varies fastest, runs of
    one pixel position across all the images. A piece that cannot be smaller (one image, one position) comes
    on its own."""
    shape, fortran_order, dtype = header
    count = shape[0]

    def read(stream: IO[bytes], items: int, item_shape: tuple[int, ...]) -> np.ndarray:
        size = math.prod(item_shape) * dtype.itemsize
        return np.frombuffer(stream.read(items * size), dtype).reshape(items, *item_shape)

    def pieces(budget: int) -> Iterator[Piece]:
        with open_stream() as stream:
            read_npy_header(stream)
            if not fortran_order:
                step = max(1, budget // (math.prod(shape[1:]) * dtype.itemsize))
                for start in range(0, count, step):
                    run = min(step, count - start)
                    yield slice(start, start + run), read(stream, run, shape[1:])
                return
            positions = shape[:0:-1]  # the stream is the array's transpose: the last axis varies slowest
            step = max(1, budget // (count * dtype.itemsize))
            for start in range(0, math.prod(positions), step):
                run = min(step, math.prod(positions) - start)
                where = np.unravel_index(np.arange(start, start + run), positions)[::-1]
                yield (slice(None), *where), read(stream, run, (count,)).T

    return pieces


def image_layout(
    path: Path, shape: tuple[int, ...]
) -> tuple[tuple[int, ...], Callable[[np.ndarray], np.ndarray], Callable[[np.ndarray], np.ndarray]]:
    """The (N, C, H, W) shape of stored images, how to view stored images so, and how to view (N, C, H, W)
    images in the stored layout (where the stored values are written)."""
    if len(shape) == 3:
        n, h, w = shape
        layout = (n, 1, h, w), lambda run: run[:, None], lambda images: images[:, 0]
    elif len(shape) == 4 and shape[1] not in ARRAY_CHANNELS and shape[3] in ARRAY_CHANNELS:
        n, h, w, c = shape
        layout = (n, c, h, w), lambda run: run.transpose(0, 3, 1, 2), lambda images: images.transpose(0, 2, 3, 1)
    else:
        layout = shape, lambda run: run, lambda images: images
    images_shape = layout[0]
    if len(images_shape) != 4 or images_shape[1] not in ARRAY_CHANNELS or 0 in images_shape:
        raise GancliError(
            f"--data {path}: expected images (N, H, W), (N, H, W, C) or (N, C, H, W) with C in 1–4, got shape {shape}"
        )
    return layout


def stream_images(path: Path, open_stream: Callable[[], IO[bytes]], header: Header) -> np.ndarray:
    """The array of a .npy stream (a file or an .npz member) as one uint8 (N, C, H, W) array, read in pieces
    of CONVERT_SLAB_BYTES (twice for pixels other than uint8: once for their range, once to convert them)."""
    shape, _, dtype = header
    images_shape, _, stored_view = image_layout(path, shape)
    integer = np.issubdtype(dtype, np.integer) or dtype == np.bool_
    if not integer and not np.issubdtype(dtype, np.floating):
        raise GancliError(f"--data {path}: cannot use {dtype} pixels (use uint8, integers or floats)")
    pieces = pieces_of(open_stream, header)
    low, high = 0, 255
    if dtype != np.uint8:
        low, high = math.inf, -math.inf
        for _, values in pieces(CONVERT_SLAB_BYTES):
            if not integer and not np.isfinite(values).all():
                raise GancliError(f"--data {path}: the array holds NaN or infinite values")
            low, high = min(low, values.min().item()), max(high, values.max().item())
    if integer and (low < 0 or high > 255):
        raise GancliError(f"--data {path}: integer pixels must lie in 0..255, found {low}..{high}")
    if not integer and (low < -1.0 or high > 1.0):
        raise GancliError(
            f"--data {path}: float pixels must lie in [0, 1] or [-1, 1], found [{low:g}, {high:g}] "
            "(scale them, or save uint8)"
        )
    offset = -1.0 if low < 0 else 0.0
    scale = 255.0 / (1.0 - offset)
    images = np.empty(images_shape, dtype=np.uint8)
    target = stored_view(images)
    for where, values in pieces(CONVERT_SLAB_BYTES):
        target[where] = values if integer else np.round((values.astype(np.float32) - offset) * scale)
    return images


#: the arrays of a labelled .npz: images, their class indices, and optionally the class names
LABELLED_ARRAYS = ("x", "y", "classes")


def pick_array(path: Path, names: list[str], key: str) -> str:
    if not key and {"x", "y"} <= set(names) <= set(LABELLED_ARRAYS):
        return "x"
    if key:
        if key not in names:
            raise GancliError(f"--data {path}: no array {key!r} (has {', '.join(names)}); see --set array=NAME")
        return key
    if len(names) != 1:
        raise GancliError(f"--data {path}: holds {', '.join(names) or 'no arrays'}; choose one with --set array=NAME")
    return names[0]


def conform(array: np.ndarray, request: DataRequest, fit: str) -> np.ndarray:
    """The array at --image-size and --channels; by default at its own size (the short side for crop,
    the long side for pad when not square) and its own channels (alpha composited over --background)."""
    from gancli import kernels

    _, c, h, w = array.shape
    size = request.image_size or (h if h == w else (min if fit == "crop" else max)(h, w))
    channels = request.channels or (c if c in (1, 3) else c - 1)  # without alpha: 2 -> 1, 4 -> 3
    if (c, h, w) == (channels, size, size):
        return array
    return kernels.resize_images(array, size, channels, fit=fit, background=request.background)


def check_request(request: DataRequest) -> None:
    """Refuse bad flags by name before anything is read (a bad --augment would otherwise fail mid-run)."""
    from gancli import kernels

    size = request.image_size
    if size is not None and not 1 <= size * size <= kernels.DEFAULT_MAX_PIXELS:
        limit = math.isqrt(kernels.DEFAULT_MAX_PIXELS)
        raise GancliError(f"--image-size must be between 1 and {limit}, got {size}")
    check_background(request.background)
    ImageSource.parse_augment(request.augment)


def open_images(spec: str, request: DataRequest, options: Mapping[str, Any]) -> ImageSource:
    from gancli.data import packed

    check_request(request)
    path = Path(spec)
    if not path.exists():  # a saved run's data that has since moved or gone
        raise GancliError(f"--data {path}: no such file or folder")
    fit = options["fit"]
    suffix = path.suffix.lower()
    labels: tuple[np.ndarray, tuple[str, ...] | None] | None = None
    if suffix == PACKED_SUFFIX:
        try:
            stored = packed.read_packed(path)
        except (OSError, ValueError) as exc:
            raise GancliError(f"--data {path}: {exc}") from None
        if request.labels:
            if stored.labels is None:
                raise GancliError(
                    f"--data {path}: {NEEDS_LABELS} class labels, and this packed file "
                    f"holds none (prepare it from class subfolders or a {DATASET_JSON})"
                )
            labels = stored.labels, stored.classes
        images = conform(stored.images, request, fit)
    elif suffix in ARRAY_SUFFIXES:
        images = conform(load_array(path, options["array"]), request, fit)
        if request.labels:
            if suffix != ".npz":
                raise GancliError(f"--data {path}: {NEEDS_LABELS} labels: an .npz holding x and y")
            labels = npz_labels(path, len(images))
    else:
        decoded = decode_source(path, request, fit)
        images = decoded.images
        if request.labels:
            labels = source_labels(path, decoded.names, required=True)
    if labels is None:
        return ImageSource(str(path), images, request.augment)
    return ImageSource(str(path), images, request.augment, *labels)

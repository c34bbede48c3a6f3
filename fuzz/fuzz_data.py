#!/usr/bin/env python3
"""Atheris targets for the dataset files gancli reads from users: zips of images and packed (.ganpack) files.

    python fuzz/fuzz_data.py --zip|--packed [libFuzzer flags] [corpus folders]

Each input is written to a file and opened as ``--data`` is, through ``gancli.data.images.open_images``. The
invariant: it returns an ImageSource of square uint8 images at the requested size, or raises GancliError (the
one line the CLI prints). Any other exception is a crash; a hang past ``-timeout`` is one too. Python's
``zipfile`` and gancli are instrumented for coverage; the native decoders are fuzzed by the Rust targets.

The packed target repairs both checksums of an input whose header parses (the layout tabled in
docs/kernels.md), so mutations reach the shape and pixel handling behind them instead of stopping at
"checksum mismatch"; inputs of odd length are left as they are, so the checks themselves are fuzzed too.
"""

from __future__ import annotations

import os
import struct
import sys
import tempfile
from pathlib import Path

import atheris

# Inputs and the cache entries of zips that decode go to a scratch folder under $TMPDIR (fuzz/run-ci.sh points
# it at a folder it removes; libFuzzer ends the process without running Python's exit handlers).
SCRATCH = Path(tempfile.mkdtemp(prefix="gancli-fuzz-"))
os.environ["GANCLI_CACHE"] = str(SCRATCH / "cache")

# site-packages' start-up hooks import zipfile before this runs; a fresh import is the one gancli gets and the
# one atheris instruments. gancli imports lazily, so every module open_images reaches is imported here.
sys.modules.pop("zipfile", None)
with atheris.instrument_imports(include=["gancli", "zipfile"]):
    import zipfile  # noqa: F401

    import gancli.data.packed  # noqa: F401
    from gancli.data.base import DataRequest
    from gancli.data.images import open_images
    from gancli.errors import GancliError
    from gancli.kernels import checksum

# The packed header as docs/kernels.md tables it: magic, version, data offset, N, C, H, W, source count,
# pixel checksum, source length; then the source text and the header's checksum.
HEADER = struct.Struct("<8sIIQIIIQQI")
PIXEL_SUM_AT = 44
SUM = struct.Struct("<Q")


def request_for(data: bytes) -> tuple[DataRequest, dict[str, str]]:
    """Size, channels, fit and skip_bad from the input's length, so the corpus holds plain files."""
    n = len(data)
    size = (None, 8, 13)[n % 3]
    channels = (None, 1, 3)[n // 3 % 3]
    fit = ("crop", "pad")[n // 9 % 2]
    return DataRequest(image_size=size, channels=channels, skip_bad=n // 18 % 2 == 1), {"fit": fit, "array": ""}


def repair_packed(data: bytes) -> bytes:
    """The input with the pixel and header checksums it would need to pass, when its header parses."""
    if len(data) < HEADER.size:
        return data
    fields = HEADER.unpack_from(data)
    offset, n, c, h, w, text_len = fields[2], *fields[3:7], fields[9]
    end = HEADER.size + text_len
    if end + SUM.size > len(data):
        return data
    fixed = bytearray(data)
    pixels = n * c * h * w
    if offset + pixels == len(data):
        SUM.pack_into(fixed, PIXEL_SUM_AT, checksum(bytes(data[offset:])))
    SUM.pack_into(fixed, end, checksum(bytes(fixed[:end])))
    return bytes(fixed)


def check_repair_is_current() -> None:
    """Repairing a file gancli wrote must change nothing; otherwise the layout here is stale and the packed
    target would stop at the checksums without saying so."""
    for seed in sorted((Path(__file__).parent / "corpus" / "packed").glob("*.ganpack")):
        data = seed.read_bytes()
        if repair_packed(data) != data:
            sys.exit(f"{seed}: fuzz/fuzz_data.py's packed layout no longer matches the files gancli writes")


def one_input(data: bytes, suffix: str) -> None:
    if suffix == ".ganpack" and len(data) % 2 == 0:
        data = repair_packed(data)
    path = SCRATCH / f"input{suffix}"
    path.write_bytes(data)
    request, options = request_for(data)
    try:
        source = open_images(str(path), request, options)
    except GancliError:
        return
    images = source.images
    assert images.dtype.name == "uint8" and images.ndim == 4 and len(images) > 0, images.shape
    assert images.shape[2] == images.shape[3], f"not square: {images.shape}"
    if request.image_size is not None:
        assert images.shape[2] == request.image_size, (images.shape, request)
    if request.channels is not None:
        assert images.shape[1] == request.channels, (images.shape, request)


# The target is a "--" argument, which libFuzzer leaves alone, so the whole command line can be handed on: the
# modes that run the target again in a child process (-fork, -minimize_crash) then run the same target.
TARGETS = {"--zip": ".zip", "--packed": ".ganpack"}


def main() -> None:
    chosen = [TARGETS[arg] for arg in sys.argv[1:] if arg in TARGETS]
    if len(chosen) != 1:
        sys.exit(f"usage: {sys.argv[0]} {'|'.join(TARGETS)} [libFuzzer flags] [corpus folders]")
    suffix = chosen[0]
    if suffix == ".ganpack":
        check_repair_is_current()
    atheris.Setup(sys.argv, lambda data: one_input(data, suffix))
    atheris.Fuzz()


if __name__ == "__main__":
    main()

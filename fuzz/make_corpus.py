"""Write the seed corpus under fuzz/corpus: tiny valid inputs of every kind the fuzz targets read.

Seeds are small valid files in each variant a decoder branches on (colour types, bit depths, interlacing,
progressive JPEG, chroma subsampling, CMYK, palettes, alpha, lossless WebP, animation), so the fuzzers start
past the signature and header checks. Pillow writes the images; gancli writes the packed files. Run it again
after changing it: ``python fuzz/make_corpus.py`` (it replaces the corpus folders it owns).
"""

from __future__ import annotations

import io
import shutil
import struct
import zipfile
from pathlib import Path

import numpy as np
from gancli.data import packed
from gancli.kernels import checksum
from PIL import Image

CORPUS = Path(__file__).resolve().parent / "corpus"
TARGETS = ("decode", "resize", "zip", "packed")
"""One seed folder per fuzz target, and the same under ``regressions/`` for the minimal reproducers of what the
fuzzers found (docs/fuzzing.md); every run of a target replays both."""


def pattern(width: int, height: int, mode: str) -> Image.Image:
    """A gradient with an edge, so encoders produce real coefficients and the resize filters see detail."""
    y, x = np.mgrid[0:height, 0:width]
    r = (x * 255 // max(width - 1, 1)).astype(np.uint8)
    g = (y * 255 // max(height - 1, 1)).astype(np.uint8)
    b = np.where(x > y, 220, 30).astype(np.uint8)
    a = ((x + y) * 255 // max(width + height - 2, 1)).astype(np.uint8)
    return Image.fromarray(np.dstack([r, g, b, a]), "RGBA").convert(mode)


def encoded(image: Image.Image, fmt: str, **options: object) -> bytes:
    out = io.BytesIO()
    image.save(out, fmt, **options)
    return out.getvalue()


def png_16bit(width: int, height: int) -> bytes:
    out = io.BytesIO()
    gray = (np.arange(width * height, dtype=np.uint16).reshape(height, width) * 997).astype(np.uint16)
    Image.fromarray(gray).save(out, "PNG")
    return out.getvalue()


def images() -> dict[str, bytes]:
    """One small file per decoder variant; sizes of 40x24 and more let the JPEG path scale in the DCT domain."""
    w, h = 40, 24
    animated = io.BytesIO()
    frames = [pattern(12, 12, "P"), pattern(12, 12, "P").rotate(90)]
    frames[0].save(animated, "GIF", save_all=True, append_images=frames[1:], duration=50, loop=0)
    return {
        "gray.png": encoded(pattern(w, h, "L"), "PNG"),
        "gray_alpha.png": encoded(pattern(9, 7, "LA"), "PNG"),
        "rgb.png": encoded(pattern(w, h, "RGB"), "PNG"),
        "rgba.png": encoded(pattern(9, 7, "RGBA"), "PNG"),
        "palette.png": encoded(pattern(9, 7, "P"), "PNG"),
        "bilevel.png": encoded(pattern(9, 7, "1"), "PNG"),
        "interlaced.png": encoded(pattern(11, 9, "RGB"), "PNG", interlace=1),
        "gray16.png": png_16bit(8, 6),
        "gray.jpg": encoded(pattern(w, h, "L"), "JPEG", quality=50),
        "rgb_420.jpg": encoded(pattern(w, h, "RGB"), "JPEG", quality=50, subsampling=2),
        "rgb_444.jpg": encoded(pattern(17, 9, "RGB"), "JPEG", quality=50, subsampling=0),
        "progressive.jpg": encoded(pattern(w, h, "RGB"), "JPEG", quality=50, progressive=True),
        "restart.jpg": encoded(pattern(w, h, "RGB"), "JPEG", quality=50, restart_marker_blocks=1),
        "cmyk.jpg": encoded(pattern(16, 8, "CMYK"), "JPEG", quality=50),
        "still.gif": encoded(pattern(9, 7, "P"), "GIF"),
        "animated.gif": animated.getvalue(),
        "rgb24.bmp": encoded(pattern(9, 7, "RGB"), "BMP"),
        "palette8.bmp": encoded(pattern(9, 7, "P"), "BMP"),
        "bilevel.bmp": encoded(pattern(9, 7, "1"), "BMP"),
        "rgba32.bmp": encoded(pattern(5, 3, "RGBA"), "BMP"),
        "lossy.webp": encoded(pattern(w, h, "RGB"), "WEBP", quality=40),
        "lossy_alpha.webp": encoded(pattern(12, 8, "RGBA"), "WEBP", quality=40),
        "lossless.webp": encoded(pattern(12, 8, "RGBA"), "WEBP", lossless=True),
    }


def resize_seeds() -> dict[str, bytes]:
    """The resize target's 5-byte head (C, H, W, size, channels/fit bits) and then pixels."""
    rng = np.random.default_rng(0)
    seeds = {}
    for c, h, w, size, flags in [(1, 5, 7, 3, 0), (2, 4, 4, 6, 1), (3, 9, 5, 4, 3), (4, 6, 6, 2, 1), (3, 8, 8, 8, 1)]:
        pixels = rng.integers(0, 256, size=2 * c * h * w, dtype=np.uint8).tobytes()
        seeds[f"c{c}_{h}x{w}_to_{size}_{flags}"] = bytes([c, h, w, size - 1, flags]) + pixels
    return seeds


def zip_of(members: list[tuple[str, bytes, int]]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        for name, data, method in members:
            info = zipfile.ZipInfo(name, date_time=(2020, 1, 1, 0, 0, 0))  # fixed, so the corpus regenerates alike
            info.compress_type = method
            archive.writestr(info, data)
    return out.getvalue()


def zips(pictures: dict[str, bytes]) -> dict[str, bytes]:
    """Zips as datasets come: stored and deflated images, folders, a non-image, a hidden file, an image
    without extension, a member named like an image that is not one."""
    stored, deflated = zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED
    return {
        "stored.zip": zip_of([("a.png", pictures["gray.png"], stored), ("b.gif", pictures["still.gif"], stored)]),
        "deflated.zip": zip_of(
            [("imgs/", b"", stored), ("imgs/c.jpg", pictures["rgb_444.jpg"], deflated), ("README", b"hi", deflated)]
        ),
        "mixed.zip": zip_of(
            [
                ("x/noext", pictures["rgba.png"], deflated),
                (".hidden.png", b"not an image", stored),
                ("__MACOSX/._x.png", b"\0\5\26\7", stored),
                ("y.bmp", pictures["rgb24.bmp"], stored),
            ]
        ),
        "bad_member.zip": zip_of(
            [("ok.png", pictures["palette.png"], stored), ("broken.jpg", b"\xff\xd8\xff", stored)]
        ),
    }


def packed_file(shape: tuple[int, int, int, int], seed: int = 1) -> bytes:
    """A packed file of random pixels, laid out as gancli writes it (also in shapes write_packed now refuses)."""
    images = np.random.default_rng(seed).integers(0, 256, size=shape, dtype=np.uint8)
    header = packed._header_bytes(images, "seed", shape[0], checksum(images))
    return header + images.tobytes()


def packed_files() -> dict[str, bytes]:
    """Packed files of the shapes a reader must map: gray, RGB and alpha, square and not, one image and several."""
    shapes = [(1, 1, 4, 4), (2, 3, 6, 6), (1, 3, 5, 8), (3, 1, 2, 2), (1, 4, 3, 3)]
    return {"n{}_c{}_{}x{}.ganpack".format(*shape): packed_file(shape) for shape in shapes}


def with_central_name(data: bytes, old: bytes, new: bytes) -> bytes:
    """A one-member zip with the member's name replaced in both headers (lengths patched), CRCs untouched."""
    local_len, central_len = 26, 28  # offsets of the name length in the local and central headers
    central = data.rindex(b"PK\x01\x02")
    out = bytearray(data[:central].replace(old, new, 1) + data[central:].replace(old, new, 1))
    struct.pack_into("<H", out, local_len, len(new))
    struct.pack_into("<H", out, out.rindex(b"PK\x01\x02") + central_len, len(new))
    start, end = out.rindex(b"PK\x01\x02"), out.rindex(b"PK\x05\x06")
    struct.pack_into("<II", out, end + 12, end - start, start)  # the central directory's size and offset
    return bytes(out)


def regressions() -> dict[str, dict[str, bytes]]:
    """The smallest input of each crash the fuzzers found (docs/fuzzing.md says what each one broke)."""
    one_member = zip_of([("name.png", b"", zipfile.ZIP_STORED)])
    return {
        "zip": {
            # Flag bit 11 says the name is UTF-8, but it is not: zipfile raises UnicodeDecodeError.
            "utf8-flag-invalid-name.zip": with_central_name(
                zip_of([("\u00e9.png", b"", zipfile.ZIP_STORED)]), "\u00e9".encode(), b"\x80"
            ),
            # An empty member name: Python 3.11's ZipInfo.is_dir() raises IndexError.
            "empty-name.zip": with_central_name(one_member, b"name.png", b""),
            # The fuzzer's own (after the fix of empty-name.zip): a nameless member that zipfile takes for
            # encrypted, whose error message calls is_dir() and fails the same way.
            "encrypted-empty-name.zip": bytes.fromhex(
                "504b03041400000000008c217d5d00000000000000000000000000000000504b010214031400000000008c217d5d000000000000000000000000000000000000000000000000800100000000504b050600000000010001002e0000001e0000000000"
            ),
        },
        "packed": {
            # Valid files gancli itself writes, of shapes open_images cannot use.
            "no-images.ganpack": packed_file((0, 3, 6, 6)),
            "no-channels.ganpack": packed_file((2, 0, 4, 4)),
            "five-channels.ganpack": packed_file((1, 5, 4, 4)),
        },
    }


def main() -> None:
    pictures = images()
    seeds = {"decode": pictures, "resize": resize_seeds(), "zip": zips(pictures), "packed": packed_files()}
    found = regressions()
    for target in TARGETS:
        for folder, files in (CORPUS / target, seeds[target]), (CORPUS / "regressions" / target, found.get(target, {})):
            shutil.rmtree(folder, ignore_errors=True)
            folder.mkdir(parents=True)
            for name, data in files.items():
                (folder / name).write_bytes(data)
    files = [f for f in CORPUS.rglob("*") if f.is_file()]
    print(f"wrote {len(files)} files, {sum(f.stat().st_size for f in files)} bytes, under {CORPUS}")


if __name__ == "__main__":
    main()

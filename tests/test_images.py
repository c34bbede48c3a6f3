"""The ``images`` dataset plugin end to end: folders, zips, arrays and packed files through the real CLI
(``gancli train`` / ``gancli data prepare``) or through ``config.resolve`` + ``Session.build``.

Every image is made here with known pixels, so expected values are checked by hand. Training runs are
tiny (2 steps, ``--arch mlp``, 16×16, batch 8): they check the plumbing, not learning.
"""

from __future__ import annotations

import json
import re
import struct
import zipfile
import zlib
from pathlib import Path

import numpy as np
import pytest
from cli_helpers import ok, one_line_error
from gancli import kernels
from gancli.config import resolve
from gancli.data import packed
from gancli.data.base import DataRequest
from gancli.errors import GancliError
from gancli.plugins.manager import get_plugins
from gancli.train.session import Session
from PIL import Image

#: a 2-step run at the images' own size, and at 16 px
TINY_OWN_SIZE = [
    "--steps",
    "2",
    "--arch",
    "mlp",
    "--batch-size",
    "8",
    "--latent-dim",
    "4",
    "--device",
    "cpu",
    "--quiet",
]
TINY = [*TINY_OWN_SIZE, "--image-size", "16"]


@pytest.fixture(autouse=True)
def isolated(gancli) -> None:
    """Every test here works in its own folder with its own decoded-image cache (the ``gancli`` fixture's)."""


def trained(run: Path) -> bool:
    return (run / "config.json").is_file() and any((run / "checkpoints").glob("*.safetensors"))


def open_data(spec: Path | str, *set_items: str, **flags: object) -> np.ndarray:
    """The uint8 (N, C, H, W) images the ``images`` plugin hands a session for ``--data spec``."""
    plugins = get_plugins()
    resolved = resolve(plugins.registry, {"data": str(spec), "arch": "mlp", "device": "cpu", **flags}, None, set_items)
    return Session.build(resolved).data.images


def solid(color: tuple[int, ...] | int, size: tuple[int, int] = (20, 30)) -> Image.Image:
    """A uniform image (width, height = size): resizing and cropping leave its pixels unchanged."""
    mode = "L" if isinstance(color, int) else "RGB"
    return Image.new(mode, size, color)


def png_bytes(image: Image.Image) -> bytes:
    path = Path("scratch.png")
    image.save(path)
    data = path.read_bytes()
    path.unlink()
    return data


def bomb_png(width: int = 100_000, height: int = 100_000) -> bytes:
    """A well-formed PNG header that declares width × height RGB pixels, and almost no data."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"")) + chunk(b"IEND", b"")


def folder(root: Path, count: int = 3) -> Path:
    """``count`` solid RGB PNGs of colours (10 i, 20, 30) at the top of ``root``."""
    root.mkdir(parents=True, exist_ok=True)
    for i in range(count):
        solid((10 * i, 20, 30)).save(root / f"img{i}.png")
    return root


def cached_files() -> list[Path]:
    return sorted((Path.cwd() / "cache").glob("*.ganpack"))


# --- folders -------------------------------------------------------------------------------------------


def test_folder_is_searched_recursively_by_content(tmp_path: Path) -> None:
    root = tmp_path / "photos"
    (root / "sub" / "deeper").mkdir(parents=True)
    solid((10, 20, 30)).save(root / "a.png")
    solid(77).save(root / "c.jpg", format="PNG")  # a gray PNG with a JPEG's name
    solid((200, 100, 0)).save(root / "sub" / "deeper" / "b", format="BMP")  # no extension at all
    solid((1, 2, 3)).save(root / ".hidden.png")
    (root / ".git").mkdir()
    solid((4, 5, 6)).save(root / ".git" / "inside.png")
    (root / "notes.txt").write_text("not an image")
    (root / "data.csv").write_text("1,2,3\n")

    images = open_data(root, image_size=16)
    assert images.shape == (3, 3, 16, 16) and images.dtype == np.uint8
    # sorted by path: a.png, c.jpg, sub/deeper/b
    expected = [(10, 20, 30), (77, 77, 77), (200, 100, 0)]
    for image, color in zip(images, expected, strict=True):
        assert (image == np.array(color, dtype=np.uint8)[:, None, None]).all()
    gray = open_data(root, channels=1, image_size=8)
    assert gray.shape == (3, 1, 8, 8)
    assert gray[1].min() == gray[1].max() == 77


# --- zips ----------------------------------------------------------------------------------------------


def test_zip_of_images(tmp_path: Path) -> None:
    archive = tmp_path / "faces.zip"
    with zipfile.ZipFile(archive, "w", compression=zipfile.ZIP_DEFLATED) as z:
        z.writestr("set/", b"")
        z.writestr("set/a.png", png_bytes(solid((50, 60, 70))))
        z.writestr("set/b", png_bytes(solid(128)))  # found by content
        z.writestr("__MACOSX/set/._a.png", png_bytes(solid((9, 9, 9))))
        z.writestr(".DS_Store", b"\0\0\0\1Bud1")
        z.writestr("README.txt", "three images")
    images = open_data(archive, image_size=16)
    assert images.shape == (2, 3, 16, 16)
    assert (images[0] == np.array([50, 60, 70], dtype=np.uint8)[:, None, None]).all()
    assert (images[1] == 128).all()


def test_bad_zip_member_is_named(tmp_path: Path, gancli) -> None:
    archive = tmp_path / "faces.zip"
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("a.png", png_bytes(solid((50, 60, 70))))
        z.writestr("broken.png", png_bytes(solid((50, 60, 70)))[:40])
    one_line_error(gancli("train", "--data", archive, *TINY), f"{archive}:broken.png", "corrupt")
    (tmp_path / "fake.zip").write_bytes(b"PK\x03\x04 not really a zip")
    one_line_error(gancli("train", "--data", "fake.zip", *TINY), "fake.zip", "not a readable zip")


def test_a_zip_member_declaring_too_many_bytes_is_refused_unread(
    tmp_path: Path, gancli, monkeypatch: pytest.MonkeyPatch
) -> None:
    from gancli.data import images

    monkeypatch.setattr(images, "MAX_MEMBER_BYTES", 4096)  # the real limit is 256 MiB: too slow to build here
    archive = tmp_path / "bomb.zip"
    with zipfile.ZipFile(archive, "w", compression=zipfile.ZIP_DEFLATED) as z:
        z.writestr("a.png", png_bytes(solid(1)))
        z.writestr("bomb.png", b"\x89PNG\r\n\x1a\n" + bytes(8192))
    one_line_error(gancli("train", "--data", archive, *TINY), f"{archive}:bomb.png", "8200 bytes")


def lying_zip(path: Path, count: int, declared: int) -> None:
    """A zip of ``count`` tiny PNG-named members whose central directory declares ``declared`` uncompressed bytes
    each: a few kilobytes on disk that claim gigabytes, as a zip bomb does."""
    with zipfile.ZipFile(path, "w") as z:
        for i in range(count):
            z.writestr(f"m{i:02}.png", b"\x89PNG\r\n\x1a\n")
    data = bytearray(path.read_bytes())
    entry = data.find(b"PK\x01\x02")
    while entry != -1:
        struct.pack_into("<I", data, entry + 24, declared)  # the entry's uncompressed size
        entry = data.find(b"PK\x01\x02", entry + 46)
    path.write_bytes(bytes(data))


def test_a_zip_whose_images_declare_too_much_together_is_refused_unread(tmp_path: Path, gancli) -> None:
    from gancli.data import images

    per_member = images.MAX_MEMBER_BYTES  # each member is within its own limit ...
    count = images.MAX_ARCHIVE_BYTES // per_member + 1  # ... but together they pass the archive's
    lying_zip(tmp_path / "bomb.zip", count, per_member)
    assert (tmp_path / "bomb.zip").stat().st_size < 10_000
    one_line_error(
        gancli("train", "--data", "bomb.zip", *TINY),
        "bomb.zip: its images declare over 16 GiB uncompressed",
        f"passed at m{count - 1:02}.png",
    )


def test_zip_members_are_decoded_a_chunk_at_a_time(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    from gancli.data import images

    archive = tmp_path / "faces.zip"
    with zipfile.ZipFile(archive, "w") as z:
        for i in range(5):
            z.writestr(f"{i}.png", png_bytes(solid((40 * i, 20, 30))) if i != 2 else b"broken")
    monkeypatch.setattr(images, "DECODE_CHUNK_BYTES", 1)  # one member per chunk
    decoded = open_data(archive, "fit=crop", image_size=16, skip_bad=True)
    assert [int(image[0, 0, 0]) for image in decoded] == [0, 40, 120, 160]
    assert f"{archive}:2.png (not-an-image" in capsys.readouterr().err


PEAK_CHILD = """
import re, sys
from pathlib import Path

if sys.argv[1] == "torch":
    import torch  # what a training process holds besides: part of the baseline
from gancli.data import images

def kib(field):
    return int(re.search(field + r":\\s+(\\d+) kB", Path("/proc/self/status").read_text()).group(1))

for item in sys.argv[2:]:  # PATH@CHUNK: CHUNK bytes at a time, 0 for gancli's own chunk sizes
    path, _, chunk = item.rpartition("@")
    path = Path(path)
    if int(chunk):
        images.DECODE_CHUNK_BYTES = images.CONVERT_SLAB_BYTES = int(chunk)
    Path("/proc/self/clear_refs").write_text("5")  # the peak (VmHWM) starts again from here: the baseline
    before = kib("VmHWM")
    if path.suffix == ".zip":
        decoded = images.decode_zip(path, images.zip_members(path)[0], 16, 1, "crop", False).images
    else:
        decoded = images.load_array(path, "")
    print(decoded.nbytes, (kib("VmHWM") - before) * 1024)
    del decoded
"""


def peaks(*items: str, torch: bool = False) -> list[tuple[int, int]]:
    """(decoded bytes, peak memory added) of loading each ``PATH@CHUNK`` in one child process, in turn."""
    import subprocess
    import sys

    run = subprocess.run(
        [sys.executable, "-c", PEAK_CHILD, "torch" if torch else "-", *items], capture_output=True, text=True
    )
    assert run.returncode == 0, run.stderr
    return [(int(a), int(b)) for a, b in (line.split() for line in run.stdout.splitlines())]


def noise_zip(path: Path) -> None:
    """360 stored 256×256 RGB BMPs of noise: 70 MB, decoded to 16×16 gray."""
    bmp = path.with_suffix(".bmp")
    Image.fromarray(np.random.default_rng(0).integers(0, 256, (256, 256, 3), dtype=np.uint8)).save(bmp)
    with zipfile.ZipFile(path, "w") as z:
        for i in range(360):
            z.write(bmp, f"{i:03}.bmp")


def noise_npz(path: Path) -> None:
    """A float32 (64, 512, 512) array in [0, 1], stored: 64 MiB, decoded to 16 MiB of uint8."""
    np.savez(path, noise=np.random.default_rng(0).random((64, 512, 512), dtype=np.float32))


@pytest.mark.skipif(not Path("/proc/self/clear_refs").exists(), reason="measures peak memory through Linux's /proc")
@pytest.mark.parametrize("make", [noise_zip, noise_npz])
def test_peak_memory_is_the_decoded_images_plus_a_fixed_margin(tmp_path: Path, make) -> None:
    """Decoding a 64-70 MB zip or .npz raises peak memory by the decoded images plus a fixed margin (one chunk
    of DECODE_CHUNK_BYTES or CONVERT_SLAB_BYTES, 2 MiB here, and the buffers working on it), far less than the
    file: measured in a child process from its resident memory before decoding to its peak during it (Linux's
    VmHWM, reset first). With the whole file as one chunk the same measurement sees it all held at once."""
    path = tmp_path / f"noise.{make.__name__[-3:]}"
    make(path)
    stored = path.stat().st_size
    assert stored > 64 << 20

    (decoded, added), (_, added_at_once) = peaks(f"{path}@{2 << 20}", f"{path}@{stored}")
    assert added < decoded + (16 << 20), (decoded, added)
    assert added_at_once > 0.9 * stored, added_at_once


def write_deflated(path: Path, array: np.ndarray) -> None:
    """``np.savez_compressed`` at zlib's fastest level: the same deflate stream to read, a third of the time."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as z, z.open("images.npy", "w") as f:
        np.lib.format.write_array(f, array)


@pytest.mark.skipif(not Path("/proc/self/clear_refs").exists(), reason="measures peak memory through Linux's /proc")
def test_quarter_gigabyte_arrays_load_within_their_size_plus_a_fixed_margin(tmp_path: Path) -> None:
    """Issue 20 item 8: an .npz dataset must cost its decoded size plus a fixed margin, not a copy of itself. A
    child process that has imported torch (its resident memory then is the baseline, subtracted) loads, with
    gancli's own chunk sizes: 256 MiB of (N, H, W, C) uint8 stored and deflated, 128 MiB in Fortran order (read
    whole until the stream was read in its own order: +128 MiB) and a 128 MiB float32 .npy (converted from a
    memory map, whose pages all counted: +128 MiB). Each adds its decoded size and at most 64 MiB."""
    from gancli.data import images

    rng = np.random.default_rng(0)
    noise = rng.integers(0, 256, (16384, 64, 64, 4), dtype=np.uint8)  # 256 MiB
    np.savez(tmp_path / "stored.npz", images=noise)
    del noise
    ramps = (  # compressible, so that deflating it is quick
        np.arange(64, dtype=np.uint8)[None, :, None, None]
        + (np.arange(16384) % 7).astype(np.uint8)[:, None, None, None]
    )
    write_deflated(tmp_path / "deflated.npz", np.broadcast_to(ramps, (16384, 64, 64, 4)))
    np.savez(tmp_path / "fortran.npz", images=rng.integers(0, 256, (4, 64, 64, 8192), dtype=np.uint8).T)
    np.save(tmp_path / "floats.npy", rng.random((2048, 64, 64, 4), dtype=np.float32))
    assert np.load(tmp_path / "fortran.npz")["images"].flags.f_contiguous  # stored in Fortran order
    names = ["stored.npz", "deflated.npz", "fortran.npz", "floats.npy"]
    measured = dict(zip(names, peaks(*(f"{tmp_path / name}@0" for name in names), torch=True), strict=True))
    assert [decoded >> 20 for decoded, _ in measured.values()] == [256, 256, 128, 32]
    margins = {name: (added - decoded) >> 20 for name, (decoded, added) in measured.items()}
    assert all(margin < 4 * images.CONVERT_SLAB_BYTES >> 20 for margin in margins.values()), margins


# --- numpy arrays --------------------------------------------------------------------------------------


def test_npy_shapes_and_dtypes(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    gray = rng.integers(0, 256, (5, 16, 16), dtype=np.uint8)
    np.save(tmp_path / "gray.npy", gray)
    images = open_data(tmp_path / "gray.npy")
    assert images.shape == (5, 1, 16, 16) and (images[:, 0] == gray).all()

    hwc = rng.integers(0, 256, (4, 16, 16, 3), dtype=np.uint8)
    np.save(tmp_path / "hwc.npy", hwc)
    assert (open_data(tmp_path / "hwc.npy") == hwc.transpose(0, 3, 1, 2)).all()

    # Floats in [0, 1] and in [-1, 1] map to 0..255 (0.2 -> 51; -1 -> 0, 0.6 -> 204, 1 -> 255).
    np.save(tmp_path / "unit.npy", np.full((2, 1, 4, 4), 0.2, dtype=np.float32))
    assert (open_data(tmp_path / "unit.npy") == 51).all()
    signed = np.zeros((3, 4, 4), dtype=np.float64)
    signed[0], signed[1], signed[2] = -1.0, 0.6, 1.0
    np.save(tmp_path / "signed.npy", signed)
    assert open_data(tmp_path / "signed.npy")[:, 0, 0, 0].tolist() == [0, 204, 255]

    # RGBA is composited over black: (200, 100, 50) at alpha 128 becomes (100, 50, 25).
    np.save(tmp_path / "rgba.npy", np.tile(np.array([200, 100, 50, 128], np.uint8), (2, 6, 6, 1)))
    rgba = open_data(tmp_path / "rgba.npy")
    assert rgba.shape == (2, 3, 6, 6) and rgba[:, :, 0, 0].tolist() == [[100, 50, 25]] * 2

    # Not square: the centre square of the short side (crop), or the long side padded with black (pad).
    wide = np.zeros((1, 1, 4, 8), np.uint8)
    wide[..., 2:6] = 255
    np.save(tmp_path / "wide.npy", wide)
    assert (open_data(tmp_path / "wide.npy") == 255).all()
    padded = open_data(tmp_path / "wide.npy", "fit=pad")
    assert padded.shape == (1, 1, 8, 8) and not padded[0, 0, :2].any() and not padded[0, 0, 6:].any()

    # --image-size and --channels resize and convert with the decoder's filter and conversion.
    resized = open_data(tmp_path / "hwc.npy", image_size=8, channels=1)
    assert resized.shape == (4, 1, 8, 8)
    assert (resized == kernels.resize_images(hwc.transpose(0, 3, 1, 2), 8, 1)).all()


def test_bad_arrays_are_refused_by_name(tmp_path: Path) -> None:
    np.save(tmp_path / "range.npy", np.full((2, 4, 4), 3.5, dtype=np.float32))
    with pytest.raises(GancliError, match=r"range\.npy: float pixels must lie in \[0, 1\] or \[-1, 1\]"):
        open_data(tmp_path / "range.npy")
    np.save(tmp_path / "wide.npy", np.full((2, 4, 4), 300, dtype=np.int32))
    with pytest.raises(GancliError, match=r"wide\.npy: integer pixels must lie in 0\.\.255, found 300\.\.300"):
        open_data(tmp_path / "wide.npy")
    np.save(tmp_path / "flat.npy", np.zeros((10, 10), dtype=np.uint8))
    with pytest.raises(GancliError, match=r"flat\.npy: expected images .* got shape \(10, 10\)"):
        open_data(tmp_path / "flat.npy")
    (tmp_path / "junk.npy").write_bytes(b"\x93NUMPY garbage")
    with pytest.raises(GancliError, match=r"junk\.npy: not a readable numpy file"):
        open_data(tmp_path / "junk.npy")


def test_npz_with_several_arrays_needs_set_array(tmp_path: Path, gancli) -> None:
    np.savez(tmp_path / "pair.npz", real=np.full((3, 16, 16), 9, np.uint8), fake=np.full((3, 16, 16), 200, np.uint8))
    one_line_error(gancli("train", "--data", "pair.npz", *TINY), "pair.npz", "real, fake", "--set array=NAME")
    assert (open_data(tmp_path / "pair.npz", "array=fake") == 200).all()
    with pytest.raises(GancliError, match=r"no array 'other' \(has real, fake\)"):
        open_data(tmp_path / "pair.npz", "array=other")
    np.savez(tmp_path / "one.npz", only=np.full((2, 16, 16), 5, np.uint8))
    assert (open_data(tmp_path / "one.npz") == 5).all()


def npz_with_header(path: Path, shape: tuple[int, ...], data: bytes = b"") -> None:
    """An .npz whose one array ``x`` has a hand-written .npy header declaring ``shape`` of uint8, then ``data``."""
    header = repr({"descr": "|u1", "fortran_order": False, "shape": shape}).encode()
    header += b" " * (-(len(header) + 11) % 64) + b"\n"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("x.npy", b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header + data)


def test_an_npz_array_declaring_too_much_is_refused_before_loading(
    tmp_path: Path, gancli, monkeypatch: pytest.MonkeyPatch
) -> None:
    npz_with_header(tmp_path / "huge.npz", (100_000, 3, 1024, 1024))
    one_line_error(
        gancli("train", "--data", "huge.npz", *TINY),
        "huge.npz: array 'x' declares shape (100000, 3, 1024, 1024) of uint8",
        "over the 16 GiB limit",
    )
    npz_with_header(tmp_path / "short.npz", (1000, 64, 64), bytes(100))
    one_line_error(gancli("train", "--data", "short.npz", *TINY), "array 'x' declares 4096000 bytes but holds 228")

    from gancli.data import images

    monkeypatch.setattr(images, "MAX_ARCHIVE_BYTES", 1 << 20)  # the real limit is 16 GiB: too slow to build here
    np.savez_compressed(tmp_path / "zeros.npz", zeros=np.zeros((8, 512, 512), np.uint8))
    assert (tmp_path / "zeros.npz").stat().st_size < 10_000
    one_line_error(
        gancli("train", "--data", "zeros.npz", *TINY),
        "zeros.npz: array 'zeros' declares 2097280 bytes uncompressed, over the 1 MiB limit",
    )


def test_arrays_are_converted_a_slab_at_a_time(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from gancli.data import images

    monkeypatch.setattr(images, "CONVERT_SLAB_BYTES", 1)  # one image per slab
    values = np.linspace(0.0, 1.0, 5 * 4 * 4).reshape(5, 4, 4)
    np.save(tmp_path / "ramp.npy", values)
    assert (open_data(tmp_path / "ramp.npy")[:, 0] == np.round(values.astype(np.float32) * 255)).all()
    values[3, 1, 1] = -0.5  # one negative value anywhere makes the range [-1, 1]
    np.save(tmp_path / "signed.npy", values)
    assert open_data(tmp_path / "signed.npy")[0, 0, 0, 0] == 128
    np.save(tmp_path / "counts.npy", np.arange(5 * 16, dtype=np.int64).reshape(5, 4, 4) * 3)
    assert (open_data(tmp_path / "counts.npy")[:, 0] == np.arange(80).reshape(5, 4, 4) * 3).all()
    rgb = np.linspace(0.0, 1.0, 5 * 6 * 6 * 3).reshape(5, 6, 6, 3)
    expected = np.round(rgb.astype(np.float32) * 255).transpose(0, 3, 1, 2)
    np.savez_compressed(tmp_path / "rgb.npz", rgb=rgb)  # streamed from the member a slab at a time
    assert (open_data(tmp_path / "rgb.npz") == expected).all()
    np.savez(tmp_path / "fortran.npz", rgb=np.asfortranarray(rgb))  # streamed in its own order, a pixel at a time
    assert (open_data(tmp_path / "fortran.npz") == expected).all()
    np.save(tmp_path / "fortran.npy", np.asfortranarray(rgb))
    assert (open_data(tmp_path / "fortran.npy") == expected).all()
    gray = np.arange(5 * 6 * 6, dtype=np.uint8).reshape(5, 6, 6)
    np.save(tmp_path / "gray.npy", np.asfortranarray(gray))
    assert (open_data(tmp_path / "gray.npy")[:, 0] == gray).all()
    values[4, 3, 3] = np.nan
    np.save(tmp_path / "nan.npy", values)
    with pytest.raises(GancliError, match=r"nan\.npy: the array holds NaN"):
        open_data(tmp_path / "nan.npy")


# --- the decoded cache ---------------------------------------------------------------------------------


def test_cache_is_reused_then_invalidated_by_a_change(tmp_path: Path) -> None:
    root = folder(tmp_path / "imgs")
    first = open_data(root)
    (entry,) = cached_files()
    stamp = entry.stat().st_mtime_ns

    again = open_data(root)
    assert cached_files() == [entry] and entry.stat().st_mtime_ns == stamp  # not decoded nor written again
    assert isinstance(again, np.memmap) and Path(again.filename) == entry  # served from the cache file
    assert (again == first).all()

    solid((250, 20, 30), size=(24, 30)).save(root / "img1.png")  # new pixels (and a new file size)
    changed = open_data(root)
    assert (changed[1] == np.array([250, 20, 30], dtype=np.uint8)[:, None, None]).all()
    (new_entry,) = cached_files()  # the stale entry is replaced, not kept
    assert new_entry != entry

    other_size = open_data(root, image_size=8)
    assert other_size.shape == (3, 3, 8, 8) and len(cached_files()) == 2  # another form, another entry


def test_an_unwritable_cache_only_warns(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    root = folder(tmp_path / "imgs")
    (tmp_path / "a-file").write_text("")
    monkeypatch.setenv("GANCLI_CACHE", str(tmp_path / "a-file" / "cache"))
    assert open_data(root, image_size=8).shape == (3, 3, 8, 8)
    assert "warning: cannot cache decoded images in" in capsys.readouterr().err


# --- data prepare, then train on the packed file -------------------------------------------------------


def test_prepare_then_train_on_the_packed_file(tmp_path: Path, gancli) -> None:
    folder(tmp_path / "imgs", count=4)
    ok(gancli("data", "prepare", "imgs", "imgs.ganpack", "--image-size", "16"))
    dataset = packed.read_packed(tmp_path / "imgs.ganpack")
    assert dataset.images.shape == (4, 3, 16, 16) and dataset.source_count == 4
    assert (dataset.images[3] == np.array([30, 20, 30], dtype=np.uint8)[:, None, None]).all()
    ok(gancli("train", "--data", "imgs.ganpack", *TINY, "--out", "run"))
    assert trained(tmp_path / "run")
    assert json.loads((tmp_path / "run" / "config.json").read_text())["data"] == str(tmp_path / "imgs.ganpack")

    (tmp_path / "cut.ganpack").write_bytes((tmp_path / "imgs.ganpack").read_bytes()[:-100])
    one_line_error(gancli("train", "--data", "cut.ganpack", *TINY), "cut.ganpack", "truncated")


# --- bad files -----------------------------------------------------------------------------------------


BAD_FILES = {
    "empty.png": lambda: b"",
    "truncated.png": lambda: png_bytes(solid((1, 2, 3)))[:60],
    "corrupt.jpg": lambda: b"\xff\xd8\xff\xe0" + bytes(range(256)) * 4,
    "text.png": lambda: b"this is not a PNG at all\n",
}


@pytest.mark.parametrize("name", BAD_FILES)
def test_a_bad_file_stops_training_with_one_line_naming_it(tmp_path: Path, gancli, name: str) -> None:
    root = folder(tmp_path / "imgs")
    (root / name).write_bytes(BAD_FILES[name]())
    # --data is stored resolved, so errors name the absolute folder
    line = one_line_error(gancli("train", "--data", "imgs", *TINY), f"--data {root}: {root / name}")
    assert re.search(r"\((empty|corrupt|not-an-image)\); --skip-bad leaves unreadable files out$", line), line
    assert not (tmp_path / "runs").exists() or not any((tmp_path / "runs").iterdir())
    assert cached_files() == []


def test_skip_bad_trains_and_reports_what_it_skipped(tmp_path: Path, gancli) -> None:
    root = folder(tmp_path / "imgs")
    for name, make in BAD_FILES.items():
        (root / name).write_bytes(make())
    result = gancli("train", "--data", "imgs", *TINY, "--skip-bad", "--out", "run")
    ok(result)
    assert trained(tmp_path / "run")
    (report,) = [line for line in result.stderr.splitlines() if line.startswith("skipped")]
    assert report.startswith("skipped 4 of 7 image files (2 corrupt, 1 empty, 1 not-an-image): ")
    for name in BAD_FILES:
        assert f"imgs/{name}" in report
    assert "empty" in report and "corrupt" in report and "not-an-image" in report
    assert cached_files() == []  # not cached, so the next run names them again
    result = gancli("train", "--data", "imgs", *TINY, "--skip-bad", "--out", "run2")
    assert "skipped 4 of 7 image files" in ok(result)


def test_decompression_bomb_is_refused_by_name(tmp_path: Path, gancli) -> None:
    root = folder(tmp_path / "imgs")
    (root / "bomb.png").write_bytes(bomb_png())
    one_line_error(
        gancli("train", "--data", "imgs", *TINY), "imgs/bomb.png", "100000x100000", "more than the limit", "too-large"
    )


def test_only_bad_files_is_an_error_even_with_skip_bad(tmp_path: Path, gancli) -> None:
    (tmp_path / "imgs").mkdir()
    (tmp_path / "imgs" / "empty.png").write_bytes(b"")
    result = gancli("train", "--data", "imgs", *TINY, "--skip-bad")
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert result.stderr.splitlines() == [
        f"skipped 1 of 1 image files (1 empty): {tmp_path / 'imgs' / 'empty.png'} (empty: file is empty)",
        f"error: --data {tmp_path / 'imgs'}: no readable images found",
    ]
    (tmp_path / "none").mkdir()
    (tmp_path / "none" / "notes.txt").write_text("hello")
    one_line_error(gancli("train", "--data", "none", *TINY), f"--data {tmp_path / 'none'}: no readable images found")


def test_broken_links_are_counted_and_named_on_every_load(tmp_path: Path, gancli) -> None:
    """Links to images that moved (icon themes hold such) stop the run naming the first, where it points and how
    many there are, or with --skip-bad are counted and named on every run: a source holding any is never cached."""
    root = folder(tmp_path / "imgs")
    (root / "gone.png").symlink_to("../elsewhere/gone.png")
    (root / "lost.png").symlink_to("missing.png")
    first = f"{root / 'gone.png'}: broken symbolic link to ../elsewhere/gone.png (io)"
    one_line_error(gancli("train", "--data", "imgs", *TINY), f"{first}; 2 unreadable image files in all; --skip-bad")
    report = (
        f"skipped 2 of 5 image files (2 io): {root / 'gone.png'} (io: broken symbolic link to ../elsewhere/gone.png); "
        f"{root / 'lost.png'} (io: broken symbolic link to missing.png)"
    )
    for out in ("run", "run2"):
        assert report in ok(gancli("train", "--data", "imgs", *TINY, "--skip-bad", "--out", out))
    assert cached_files() == []


def test_files_in_formats_not_read_are_counted_on_every_load_folder_and_zip(tmp_path: Path, gancli) -> None:
    """An icon theme's SVG and XPM icons beside its PNGs: left out, counted by extension on every load (a cached one
    too), not silently; a README is not an image, nor a hidden file, and a PNG named .svg is read as the PNG it is."""
    root = folder(tmp_path / "icons", count=3)
    (root / "scalable").mkdir()
    for name in ("a.svg", "b.svg", "scalable/c.svg", "d.xpm", "scalable/e.TIFF", ".hidden.svg"):
        (root / name).write_text("<svg/>")
    (root / "README").write_text("icons")
    solid((1, 2, 3)).save(root / "png-named.svg", format="PNG")
    line = "files in formats gancli does not read left out (3 .svg, 1 .tiff, 1 .xpm); it reads PNG"
    for out in ("run", "run2"):  # decoded, then read from the cache
        result = gancli("train", "--data", "icons", *TINY, "--out", out)
        assert f"--data {root}: 5 {line}" in " ".join(result.stderr.split())
    assert len(cached_files()) == 1
    with zipfile.ZipFile(tmp_path / "icons.zip", "w") as archive:
        for file in sorted(root.rglob("*")):
            archive.write(file, file.relative_to(root).as_posix())
    result = gancli("train", "--data", "icons.zip", *TINY, "--out", "zipped")
    assert f"5 {line}" in " ".join(result.stderr.split())
    assert "4 examples" in " ".join(ok(gancli("train", "--data", "icons", *TINY, "--dry-run")).split())


# --- transparency ----------------------------------------------------------------------------------------


def test_transparent_pixels_lie_over_the_background(tmp_path: Path) -> None:
    """RGBA, gray + alpha and palette images are composited over --background (black unless set); each background
    is its own cache entry, black and #000000 the same one."""
    root = tmp_path / "icons"
    root.mkdir()
    Image.new("RGBA", (8, 8), (200, 100, 50, 128)).save(root / "a-rgba.png")
    Image.new("LA", (8, 8), (100, 0)).save(root / "b-gray-alpha.png")
    palette = Image.new("P", (8, 8), 0)
    palette.putpalette([10, 20, 30, 40, 50, 60])
    palette.putpixel((0, 0), 1)
    palette.save(root / "c-palette.png", transparency=0)
    # (200, 100, 50) at alpha 128 over white: (200·128 + 255·127) / 255 = 227.4, …
    half = {"black": (100, 50, 25), "white": (227, 177, 152), "#FF8000": (227, 114, 25)}
    for background, colour in [("black", (0, 0, 0)), ("white", (255, 255, 255)), ("#FF8000", (255, 128, 0))]:
        flags = {} if background == "black" else {"background": background}
        rgba, gray_alpha, indexed = open_data(root, **flags)
        assert tuple(rgba[:, 3, 3]) == half[background] and tuple(gray_alpha[:, 3, 3]) == colour
        assert tuple(indexed[:, 0, 0]) == (40, 50, 60) and tuple(indexed[:, 3, 3]) == colour
    assert len(cached_files()) == 3
    open_data(root, background="#000000")
    assert len(cached_files()) == 3  # black by another name


def test_padding_and_arrays_take_the_background_too(tmp_path: Path) -> None:
    root = folder(tmp_path / "imgs", count=1)  # 20 wide, 30 high: padded left and right
    (padded,) = open_data(root, "fit=pad", background="white")
    assert padded.shape == (3, 30, 30) and (padded[:, :, :5] == 255).all() and (padded[:, :, 25:] == 255).all()
    assert (padded[:, :, 5:25] == np.array([0, 20, 30], dtype=np.uint8)[:, None, None]).all()
    rgba = np.zeros((2, 5, 5, 4), dtype=np.uint8)  # (N, H, W, RGBA), fully transparent
    np.save(tmp_path / "clear.npy", rgba)
    assert (open_data(tmp_path / "clear.npy", background="#102030") == np.array([16, 32, 48])[:, None, None]).all()


def test_the_background_and_its_default_are_in_the_help(gancli) -> None:
    text = re.sub(r"[\s│|]", "", ok(gancli("train", "--help")))  # the help's wrapped lines, joined
    assert "--background" in text and "black,whiteor#rrggbb(default:black)" in text


# --- the images' own size --------------------------------------------------------------------------------


def test_a_folder_trains_at_its_images_own_size_and_says_so(tmp_path: Path, gancli) -> None:
    """12-px icons train at 12 px (not 64), and the printed configuration and config.json say the size used."""
    root = tmp_path / "icons"
    root.mkdir()
    for i in range(3):
        solid((10 * i, 20, 30), size=(12, 12)).save(root / f"{i}.png")
    loud = [flag for flag in TINY_OWN_SIZE if flag != "--quiet"]  # --quiet prints no configuration
    shown = ok(gancli("train", "--data", "icons", *loud, "--out", "run"))
    assert re.search(r"^image_size\s+12\s", shown, re.M) and re.search(r"^channels\s+3\s", shown, re.M)
    assert "decoded at" not in shown  # all one size: nothing to explain
    config = json.loads((tmp_path / "run" / "config.json").read_text())
    assert (config["image_size"], config["channels"]) == (12, 3)
    checkpoint = json.loads((tmp_path / "run" / "checkpoints" / "step-00000002.json").read_text())
    assert checkpoint["data"]["shape"] == [3, 12, 12]


def test_mixed_sizes_take_the_most_common_and_say_so(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = tmp_path / "mixed"
    root.mkdir()
    for i, side in enumerate((12, 12, 8)):
        solid((10 * i, 20, 30), size=(side, side + 4)).save(root / f"{i}.png")  # short sides 12, 12, 8
    assert open_data(root).shape == (3, 3, 12, 12)
    said = capsys.readouterr().err
    rule = "decoded at 12×12, the most common, 12 px (2 of 3 images); --image-size N chooses"
    assert f"--data {root}: short sides from 8 to 12 px: {rule}" in said
    assert open_data(root).shape == (3, 3, 12, 12)  # from the cache, said again
    assert rule in capsys.readouterr().err
    assert open_data(root, "fit=pad").shape == (3, 3, 16, 16)  # long sides 16, 16, 12
    archive = tmp_path / "mixed.zip"
    with zipfile.ZipFile(archive, "w") as z:
        for i, side in enumerate((8, 12, 8)):
            z.writestr(f"{i}.png", png_bytes(solid(i, size=(side, side))))
    assert open_data(archive).shape == (3, 3, 8, 8)
    big = tmp_path / "big"
    big.mkdir()
    solid(5, size=(300, 300)).save(big / "a.png")
    assert open_data(big).shape == (1, 3, 256, 256)
    assert "short sides of 300 px: decoded at 256×256, at most 256 unless asked" in capsys.readouterr().err


def test_a_run_saved_without_its_image_size_resumes_at_its_checkpoint_s(tmp_path: Path, gancli) -> None:
    """Runs saved before the size used was recorded (image_size null: folders were decoded at 64 px then) go on at
    the size their checkpoint holds, not at the images' own."""
    folder(tmp_path / "imgs")  # 20 × 30: their own size would be 20
    ok(gancli("train", "--data", "imgs", *TINY, "--out", "run"))
    saved = tmp_path / "run" / "config.json"
    saved.write_text(json.dumps({**json.loads(saved.read_text()), "image_size": None}))
    ok(gancli("train", "--resume", "run", "--steps", "3", "--quiet"))
    assert json.loads(saved.read_text())["image_size"] == 16


# --- flags ---------------------------------------------------------------------------------------------


def test_augment_trains_end_to_end(tmp_path: Path, gancli) -> None:
    folder(tmp_path / "imgs")
    ok(gancli("train", "--data", "imgs", *TINY, "--augment", "flip,translate=0.125", "--out", "run"))
    assert trained(tmp_path / "run")
    config = json.loads((tmp_path / "run" / "config.json").read_text())
    assert config["augment"] == "flip,translate=0.125"


def test_dcgan_trains_on_a_folder(tmp_path: Path, gancli) -> None:
    folder(tmp_path / "imgs")
    args = [a if a != "mlp" else "dcgan" for a in TINY]
    ok(gancli("train", "--data", "imgs", *args, "--augment", "flip,cutout=0.25", "--out", "run"))
    assert trained(tmp_path / "run")


@pytest.mark.parametrize(
    ("flags", "needles"),
    [
        (["--augment", "flip,rotate=3"], ["--augment 'flip,rotate=3'", "unknown augmentation 'rotate=3'"]),
        (["--augment", "translate=2"], ["--augment 'translate=2'", "magnitude must be in [0, 1.0]"]),
        (["--set", "fit=stretch"], ["--set images.fit must be one of 'crop', 'pad', got 'stretch'"]),
        (["--image-size", "0"], ["--image-size must be between 1 and 8192, got 0"]),
        (["--image-size", "100000"], ["--image-size must be between 1 and 8192, got 100000"]),
        (["--background", "pink"], ["--background: expected black, white or #rrggbb, got 'pink'"]),
    ],
)
def test_bad_flags_are_one_line_errors_naming_the_flag(tmp_path: Path, gancli, flags, needles) -> None:
    folder(tmp_path / "imgs")
    one_line_error(gancli("train", "--data", "imgs", *TINY, *flags), *needles)


def test_image_source_checks_augment_for_every_image_dataset() -> None:
    """A third-party dataset handing its images to ImageSource gets --augment checked and applied."""
    from gancli.data import ImageSource

    images = np.arange(16, dtype=np.uint8).reshape(1, 1, 4, 4)  # one image: every batch is two copies of it
    with pytest.raises(GancliError, match=r"^--augment 'flip@2': bad augmentation 'flip@2': probability"):
        ImageSource("mine", images, "flip@2")

    def pixels(source: ImageSource) -> np.ndarray:
        return np.round((source.batch(2, np.random.default_rng(0)).numpy() + 1) * 127.5)

    assert (pixels(ImageSource("mine", images, "flip@1")) == np.flip(images, axis=-1)).all()
    assert (pixels(ImageSource("mine", images)) == images).all()


def test_augment_is_checked_for_digits_too(gancli) -> None:
    one_line_error(gancli("train", "--data", "digits", *TINY, "--augment", "flip@2"), "--augment 'flip@2'")


# --- the data's fingerprint -----------------------------------------------------------------------------------


def test_an_image_dataset_s_fingerprint_is_the_xxh3_of_its_pixels_read_in_place(tmp_path: Path) -> None:
    """A packed file's pixels are hashed where they are mapped: the fingerprint is the checksum its header holds.
    One changed bit changes it; a non-contiguous array hashes as its contiguous copy; generated points have none."""
    from gancli.data.base import ImageSource
    from gancli.data.mixtures import GaussianMixture, ring

    images = np.random.default_rng(0).integers(0, 256, (10, 3, 8, 8), dtype=np.uint8)
    packed.write_packed(tmp_path / "a.ganpack", images, source="test", source_count=10)
    registry = get_plugins().registry
    data = registry.get("dataset", "images").create(str(tmp_path / "a.ganpack"), DataRequest(), options={})
    assert isinstance(data.images, np.memmap)
    header = packed.read_packed(tmp_path / "a.ganpack").checksum
    assert data.fingerprint() == f"xxh3:{header:016x}" == f"xxh3:{kernels.checksum(images):016x}"
    flipped = images.copy()
    flipped[3, 1, 4, 5] ^= 1
    assert ImageSource("b", flipped).fingerprint() != data.fingerprint()
    wide = np.zeros((10, 3, 8, 16), np.uint8)
    wide[..., ::2] = images
    assert ImageSource("view", wide[..., ::2]).fingerprint() == data.fingerprint()
    assert GaussianMixture("ring8", ring(8, 1.0), 0.01).fingerprint() is None


def test_a_folder_gets_the_recipe_the_images_dataset_recommends(tmp_path: Path, gancli) -> None:
    """README "Your own images": the digits' learning rate, lazy R1 and G's moving average, shown with where they
    came from by --dry-run; any flag overrides them."""
    root = tmp_path / "icons"
    root.mkdir()
    for i in range(3):
        solid((10 * i, 20, 30), size=(12, 12)).save(root / f"{i}.png")
    shown = ok(gancli("train", "--data", "icons", "--lr", "3e-4", "--dry-run"))
    for name, value in (("r1", "1"), ("r1_every", "16"), ("ema", "0.998")):
        assert re.search(rf"^{name}\s+{value}\s+recommended by dataset images", shown, re.M), name
    assert re.search(r"^lr\s+0.0003\s+--lr", shown, re.M)

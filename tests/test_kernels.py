"""Tests for gancli.kernels (decoding, sniffing, bad files, augmentation, PNG grids, APNG) and the packed file
format in gancli.data.packed.

Every image is made here (Pillow, or by hand for PNG variants Pillow cannot write); values are
compared with Pillow's decoding, numpy-built expectations or torchvision where it is installed.
"""

from __future__ import annotations

import io
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
from gancli import kernels
from gancli.data import packed
from PIL import Image

RNG = np.random.default_rng(1234)


def smooth_rgb(height: int, width: int, seed: int = 0) -> np.ndarray:
    """A smooth colourful image (JPEG- and resize-friendly, no flat areas)."""
    y, x = np.mgrid[0:height, 0:width].astype(np.float64)
    phase = seed * 0.7
    r = 127.5 + 127.5 * np.sin(x / 7.0 + phase)
    g = 127.5 + 127.5 * np.cos(y / 9.0 - phase)
    b = 127.5 + 127.5 * np.sin((x + y) / 11.0)
    return np.stack([r, g, b], axis=-1).round().astype(np.uint8)


def luma(rgb: np.ndarray) -> np.ndarray:
    """Pillow's fixed-point RGB -> L conversion."""
    r, g, b = (rgb[..., i].astype(np.int64) for i in range(3))
    return ((r * 19595 + g * 38470 + b * 7471 + 0x8000) >> 16).astype(np.uint8)


def over(values: np.ndarray, alpha: np.ndarray, background: tuple[int, int, int] = (0, 0, 0)) -> np.ndarray:
    """``values`` (..., 3 or 1) composited with ``alpha`` over ``background`` in RGB (..., 3), rounded."""
    under = np.asarray(background, dtype=np.float64)
    weight = alpha[..., None].astype(np.float64)
    return np.round((values.astype(np.float64) * weight + under * (255.0 - weight)) / 255.0).astype(np.uint8)


def chw(hwc: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(hwc.transpose(2, 0, 1)) if hwc.ndim == 3 else hwc[None]


def png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def handmade_png(samples: np.ndarray, bit_depth: int, color_type: int) -> bytes:
    """A PNG written by hand (for 16-bit RGB, which Pillow cannot save)."""
    height, width = samples.shape[:2]
    dtype = ">u2" if bit_depth == 16 else "u1"
    rows = samples.astype(dtype).reshape(height, -1).view(np.uint8)
    raw = b"".join(b"\x00" + row.tobytes() for row in rows)
    ihdr = struct.pack(">IIBBBBB", width, height, bit_depth, color_type, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + png_chunk(b"IHDR", ihdr)
        + png_chunk(b"IDAT", zlib.compress(raw))
        + png_chunk(b"IEND", b"")
    )


def decode_one(path: Path, size: int, channels: int, fit: str = "crop", background: str = "black") -> np.ndarray:
    return kernels.decode_images([path], size, channels, fit=fit, background=background).images[0]


# ----------------------------------------------------------------------------------------------- PNG


def pillow_png_cases(tmp: Path, background: tuple[int, int, int]) -> dict[str, tuple[Path, np.ndarray]]:
    """name -> (file, expected RGB (H, W, 3), alpha composited over ``background``)."""
    h, w = 13, 17
    rgb = RNG.integers(0, 256, (h, w, 3), dtype=np.uint8)
    alpha = RNG.integers(0, 256, (h, w), dtype=np.uint8)
    gray = RNG.integers(0, 256, (h, w), dtype=np.uint8)
    cases: dict[str, tuple[Path, np.ndarray]] = {}

    Image.fromarray(gray).save(tmp / "gray.png")
    cases["gray"] = (tmp / "gray.png", np.repeat(gray[..., None], 3, axis=-1))
    Image.fromarray(rgb).save(tmp / "rgb.png")
    cases["rgb"] = (tmp / "rgb.png", rgb)
    Image.fromarray(np.dstack([rgb, alpha])).save(tmp / "rgba.png")
    cases["rgba"] = (tmp / "rgba.png", over(rgb, alpha, background))
    Image.fromarray(np.dstack([gray, alpha, gray, alpha])).convert("LA").save(tmp / "la.png")
    la = np.asarray(Image.open(tmp / "la.png"))
    assert Image.open(tmp / "la.png").mode == "LA"
    cases["gray_alpha"] = (tmp / "la.png", over(la[..., :1], la[..., 1], background))

    palette = Image.fromarray(rgb).quantize(colors=16)
    palette.info["transparency"] = 3
    palette.save(tmp / "palette.png", transparency=3)
    rgba = np.asarray(Image.open(tmp / "palette.png").convert("RGBA"))
    assert (rgba[..., 3] == 0).any() and (rgba[..., 3] == 255).any()
    cases["palette_transparency"] = (tmp / "palette.png", over(rgba[..., :3], rgba[..., 3], background))

    gray16 = RNG.integers(0, 65536, (h, w), dtype=np.uint16)
    (tmp / "gray16.png").write_bytes(handmade_png(gray16, 16, 0))
    pillow16 = np.asarray(Image.open(tmp / "gray16.png")).astype(np.uint16)
    assert np.array_equal(pillow16, gray16)
    cases["gray16"] = (tmp / "gray16.png", np.repeat((gray16 >> 8).astype(np.uint8)[..., None], 3, axis=-1))

    rgb16 = RNG.integers(0, 65536, (h, w, 3), dtype=np.uint16)
    (tmp / "rgb16.png").write_bytes(handmade_png(rgb16, 16, 2))
    high = (rgb16 >> 8).astype(np.uint8)
    assert np.array_equal(np.asarray(Image.open(tmp / "rgb16.png").convert("RGB")), high)
    cases["rgb16"] = (tmp / "rgb16.png", high)
    return cases


BACKGROUNDS = {"black": (0, 0, 0), "white": (255, 255, 255), "#FF8000": (255, 128, 0)}


@pytest.mark.parametrize("background", BACKGROUNDS)
@pytest.mark.parametrize("channels", [1, 3])
def test_png_pixels_equal_pillow_exactly(tmp_path: Path, channels: int, background: str) -> None:
    """Pillow's pixels, transparent ones (RGBA, gray + alpha, palette with tRNS) over the background in RGB; gray
    is the luma of that, as Pillow's alpha_composite onto a solid image and then convert("L") give."""
    for name, (path, expected_rgb) in pillow_png_cases(tmp_path, BACKGROUNDS[background]).items():
        got = kernels.decode_image(path.read_bytes(), channels=channels, background=background)
        expected = expected_rgb if channels == 3 else luma(expected_rgb)[..., None]
        assert np.array_equal(got, expected), name


def test_png_batch_same_size_is_exact(tmp_path: Path) -> None:
    images = [RNG.integers(0, 256, (16, 16, 3), dtype=np.uint8) for _ in range(5)]
    paths = []
    for i, image in enumerate(images):
        paths.append(tmp_path / f"{i}.png")
        Image.fromarray(image).save(paths[-1])
    batch = kernels.decode_images(paths, 16, 3, threads=2)
    assert batch.images.dtype == np.uint8 and batch.images.shape == (5, 3, 16, 16)
    assert batch.skipped == []
    assert np.array_equal(batch.images, np.stack([chw(i) for i in images]))
    gray = kernels.decode_images(paths, 16, 1).images
    assert np.array_equal(gray[:, 0], np.stack([luma(i) for i in images]))


# ---------------------------------------------------------------------------------------------- JPEG


@pytest.mark.parametrize("mode", ["RGB", "L", "CMYK"])
def test_jpeg_close_to_pillow(tmp_path: Path, mode: str) -> None:
    image = Image.fromarray(smooth_rgb(48, 64)).convert(mode)
    path = tmp_path / f"img_{mode}.jpg"
    image.save(path, quality=92)
    expected = np.asarray(Image.open(path).convert("RGB")).astype(np.int16)
    got = kernels.decode_image(path.read_bytes(), channels=3).astype(np.int16)
    diff = np.abs(got - expected)
    assert diff.mean() < 1.5, (mode, diff.mean())
    assert np.percentile(diff, 99) <= 6, mode
    gray = kernels.decode_image(path.read_bytes(), channels=1)[..., 0].astype(np.int16)
    assert np.abs(gray - np.asarray(Image.open(path).convert("L")).astype(np.int16)).mean() < 1.5


# -------------------------------------------------------------------------------------------- resize


def test_crop_resize_close_to_pillow_bicubic(tmp_path: Path) -> None:
    source = smooth_rgb(97, 131, seed=3)
    path = tmp_path / "wide.png"
    Image.fromarray(source).save(path)
    side = 97
    left = (131 - side) / 2
    expected = np.asarray(
        Image.fromarray(source).resize((32, 32), Image.Resampling.BICUBIC, box=(left, 0, left + side, side))
    )
    got = decode_one(path, 32, 3)
    diff = np.abs(got.astype(np.int16) - chw(expected).astype(np.int16))
    assert diff.max() <= 2 and diff.mean() < 0.5


@pytest.mark.parametrize(("fit", "shape"), [("crop", (200, 256)), ("pad", (120, 256)), ("crop", (256, 200))])
def test_jpeg_downscale_close_to_pillow(tmp_path: Path, fit: str, shape: tuple[int, int]) -> None:
    """Large reductions decode JPEGs at 1/2-1/8 scale in the DCT domain; the result stays close."""
    path = tmp_path / "big.jpg"
    Image.fromarray(smooth_rgb(*shape, seed=2)).save(path, quality=95)
    full = kernels.decode_image(path.read_bytes(), channels=3)
    h, w = shape
    if fit == "crop":
        side = min(w, h)
        left, top = (w - side) / 2, (h - side) / 2
        box = (left, top, left + side, top + side)
        expected = chw(np.asarray(Image.fromarray(full).resize((32, 32), Image.Resampling.BICUBIC, box=box)))
        got = decode_one(path, 32, 3, fit=fit)
    else:
        size = (32, round(32 * h / w)) if w >= h else (round(32 * w / h), 32)
        expected = chw(np.asarray(Image.fromarray(full).resize(size, Image.Resampling.BICUBIC)))
        got = decode_one(path, 32, 3, fit=fit)
        y0 = (32 - size[1]) // 2
        got = got[:, y0 : y0 + size[1]]
    diff = np.abs(got.astype(np.int16) - expected.astype(np.int16))
    assert diff.mean() < 2.0 and np.percentile(diff, 99) <= 10, (diff.mean(), diff.max())


def test_pad_resize_keeps_aspect_and_pads_with_the_background(tmp_path: Path) -> None:
    source = smooth_rgb(40, 80, seed=5)
    path = tmp_path / "pad.png"
    Image.fromarray(source).save(path)
    got = decode_one(path, 32, 3, fit="pad")
    expected = chw(np.asarray(Image.fromarray(source).resize((32, 16), Image.Resampling.BICUBIC)))
    assert not got[:, :8].any() and not got[:, 24:].any()
    assert np.abs(got[:, 8:24].astype(np.int16) - expected.astype(np.int16)).max() <= 2
    orange = decode_one(path, 32, 3, fit="pad", background="#ff8000")
    assert np.array_equal(orange[:, 8:24], got[:, 8:24])
    for plane, fill in zip(orange, (255, 128, 0), strict=True):
        assert (plane[:8] == fill).all() and (plane[24:] == fill).all()
    gray = np.ascontiguousarray(source[None, None, :, :, 0])  # one gray image, made RGB plane by plane
    padded = kernels.resize_images(gray, 32, 3, fit="pad", background="#ff8000")[0]
    for plane, fill in zip(padded, (255, 128, 0), strict=True):
        assert (plane[:8] == fill).all() and (plane[24:] == fill).all() and (plane[8:24] == padded[0, 8:24]).all()


def test_upscaling_small_images(tmp_path: Path) -> None:
    path = tmp_path / "tiny.png"
    Image.fromarray(np.full((3, 5, 3), 99, dtype=np.uint8)).save(path)
    assert np.all(decode_one(path, 16, 3) == 99)


def pillow_resize(hwc: np.ndarray, size: int, fit: str) -> np.ndarray:
    """Pillow's BICUBIC resize of the centre square (crop) or of the whole image (pad, unpadded), CHW."""
    image = Image.fromarray(hwc)
    w, h = image.size
    if fit == "crop":
        side = min(w, h)
        left, top = (w - side) / 2, (h - side) / 2
        box = (left, top, left + side, top + side)
        return chw(np.asarray(image.resize((size, size), Image.Resampling.BICUBIC, box=box)))
    scaled = (size, round(size * h / w)) if w >= h else (round(size * w / h), size)
    return chw(np.asarray(image.resize(scaled, Image.Resampling.BICUBIC)))


@pytest.mark.parametrize(("fit", "shape"), [("crop", (40, 56)), ("crop", (56, 40)), ("pad", (30, 60))])
def test_resize_images_close_to_pillow_bicubic(fit: str, shape: tuple[int, int]) -> None:
    sources = [smooth_rgb(*shape, seed=seed) for seed in range(3)]
    batch = np.stack([chw(s) for s in sources])
    got = kernels.resize_images(batch, 24, 3, fit=fit)
    assert got.shape == (3, 3, 24, 24) and got.dtype == np.uint8
    for ours, source in zip(got, sources, strict=True):
        expected = pillow_resize(source, 24, fit)
        if fit == "pad":  # 60 wide, 30 high: rows 6..18 hold the image, the rest is black
            assert not ours[:, :6].any() and not ours[:, 18:].any()
            ours = ours[:, 6:18]
        diff = np.abs(ours.astype(np.int16) - expected.astype(np.int16))
        assert diff.max() <= 2 and diff.mean() < 0.5, (diff.max(), diff.mean())
    assert np.array_equal(kernels.resize_images(batch, 24, 3, fit=fit, threads=1), got)


def test_resize_images_equals_decoding_the_same_pixels(tmp_path: Path) -> None:
    """One filter and one channel conversion: resizing an array is decoding its lossless PNG."""
    rgba = RNG.integers(0, 256, (4, 19, 23, 4), dtype=np.uint8)
    for planes in (4, 3):
        paths = [tmp_path / f"{planes}-{i}.png" for i in range(len(rgba))]
        for path, image in zip(paths, rgba, strict=True):
            Image.fromarray(image[..., :planes]).save(path)
        batch = np.ascontiguousarray(rgba[..., :planes].transpose(0, 3, 1, 2))
        for channels, fit in [(3, "crop"), (1, "pad"), (3, "pad"), (1, "crop")]:
            decoded = kernels.decode_images(paths, 8, channels, fit=fit).images
            got = kernels.resize_images(batch, 8, channels, fit=fit)
            assert np.array_equal(got, decoded), (planes, channels, fit)


def test_resize_images_converts_channels() -> None:
    rgb = np.stack([smooth_rgb(20, 20, seed=s) for s in range(2)])
    alpha = RNG.integers(0, 256, (2, 20, 20), dtype=np.uint8)
    # RGB to gray is Pillow's luma before resizing; at the same size nothing is filtered.
    gray = kernels.resize_images(np.ascontiguousarray(rgb.transpose(0, 3, 1, 2)), 20, 1)
    assert np.array_equal(gray[:, 0], luma(rgb))
    # Gray to RGB repeats the resized gray (a non-contiguous view is accepted).
    to_rgb = kernels.resize_images(gray.transpose(0, 1, 3, 2), 12, 3)
    assert to_rgb.shape == (2, 3, 12, 12)
    assert np.array_equal(to_rgb[:, 0], to_rgb[:, 1]) and np.array_equal(to_rgb[:, 0], to_rgb[:, 2])
    expected = pillow_resize(np.ascontiguousarray(luma(rgb)[0].T), 12, "crop")
    assert np.abs(to_rgb[0, :1].astype(np.int16) - expected.astype(np.int16)).max() <= 2
    # RGBA and gray + alpha are composited over the background, black unless given.
    rgba = np.concatenate([rgb.transpose(0, 3, 1, 2), alpha[:, None]], axis=1)
    assert np.array_equal(kernels.resize_images(rgba, 20, 3), over(rgb, alpha).transpose(0, 3, 1, 2))
    orange = kernels.resize_images(rgba, 20, 3, background="#ff8000")
    assert np.array_equal(orange, over(rgb, alpha, (255, 128, 0)).transpose(0, 3, 1, 2))
    gray_alpha = np.stack([rgb[..., 0], alpha], axis=1)
    assert np.array_equal(kernels.resize_images(gray_alpha, 20, 1)[:, 0], over(rgb[..., :1], alpha)[..., 0])


def test_resize_images_refuses_bad_input() -> None:
    with pytest.raises(ValueError, match="1 to 4 channels"):
        kernels.resize_images(np.zeros((1, 5, 4, 4), np.uint8), 4, 3)
    with pytest.raises(ValueError, match="uint8"):
        kernels.resize_images(np.zeros((1, 3, 4, 4), np.float32), 4, 3)
    with pytest.raises(ValueError, match="uint8"):
        kernels.resize_images(np.zeros((3, 4, 4), np.uint8), 4, 3)
    with pytest.raises(ValueError, match="channels"):
        kernels.resize_images(np.zeros((1, 3, 4, 4), np.uint8), 4, 2)
    with pytest.raises(ValueError, match="empty"):
        kernels.resize_images(np.zeros((1, 3, 0, 4), np.uint8), 4, 3)
    with pytest.raises(ValueError, match="size 8193 makes 8193x8193 images, more than the limit of 67108864"):
        kernels.resize_images(np.zeros((1, 1, 2, 2), np.uint8), 8193, 1)
    with pytest.raises(ValueError, match="more than the limit of 63 pixels"):
        kernels.decode_images([], 8, 3, max_pixels=63)
    assert kernels.resize_images(np.zeros((0, 3, 5, 5), np.uint8), 4, 1).shape == (0, 1, 4, 4)


# -------------------------------------------------------------------------------------------- sniffing


@pytest.mark.parametrize(
    ("pil_format", "name"), [("PNG", "png"), ("JPEG", "jpeg"), ("GIF", "gif"), ("BMP", "bmp"), ("WEBP", "webp")]
)
def test_image_format(pil_format: str, name: str) -> None:
    encoded = io.BytesIO()
    Image.fromarray(smooth_rgb(8, 8)).save(encoded, format=pil_format)
    assert kernels.image_format(encoded.getvalue()) == name
    assert kernels.image_format(encoded.getvalue()[:18]) == name


def test_image_format_of_non_images() -> None:
    assert kernels.image_format(b"") is None
    assert kernels.image_format(b"\x89PN") is None
    assert kernels.image_format(b"BMW is a car brand, not a bitmap") is None
    assert kernels.image_format(b"RIFF\0\0\0\0WAVEfmt ") is None


def test_content_sniffing_and_hidden_files(tmp_path: Path) -> None:
    image = RNG.integers(0, 256, (8, 8, 3), dtype=np.uint8)
    Image.fromarray(image).save(tmp_path / "really_png.jpg", format="PNG")
    Image.fromarray(image).save(tmp_path / "noext", format="JPEG")
    (tmp_path / "text.png").write_text("not an image at all")
    Image.fromarray(image).save(tmp_path / ".hidden.png")
    (tmp_path / ".git").mkdir()
    Image.fromarray(image).save(tmp_path / ".git" / "inside.png")
    (tmp_path / "sub" / "deeper").mkdir(parents=True)
    Image.fromarray(image).save(tmp_path / "sub" / "deeper" / "b.bmp")
    (tmp_path / "notes.txt").write_text("not an image either")
    (tmp_path / "empty.JPG").write_bytes(b"")
    found = kernels.find_images(tmp_path)
    names = ["empty.JPG", "noext", "really_png.jpg", "sub/deeper/b.bmp", "text.png"]
    assert found == [tmp_path / name for name in names]
    assert np.array_equal(decode_one(tmp_path / "really_png.jpg", 8, 3), chw(image))
    # Named like images, so reported rather than dropped.
    with pytest.raises(kernels.ImageError, match=r"empty\.JPG: file is empty \(empty\)"):
        kernels.decode_images(found, 8, 3)
    result = kernels.decode_images(found, 8, 3, skip_bad=True)
    assert [Path(p).name for p, _ in result.skipped] == ["empty.JPG", "text.png"]
    assert "png" in kernels.IMAGE_EXTENSIONS and "jpeg" in kernels.IMAGE_EXTENSIONS


def test_a_link_to_nothing_is_listed_and_named(tmp_path: Path) -> None:
    """A dangling symbolic link named like an image reaches the decoder, which names it and where it points; a link
    to a folder is not followed."""
    Image.fromarray(np.full((4, 4, 3), 9, dtype=np.uint8)).save(tmp_path / "a.png")
    (tmp_path / "gone.png").symlink_to("moved/away.png")
    (tmp_path / "linked.png").symlink_to("a.png")
    (tmp_path / "folder.png").symlink_to(tmp_path, target_is_directory=True)
    found = kernels.find_images(tmp_path)
    assert found == [tmp_path / "a.png", tmp_path / "gone.png", tmp_path / "linked.png"]
    with pytest.raises(kernels.ImageError, match=r"gone\.png: broken symbolic link to moved/away\.png \(io\)$"):
        kernels.decode_images(found, 4, 3)
    result = kernels.decode_images(found, 4, 3, skip_bad=True)
    assert len(result.images) == 2 and (result.images == 9).all()
    assert result.skipped == [(str(tmp_path / "gone.png"), "io: broken symbolic link to moved/away.png")]


@pytest.mark.parametrize("pil_format", ["PNG", "JPEG", "GIF", "BMP", "WEBP"])
def test_image_sizes_come_from_the_headers(tmp_path: Path, pil_format: str) -> None:
    encoded = io.BytesIO()
    Image.fromarray(smooth_rgb(24, 40)).save(encoded, format=pil_format)
    path = tmp_path / f"image.{pil_format.lower()}"
    path.write_bytes(encoded.getvalue())
    (tmp_path / "text.png").write_text("not an image")
    paths = [path, tmp_path / "text.png", tmp_path / "empty.png", tmp_path / "missing.png"]
    paths[2].write_bytes(b"")
    assert kernels.image_sizes(paths, threads=2) == [(40, 24), None, None, None]
    assert kernels.image_sizes_of_bytes([encoded.getvalue(), b"\x89PNG\r\n\x1a\n"]) == [(40, 24), None]


# ------------------------------------------------------------------------------------------- bad files


def bad_files(tmp: Path) -> dict[str, Path]:
    good = io.BytesIO()
    Image.fromarray(smooth_rgb(32, 32)).save(good, format="PNG")
    png = good.getvalue()
    jpeg = io.BytesIO()
    Image.fromarray(smooth_rgb(32, 32)).save(jpeg, format="JPEG")
    files = {
        "empty": b"",
        "truncated_png": png[: len(png) // 2],
        "truncated_jpeg": jpeg.getvalue()[:200],
        "corrupt_png": png[:60] + bytes(b ^ 0x5A for b in png[60:-12]) + png[-12:],
        "not_an_image": b"GIF? no, just some words in a file\n" * 3,
        "bomb_png": handmade_png(np.zeros((1, 1), np.uint8), 8, 0).replace(
            struct.pack(">II", 1, 1), struct.pack(">II", 100_000, 100_000), 1
        ),
    }
    # Re-sign the bomb's IHDR so only its size is wrong.
    bomb = bytearray(files["bomb_png"])
    bomb[29:33] = struct.pack(">I", zlib.crc32(bytes(bomb[12:29])))
    files["bomb_png"] = bytes(bomb)
    paths = {}
    for name, data in files.items():
        paths[name] = tmp / f"{name}.png"
        paths[name].write_bytes(data)
    paths["missing"] = tmp / "missing.png"
    return paths


def test_each_bad_file_raises_with_its_path(tmp_path: Path) -> None:
    paths = bad_files(tmp_path)
    for name, path in paths.items():
        with pytest.raises(kernels.ImageError) as info:
            kernels.decode_images([path], 16, 3)
        assert str(path) in str(info.value), name
        assert isinstance(info.value, ValueError)
    with pytest.raises(kernels.ImageError, match="too-large"):
        kernels.decode_images([paths["bomb_png"]], 16, 3)


def test_skip_bad_reports_and_keeps_good(tmp_path: Path) -> None:
    paths = bad_files(tmp_path)
    good = tmp_path / "good.png"
    Image.fromarray(np.full((16, 16, 3), 7, dtype=np.uint8)).save(good)
    inputs = [good, *paths.values(), good]
    result = kernels.decode_images(inputs, 16, 3, skip_bad=True)
    assert result.images.shape == (2, 3, 16, 16) and np.all(result.images == 7)
    assert [p for p, _ in result.skipped] == [str(p) for p in paths.values()]
    reasons = dict(result.skipped)
    assert reasons[str(paths["empty"])].startswith("empty")
    assert reasons[str(paths["not_an_image"])].startswith("not-an-image")
    assert reasons[str(paths["bomb_png"])].startswith("too-large")
    assert reasons[str(paths["missing"])].startswith("io")


def test_jpeg_bomb_header_is_refused_before_allocation(tmp_path: Path) -> None:
    jpeg = io.BytesIO()
    Image.fromarray(smooth_rgb(16, 16)).save(jpeg, format="JPEG")
    data = bytearray(jpeg.getvalue())
    sof = data.index(b"\xff\xc0")
    data[sof + 5 : sof + 9] = struct.pack(">HH", 65000, 65000)
    path = tmp_path / "bomb.jpg"
    path.write_bytes(bytes(data))
    with pytest.raises(kernels.ImageError, match=r"bomb\.jpg.*too-large"):
        kernels.decode_images([path], 16, 3)


def test_decode_image_bytes_names_members() -> None:
    good = io.BytesIO()
    Image.fromarray(np.full((4, 4), 200, dtype=np.uint8)).save(good, format="PNG")
    blobs = [good.getvalue(), b"", good.getvalue()]
    names = ["data.zip:a.png", "data.zip:empty.png", "data.zip:c.png"]
    with pytest.raises(kernels.ImageError, match=r"data\.zip:empty\.png"):
        kernels.decode_image_bytes(blobs, names, 4, 1)
    result = kernels.decode_image_bytes(blobs, names, 4, 1, skip_bad=True)
    assert result.images.shape == (2, 1, 4, 4) and np.all(result.images == 200)
    assert result.skipped == [("data.zip:empty.png", "empty: file is empty")]


def test_bad_arguments() -> None:
    with pytest.raises(ValueError, match="channels"):
        kernels.decode_images([], 8, 2)
    with pytest.raises(ValueError, match="fit"):
        kernels.decode_images([], 8, 3, fit="stretch")
    for colour in ("pink", "#fff", "#12345g", "ff8000", ""):
        with pytest.raises(ValueError, match="expected black, white or #rrggbb"):
            kernels.decode_images([], 8, 3, background=colour)
    assert kernels.decode_images([], 8, 3).images.shape == (0, 3, 8, 8)


# ---------------------------------------------------------------------------------------- augmentation


def test_augment_spec_parsing() -> None:
    spec = kernels.AugmentSpec.parse("flip, translate=0.25:reflect@0.3, cutout, brightness=0.1@0.9")
    assert spec.flip_p == 0.5 and spec.translate == 0.25 and spec.translate_reflect and spec.translate_p == 0.3
    assert spec.cutout == 0.5 and spec.cutout_p == 1.0 and spec.brightness == 0.1 and spec.brightness_p == 0.9
    assert spec.contrast_p == 0.0 and spec.saturation_p == 0.0
    assert kernels.AugmentSpec.parse(str(spec)) == spec
    assert kernels.AugmentSpec.parse("") == kernels.AugmentSpec()
    assert not kernels.AugmentSpec() and kernels.AugmentSpec.parse("contrast@0.1")  # true when any op is on
    for bad, named in [
        ("flip,rotate=3", "rotate=3"),
        ("cutout=abc", "cutout=abc"),
        ("flip@2", "flip@2"),
        ("translate=1.5", "translate=1.5"),
        ("flip,flip", "flip"),
        ("cutout=0.5:reflect", "cutout=0.5:reflect"),
    ]:
        with pytest.raises(ValueError, match=named):
            kernels.AugmentSpec.parse(bad)


FULL_SPEC = "flip,translate=0.125,cutout=0.5@0.5,brightness=0.3,contrast=0.3,saturation=0.3"


def test_augment_is_deterministic_across_thread_counts() -> None:
    batch = RNG.integers(0, 256, (64, 3, 16, 16), dtype=np.uint8)
    one = kernels.augment(batch, FULL_SPEC, seed=7, threads=1)
    two = kernels.augment(batch, FULL_SPEC, seed=7, threads=2)
    assert one.dtype == np.uint8 and one.shape == batch.shape
    assert np.array_equal(one, two)
    assert np.array_equal(one, kernels.augment(batch, FULL_SPEC, seed=7))
    assert not np.array_equal(one, kernels.augment(batch, FULL_SPEC, seed=8))
    assert not np.array_equal(one, batch)


def test_flip_at_p1_equals_np_flip() -> None:
    batch = RNG.integers(0, 256, (4, 3, 8, 10), dtype=np.uint8)
    assert np.array_equal(kernels.augment(batch, "flip@1", seed=0), np.flip(batch, axis=-1))
    assert np.array_equal(kernels.augment(batch, "flip@0", seed=0), batch)


def shifted(image: np.ndarray, dy: int, dx: int, mode: str) -> np.ndarray:
    _, h, w = image.shape
    pad = max(h, w)
    padded = np.pad(image, ((0, 0), (pad, pad), (pad, pad)), mode="reflect" if mode == "reflect" else "constant")
    return padded[:, pad - dy : pad - dy + h, pad - dx : pad - dx + w]


@pytest.mark.parametrize("mode", ["zero", "reflect"])
def test_translate_moves_pixels(mode: str) -> None:
    batch = RNG.integers(1, 256, (16, 3, 16, 16), dtype=np.uint8)
    out = kernels.augment(batch, f"translate=0.25:{mode}@1", seed=3)
    moved = 0
    for image, result in zip(batch, out, strict=True):
        matches = [
            (dy, dx)
            for dy in range(-4, 5)
            for dx in range(-4, 5)
            if np.array_equal(result, shifted(image, dy, dx, mode))
        ]
        assert matches, "output is not a shifted copy of the input"
        moved += matches[0] != (0, 0)
    assert moved >= 12


def test_cutout_zeroes_a_square() -> None:
    batch = np.full((16, 3, 32, 32), 255, dtype=np.uint8)
    out = kernels.augment(batch, "cutout=0.25@1", seed=5)
    for result in out:
        zero = np.all(result == 0, axis=0)
        assert np.array_equal(zero, np.all(result == 0, axis=0) & np.any(result == 0, axis=0))
        ys, xs = np.nonzero(zero)
        assert len(ys) > 0
        box = zero[ys.min() : ys.max() + 1, xs.min() : xs.max() + 1]
        assert box.all() and zero.sum() == box.size
        assert box.shape[0] <= 8 and box.shape[1] <= 8
        assert np.all(result[:, ~zero] == 255)


def test_brightness_scales_values() -> None:
    batch = RNG.integers(0, 128, (8, 3, 8, 8), dtype=np.uint8)
    out = kernels.augment(batch, "brightness=0.5@1", seed=1)
    for image, result in zip(batch, out, strict=True):
        factor = result.astype(np.float64).sum() / image.astype(np.float64).sum()
        assert 0.45 < factor < 1.55
        expected = np.clip(np.round(image * factor), 0, 255)
        assert np.abs(result - expected).max() <= 1


def test_contrast_scales_deviation_from_mean() -> None:
    batch = RNG.integers(64, 192, (8, 1, 16, 16), dtype=np.uint8)
    out = kernels.augment(batch, "contrast=0.5@1", seed=2)
    for image, result in zip(batch, out, strict=True):
        deviation = image.astype(np.float64) - image.mean()
        factor = (result.astype(np.float64) - image.mean()).std() / deviation.std()
        assert 0.45 < factor < 1.55
        assert abs(result.mean() - image.mean()) < 1.0


def test_saturation_only_changes_colour() -> None:
    gray = np.repeat(RNG.integers(0, 256, (8, 1, 8, 8), dtype=np.uint8), 3, axis=1)
    assert np.array_equal(kernels.augment(gray, "saturation=0.9@1", seed=4), gray)
    colour = RNG.integers(0, 256, (8, 3, 8, 8), dtype=np.uint8)
    assert not np.array_equal(kernels.augment(colour, "saturation=0.9@1", seed=4), colour)
    single = RNG.integers(0, 256, (8, 1, 8, 8), dtype=np.uint8)
    assert np.array_equal(kernels.augment(single, "saturation=0.9@1", seed=4), single)


# ----------------------------------------------------------------------------------------- PNG grids


def expected_grid(images: np.ndarray, nrow: int, padding: int, pad_value: int) -> np.ndarray:
    n, c, h, w = images.shape
    cols = min(nrow, n)
    rows = -(-n // cols)
    grid = np.full((c, rows * (h + padding) + padding, cols * (w + padding) + padding), pad_value, np.uint8)
    for k in range(n):
        y, x = (k // cols) * (h + padding) + padding, (k % cols) * (w + padding) + padding
        grid[:, y : y + h, x : x + w] = images[k]
    return grid.transpose(1, 2, 0)


def to_bytes(batch: np.ndarray) -> np.ndarray:
    return np.floor((np.clip(batch, -1, 1) + 1) / 2 * 255 + 0.5).astype(np.uint8)


@pytest.mark.parametrize(
    ("n", "c", "nrow", "padding", "pad_value"), [(10, 3, 4, 2, 0), (5, 1, 8, 1, 255), (6, 3, 3, 0, 9)]
)
def test_grid_png_pixels(n: int, c: int, nrow: int, padding: int, pad_value: int) -> None:
    floats = RNG.uniform(-1.2, 1.2, (n, c, 6, 7)).astype(np.float32)
    for batch, as_bytes in [(floats, to_bytes(floats)), (to_bytes(floats), to_bytes(floats))]:
        for compression in ("fast", "default", "best"):
            png = kernels.encode_grid_png(
                batch, nrow=nrow, padding=padding, pad_value=pad_value, compression=compression
            )
            decoded = np.asarray(Image.open(io.BytesIO(png)))
            expected = expected_grid(as_bytes, nrow, padding, pad_value)
            assert np.array_equal(decoded, expected[..., 0] if c == 1 else expected)


@pytest.mark.parametrize("c", [1, 3])
def test_grid_png_matches_torchvision(c: int) -> None:
    torch = pytest.importorskip("torch")
    utils = pytest.importorskip("torchvision.utils")
    batch = RNG.uniform(-1.1, 1.1, (11, c, 9, 8)).astype(np.float32)
    buffer = io.BytesIO()
    grid = utils.make_grid(torch.from_numpy(batch), nrow=4, padding=2, normalize=True, value_range=(-1, 1))
    utils.save_image(grid, buffer, format="PNG")
    theirs = np.asarray(Image.open(io.BytesIO(buffer.getvalue())).convert("RGB"))
    ours = np.asarray(Image.open(io.BytesIO(kernels.encode_grid_png(batch, nrow=4, padding=2))).convert("RGB"))
    assert np.array_equal(ours, theirs)


def test_encode_png_round_trip() -> None:
    for image in [
        RNG.integers(0, 256, (5, 7), dtype=np.uint8),
        RNG.integers(0, 256, (5, 7, 3), dtype=np.uint8),
    ]:
        assert np.array_equal(np.asarray(Image.open(io.BytesIO(kernels.encode_png(image)))), image)
    with pytest.raises(ValueError):
        kernels.encode_png(np.zeros((4, 4), dtype=np.float32))


def test_animation_has_all_frames() -> None:
    frames = [RNG.integers(0, 256, (12, 10, 3), dtype=np.uint8) for _ in range(4)]
    animation = Image.open(io.BytesIO(kernels.encode_animation(frames, delay_ms=150)))
    assert animation.format == "PNG" and animation.n_frames == 4
    for i, frame in enumerate(frames):
        animation.seek(i)
        assert np.array_equal(np.asarray(animation.convert("RGB")), frame)
        assert animation.info["duration"] == 150
    with pytest.raises(ValueError, match="frame 1"):
        kernels.encode_animation([frames[0], frames[0][:5]])


# ------------------------------------------------------------------------------------ packed datasets


def test_packed_round_trip_is_a_memmap(tmp_path: Path) -> None:
    images = RNG.integers(0, 256, (7, 3, 8, 8), dtype=np.uint8)
    path = tmp_path / "data.gpk"
    packed.write_packed(path, images, source="photos/ (zip)", source_count=9)
    assert [p.name for p in tmp_path.iterdir()] == ["data.gpk"]
    dataset = packed.read_packed(path)
    assert isinstance(dataset.images, np.memmap) and not dataset.images.flags.writeable
    assert (dataset.count, dataset.channels, dataset.height, dataset.width) == (7, 3, 8, 8)
    assert dataset.source == "photos/ (zip)" and dataset.source_count == 9
    assert dataset.checksum == kernels.checksum(images)
    assert np.array_equal(dataset.images, images)
    assert path.stat().st_size == 4096 + images.size


def test_packed_corruption_is_detected(tmp_path: Path) -> None:
    images = RNG.integers(0, 256, (4, 1, 16, 16), dtype=np.uint8)
    path = tmp_path / "data.gpk"
    packed.write_packed(path, images, source="s", source_count=4)
    good = path.read_bytes()

    def check(data: bytes, message: str, verify: bool = True) -> None:
        path.write_bytes(data)
        with pytest.raises(packed.PackedFormatError, match=message) as info:
            packed.read_packed(path, verify=verify)
        assert str(path) in str(info.value)

    flipped = bytearray(good)
    flipped[4096 + 100] ^= 0x01
    check(bytes(flipped), "checksum mismatch")
    path.write_bytes(bytes(flipped))
    assert packed.read_packed(path, verify=False).count == 4
    check(good[:-1], "truncated")
    check(good[:20], "too short")
    check(b"NOTAPACK" + good[8:], "bad magic")
    header = bytearray(good)
    header[20] ^= 0xFF
    check(bytes(header), "corrupt header", verify=False)


def test_checksum_of_bytes_and_array_agree() -> None:
    data = RNG.integers(0, 256, 1000, dtype=np.uint8)
    assert kernels.checksum(data.tobytes()) == kernels.checksum(data)
    assert kernels.checksum(data[:-1]) != kernels.checksum(data)

"""The fuzzers' seed corpus and crash reproducers (fuzz/, docs/fuzzing.md) replayed as ordinary tests.

Seeds must be valid, or the fuzzers start at the first error check instead of deep inside the decoders;
each reproducer must now end in a one-line GancliError, the error a user sees, and not in another exception.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from gancli import kernels
from gancli.data.base import DataRequest
from gancli.data.images import open_images
from gancli.errors import GancliError

CORPUS = Path(__file__).resolve().parent.parent / "fuzz" / "corpus"
OPTIONS = {"fit": "crop", "array": ""}


def files(folder: str) -> list[Path]:
    found = sorted((CORPUS / folder).iterdir())
    assert found, f"fuzz/corpus/{folder} is empty; run python fuzz/make_corpus.py"
    return found


@pytest.mark.parametrize("path", files("decode"), ids=lambda p: p.name)
def test_every_image_seed_decodes(path: Path) -> None:
    data = path.read_bytes()
    assert kernels.image_format(data) == {"jpg": "jpeg"}.get(path.suffix[1:], path.suffix[1:])
    image = kernels.decode_image(data, channels=3)
    assert image.ndim == 3 and image.shape[2] == 3 and min(image.shape) > 0
    assert image.std() > 0, "a seed should hold a pattern, not one flat colour"


@pytest.mark.parametrize("path", files("zip") + files("packed"), ids=lambda p: p.name)
def test_every_dataset_seed_opens(path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GANCLI_CACHE", str(tmp_path))
    source = open_images(str(path), DataRequest(image_size=8, channels=3, skip_bad=True), OPTIONS)
    assert source.images.shape[1:] == (3, 8, 8) and source.images.dtype == np.uint8 and len(source.images) > 0


@pytest.mark.parametrize("path", files("regressions/zip") + files("regressions/packed"), ids=lambda p: p.name)
def test_every_reproducer_is_a_one_line_error(path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GANCLI_CACHE", str(tmp_path))
    with pytest.raises(GancliError) as caught:
        open_images(str(path), DataRequest(), OPTIONS)
    assert str(path) in str(caught.value) and "\n" not in str(caught.value)


@pytest.mark.parametrize("path", files("regressions/decode"), ids=lambda p: p.name)
def test_every_decoder_reproducer_decodes_or_is_a_one_line_error(path: Path) -> None:
    """One image at its own size (``decode_image``, no batch's ``catch_unwind`` around it): an image or the
    ImageError naming the file that the CLI prints as one line, never a PanicException. zune-jpeg-idct-panic.jpg
    panicked in zune-jpeg's AVX2 IDCT (CPUs without AVX2 take another path, hence either outcome)."""
    try:
        image = kernels.decode_image(path.read_bytes(), name=str(path), channels=3)
    except kernels.ImageError as error:
        assert str(path) in str(error) and "\n" not in str(error)
    else:
        assert image.ndim == 3 and image.shape[2] == 3

"""The GPU path's options, exercised on the CPU (where they run the same code): --precision bf16/fp16 (fp16
with loss scalers saved in checkpoints), --channels-last, and --prefetch (batches drawn in a background thread
that must not change a single batch, nor what --resume continues with), --data-on-device (images held on
the device, batches gathered there: the very batches of the host path), and image batches travelling to the
device as stored (uint8)."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import numpy as np
import pytest
import torch
from cli_helpers import ok, one_line_error
from gancli.config import RunConfig, resolve
from gancli.data.base import ImageSource, draws_as_stored
from gancli.errors import GancliError
from gancli.plugins.manager import get_plugins
from gancli.train.distributed import SINGLE
from gancli.train.inputs import RealBatches
from gancli.train.prefetch import Prefetcher
from gancli.train.resident import hold_on_device
from gancli.train.session import Session
from safetensors.numpy import load_file

RING = ["--data", "ring8", "--batch-size", "64", "--latent-dim", "2", "--set", "mlp.hidden=16", "--seed", "3"]
RING += ["--log-every", "10", "--eval-every", "1000", "--checkpoint-every", "10", "--quiet", "--device", "cpu"]
RING += ["--lr-schedule", "constant"]  # not ring8's decay to 0 by --steps: 20 steps, then --resume to 30 must equal 30
SMALL_DCGAN = ["dcgan.g_width=8", "dcgan.d_width=8"]
DIGITS = ["--data", "digits", "--set", "source=sklearn", "--image-size", "16", "--batch-size", "16", "--seed", "1"]
DIGITS += [word for option in SMALL_DCGAN for word in ("--set", option)] + ["--latent-dim", "8", "--log-every", "1"]
DIGITS += ["--eval-every", "1000", "--checkpoint-every", "1000", "--quiet", "--device", "cpu"]


def digits_without_metrics(folder: Path) -> list[str]:
    """DIGITS with no metric to compute at the end (a config file: ``metrics`` has no flag)."""
    (folder / "no-metrics.toml").write_text("metrics = []\n")
    return [*DIGITS, "--config", "no-metrics.toml"]


def tensors(run: Path, step: int) -> dict[str, np.ndarray]:
    return load_file(run / "checkpoints" / f"step-{step:08d}.safetensors")


def differing(a: dict[str, np.ndarray], b: dict[str, np.ndarray]) -> list[str]:
    assert a.keys() == b.keys()
    return [k for k in a if not np.array_equal(a[k], b[k])]


def test_prefetching_changes_no_batch_and_resumes_exactly(gancli, tmp_path: Path) -> None:
    ok(gancli("train", *RING, "--steps", "30", "--out", "plain"))
    ok(gancli("train", *RING, "--steps", "30", "--prefetch", "--out", "ahead"))
    ok(gancli("train", *RING, "--steps", "20", "--prefetch", "--out", "split"))
    ok(gancli("train", "--resume", "split", "--steps", "30", "--quiet"))
    assert differing(tensors(tmp_path / "plain", 30), tensors(tmp_path / "ahead", 30)) == []
    assert differing(tensors(tmp_path / "plain", 30), tensors(tmp_path / "split", 30)) == []


def test_images_held_on_the_device_give_the_host_paths_batches_and_resume_exactly(gancli, tmp_path: Path) -> None:
    digits = digits_without_metrics(tmp_path)
    ok(gancli("train", *digits, "--steps", "6", "--checkpoint-every", "3", "--out", "host"))
    ok(gancli("train", *digits, "--steps", "6", "--checkpoint-every", "3", "--data-on-device", "--out", "held"))
    ok(gancli("train", *digits, "--steps", "3", "--data-on-device", "--out", "split"))
    ok(gancli("train", "--resume", "split", "--steps", "6", "--quiet"))
    assert json.loads((tmp_path / "held" / "config.json").read_text())["data_on_device"] is True
    assert differing(tensors(tmp_path / "host", 6), tensors(tmp_path / "held", 6)) == []
    assert differing(tensors(tmp_path / "host", 6), tensors(tmp_path / "split", 6)) == []


def test_data_on_device_is_refused_where_the_data_cannot_be_held(gancli) -> None:
    message = one_line_error(gancli("train", *RING, "--steps", "1", "--data-on-device"))
    assert message.startswith("error: --data-on-device:") and "dataset 'ring8' is not held as an image array" in message


def test_augmented_images_held_on_the_device_resume_exactly(gancli, tmp_path: Path) -> None:
    """--augment on the device draws its transforms from a seed the run's generator gives each batch."""
    digits = [*digits_without_metrics(tmp_path), "--augment", "flip,translate=0.25,cutout=0.5", "--data-on-device"]
    ok(gancli("train", *digits, "--steps", "6", "--checkpoint-every", "3", "--out", "whole"))
    ok(gancli("train", *digits, "--steps", "3", "--checkpoint-every", "3", "--out", "split"))
    ok(gancli("train", "--resume", "split", "--steps", "6", "--quiet"))
    assert differing(tensors(tmp_path / "whole", 6), tensors(tmp_path / "split", 6)) == []


def test_images_travel_as_stored_and_arrive_as_the_datasets_batches() -> None:
    """The host's share of a real batch (what --prefetch's thread draws and, on CUDA, pins and copies) holds the
    images uint8 as stored, a quarter of the bytes of floats; on the device they are the very floats, augmented
    and with their classes, that ``ImageSource.labelled_batch`` draws from the same generator, in the networks'
    memory layout."""
    flags = {"data": "digits", "image_size": 16, "batch_size": 16, "conditional": True, "device": "cpu"}
    flags["augment"] = "flip,translate=0.25,cutout=0.5"
    session = Session.build(resolve(get_plugins().registry, flags, set_items=["source=sklearn", *SMALL_DCGAN]))
    real_batches = session.game.sample_real
    assert isinstance(real_batches, RealBatches)
    generator = copy.deepcopy(session.rng)
    drawn = real_batches.draw()
    assert drawn.x.dtype == torch.uint8 and drawn.x.shape == (16, 1, 16, 16) and drawn.y.dtype == torch.int64
    expected = session.data.labelled_batch(16, generator)
    delivered = real_batches.deliver(drawn)
    assert torch.equal(delivered.x, expected.x) and torch.equal(delivered.y, expected.y)
    assert delivered.x.is_contiguous(memory_format=torch.channels_last)
    for _ in range(3):  # and so on, batch after batch
        assert torch.equal(real_batches().x, session.data.labelled_batch(16, generator).x)


class Mirrored(ImageSource):
    """An image dataset that draws its batches its own way: each image mirrored left to right."""

    def batch(self, size: int, rng: np.random.Generator) -> torch.Tensor:
        return super().batch(size, rng).flip(-1)


def test_an_image_dataset_drawing_its_own_way_is_drawn_through_its_batch() -> None:
    """A subclass of ImageSource that overrides ``batch`` trains on what its ``batch`` returns: neither sent as
    stored nor held on the device, where its own way would be lost."""
    images = np.arange(2 * 4 * 4, dtype=np.uint8).reshape(2, 1, 4, 4) * 7
    data = Mirrored("mirrored", images)
    assert not draws_as_stored(data) and draws_as_stored(ImageSource("plain", images))
    config = RunConfig(batch_size=8, data_on_device=None)
    cpu, rng = torch.device("cpu"), np.random.default_rng(0)
    real_batches = RealBatches(data, config, cpu, rng, SINGLE, torch.contiguous_format, labelled=False)
    assert torch.equal(real_batches(), data.batch(8, np.random.default_rng(0)))
    with pytest.raises(GancliError) as refused:
        hold_on_device(data, torch.device("cpu"), True)
    assert str(refused.value).startswith("--data-on-device: dataset 'mirrored' draws or labels its images its own way")


def test_a_loader_error_reaches_the_training_thread() -> None:
    rng = np.random.default_rng(0)
    calls = []

    def draw() -> torch.Tensor:
        calls.append(rng.integers(10))
        if len(calls) == 3:
            raise GancliError("image 3 is unreadable")
        return torch.zeros(1)

    loader = Prefetcher(draw, rng)
    loader(), loader()
    with pytest.raises(GancliError, match="image 3 is unreadable"):
        loader()


def test_pausing_rewinds_to_the_first_batch_not_handed_out() -> None:
    rng = np.random.default_rng(5)
    loader = Prefetcher(lambda: torch.tensor(rng.integers(1 << 30)), rng)
    first = [int(loader()) for _ in range(3)]
    loader.pause()  # the thread had drawn ahead: those draws are undone
    second = [int(loader()) for _ in range(3)]
    loader.pause()
    expected = np.random.default_rng(5).integers(1 << 30, size=6).tolist()
    assert first + second == expected


@pytest.mark.parametrize("precision", ["bf16", "fp16"])
def test_mixed_precision_trains_and_keeps_its_scalers(gancli, tmp_path: Path, precision: str) -> None:
    ok(gancli("train", *RING, "--steps", "20", "--precision", precision, "--out", "run"))
    last = json.loads((tmp_path / "run" / "metrics.jsonl").read_text().splitlines()[-1])
    assert all(np.isfinite(v) for v in last.values())
    meta = json.loads((tmp_path / "run" / "checkpoints" / "step-00000020.json").read_text())
    assert ("scaler_d" in meta) == (precision == "fp16")
    if precision == "fp16":
        assert meta["scaler_d"]["scale"] > 0
        ok(gancli("train", *RING, "--steps", "10", "--precision", "fp16", "--out", "split"))
        ok(gancli("train", "--resume", "split", "--steps", "20", "--quiet"))
        assert differing(tensors(tmp_path / "run", 20), tensors(tmp_path / "split", 20)) == []


def test_fp16_overflows_while_the_scaler_backs_off_are_no_divergence(gancli, tmp_path: Path) -> None:
    """A DCGAN's first fp16 steps overflow at the scaler's starting scale (65,536): those steps are skipped and
    the scale halves, which --on-nan must not take for a diverging run."""
    args = [*digits_without_metrics(tmp_path), "--steps", "4"]
    ok(gancli("train", *args, "--precision", "fp16", "--checkpoint-every", "4", "--out", "run"))
    meta = json.loads((tmp_path / "run" / "checkpoints" / "step-00000004.json").read_text())
    assert meta["scaler_d"]["scale"] < 65536.0  # it did overflow and back off


def test_a_channels_last_run_resumes_with_adams_moments_in_the_weights_layout(gancli, tmp_path: Path) -> None:
    """A checkpoint gives Adam's moments back contiguous; torch's fused Adam pairs a channels-last weight with
    its moments element by element only when both share one layout (else a resumed run silently diverges)."""
    from gancli.train import lifecycle

    args = digits_without_metrics(tmp_path)
    ok(gancli("train", *args, "--steps", "6", "--checkpoint-every", "3", "--out", "whole"))
    ok(gancli("train", *args, "--steps", "3", "--checkpoint-every", "3", "--out", "split"))
    session, run = lifecycle.resume(tmp_path / "split", {"steps": 6}, None, [], None)
    run.release()
    optimizer = session.game.opt_d
    assert optimizer.param_groups[0]["fused"] and session.config.channels_last
    moments = [(p, optimizer.state[p]["exp_avg"]) for p in session.discriminator.parameters() if p.dim() == 4]
    assert moments and all(m.stride() == p.stride() for p, m in moments)
    assert any(not p.is_contiguous() for p, _ in moments)  # channels-last weights, whose moments were repaired
    ok(gancli("train", "--resume", "split", "--steps", "6", "--quiet"))
    assert differing(tensors(tmp_path / "whole", 6), tensors(tmp_path / "split", 6)) == []


def test_fp16_with_a_rule_that_takes_its_own_gradients_is_refused(gancli) -> None:
    result = gancli("train", *RING, "--steps", "5", "--precision", "fp16", "--update", "consensus", "--out", "run")
    assert result.exit_code == 1 and "--precision fp16 scales the losses" in result.output
    one_line_error(gancli("train", *RING, "--precision", "fp8", "--out", "other"), "--precision must be one of")


def test_channels_last_trains_the_same_networks(gancli, tmp_path: Path) -> None:
    args = [*digits_without_metrics(tmp_path), "--steps", "5"]
    ok(gancli("train", *args, "--no-channels-last", "--out", "contiguous"))
    ok(gancli("train", *args, "--out", "last"))  # dcgan recommends channels-last
    assert json.loads((tmp_path / "last" / "config.json").read_text())["channels_last"] is True
    first, second = ((tmp_path / name / "metrics.jsonl").read_text().splitlines() for name in ("contiguous", "last"))
    for a, b in zip(first, second, strict=True):  # other convolution kernels: equal up to float rounding
        ra, rb = json.loads(a), json.loads(b)
        assert all(abs(ra[k] - rb[k]) <= 1e-3 * max(1.0, abs(ra[k])) for k in ra), (ra, rb)


def test_compiled_batchnorm_networks_take_r1_in_bf16(gancli, tmp_path: Path) -> None:
    """`--compile --precision bf16` with R1 failed on an H200 and here: the compiled fake pass moved BatchNorm's
    running statistics in place between D's eager real pass and R1's gradient through it. An R1 step now runs
    both passes eagerly; the steps between stay compiled."""
    args = [*digits_without_metrics(tmp_path), "--steps", "3", "--r1", "1", "--r1-every", "2"]
    ok(gancli("train", *args, "--precision", "bf16", "--compile", "--out", "run"))
    records = [json.loads(line) for line in (tmp_path / "run" / "metrics.jsonl").open()]
    assert len(records) == 3 and all(np.isfinite(v) for r in records for v in r.values())
    assert "r1" in records[0]

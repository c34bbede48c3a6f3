"""--holdout: images kept out of training. The split (the same for every seed, never drawn), its refusals, a resume
bit for bit, d-overfitting's scores on held-out images leaving the run as it was, and gancli eval's held-out and
training sets."""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path

import numpy as np
import pytest
import torch
from cli_helpers import ok, one_line_error
from gancli.config import resolve
from gancli.data.base import ImageSource
from gancli.plugins.manager import get_plugins
from gancli.train.session import Session
from safetensors.numpy import load_file

#: the 1,797 sklearn digits at 8 px through an MLP: a run of a few steps in a second
TINY = ["--data", "digits", "--set", "source=sklearn", "--image-size", "8", "--arch", "mlp", "--set", "mlp.hidden=16"]
TINY += ["--latent-dim", "4", "--batch-size", "8", "--device", "cpu", "--quiet", "--config", "no-metrics.toml"]
TINY += ["--eval-every", "1000", "--log-every", "2", "--checkpoint-every", "4", "--r1-every", "4", "--holdout", "300"]
#: the same at 16 px through DCGAN, whose D has BatchNorm, with --diffaugment drawing from its own generator
DCGAN = {"data": "digits", "image_size": 16, "batch_size": 16, "latent_dim": 8, "device": "cpu", "holdout": 300}
DCGAN |= {"diffaugment": "translation,color,cutout"}
DCGAN_SET = ["source=sklearn", "dcgan.g_width=8", "dcgan.d_width=8"]


def session_of(flags: dict, set_items: list[str] = DCGAN_SET) -> Session:
    return Session.build(resolve(get_plugins().registry, flags, set_items=set_items))


def test_held_out_images_are_never_drawn_plain_or_labelled() -> None:
    """Image i holds the gray level i and class i mod 2, so a batch says which images it drew."""
    images = np.broadcast_to(np.arange(40, dtype=np.uint8)[:, None, None, None], (40, 1, 4, 4)).copy()
    data = ImageSource("levels", images, targets=np.arange(40) % 2)
    data.hold_out(10)
    held_out, training = set(data.held_out_indices.tolist()), set(data.training_indices.tolist())
    assert len(held_out) == 10 and held_out | training == set(range(40)) and not held_out & training
    assert data.held_out_indices.tolist() != list(range(10))  # a random choice, not the first images
    rng, drawn = np.random.default_rng(0), set()
    for _ in range(100):
        drawn |= set(((data.batch(16, rng)[:, 0, 0, 0] + 1) * 127.5).round().int().tolist())
        x, y = data.labelled_batch(16, rng)
        levels = ((x[:, 0, 0, 0] + 1) * 127.5).round().long()
        assert torch.equal(y, levels % 2)  # each image with its own class
        drawn |= set(levels.tolist())
    assert drawn == training  # 200 batches of 16 reach every training image and no held-out one


def test_every_seed_holds_out_the_same_images() -> None:
    flags = {"data": "digits", "arch": "mlp", "device": "cpu", "holdout": 300, "image_size": 8}
    first, other = (session_of({**flags, "seed": seed}, ["source=sklearn"]).data for seed in (0, 7))
    assert isinstance(first, ImageSource) and len(first.held_out_indices) == 300
    assert np.array_equal(first.held_out_indices, other.held_out_indices)


@pytest.mark.parametrize(
    "args, needles",
    [
        (["--data", "ring8", "--holdout", "5"], ["--holdout 5", "'ring8'", "holds no images"]),
        (["--data", "digits", "--set", "source=sklearn", "--holdout", "1797"], ["--holdout 1797", "1,797 images"]),
        (["--holdout", "-1"], ["--holdout"]),
        (
            ["--data", "digits", "--set", "source=sklearn", "--conditional", "--holdout", "1790"],
            ["--holdout 1790", "class '", "would keep no training image", "hold out fewer"],
        ),
    ],
)
@pytest.mark.parametrize("dry_run", [[], ["--dry-run"]], ids=["train", "dry-run"])
def test_holdout_refusals_name_the_flag(
    gancli, tmp_path: Path, args: list[str], needles: list[str], dry_run: list[str]
) -> None:
    one_line_error(gancli("train", *args, *dry_run, "--steps", "2", "--device", "cpu", "--out", "run"), *needles)
    assert not (tmp_path / "run" / "checkpoints").exists()


def test_a_dry_run_opens_the_data_and_says_what_a_run_would_train_on(gancli) -> None:
    shown = ok(gancli("train", "--data", "digits", "--set", "source=sklearn", "--holdout", "97", "--dry-run"))
    assert re.search(r"^image_size\s+32\s+the data's own", shown, re.M)
    assert re.search(r"^data \(opened\)\s+1797 examples of shape \(1, 32, 32\), 97 of them held out", shown, re.M)


def test_a_holdout_run_resumes_bit_for_bit(gancli, tmp_path: Path) -> None:
    """8 steps in one go equal 6, a stop and --resume to 8: the resumed run holds out the images its config
    records, draws the same batches, and logs the same d_train and d_held_out, and R1's latest value between the
    steps that take it (every 4th: steps 1 and 5, the records at 6 and 8 repeat step 5's)."""
    (tmp_path / "no-metrics.toml").write_text("metrics = []\n")
    ok(gancli("train", *TINY, "--steps", "8", "--out", "whole"))
    ok(gancli("train", *TINY, "--steps", "6", "--out", "split"))
    ok(gancli("train", "--resume", "split", "--steps", "8", "--quiet"))
    name = "checkpoints/step-00000008.safetensors"
    whole, split = (load_file(tmp_path / run / name) for run in ("whole", "split"))
    assert whole.keys() == split.keys()
    assert [k for k in whole if not np.array_equal(whole[k], split[k])] == []
    assert (tmp_path / "whole" / "metrics.jsonl").read_text() == (tmp_path / "split" / "metrics.jsonl").read_text()
    records = [json.loads(line) for line in (tmp_path / "whole" / "metrics.jsonl").read_text().splitlines()]
    assert all(0 < r["d_held_out"] < 1 and 0 < r["d_train"] < 1 for r in records)
    assert json.loads((tmp_path / "split" / "config.json").read_text())["holdout"] == 300


@pytest.mark.parametrize("conditional", [False, True])
def test_scoring_held_out_images_leaves_the_run_as_it_was(conditional: bool) -> None:
    """d-overfitting's measure between steps (D in eval mode, no augmentation) changes no weight, BatchNorm
    statistic or random stream: steps with it equal steps without; its figures are D's readout by hand."""
    flags = {**DCGAN, "conditional": conditional}
    reg = get_plugins().registry.get("diagnostic", "d-overfitting")
    runs = []
    for measuring in (True, False):  # one after the other: torch's global stream is the sessions' to share
        session = session_of(flags)
        diagnostic = reg.create(options=session.config.options.get("d-overfitting", {}))
        assert diagnostic.applies_to(session)
        for _ in range(3):
            session.rule.step(session.game)
            if measuring:
                values = diagnostic.measure(session)
        runs.append((session, torch.get_rng_state()))
    (measured, measured_stream), (plain, plain_stream) = runs
    assert set(values) == {"d_train", "d_held_out"}
    states = [{**s.discriminator.state_dict(), **s.generator.state_dict()} for s in (measured, plain)]
    assert [k for k in states[0] if not torch.equal(states[0][k], states[1][k])] == []
    assert torch.equal(measured.game.augment.generator.get_state(), plain.game.augment.generator.get_state())
    assert torch.equal(measured_stream, plain_stream)
    assert measured.rng.bit_generator.state == plain.rng.bit_generator.state

    data = measured.data
    picked = np.sort(np.random.default_rng(0).choice(data.held_out_indices, 128, replace=False))
    discriminator = copy.deepcopy(measured.discriminator).eval()
    with torch.no_grad():
        inputs = (data.pixels(picked), *([torch.from_numpy(data.targets[picked])] if conditional else []))
        by_hand = torch.sigmoid(discriminator(*inputs)).mean()
    assert values["d_held_out"] == pytest.approx(float(by_hand), abs=1e-6)
    assert measured.discriminator.training  # back in train mode


def test_eval_holds_out_the_held_out_images_and_compares_with_the_others() -> None:
    """Without an extractor's own unseen images (random-cnn), the held-out set of the real floors is drawn from the
    --holdout images, and memorisation's training set leaves them out."""
    from gancli.metrics.feature import Memorisation
    from gancli.train.evaluation import Evaluation

    session = session_of({**DCGAN, "features": "random-cnn"})
    data = session.data
    space = Evaluation(session, strict=True).space
    held_out = set(data.held_out_indices.tolist())
    assert space.size == 300 and set(space.held_out_indices.tolist()) == held_out
    assert len(space.training) == 1797 - 300
    _, nearest = space.nearest(space.held_out, exclude=space.held_out_indices)
    assert not held_out & set(nearest.tolist())  # a held-out image's nearest is a training image
    first = data.training_indices[:3]
    copies = space.embed(space.pixels(first))
    _, itself = space.nearest(copies)
    _, other = space.nearest(copies, exclude=first)
    assert itself.tolist() == first.tolist() and not set(other.tolist()) & set(first.tolist())
    figures = Memorisation(0.05).score(space, copies)
    assert figures["nn_distance"] < 1e-3 * figures["nn_distance_real"]

"""A training step reads nothing back from its tensors: no ``.item()``, ``float()``, ``bool()`` or ``.tolist()``
between logging points, so on a GPU the host never waits for the device mid-step (the loop reads the
statistics once per logged step). Counted on the CPU, where the same code runs."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import torch
from gancli.train import lifecycle

DIGITS = {"data": "digits", "image_size": 16, "batch_size": 8, "latent_dim": 8, "steps": 10, "metrics": []}
DIGITS |= {"log_every": 1000, "sample_every": 1000, "checkpoint_every": 1000, "eval_every": 1000, "device": "cpu"}
SMALL = ["source=sklearn", "dcgan.g_width=8", "dcgan.d_width=8"]
READS = ("item", "tolist", "__bool__", "__float__", "__int__", "__index__", "numpy")


@contextmanager
def counted_reads() -> Iterator[list[str]]:
    """Every conversion of a tensor to a Python value or a numpy array inside the block, by name."""
    reads: list[str] = []
    originals = {name: getattr(torch.Tensor, name) for name in READS}

    def counting(name: str) -> Callable[..., object]:
        def read(self: torch.Tensor, *args: object, **kwargs: object) -> object:
            reads.append(name)
            return originals[name](self, *args, **kwargs)

        return read

    for name in READS:
        setattr(torch.Tensor, name, counting(name))
    try:
        yield reads
    finally:
        for name, original in originals.items():
            setattr(torch.Tensor, name, original)


@pytest.mark.parametrize(
    "flags",
    [
        {"r1": 1.0, "r1_every": 2, "ema": 0.9},  # the digits' recipe: R1 (lazily), G's moving average
        {"loss": "wgan", "optimizer": "rmsprop", "d_steps": 2, "r1": 0.0},  # weight clipping after each D step
        {"loss": "wgan-gp", "update": "consensus", "r1": 0.0},  # a gradient penalty, the joint field
        {"loss": "hinge", "update": "extragradient", "pack": 2},
        {"diffaugment": "color,translation,cutout", "ada": True, "ada_kimg": 1},  # p moves on the device
        {"loss": "rpgan", "r1": 1.0, "r2": 1.0, "r1_every": 2},  # R3GAN: relativistic pairs, R1 and R2 lazily
    ],
    ids=["recipe", "wgan", "wgan-gp-consensus", "hinge-extragradient", "diffaugment-ada", "rpgan-r1-r2"],
)
def test_steps_between_logging_points_read_nothing_back(tmp_path: Path, monkeypatch, flags: dict) -> None:
    monkeypatch.setenv("GANCLI_CACHE", str(tmp_path / "cache"))
    session, run = lifecycle.start({**DIGITS, **flags}, None, SMALL, tmp_path / "run")
    run.release()
    game = session.game
    game.recording = False
    with counted_reads() as reads:
        for _ in range(4):
            session.rule.step(game)
    assert reads == []
    game.recording = True  # a logged step computes its statistics as tensors, read by the loop afterwards
    with counted_reads() as reads:
        session.rule.step(game)
    assert reads == []
    assert {"loss_d", "loss_g", "d_real", "grad_norm_g"} <= set(game.stats)


def test_the_count_sees_each_kind_of_read() -> None:
    value = torch.ones(())
    with counted_reads() as reads:
        value.item(), float(value), bool(value), value.tolist(), value.numpy()
    assert reads == ["item", "__float__", "__bool__", "tolist", "numpy"]

"""Latent walks: spherical interpolation against a hand computation, and `gancli sample --interpolate`."""

from __future__ import annotations

import io
import math
from pathlib import Path

import numpy as np
import torch
from cli_helpers import ok, one_line_error
from gancli.latent import FRAMES_BETWEEN, slerp
from PIL import Image


def test_slerp_follows_the_great_circle_between_its_ends() -> None:
    start, end = torch.tensor([2.0, 0.0, 0.0]), torch.tensor([0.0, 2.0, 0.0])
    points = slerp(start, end, torch.tensor([0.0, 1 / 3, 0.5, 1.0]))
    # a quarter circle of radius 2: at a third of the way 30°, (2 cos 30°, 2 sin 30°) = (√3, 1); half-way 45°
    expected = [[2, 0, 0], [math.sqrt(3), 1, 0], [math.sqrt(2), math.sqrt(2), 0], [0, 2, 0]]
    torch.testing.assert_close(points, torch.tensor(expected), atol=1e-6, rtol=0)
    torch.testing.assert_close(points.norm(dim=-1), torch.full((4,), 2.0))  # the norm of its ends all the way
    # ends of different norms: sin((1-t)ω)/sin ω · a + sin(tω)/sin ω · b, ω = 90°: at t = ½, (3 + 1)·√2/2 apart
    half = slerp(torch.tensor([3.0, 0.0]), torch.tensor([0.0, 1.0]), torch.tensor([0.5]))
    torch.testing.assert_close(half, torch.tensor([[3 / math.sqrt(2), 1 / math.sqrt(2)]]))
    # parallel ends have no plane to turn in: the line between them
    torch.testing.assert_close(slerp(start, 3 * start, torch.tensor([0.5])), torch.tensor([[4.0, 0.0, 0.0]]))


def test_a_walk_keeps_the_noise_norm_a_straight_line_loses() -> None:
    a, b = torch.randn(2, 512, generator=torch.Generator().manual_seed(0))
    middle = slerp(a, b, torch.tensor([0.5]))[0]
    assert abs(middle.norm() - (a.norm() + b.norm()) / 2) < 0.02 * a.norm()
    assert ((a + b) / 2).norm() < 0.75 * a.norm()  # the line's midpoint: about √½ of a draw's norm


def test_sample_interpolate_writes_an_animation_and_frames(gancli, tiny_run: Path, tmp_path: Path) -> None:
    ok(gancli("sample", tiny_run, "--interpolate", "3", "-o", "walk.png"))
    with Image.open(io.BytesIO((tmp_path / "walk.png").read_bytes())) as animation:
        assert animation.n_frames == 3 * FRAMES_BETWEEN and animation.is_animated
    ok(gancli("sample", tiny_run, "--interpolate", "3", "--n", "5", "--seed", "4", "-o", "walk.npy"))
    ok(gancli("sample", tiny_run, "--n", "5", "--seed", "4", "-o", "first.npy"))
    walk, first = np.load(tmp_path / "walk.npy"), np.load(tmp_path / "first.npy")
    assert walk.shape == (3 * FRAMES_BETWEEN, 5, 2)
    np.testing.assert_allclose(walk[0], first, atol=1e-5)  # frame 0: the samples of the same --seed and --n
    assert not np.allclose(walk[FRAMES_BETWEEN], first, atol=1e-3)  # the next point
    one_line_error(gancli("sample", tiny_run, "--interpolate", "1", "-o", "w.png"), "--interpolate must be between 2")
    too_many = gancli("sample", tiny_run, "--interpolate", "1000", "--n", "1000", "-o", "w.png")
    one_line_error(too_many, "--interpolate 1000 with --n 1000 walks makes 16,000,000 samples")

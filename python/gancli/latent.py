"""Walks through a generator's latent space: spherical interpolation between points of Gaussian noise.

A straight line between two draws of N(0, I) passes near the origin, where the noise has a norm no draw has
(√d shrinks to about √(d/2) half-way) and the generator makes untypical images; the great circle between them
keeps the norm of its ends (Shoemake 1985, "Animating rotation with quaternion curves"; White 2016, "Sampling
generative networks").
"""

from __future__ import annotations

import torch

#: frames from one point of a walk to the next, and how long each is shown in an animation: 1.3 s a step
FRAMES_BETWEEN = 16
FRAME_MS = 80


def slerp(start: torch.Tensor, end: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    """Points on the great arc from ``start`` to ``end`` (..., d) at fractions ``t`` (T,): (T, ..., d). Where the
    two are (nearly) parallel the arc is a line, and the line is taken."""
    unit_start = start / start.norm(dim=-1, keepdim=True)
    unit_end = end / end.norm(dim=-1, keepdim=True)
    omega = torch.acos((unit_start * unit_end).sum(-1, keepdim=True).clamp(-1.0, 1.0))
    t = t.reshape(-1, *[1] * start.dim())
    sin = torch.sin(omega)
    parallel = sin.abs() < 1e-6
    safe = torch.where(parallel, torch.ones_like(sin), sin)
    arc = (torch.sin((1 - t) * omega) * start + torch.sin(t * omega) * end) / safe
    return torch.where(parallel, (1 - t) * start + t * end, arc)


def latent_walk(points: torch.Tensor, frames_between: int = FRAMES_BETWEEN) -> torch.Tensor:
    """The noise of a closed walk through ``points`` (K, n, d), back to the first so that a looping animation has
    no jump: (K · frames_between, n, d), frame 0 the first point, every ``frames_between``-th frame the next."""
    t = torch.arange(frames_between, dtype=points.dtype) / frames_between
    following = torch.roll(points, -1, dims=0)
    return torch.cat([slerp(a, b, t) for a, b in zip(points, following, strict=True)])


def walk_noise(points: int, walks: int, latent_dim: int, seed: int) -> torch.Tensor:
    """The noise of ``walks`` closed walks through ``points`` draws each: (points · FRAMES_BETWEEN, walks,
    latent_dim). Frame 0 is the noise ``Session.generate(walks, seed)`` samples: the points are drawn one after the
    other from that stream (torch draws a larger tensor's normals otherwise)."""
    stream = torch.Generator().manual_seed(seed)
    return latent_walk(torch.stack([torch.randn(walks, latent_dim, generator=stream) for _ in range(points)]))

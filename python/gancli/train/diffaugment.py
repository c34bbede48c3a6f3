"""Differentiable augmentation of every batch D judges, real and generated (``--diffaugment``, ``--ada``).

Augmenting the real images alone (``--augment`` translate, cutout, colour) shows D a distribution that G is
then pushed to imitate: the augmentation leaks into the samples. DiffAugment (Zhao et al. 2020) applies one
random family of transforms to everything D sees — real batches, generated ones, R1's and a penalty's inputs —
as torch ops that G's gradient passes through, so D cannot tell the transforms apart from the data and G
learns the data itself. ADA (Karras et al. 2020) applies each transform to an image with a probability p,
moved every ``ADA_INTERVAL`` D steps by the overfitting heuristic r = E[sign D(x)] on real batches: up while D
is surer of the reals than ``--ada-target``, down otherwise. Without ``--ada``, p is 1 (DiffAugment's policy).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import torch

from gancli.config import RunConfig, diffaugment_policy
from gancli.data.base import DataSource
from gancli.errors import GancliError
from gancli.losses.base import Loss
from gancli.train.distributed import SINGLE, Ranks

if TYPE_CHECKING:
    from gancli.kernels import AugmentSpec

#: the generator of the transforms' random draws is seeded with --seed + 5 (data: seed, latents: seed + 1,
#: samples: + 2, evaluation: + 3, the diversity diagnostic: + 4)
SEED_OFFSET = 5
ADA_INTERVAL = 4  # D steps between two moves of p (Karras et al.: every 4 minibatches)
TRANSLATION = 1 / 8  # the largest shift, as a fraction of the side
CUTOUT = 1 / 2  # the side of the zeroed square, as a fraction of the image's
#: the transforms of ``--augment`` that change a real image into one the data does not hold, by the
#: ``--diffaugment`` transform that does the same to both players' images
LEAKING = {"translate": "translation", "cutout": "cutout", "brightness": "color", "contrast": "color"}
LEAKING |= {"saturation": "color"}

#: ``uniform(k)``: k uniform draws in [0, 1) for each image of the batch, (N, k)
Uniform = Callable[[int], torch.Tensor]


def augment(x: torch.Tensor, policy: tuple[str, ...], p: torch.Tensor, uniform: Uniform) -> torch.Tensor:
    """``x`` (N, C, H, W) with each transform of ``policy`` applied to each image with probability ``p``; linear
    in ``x`` for fixed draws, so gradients (of any order) reach whatever made ``x``. Every draw is taken whatever
    ``p``, so the stream of random numbers does not depend on it."""
    channels_last = not x.is_contiguous() and x.is_contiguous(memory_format=torch.channels_last)
    if "color" in policy:
        x = color(x, uniform(6), p)
    if "translation" in policy:
        x = translation(x, uniform(3), p)
    if "cutout" in policy:
        x = cutout(x, uniform(3), p)
    return x.contiguous(memory_format=torch.channels_last) if channels_last else x


def color(x: torch.Tensor, u: torch.Tensor, p: torch.Tensor) -> torch.Tensor:
    """Brightness + [−0.5, 0.5), saturation × [0, 2), contrast × [0.5, 1.5), each with probability p (DiffAugment's
    magnitudes, on images in [−1, 1]); saturation leaves a gray image as it is. Each blend is written
    x·f + mean·(1 − f), which a factor of 1 (the op not drawn) leaves exactly x."""
    on = u[:, :3] < p
    shape = (-1, 1, 1, 1)
    brightness = torch.where(on[:, 0], u[:, 3] - 0.5, 0.0).to(x.dtype).view(shape)
    saturation = torch.where(on[:, 1], u[:, 4] * 2, 1.0).to(x.dtype).view(shape)
    contrast = torch.where(on[:, 2], u[:, 5] + 0.5, 1.0).to(x.dtype).view(shape)
    x = x + brightness
    x = x * saturation + x.mean(dim=1, keepdim=True) * (1 - saturation)
    return x * contrast + x.mean(dim=(1, 2, 3), keepdim=True) * (1 - contrast)


def translation(x: torch.Tensor, u: torch.Tensor, p: torch.Tensor) -> torch.Tensor:
    """A whole-pixel shift by up to ``TRANSLATION`` of each side in each direction, zeros filling in, with
    probability p."""
    n, c, h, w = x.shape
    on = u[:, 0] < p

    def sources(size: int, draw: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        most = int(size * TRANSLATION + 0.5)
        shift = torch.where(on, torch.floor(draw * (2 * most + 1)) - most, 0.0).long()
        source = torch.arange(size, device=x.device) - shift[:, None]  # (N, size): where each pixel comes from
        return source.clamp(0, size - 1), (source >= 0) & (source < size)

    rows, rows_inside = sources(h, u[:, 1])
    cols, cols_inside = sources(w, u[:, 2])
    index = (rows[:, :, None] * w + cols[:, None, :]).reshape(n, 1, h * w).expand(n, c, h * w)
    moved = x.reshape(n, c, h * w).gather(2, index).reshape(n, c, h, w)
    inside = rows_inside[:, :, None] & cols_inside[:, None, :]
    return moved * inside[:, None].to(x.dtype)


def cutout(x: torch.Tensor, u: torch.Tensor, p: torch.Tensor) -> torch.Tensor:
    """Zero a square of ``CUTOUT`` of the side, centred anywhere (clipped at the border), with probability p."""
    _, _, h, w = x.shape
    on = u[:, 0] < p

    def covered(size: int, draw: torch.Tensor) -> torch.Tensor:
        side = int(size * CUTOUT + 0.5)
        # DiffAugment's offsets: a centre in [0, size] for an even side, [0, size) for an odd one
        start = torch.floor(draw * (size + 1 - side % 2)).long() - side // 2
        index = torch.arange(size, device=x.device)
        return (index >= start[:, None]) & (index < start[:, None] + side)  # (N, size)

    hole = covered(h, u[:, 1])[:, :, None] & covered(w, u[:, 2])[:, None, :] & on[:, None, None]
    return x * (~hole)[:, None].to(x.dtype)


@dataclass(frozen=True)
class Ada:
    """How ``--ada`` moves p: towards r = ``target``, with D's scores signed about ``boundary`` (the loss's), by
    ``pace`` per adjustment."""

    target: float
    boundary: float
    pace: float


class Augmenter:
    """What D's inputs go through: the policy, its own random generator on the run's device (saved in
    checkpoints), and p, with ADA's bookkeeping when ``--ada`` moves it. On several processes the draws are
    made for the global batch and each rank keeps its share, so the run equals one process."""

    def __init__(
        self,
        policy: tuple[str, ...],
        device: torch.device,
        seed: int,
        ranks: Ranks = SINGLE,
        ada: Ada | None = None,
    ) -> None:
        self.policy, self.device, self.ranks, self.ada = policy, device, ranks, ada
        self.generator = torch.Generator(device=device).manual_seed(seed)
        self.p = torch.tensor(1.0 if ada is None else 0.0, device=device)
        self.r = torch.zeros((), device=device)  # r of the latest adjustment (0 before the first)
        self.signs = torch.zeros((), device=device)  # the sum over this interval's real batches of E[sign]
        self.seen = 0  # real batches observed in this interval

    @classmethod
    def of(
        cls, config: RunConfig, loss: Loss, data: DataSource, device: torch.device, ranks: Ranks
    ) -> Augmenter | None:
        """The run's augmenter (None without ``--diffaugment``), or a one-line error naming the flag when the
        data or the loss cannot have it."""
        policy = diffaugment_policy(config.diffaugment)
        if not policy:
            return None
        if not data.is_image:
            raise GancliError(f"--diffaugment transforms images; --data {config.data} holds points")
        ada = None
        if config.ada:
            if loss.boundary is None:
                raise GancliError(
                    f"--ada reads E[sign D(x)], and --loss {config.loss}'s scores have no boundary between real "
                    "and fake to take a sign from: use --diffaugment alone (p = 1), or a logit or hinge loss"
                )
            pace = config.batch_size * ADA_INTERVAL / (config.ada_kimg * 1000)
            ada = Ada(config.ada_target, loss.boundary, pace)
        return cls(policy, device, config.seed + SEED_OFFSET, ranks, ada)

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        """``x`` (this process's share of a batch) augmented with fresh draws."""
        total = x.shape[0] * self.ranks.world

        def uniform(k: int) -> torch.Tensor:
            return self.ranks.shard(torch.rand(total, k, generator=self.generator, device=self.device))

        return augment(x, self.policy, self.p, uniform)

    def observe(self, d_real: torch.Tensor) -> None:
        """Count D's scores of a real batch towards this interval's r (no read back to the host)."""
        if self.ada is not None:
            self.signs = self.signs + torch.sign(d_real.detach().float() - self.ada.boundary).mean()
            self.seen += 1

    def adjust(self, average: Callable[[Sequence[torch.Tensor]], list[torch.Tensor]]) -> None:
        """Move p by one pace towards where r meets the target, r averaged over the processes' shards; p stays in
        [0, 1]."""
        if self.ada is None or self.seen == 0:
            return
        (self.r,) = average([self.signs / self.seen])
        self.p = (self.p + torch.sign(self.r - self.ada.target) * self.ada.pace).clamp(0.0, 1.0)
        self.signs, self.seen = torch.zeros_like(self.signs), 0

    def state_dict(self) -> dict[str, torch.Tensor]:
        """What a resumed run needs to continue bit for bit: the generator, p and the interval so far."""
        return {
            "generator": self.generator.get_state(),
            "p": self.p,
            "r": self.r,
            "signs": self.signs,
            "seen": torch.tensor(self.seen),
        }

    def load_state_dict(self, state: dict[str, torch.Tensor]) -> None:
        self.generator.set_state(state["generator"])
        self.p, self.r, self.signs = (state[k].to(self.device) for k in ("p", "r", "signs"))
        self.seen = int(state["seen"])


def leak_warning(spec: AugmentSpec) -> str | None:
    """The warning for ``--augment`` transforms that leak into G's samples, with the remedy; None for flips."""
    leaking = [op for op in LEAKING if getattr(spec, f"{op}_p") > 0]
    if not leaking:
        return None
    remedy = ",".join(dict.fromkeys(LEAKING[op] for op in leaking))
    return (
        f"--augment {','.join(leaking)} changes the real images alone, so D learns the change marks them real and G "
        f"learns to imitate it (it leaks into the samples): augment what D sees, real and generated, with "
        f"--diffaugment {remedy} instead; --augment flip is safe on real images alone"
    )

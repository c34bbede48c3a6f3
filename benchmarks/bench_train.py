"""`gancli train`'s training step against a hand-written PyTorch loop (not a test).

What each side computes. Both train the same networks from the same weights on the same decoded images:
gancli's ``dcgan`` G and D at width 64 (32×32 digits by default, or ``--data FOLDER`` at ``--image-size`` and
``--channels``), batch ``--batch``, Adam 2e-4 with β1 0.5, the non-saturating loss; each step is one D step on a
fresh real batch and fakes made without gradient, then one G step on fresh latents.

- hand-written: the step as pytorch/examples ``dcgan/main.py`` writes it, with that update, reading its losses
  with ``.item()`` every 10 steps. Like that example, its G step's ``backward()`` also fills D's gradients,
  which the next D step discards.
- gancli, same updates: ``gancli train`` minus the argument parsing, with no R1 and no moving average (which
  the digits' recipe would add): ``gancli.train.lifecycle.start`` (resolve, claim a run directory, build the
  session through the plugins), then, timed, ``gancli.train.loop.train``: a record every 10 steps to
  metrics.jsonl (losses, D(x), D(G(z)), gradient norms, a health check) and at the end, as every run does, one
  sample image and one checkpoint.
- with ``--extras``, the recipe's extras each on a line of their own, against the same hand-written loop: lazy
  R1 as the digits' recipe takes it, the recipe's moving average of G, and both (the recipe as resolved).

The sides take turns in one process, ``--repeats`` times after a warm-up, each a fresh run of ``--steps``
steps from the same starting weights. Printed: each side's median steps per second and per CPU second of
this process, and each gancli line's ratio to the hand-written loop (the median over the back-to-back pairs;
above 1, gancli is faster), with the load average before and after: above 0.5 per core other processes shared
the machine and the ratios are not to be quoted.

    python benchmarks/bench_train.py [--steps N] [--repeats R] [--threads T] [--batch B] [--extras]
                                     [--data FOLDER --image-size S --channels C] [--device cpu|cuda]
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import os
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, get_args

import torch
import torch.nn.functional as F
from gancli.data import DEFAULT_BUDGET
from gancli.train import lifecycle, loop
from gancli.train.rundir import RunDir
from gancli.train.session import Session
from load import load_report
from torch import nn

LOG_EVERY = 10
WARMUP_STEPS = 5
HAND = "hand-written"
SAME = "gancli, same updates"
#: the digits' recipe's extras, as ``gancli train`` flags, each measured as a line of its own
EXTRAS = {
    f"gancli + lazy R1 (γ {DEFAULT_BUDGET['r1']:g} every {DEFAULT_BUDGET['r1_every']})": [
        f"--r1={DEFAULT_BUDGET['r1']}",
        f"--r1-every={DEFAULT_BUDGET['r1_every']}",
    ],
    f"gancli + EMA {DEFAULT_BUDGET['ema']:g}": [f"--ema={DEFAULT_BUDGET['ema']}"],
}
EXTRAS["gancli, the digits recipe (both)"] = [flag for flags in EXTRAS.values() for flag in flags]


def untimed(name: str) -> contextlib.AbstractContextManager[None]:
    return contextlib.nullcontext()


class HandWritten:
    """The DCGAN step as one writes it by hand (pytorch/examples), with the same update as gancli's. ``phase``
    names each part of the step for profile_step.py, which times them; here it does nothing."""

    def __init__(
        self,
        generator: nn.Module,
        discriminator: nn.Module,
        images: torch.Tensor,
        latent_dim: int,
        autocast: torch.dtype | None = None,
    ) -> None:
        self.autocast = autocast  # mixed precision as a user writes it: the step under torch.autocast
        # in the memory layout a user's networks have (gancli's may be channels-last: the dcgan recommends it)
        generator.to(memory_format=torch.contiguous_format)
        discriminator.to(memory_format=torch.contiguous_format)
        self.G, self.D, self.images, self.latent_dim = generator, discriminator, images, latent_dim
        self.opt_g = torch.optim.Adam(generator.parameters(), lr=2e-4, betas=(0.5, 0.999))
        self.opt_d = torch.optim.Adam(discriminator.parameters(), lr=2e-4, betas=(0.5, 0.999))
        self.log: list[tuple[float, float]] = []

    def noise(self, batch: int) -> torch.Tensor:
        return torch.randn(batch, self.latent_dim, device=self.images.device)

    def train(self, steps: int, batch: int, phase: Callable[[str], Any] = untimed) -> None:
        device = self.images.device.type
        precision = torch.autocast(device, self.autocast) if self.autocast else contextlib.nullcontext()
        with precision:
            self.steps(steps, batch, phase)

    def steps(self, steps: int, batch: int, phase: Callable[[str], Any]) -> None:
        for step in range(1, steps + 1):
            with phase("data fetch"):
                real = self.images[torch.randint(len(self.images), (batch,), device=self.images.device)]
            with phase("latent draw"):
                z = self.noise(batch)
            with torch.no_grad():
                fake = self.G(z)
            with phase("zero_grad"):
                self.opt_d.zero_grad()
            with phase("D loss (its forward passes apart)"):
                loss_d = F.softplus(-self.D(real)).mean() + F.softplus(self.D(fake)).mean()
            with phase("D backward"):
                loss_d.backward()
            with phase("D optimizer step"):
                self.opt_d.step()
            with phase("zero_grad"):
                self.opt_g.zero_grad()
            with phase("latent draw"):
                z = self.noise(batch)
            with phase("G loss (its forward passes apart)"):
                loss_g = F.softplus(-self.D(self.G(z))).mean()
            with phase("G backward"):
                loss_g.backward()
            with phase("G optimizer step"):
                self.opt_g.step()
            if step % LOG_EVERY == 0:
                with phase("record (statistics to host)"):
                    self.log.append((loss_d.item(), loss_g.item()))


def start_run(
    out: Path, steps: int, device: str, batch: int, extra: list[str] | tuple[str, ...] = ()
) -> tuple[Session, RunDir]:
    """A new ``gancli train`` run of ``steps`` steps with the same updates as the hand-written loop, built but not
    started; outputs only at its end. ``extra``: more ``gancli train`` flags as typed (``--r1 1 --ema 0.998``)."""
    flags = {
        "data": "digits",
        "arch": "dcgan",
        "loss": "nonsaturating",
        "optimizer": "adam",
        "update": "alternating",
        "steps": steps,
        "batch_size": batch,
        "lr": 2e-4,
        "r1": 0.0,
        "ema": 0.0,
        "device": device,
        "metrics": [],
        "log_every": LOG_EVERY,
        "sample_every": steps,
        "checkpoint_every": steps,
        "eval_every": steps,
    }
    widths = ["dcgan.g_width=64", "dcgan.d_width=64", "adam.beta1=0.5"]
    return lifecycle.start({**flags, **parsed_flags(extra)}, None, widths, out)


def parsed_flags(arguments: list[str] | tuple[str, ...]) -> dict[str, object]:
    """``gancli train`` flags as typed (``--r1 1``, ``--r1=1``, ``--no-prefetch``) → what ``lifecycle.start`` takes."""
    from gancli.config import FIELD_TYPES

    flags: dict[str, object] = {}
    words = [part for word in arguments for part in (word.split("=", 1) if word.startswith("--") else [word])]
    while words:
        name = words.pop(0).removeprefix("--").replace("-", "_")
        if name.startswith("no_") and name[3:] in FIELD_TYPES:
            flags[name[3:]] = False
            continue
        kinds = (FIELD_TYPES[name], *get_args(FIELD_TYPES[name]))
        kind = next(t for t in (bool, int, float, str) if t in kinds)
        flags[name] = True if kind is bool else kind(words.pop(0))
    return flags


def data_flags(args: argparse.Namespace) -> list[str]:
    """The ``gancli train`` flags of ``--data FOLDER`` (none for the digits)."""
    if not args.data:
        return []
    return ["--data", args.data, "--image-size", str(args.image_size), "--channels", str(args.channels)]


def add_machine_arguments(parser: argparse.ArgumentParser) -> None:
    """The options bench_train.py and profile_step.py share: threads, device, batch and data."""
    parser.add_argument("--threads", type=int, default=1, help="torch threads (default 1)")
    parser.add_argument("--device", default="cpu", help="cpu (default) or cuda")
    parser.add_argument("--batch", type=int, default=64, help="batch size (default 64)")
    parser.add_argument("--data", default="", help="an image folder instead of the digits")
    parser.add_argument("--image-size", type=int, default=32, help="with --data: image side (default 32)")
    parser.add_argument("--channels", type=int, default=3, help="with --data: 1 or 3 (default 3)")


def hand_images(session: Session) -> torch.Tensor:
    """The session's images as the hand-written loop takes them: floats in [-1, 1] on the session's device (a
    copy: a cached dataset is a read-only map)."""
    return torch.tensor(session.data.images, device=session.device).float().div_(127.5).sub_(1.0)


def contenders(root: Path, name: str, steps: int, args: argparse.Namespace) -> dict[str, Callable[[], None]]:
    """The hand-written loop and each gancli line, ready to run ``steps`` steps from the same weights."""
    data = data_flags(args)
    lines = {SAME: []} | (EXTRAS if getattr(args, "extras", False) else {})
    runs = {
        line: start_run(root / f"{name}-{i}", steps, args.device, args.batch, data + flags)
        for i, (line, flags) in enumerate(lines.items())
    }
    session, _ = runs[SAME]
    images = hand_images(session)
    generator, discriminator = copy.deepcopy(session.generator), copy.deepcopy(session.discriminator)
    hand = HandWritten(generator, discriminator, images, session.config.latent_dim)
    timed: dict[str, Callable[[], None]] = {HAND: lambda: hand.train(steps, args.batch)}
    for line, (run_session, run) in runs.items():
        timed[line] = lambda s=run_session, r=run: loop.train(s, r, show_progress=False)
    return timed


def steps_per_second(fn: Callable[[], None], steps: int) -> tuple[float, float]:
    """Steps per wall-clock second and per CPU second of this process (less disturbed by other processes)."""
    sync = torch.cuda.synchronize if torch.cuda.is_available() else lambda: None
    sync()
    wall, cpu = time.perf_counter(), time.process_time()
    fn()
    sync()
    return steps / (time.perf_counter() - wall), steps / (time.process_time() - cpu)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=50, help="steps per timed stretch (default 50)")
    parser.add_argument("--repeats", type=int, default=5, help="timed stretches of each (default 5)")
    parser.add_argument("--extras", action="store_true", help="also the digits recipe's extras, a line each")
    add_machine_arguments(parser)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    load_before = os.getloadavg()[0]

    rates: dict[str, list[tuple[float, float]]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for fn in contenders(Path(tmp), "warmup", WARMUP_STEPS, args).values():
            fn()
        for repeat in range(args.repeats):
            runs = contenders(Path(tmp), f"run-{repeat}", args.steps, args)
            order = list(runs)
            for name in order[repeat % len(order) :] + order[: repeat % len(order)]:  # each goes first in turn
                rates.setdefault(name, []).append(steps_per_second(runs[name], args.steps))

    print(load_report(load_before, f"torch {torch.__version__}, {args.threads} thread(s), device {args.device}"))
    data = f"{args.data} at {args.channels}x{args.image_size}x{args.image_size}" if args.data else "32x32x1 digits"
    print(
        f"DCGAN width 64 on {data}, batch {args.batch}, Adam 2e-4 b1 0.5, non-saturating; "
        f"{args.repeats} x {args.steps} steps each, interleaved"
    )
    hand = rates[HAND]
    for name, runs in rates.items():
        walls = ", ".join(f"{wall:.2f}" for wall, _ in runs)
        line = (
            f"  {name:<36} {statistics.median(w for w, _ in runs):7.2f} steps/s ({walls}), "
            f"{statistics.median(c for _, c in runs):7.2f} per CPU second"
        )
        if name != HAND:
            pairs = list(zip(runs, hand, strict=True))
            wall_ratio = statistics.median(ours[0] / theirs[0] for ours, theirs in pairs)
            cpu_ratio = statistics.median(ours[1] / theirs[1] for ours, theirs in pairs)
            line += f"; / hand-written: {wall_ratio:.3f} wall, {cpu_ratio:.3f} CPU"
        print(line)


if __name__ == "__main__":
    main()

"""`gancli train`'s training step against a hand-written PyTorch loop doing the same updates (not a test).

Both train the same networks on the same data: gancli's ``dcgan`` G and D at width 64 on the 32×32×1
digits, batch 64, Adam 2e-4 with β1 0.5, the non-saturating loss, one D step on a fresh real batch and
fakes made without gradient, then one G step on fresh latents.

- gancli: ``gancli train`` minus the argument parsing: ``gancli.train.lifecycle.start`` (resolve the
  configuration, claim a run directory, build the session through the plugins) and then, timed,
  ``gancli.train.loop.train``: a record every 10 steps to metrics.jsonl, and at the end, as every run
  does, one sample image and one checkpoint;
- hand-written: the step as pytorch/examples ``dcgan/main.py`` writes it, with gancli's update (fakes for
  D made without gradient, fresh latents for G), on copies of the G and D that gancli is about to train and
  the same images, reading its losses with ``.item()`` every 10 steps. Like that example, its G step's
  ``backward()`` also fills D's gradients, which the next D step discards; gancli's asks for G's only.

They take turns in one process, ``--repeats`` times after a warm-up, each a fresh run of ``--steps`` steps
from the same starting weights. Printed: the median steps per second of each, and the ratio gancli /
hand-written (1.0: the CLI costs nothing), the median over the back-to-back pairs, by wall clock and by
this process's CPU time; with the load average before and after, since other processes on a shared machine
slow both sides unevenly (the CPU-time ratio suffers less from that).

    python benchmarks/bench_train.py [--steps N] [--repeats R] [--threads T] [--device cpu|cuda]
"""

from __future__ import annotations

import argparse
import copy
import os
import platform
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import torch
import torch.nn.functional as F
from gancli.train import lifecycle, loop
from gancli.train.rundir import RunDir
from gancli.train.session import Session
from torch import nn

LOG_EVERY = 10
WARMUP_STEPS = 5


class HandWritten:
    """The DCGAN step as one writes it by hand (pytorch/examples), with the same update as gancli's."""

    def __init__(self, generator: nn.Module, discriminator: nn.Module, images: torch.Tensor, latent_dim: int) -> None:
        self.G, self.D, self.images, self.latent_dim = generator, discriminator, images, latent_dim
        self.opt_g = torch.optim.Adam(generator.parameters(), lr=2e-4, betas=(0.5, 0.999))
        self.opt_d = torch.optim.Adam(discriminator.parameters(), lr=2e-4, betas=(0.5, 0.999))
        self.log: list[tuple[float, float]] = []

    def noise(self, batch: int) -> torch.Tensor:
        return torch.randn(batch, self.latent_dim, device=self.images.device)

    def train(self, steps: int, batch: int) -> None:
        for step in range(1, steps + 1):
            real = self.images[torch.randint(len(self.images), (batch,), device=self.images.device)]
            with torch.no_grad():
                fake = self.G(self.noise(batch))
            self.opt_d.zero_grad()
            loss_d = F.softplus(-self.D(real)).mean() + F.softplus(self.D(fake)).mean()
            loss_d.backward()
            self.opt_d.step()
            self.opt_g.zero_grad()
            loss_g = F.softplus(-self.D(self.G(self.noise(batch)))).mean()
            loss_g.backward()
            self.opt_g.step()
            if step % LOG_EVERY == 0:
                self.log.append((loss_d.item(), loss_g.item()))


def start_run(out: Path, steps: int, device: str, batch: int) -> tuple[Session, RunDir]:
    """A new ``gancli train`` run of ``steps`` steps, built but not started; outputs only at its end."""
    flags = {
        "data": "digits",
        "arch": "dcgan",
        "loss": "nonsaturating",
        "optimizer": "adam",
        "update": "alternating",
        "steps": steps,
        "batch_size": batch,
        "lr": 2e-4,
        "device": device,
        "metrics": [],
        "log_every": LOG_EVERY,
        "sample_every": steps,
        "checkpoint_every": steps,
        "eval_every": steps,
    }
    return lifecycle.start(flags, None, ["dcgan.g_width=64", "dcgan.d_width=64", "adam.beta1=0.5"], out)


def contenders(root: Path, name: str, steps: int, args: argparse.Namespace) -> dict[str, Callable[[], None]]:
    """Both loops, ready to run ``steps`` steps from the same weights on the same data."""
    session, run = start_run(root / name, steps, args.device, args.batch)
    images = torch.from_numpy(session.data.images).to(session.device).float().div_(127.5).sub_(1.0)
    generator, discriminator = copy.deepcopy(session.generator), copy.deepcopy(session.discriminator)
    hand = HandWritten(generator, discriminator, images, session.config.latent_dim)
    return {
        "gancli train": lambda: loop.train(session, run, show_progress=False),
        "hand-written": lambda: hand.train(steps, args.batch),
    }


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
    parser.add_argument("--threads", type=int, default=1, help="torch threads (default 1)")
    parser.add_argument("--device", default="cpu", help="cpu (default) or cuda")
    parser.add_argument("--batch", type=int, default=64, help="batch size (default 64)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    load_before = os.getloadavg()[0]

    rates: dict[str, list[tuple[float, float]]] = {"gancli train": [], "hand-written": []}
    with tempfile.TemporaryDirectory() as tmp:
        for fn in contenders(Path(tmp), "warmup", WARMUP_STEPS, args).values():
            fn()
        for repeat in range(args.repeats):
            runs = contenders(Path(tmp), f"run-{repeat}", args.steps, args)
            for name in list(runs) if repeat % 2 == 0 else list(reversed(runs)):
                rates[name].append(steps_per_second(runs[name], args.steps))

    print(
        f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, load average {load_before:.2f} "
        f"before, {os.getloadavg()[0]:.2f} after; torch {torch.__version__}, {args.threads} thread(s), "
        f"device {args.device}"
    )
    print(
        f"DCGAN width 64 on 32x32x1 digits, batch {args.batch}, Adam 2e-4 b1 0.5, non-saturating; "
        f"{args.repeats} x {args.steps} steps each, interleaved"
    )
    for name, runs in rates.items():
        walls = ", ".join(f"{wall:.2f}" for wall, _ in runs)
        print(
            f"  {name:<14} {statistics.median(w for w, _ in runs):7.2f} steps/s ({walls}), "
            f"{statistics.median(c for _, c in runs):7.2f} steps per CPU second"
        )
    pairs = list(zip(rates["gancli train"], rates["hand-written"], strict=True))
    wall_ratio = statistics.median(ours[0] / theirs[0] for ours, theirs in pairs)
    cpu_ratio = statistics.median(ours[1] / theirs[1] for ours, theirs in pairs)
    print(f"  gancli / hand-written (median of the back-to-back pairs): {wall_ratio:.3f} wall, {cpu_ratio:.3f} CPU")


if __name__ == "__main__":
    main()

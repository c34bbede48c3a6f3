"""Where a training step's time goes: gancli's step and a hand-written loop's, phase by phase (not a test).

Both sides train the networks of ``bench_train.py`` (gancli's ``dcgan`` at width 64 on 32×32 digits, Adam
2e-4 β1 0.5, non-saturating, one D step then one G step on fresh latents) from the same weights. The
hand-written loop times its own phases inline; gancli's phases are timed by wrapping, in this script only,
the functions of gancli that do each (the Game's data draws and losses, the networks' forward passes, the
backward passes, the optimizer steps, the moving average, the statistics and the loop's records), so the
code measured is the code that trains. A phase's time excludes the phases inside it (D's forward inside
the D loss), on one thread, where time adds up. The whole loop (``gancli.train.loop.train``) runs, with its
records every ``--log-every`` steps (and with ``--progress`` its progress bar, whose refresh thread counts
as "other"); "other" is what no phase covers (the loop itself, the update rule).

Extra flags after ``--`` go to gancli's side as ``gancli train`` flags would (``-- --r1 1 --r1-every 4``),
to see a recipe's extras as phases of their own.

    python benchmarks/profile_step.py [--steps N] [--threads T] [--batch B] [--progress]
                                      [--data FOLDER --image-size S --channels C] [-- GANCLI FLAGS]
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import functools
import os
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import bench_train
import torch
from gancli.train import game as game_module
from gancli.train import loop
from load import load_report
from rich.progress import Progress
from torch import nn


class Phases:
    """Exclusive CPU time per named phase: entering a phase pauses the one it is nested in."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = defaultdict(float)
        self.stack: list[tuple[str, float]] = []

    @contextlib.contextmanager
    def __call__(self, name: str) -> Iterator[None]:
        now = time.process_time()
        if self.stack:
            outer, since = self.stack[-1]
            self.seconds[outer] += now - since
        self.stack.append((name, now))
        try:
            yield
        finally:
            now = time.process_time()
            self.seconds[name] += now - self.stack.pop()[1]
            if self.stack:
                self.stack[-1] = (self.stack[-1][0], now)

    def wrap(self, name: str | Callable[..., str], fn: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(fn)
        def timed(*args: Any, **kwargs: Any) -> Any:
            with self(name() if callable(name) else name):
                return fn(*args, **kwargs)

        return timed


def time_forward(phases: Phases, module: nn.Module, name: str) -> None:
    """Time ``module``'s forward passes as phase ``name`` (hooks: the module object stays the one trained)."""
    entered: list[contextlib.AbstractContextManager[None]] = []

    def before(*_: Any) -> None:
        entered.append(phases(name if torch.is_grad_enabled() else f"{name}, no grad"))
        entered[-1].__enter__()

    def after(*_: Any) -> None:
        entered.pop().__exit__(None, None, None)

    module.register_forward_pre_hook(before)
    module.register_forward_hook(after)


@contextlib.contextmanager
def instrumented(phases: Phases, session: Any) -> Iterator[None]:
    """gancli's step with each phase timed: the session's own objects and gancli's functions, wrapped."""
    game = session.game
    player = ["D"]  # whose loss was computed last: the backward pass that follows is that player's

    def loss_of(name: str, fn: Callable[..., Any]) -> Callable[..., Any]:
        def computed(*args: Any, **kwargs: Any) -> Any:
            player[0] = name
            with phases(f"{name} loss (its forward passes apart)"):
                return fn(*args, **kwargs)

        return computed

    game.sample_real = phases.wrap("data fetch", game.sample_real)
    game.sample_latent = phases.wrap("latent draw", game.sample_latent)
    game.d_loss = loss_of("D", game.d_loss)
    game.g_loss = loss_of("G", game.g_loss)
    game.loss.readout = phases.wrap("readouts D(x), D(G(z))", game.loss.readout)
    game.opt_d.step = phases.wrap("D optimizer step", game.opt_d.step)
    game.opt_g.step = phases.wrap("G optimizer step", game.opt_g.step)
    game.opt_d.zero_grad = phases.wrap("zero_grad", game.opt_d.zero_grad)
    game.opt_g.zero_grad = phases.wrap("zero_grad", game.opt_g.zero_grad)
    time_forward(phases, game.G, "G forward")
    time_forward(phases, game.D, "D forward")
    patches = {
        (game_module, "total_norm"): phases.wrap("gradient norms", game_module.total_norm),
        (game_module, "update_ema"): phases.wrap("EMA", game_module.update_ema),
        (game_module, "input_gradient_norms"): phases.wrap("R1 (its first backward)", game_module.input_gradient_norms),
        (loop, "record_of"): phases.wrap("record (statistics to host)", loop.record_of),
        (loop, "health"): phases.wrap("health check", loop.health),
        (loop, "append_record"): phases.wrap("metrics.jsonl", loop.append_record),
        (loop, "save"): phases.wrap("checkpoint", loop.save),
        (loop, "run_samples_png"): phases.wrap("sample image", loop.run_samples_png),
        (Progress, "update"): phases.wrap("progress bar", Progress.update),
        (torch.Tensor, "backward"): phases.wrap(lambda: f"{player[0]} backward", torch.Tensor.backward),
    }
    originals = {key: getattr(*key) for key in patches}
    try:
        for (owner, name), wrapped in patches.items():
            setattr(owner, name, wrapped)
        yield
    finally:
        for (owner, name), original in originals.items():
            setattr(owner, name, original)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=40, help="profiled steps of each (default 40)")
    parser.add_argument("--progress", action="store_true", help="gancli's progress bar on (its refresh thread: other)")
    parser.add_argument("flags", nargs="*", help="gancli train flags for gancli's side, after --")
    bench_train.add_machine_arguments(parser)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    load_before = os.getloadavg()[0]
    ours, theirs = Phases(), Phases()
    with tempfile.TemporaryDirectory() as tmp:
        for fn in bench_train.contenders(Path(tmp), "warmup", bench_train.WARMUP_STEPS, args).values():
            fn()  # oneDNN builds each convolution's kernel on its first call, for either side
        session, run = bench_train.start_run(
            Path(tmp) / "run", args.steps, args.device, args.batch, bench_train.data_flags(args) + args.flags
        )
        images = bench_train.hand_images(session)
        latent_dim = session.config.latent_dim
        hand = bench_train.HandWritten(
            copy.deepcopy(session.generator), copy.deepcopy(session.discriminator), images, latent_dim
        )
        time_forward(theirs, hand.G, "G forward")
        time_forward(theirs, hand.D, "D forward")
        with instrumented(ours, session):
            start = time.process_time()
            loop.train(session, run, show_progress=args.progress)
            ours.seconds["total"] = time.process_time() - start
        start = time.process_time()
        hand.train(args.steps, args.batch, theirs)
        theirs.seconds["total"] = time.process_time() - start

    details = f"torch {torch.__version__}, {args.threads} thread(s), batch {args.batch}, {args.steps} steps each"
    print(load_report(load_before, f"{details}; gancli's extra flags: {' '.join(args.flags) or 'none'}"))
    for phases in (ours, theirs):
        phases.seconds["other"] = phases.seconds["total"] - sum(v for k, v in phases.seconds.items() if k != "total")
    names = [name for name in ours.seconds if name not in ("total", "other")]
    names += [name for name in theirs.seconds if name not in names and name not in ("total", "other")]
    print(f"  {'ms per step (CPU)':<40} {'gancli':>9} {'hand-written':>13}")
    for name in [*names, "other", "total"]:
        mine, handwritten = (p.seconds.get(name, 0.0) * 1000 / args.steps for p in (ours, theirs))
        print(f"  {name:<40} {mine:9.2f} {handwritten:13.2f}")


if __name__ == "__main__":
    main()

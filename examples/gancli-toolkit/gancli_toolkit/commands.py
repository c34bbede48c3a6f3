"""``gancli energy-curve [RUN]``: the energy distance to the data at every checkpoint of a run.

A run evaluates its metrics every ``--eval-every`` steps while it trains; this scores every checkpoint after
the fact, with the same samples at each, to see when a run learned, whether it later drifted away, and which
checkpoint to keep — also for runs trained before the toolkit was installed. torch is imported inside the
command, so adding the command costs ``gancli --help`` nothing.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer


def energy_curve(
    run_path: Annotated[Path | None, typer.Argument(help="Run directory (default: the newest under runs/).")] = None,
    samples: Annotated[int, typer.Option(help="Generated samples, and as many data points, per checkpoint.")] = 2000,
    seed: Annotated[int, typer.Option(help="Seed of the latent noise, the same at every checkpoint.")] = 0,
) -> None:
    """Energy distance to the data at every checkpoint of a run (point data), lowest marked."""
    from gancli.api import GancliError, open_run

    from gancli_toolkit.energy import energy_to_data

    if samples < 2:
        raise GancliError("--samples must be at least 2")
    session, run = open_run(run_path)  # the latest checkpoint; also says which run and whether it has any
    if session.data.is_image:
        raise GancliError(f"{run.path}: energy-curve scores point data, and {session.config.data!r} holds images")
    curve = []
    for step in run.checkpoint_steps():
        at, _ = open_run(run.path, str(step))
        curve.append((at.step, energy_to_data(at.generate(samples, seed), at.data)))
    best = min(curve, key=lambda point: point[1])
    typer.echo(f"{run.path}: energy distance to {session.config.data} ({samples} samples, seed {seed})")
    for step, energy in curve:
        typer.echo(f"step {step:>8}  {energy:.6f}{'  ← lowest' if (step, energy) == best else ''}")

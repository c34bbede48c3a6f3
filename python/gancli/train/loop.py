"""The training loop: one update-rule step per iteration, and the records a practitioner watches.

The loop never looks inside a step: the update rule plugs in its own sequence of D and G updates, and the
loop logs what the Game recorded (losses, D(x), D(G(z)) before and after the G step, gradient norms),
writes sample images from fixed noise, evaluates metrics, and checkpoints.
"""

from __future__ import annotations

import json
import signal
import time
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from typing import Any

import torch
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from gancli.render import samples_png
from gancli.train import checkpoint
from gancli.train.evaluation import Evaluation
from gancli.train.rundir import RunDir
from gancli.train.session import Session

SAMPLE_SEED_OFFSET = 2  # fixed noise for sample images: seed + 2 (data uses seed, latents seed + 1)
EVAL_SEED_OFFSET = 3


def should(step: int, every: int, last: int) -> bool:
    return step % every == 0 or step == last


def record_of(session: Session) -> dict[str, Any]:
    stats = {k: round(float(v), 6) for k, v in session.game.stats.items()}
    return {"step": session.step, **stats}


def progress_line(record: dict[str, Any]) -> str:
    parts = [f"D {record.get('loss_d', float('nan')):.3f}", f"G {record.get('loss_g', float('nan')):.3f}"]
    parts.append(f"D(x) {record.get('d_real', float('nan')):.3f}")
    parts.append(f"D(G(z)) {record.get('d_fake', float('nan')):.3f}/{record.get('d_fake_g', float('nan')):.3f}")
    return "  ".join(parts)


@contextmanager
def progress_bar(enabled: bool, total: int, start: int) -> Iterator[tuple[Progress, Any]]:
    progress = Progress(
        TextColumn("[bold]step"),
        MofNCompleteColumn(),
        BarColumn(),
        TextColumn("{task.fields[stats]}"),
        TextColumn("[cyan]{task.fields[rate]}"),
        TimeRemainingColumn(),
        console=Console(stderr=True),
        disable=not enabled,
    )
    with progress:
        yield progress, progress.add_task("train", total=total, completed=start, stats="", rate="")


def autocast(session: Session):
    """bf16 autocast on CUDA when --amp is on (bf16 needs no loss scaling)."""
    if session.config.amp and session.device.type == "cuda":
        return torch.autocast("cuda", dtype=torch.bfloat16)
    return nullcontext()


def train(session: Session, run: RunDir, show_progress: bool = True) -> dict[str, float]:
    """Train from ``session.step`` to ``config.steps``; returns the last evaluation."""
    config = session.config
    run.checkpoints.mkdir(parents=True, exist_ok=True)
    last_eval: dict[str, float] = {}
    with (
        run.metrics.open("a") as metrics_log,
        run.evals.open("a") as eval_log,
        progress_bar(show_progress, config.steps, session.step) as (progress, task),
    ):
        evaluate = Evaluation(session, strict=False, warn=lambda text: progress.console.print(text, markup=False, soft_wrap=True))
        clock, clock_step = time.perf_counter(), session.step
        with stop_on_interrupt() as interrupted:
            while session.step < config.steps and not interrupted():
                with autocast(session):
                    session.rule.step(session.game)
                session.step += 1
                step = session.step
                if should(step, config.log_every, config.steps):
                    record = record_of(session)
                    metrics_log.write(json.dumps(record) + "\n")
                    metrics_log.flush()
                    now = time.perf_counter()
                    rate = (step - clock_step) / max(now - clock, 1e-9)
                    clock, clock_step = now, step
                    progress.update(task, completed=step, stats=progress_line(record), rate=f"{rate:.1f} it/s")
                if should(step, config.sample_every, config.steps):
                    samples = session.generate(64, config.seed + SAMPLE_SEED_OFFSET)
                    run.write_sample(step, samples_png(samples, session.data))
                if should(step, config.eval_every, config.steps):
                    last_eval = evaluate(config.seed + EVAL_SEED_OFFSET)
                    if last_eval:
                        eval_log.write(json.dumps({"step": step, **last_eval}) + "\n")
                        eval_log.flush()
                if should(step, config.checkpoint_every, config.steps):
                    checkpoint.save(session, run.checkpoints)
        if session.step < config.steps:
            checkpoint.save(session, run.checkpoints)
            raise KeyboardInterrupt
    return last_eval


@contextmanager
def stop_on_interrupt() -> Iterator[Any]:
    """Turn Ctrl-C into a request to stop after the current step, so the checkpoint saved on the way out
    is a consistent state that ``--resume`` continues exactly."""
    requested = []
    previous = signal.getsignal(signal.SIGINT)

    def handler(signum: int, frame: Any) -> None:
        requested.append(signum)

    try:
        signal.signal(signal.SIGINT, handler)
    except ValueError:  # not the main thread: leave Ctrl-C alone
        previous = None
    try:
        yield lambda: bool(requested)
    finally:
        if previous is not None:
            signal.signal(signal.SIGINT, previous)

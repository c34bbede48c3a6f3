"""The training loop: one update-rule step per iteration, and the records a practitioner watches.

The loop never looks inside a step: the update rule plugs in its own sequence of D and G updates, and the
loop logs what the Game recorded (losses, D(x), D(G(z)) before and after the G step, gradient norms),
writes sample images from fixed noise, evaluates metrics, and checkpoints. At logging and evaluation points
only, the live diagnostics judge what was logged (``Observers``) and, with ``--tensorboard``, TensorBoard
gets the same values.
"""

from __future__ import annotations

import contextlib
import math
import signal
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import Any

import torch
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from gancli.diagnostics.base import Finding
from gancli.diagnostics.watch import Watch
from gancli.errors import GancliError, Interrupted, PluginError
from gancli.io import on_stop_signals
from gancli.metrics.base import improves
from gancli.optim.rules import first_step
from gancli.plugins.manager import get_plugins
from gancli.render import run_samples_png
from gancli.train import checkpoint, distributed, schedule
from gancli.train.evaluation import Evaluation
from gancli.train.rundir import RunDir, append_record, read_jsonl
from gancli.train.session import Session

SAMPLE_SEED_OFFSET = 2  # fixed noise for sample images: seed + 2 (data uses seed, latents seed + 1)
#: the diagnostic whose finding ends a run under --stop-when-plateau
PLATEAU = "plateau"


def should(step: int, every: int, last: int) -> bool:
    return step % every == 0 or step == last


def record_of(session: Session) -> dict[str, Any]:
    """The logged statistics of the latest step, averaged over the processes' shards (the global batch's)."""
    names = list(session.game.stats)
    values = session.ranks.average([session.game.stats[name].float().reshape(()) for name in names])
    return {"step": session.step, **{name: round(float(v), 6) for name, v in zip(names, values, strict=True)}}


def progress_line(record: dict[str, Any]) -> str:
    parts = [f"D {record.get('loss_d', float('nan')):.3f}", f"G {record.get('loss_g', float('nan')):.3f}"]
    parts.append(f"D(x) {record.get('d_real', float('nan')):.3f}")
    parts.append(f"D(G(z)) {record.get('d_fake', float('nan')):.3f}/{record.get('d_fake_g', float('nan')):.3f}")
    if "ada_p" in record:
        parts.append(f"p {record['ada_p']:.3f}")
    if "aux_acc_real" in record:  # --aux-classifier: D's classifier on real batches, G's samples as asked
        parts.append(f"class {record['aux_acc_real']:.2f}/{record.get('aux_acc_fake', float('nan')):.2f}")
    return "  ".join(parts)


#: where stderr is no terminal (a log file, CI, a pipe), about this many progress lines a run
PLAIN_LINES = 20


class Bar:
    """Progress on a terminal: Rich's bar, redrawn in place."""

    def __init__(self, progress: Progress, total: int, start: int) -> None:
        self.progress, self.console = progress, progress.console
        self.task = progress.add_task("train", total=total, completed=start, stats="", rate="")

    def show(self, step: int, stats: str, rate: float) -> None:
        self.progress.update(self.task, completed=step, stats=stats, rate=f"{rate:.1f} it/s")


class Lines:
    """Progress where stderr is no terminal: Rich's bar would print one 80-column line at the end, so a plain line
    every ``every`` steps and at the last (step, it/s, losses, time left), as wide as it is."""

    def __init__(self, console: Console, total: int, every: int) -> None:
        self.console, self.total, self.every = console, total, every

    def show(self, step: int, stats: str, rate: float) -> None:
        if step % self.every and step != self.total:
            return
        left = round((self.total - step) / rate)
        eta = f"{left // 3600}:{left // 60 % 60:02}:{left % 60:02}"
        line = f"step {step}/{self.total}  {rate:.1f} it/s  {stats}  ETA {eta}"
        self.console.print(line, markup=False, highlight=False, soft_wrap=True)


@contextmanager
def progress_bar(enabled: bool, total: int, start: int, log_every: int) -> Iterator[Bar | Lines]:
    """The run's progress, shown at logging points: a bar on a terminal, else lines about PLAIN_LINES times a run
    (a multiple of ``log_every``, where the figures are measured); nothing unless ``enabled``."""
    console = Console(stderr=True)
    if enabled and not console.is_terminal:
        yield Lines(console, total, log_every * max(1, math.ceil(total / PLAIN_LINES / log_every)))
        return
    progress = Progress(
        TextColumn("[bold]step"),
        MofNCompleteColumn(),
        BarColumn(),
        TextColumn("{task.fields[stats]}"),
        TextColumn("[cyan]{task.fields[rate]}"),
        TimeRemainingColumn(),
        console=console,
        disable=not enabled,
    )
    with progress:
        yield Bar(progress, total, start)


def autocast(session: Session) -> Any:
    """Mixed precision by --precision (or --amp): bf16 needs no loss scaling, fp16 has the Game's scalers."""
    dtype = session.config.autocast_dtype
    if dtype is None:
        return nullcontext()
    return torch.autocast(session.device.type, dtype=getattr(torch, dtype))


class Stopped(Interrupted):
    """Training stopped by Ctrl-C or SIGTERM after a whole step; ``saved`` is the checkpoint written on the way
    out (None when the state was not fit to save)."""

    def __init__(self, signum: int, step: int, saved: Path | None) -> None:
        if saved is None:
            message = f"step {step}: no checkpoint was saved on the way out"
        else:
            message = f"saved {saved}; continue with gancli train --resume {saved.parent.parent}"
        super().__init__(signum, message)
        self.step, self.saved = step, saved


def health(session: Session) -> str | None:
    """What is not finite, a logged statistic or a weight of G or D; None when all is. One pass over the
    weights: cheap at logging points, not worth paying every step."""
    for name, value in session.game.stats.items():
        if not math.isfinite(float(value)):
            return f"{name} is {float(value)}"
    for prefix, module in (("G", session.generator), ("D", session.discriminator)):
        for name, parameter in module.named_parameters():
            if not bool(torch.isfinite(parameter).all()):
                return f"{prefix} weight {name} is not finite"
    return None


def train(session: Session, run: RunDir, show_progress: bool = True) -> dict[str, float]:
    """Train from ``session.step`` to ``config.steps``; returns the last evaluation. Releases the run's lock,
    and leaves the process group of a distributed run (whose threads must not outlive it), however it ends."""
    try:
        result = train_steps(session, run, show_progress)
        session.ranks.barrier()  # no rank leaves the group while another still finishes its last collective
        return result
    finally:
        run.release()
        distributed.leave()


def train_steps(session: Session, run: RunDir, show_progress: bool) -> dict[str, float]:
    """The loop. On several processes every rank steps, and rank 0 alone logs, samples, evaluates and saves;
    the ranks agree at each step whether to stop and at each check whether something diverged."""
    config, ranks = session.config, session.ranks
    main = ranks.is_main
    run.checkpoints.mkdir(parents=True, exist_ok=True)
    last_eval: dict[str, float] = {}
    rollbacks = sum(1 for event in read_jsonl(run.events) if event.get("event") == "rollback")
    if config.on_nan == "rollback" and not checkpoint.listing(run.checkpoints):
        if main:
            save(session, run)  # somewhere to roll back to, should it diverge before its first checkpoint
        ranks.barrier()
    with progress_bar(show_progress and main, config.steps, session.step, config.log_every) as progress:

        def say(text: str) -> None:
            progress.console.print(text, markup=False, soft_wrap=True)

        evaluate = Evaluation(session, strict=False, warn=say)
        if main:
            evaluate.metrics  # noqa: B018 - created now: a metric that cannot be is reported before training
        observers = Observers(session, run, say) if main else None
        best = Best(run, config.keep_best) if config.keep_best else None
        new_best = False
        clock, clock_step = time.perf_counter(), session.step
        optimizers = (session.game.opt_g, session.game.opt_d)
        stopping = False  # --stop-when-plateau, at a plateau
        with stop_on_interrupt() as interrupted, observers or nullcontext():
            mid_step = False  # whether a failure may have caught a step half-way, one player moved
            checked = False  # whether the update rule's first step was checked
            try:
                while session.step < config.steps and not stopping and not ranks.any(bool(interrupted())):
                    schedule.set_rates(optimizers, config.lr_schedule, session.step, config.steps)
                    session.game.recording = should(session.step + 1, config.log_every, config.steps)
                    mid_step = True
                    if session.game.graphed:  # the last step's graph outputs are spent
                        torch.compiler.cudagraph_mark_step_begin()
                    with autocast(session):
                        if checked:
                            session.rule.step(session.game)
                        else:  # the rule's contract, on its first step in this process
                            first_step(session.resolved.plugins["update"], session.rule, session.game)
                            checked = True
                    mid_step = False
                    session.step += 1
                    step = session.step
                    problem, plateaued = None, False
                    logging = should(step, config.log_every, config.steps)
                    if logging:
                        record = record_of(session)
                        problem = health(session)
                        if observers and problem is None:
                            record.update(observers.measure())
                        if main:
                            append_record(run.metrics, record)
                            now = time.perf_counter()
                            rate = (step - clock_step) / max(now - clock, 1e-9)
                            clock, clock_step = now, step
                            progress.show(step, progress_line(record), rate)
                        if observers and problem is None:
                            observers.logged(record)
                    if main and problem is None and should(step, config.sample_every, config.steps):
                        png = run_samples_png(session, config.seed + SAMPLE_SEED_OFFSET)
                        run.write_sample(step, png)
                        if observers:
                            observers.sampled(step, png)
                    evaluating = should(step, config.eval_every, config.steps)
                    if main and problem is None and evaluating:
                        last_eval = evaluate()  # the run's protocol, as gancli eval scores it
                        if last_eval:
                            spread = {"spread": evaluate.spread} if evaluate.spread else {}
                            append_record(run.evals, {"step": step, **last_eval, **spread})
                            found = observers.evaluated(step, last_eval) if observers else []
                            plateaued = any(finding.name == PLATEAU for finding in found)
                        if best and best.offer(step, last_eval, say):
                            event = {"step": step, "event": "best", "metric": best.metric, "value": best.value}
                            append_record(run.events, event)
                            new_best = True
                    if evaluating and config.stop_when_plateau:
                        stopping = ranks.any(plateaued)
                    checkpointing = should(step, config.checkpoint_every, config.steps) or stopping
                    if main and problem is None and (checkpointing or new_best):
                        new_best = False
                        try:
                            save(session, run, best)
                        except checkpoint.NonFiniteError as exc:
                            problem = str(exc)
                    if (logging or checkpointing) and ranks.any(problem is not None):
                        problem = problem or "another process found a non-finite loss or weight"
                        roll_back(session, run, problem, rollbacks)
                        rollbacks += 1
                        stopping = False
                        if observers:
                            observers.rewound(session.step)
                        say(f"warning: step {step}: {problem}; rolled back to step {session.step} at half the lr")
                    elif stopping:
                        say(f"step {step}: --stop-when-plateau: stopped, checkpoint saved; --resume {run.path} goes on")
            except GancliError:
                raise
            except Exception as exc:
                blamed = get_plugins().blame(exc)
                if blamed is None:
                    raise
                raise kept_on_failure(session, run, blamed, mid_step, best) from exc
        if session.step < config.steps and not stopping:
            saved: Path | None = None
            if main:
                with contextlib.suppress(checkpoint.NonFiniteError):
                    saved = save(session, run, best)
            raise Stopped(interrupted() or signal.SIGTERM, session.step, saved)
        gap = ranks.largest_gap([*session.generator.parameters(), *session.discriminator.parameters()])
        if gap > 0:  # the same averaged steps from the same start: the ranks must hold the same networks
            raise GancliError(f"the {ranks.world} processes ended with different weights (largest gap {gap:g})")
    return last_eval


class Observers:
    """What watches a run on the process that logs: the live diagnostics (``gancli.diagnostics.watch``) and, with
    ``--tensorboard``, TensorBoard. Called at logging, sampling and evaluation points, never inside a step."""

    def __init__(self, session: Session, run: RunDir, say: Callable[[str], None]) -> None:
        self.session = session
        self.watch = Watch(session, run, say)
        self.board = None
        if session.config.tensorboard:
            from gancli.train.board import Board

            self.board = Board(run, session.step)

    def measure(self) -> dict[str, float]:
        """The diagnostics' statistics for the record being logged."""
        return self.watch.measure(self.session)

    def logged(self, record: dict[str, Any]) -> list[Finding]:
        return self.report(record, self.watch.observe(record), "train")

    def evaluated(self, step: int, results: dict[str, float]) -> list[Finding]:
        return self.report({"step": step, **results}, self.watch.observe({"step": step, **results}, True), "eval")

    def report(self, record: dict[str, Any], findings: list[Finding], prefix: str) -> list[Finding]:
        if self.board:
            self.board.scalars(prefix, record["step"], record)
            for finding in findings:
                self.board.finding(finding)
        return findings

    def sampled(self, step: int, png: bytes) -> None:
        if self.board:
            self.board.image(step, png)

    def rewound(self, step: int) -> None:
        """The run went back to ``step`` (a rollback): the diagnostics replay the rewound logs, TensorBoard
        forgets what came after."""
        self.watch = Watch(self.session, self.watch.run, self.watch.say)
        if self.board:
            self.board.rewind(step)

    def __enter__(self) -> Observers:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.board:
            self.board.close()


class Best:
    """``--keep-best METRIC``: the step with the metric's best value so far, which retention keeps beside the
    newest ``--keep``; each new best is recorded in RUN/events.jsonl, where a resumed run finds it again."""

    def __init__(self, run: RunDir, metric: str) -> None:
        self.metric, self.value, self.step, self.warned = metric, None, None, False
        for event in read_jsonl(run.events):
            if event.get("event") == "best" and event.get("metric") == metric:
                self.value, self.step = event["value"], event["step"]

    def offer(self, step: int, results: dict[str, float], say: Callable[[str], None]) -> bool:
        """Whether ``results`` at ``step`` beat the best so far (say so once if the metric is not reported)."""
        value = results.get(self.metric)
        if value is None:
            if not self.warned:
                say(f"warning: --keep-best {self.metric}: no metric reports it (they report {', '.join(results)})")
                self.warned = True
            return False
        if not improves(self.metric, value, self.value):
            return False
        self.value, self.step = value, step
        return True


def save(session: Session, run: RunDir, best: Best | None = None) -> Path:
    """Checkpoint, then keep only the newest ``--keep`` and the best (``--keep-best``)."""
    path = checkpoint.save(session, run.checkpoints)
    checkpoint.prune(run.checkpoints, session.config.keep, best.step if best else None)
    return path


def kept_on_failure(
    session: Session, run: RunDir, blamed: PluginError, mid_step: bool, best: Best | None
) -> PluginError:
    """A plugin's failure during training, saying what of the run is kept: between steps, this step's state is
    saved (the failure touched no weight); within one, the newest checkpoint already saved is the last good state
    (a step cut short may have moved one player)."""
    if not mid_step and session.ranks.is_main:
        with contextlib.suppress(Exception):  # a save that fails too (the plugin's state_dict) keeps the older ones
            save(session, run, best)
    found = checkpoint.listing(run.checkpoints)
    kept = f"the last good checkpoint is step {found[-1][0]}" if found else "there is no checkpoint yet"
    resume = f": gancli train --resume {run.path} goes on from it" if found else ""
    return PluginError(blamed.plugin, blamed.package, f"{blamed.detail}; {kept}{resume}")


def roll_back(session: Session, run: RunDir, problem: str, rollbacks: int) -> None:
    """Handle a non-finite state by ``--on-nan``: stop, naming what diverged; or, once per run, go back to the
    last checkpoint (never a non-finite one), halve both learning rates, record it in RUN/events.jsonl and
    re-save that checkpoint with the lower rates, so a resumed run keeps them."""
    config, step = session.config, session.step
    found = checkpoint.listing(run.checkpoints)
    advice = "lower --lr" if config.on_nan == "rollback" else "lower --lr or use --on-nan rollback"
    if config.on_nan == "stop" or rollbacks or not found:
        done = " after one rollback at half the lr" if rollbacks else ""
        last = f"the last good checkpoint is step {found[-1][0]}" if found else "there is no checkpoint yet"
        raise GancliError(f"step {step}: {problem}: training diverged{done}; {last}; {advice}")
    checkpoint.load(session, *checkpoint.newest_intact(run.checkpoints, lambda text: None))
    game = session.game
    for optimizer in (game.opt_g, game.opt_d):
        for group in optimizer.param_groups:
            group["lr"] *= 0.5
            if "initial_lr" in group:  # the base rate of --lr-schedule
                group["initial_lr"] *= 0.5
    session.ranks.barrier()  # every rank has read the checkpoint before rank 0 rewrites it
    if session.ranks.is_main:
        run.rewind(session.step)
        lrs = {"lr_g": game.opt_g.param_groups[0]["lr"], "lr_d": game.opt_d.param_groups[0]["lr"]}
        event = {"step": session.step, "event": "rollback", "from": step, "problem": problem, **lrs}
        append_record(run.events, event)
        checkpoint.save(session, run.checkpoints)


@contextmanager
def stop_on_interrupt() -> Iterator[Any]:
    """Turn Ctrl-C and SIGTERM (a scheduler's stop, ``kill``) into a request to stop after the current step,
    so the checkpoint saved on the way out is a consistent state that ``--resume`` continues exactly. Yields
    a function giving the first signal received, 0 while there is none.

    A process of a distributed run keeps this answer to its end: when one process fails, torchrun sends SIGTERM
    to the others, and one arriving while a process unwinds its own failure (the lost peer's collective) would
    end it before it says why; a process that hangs there is still ended by torchrun's SIGKILL 30 s later."""
    requested: list[int] = []

    def handler(signum: int, frame: Any) -> None:
        requested.append(signum)

    with on_stop_signals(handler, restore=not distributed.is_rank()):
        yield lambda: requested[0] if requested else 0

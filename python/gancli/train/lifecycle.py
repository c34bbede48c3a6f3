"""A run's life: start a new one, resume a stopped one, open a finished one for reading.

The CLI parses flags and reports; everything that decides what a run is — its configuration, its directory,
which checkpoint it continues from — happens here, so a plugin command or a script gets the same behaviour as
``gancli train``/``grid``/``eval`` by calling these functions.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from gancli.config import Resolved, RunConfig, resolve
from gancli.data.base import ImageSource
from gancli.errors import GancliError
from gancli.io import atomic_write_json
from gancli.plugins.manager import get_plugins
from gancli.train import checkpoint, distributed
from gancli.train.diffaugment import leak_warning
from gancli.train.evaluation import check_requested
from gancli.train.rundir import RunDir, check_run_path
from gancli.train.session import RecordedData, Session, pick_device

RUNS = Path("runs")
#: what ``--resume`` may change: how long and where the run goes on, how often it reports and what it keeps,
#: not what it is
RESUMABLE = {"steps", "device", "sample_every", "checkpoint_every", "eval_every", "log_every", "keep", "keep_best"}
RESUMABLE |= {"on_nan", "tensorboard", "stop_when_plateau", "collective_timeout"}


def warn(text: str) -> None:
    print(f"warning: {text}", file=sys.stderr)


def start(
    flags: Mapping[str, Any], config_file: Path | None = None, set_items: Iterable[str] = (), out: Path | None = None
) -> tuple[Session, RunDir]:
    """A new run: resolve its configuration, claim its directory (``out`` or runs/DATA-LOSS-N) under this
    process's lock, build it. The returned run holds the lock until ``run.release()`` (the training loop's end)."""
    resolved = plan_start(flags, config_file, set_items, out)
    config = resolved.config
    ranks = distributed.join(pick_device(config.device), config.collective_timeout)
    if not ranks.is_main:  # rank 0 claims the directory and writes the files; the others train beside it
        path = ranks.from_main(None)
        session = Session.build(resolved, ranks)
        ranks.barrier()
        return session, RunDir(path)
    path = ranks.from_main(out or default_run_dir(config.data, config.loss))
    data_path = Path(config.data).expanduser()
    if resolved.plugins["dataset"].name != config.data and data_path.exists():
        config.data = str(data_path.resolve())  # the folder it is, whatever directory later commands run in
        if data_path.is_dir() and path.resolve().is_relative_to(config.data):
            raise GancliError(
                f"the run directory {path} is inside --data {config.data}: the run's sample images would become "
                "training data; pass an --out outside it"
            )
    fresh = not path.exists()
    run = RunDir.locked(path)
    try:
        if run.config.exists():
            raise GancliError(f"--out {run.path} already holds a run; use --resume {run.path} or another --out")
        session = Session.build(resolved, ranks)
        check_requested(session)
        leak = leak_warning(ImageSource.parse_augment(config.augment)) if session.data.is_image else None
        if leak:
            warn(leak)
        atomic_write_json(run.config, resolved.to_dict())
        ranks.barrier()
    except BaseException:
        run.release()
        if fresh:
            (run.path / ".lock").unlink(missing_ok=True)
            with contextlib.suppress(OSError):  # something else was put there meanwhile: leave it
                run.path.rmdir()
        raise
    return session, run


def plan_start(
    flags: Mapping[str, Any], config_file: Path | None = None, set_items: Iterable[str] = (), out: Path | None = None
) -> Resolved:
    """What ``start`` would run, resolved and checked, with nothing built or written (``train --dry-run``)."""
    if out is not None:
        check_run_path(out)
    return resolve(get_plugins().registry, flags, config_file, set_items)


def plan_resume(
    path: Path, flags: Mapping[str, Any], config_file: Path | None = None, set_items: Iterable[str] = ()
) -> Resolved:
    """What ``resume`` would run: the saved configuration with the settings ``--resume`` may change, nothing built
    or written (``train --resume RUN --dry-run``)."""
    RunDir.existing(path)
    changed = sorted(k for k, v in flags.items() if v is not None and k not in RESUMABLE)
    if changed or config_file or list(set_items):
        names = ", ".join(f"--{k.replace('_', '-')}" for k in changed) or "--set/--config"
        raise GancliError(f"--resume continues the saved experiment; {names} cannot change it")
    return resolve(get_plugins().registry, flags, RunDir(path).config)


def resume(
    path: Path,
    flags: Mapping[str, Any],
    config_file: Path | None = None,
    set_items: Iterable[str] = (),
    chosen: str | None = None,
    allow_data_change: bool = False,
) -> tuple[Session, RunDir]:
    """Continue ``path`` under this process's lock from checkpoint ``chosen`` (a step or file) or the newest
    intact one, skipping damaged ones with a warning; a run stopped before its first checkpoint starts over
    from step 0. Only the settings in RESUMABLE may change, and the data only with ``allow_data_change``: data
    whose content differs from what the checkpoint trained on is refused, naming both fingerprints."""
    resolved = plan_resume(path, flags, config_file, set_items)
    ranks = distributed.join(pick_device(resolved.config.device), resolved.config.collective_timeout)
    run = RunDir.locked(path) if ranks.is_main else RunDir(path)
    try:
        found = starting_checkpoint(run, chosen)
        factors = None
        if found is not None:
            keep_recorded_size(resolved.config, found[1])
            factors = checkpoint.recorded_class_factors(found[1], found[0])
        session = Session.build(resolved, ranks, class_factors=factors)
        if found is not None:
            json_path, meta, tensors = found
            changed = checkpoint.check_data(session, json_path, meta, allow_data_change)
            if changed and ranks.is_main:
                warn(f"{changed}; training on it as --allow-data-change asks")
            checkpoint.load(session, json_path, meta, tensors)
        if session.step >= resolved.config.steps:
            raise GancliError(f"--resume {path}: already at step {session.step}; raise --steps to go on")
        ranks.barrier()  # every rank has read its checkpoint before rank 0 removes what came after it
        if ranks.is_main:
            for later in run.rewind(session.step):
                warn(f"{later.name} (after step {session.step}) removed: the run goes on from step {session.step}")
            atomic_write_json(run.config, resolved.to_dict())
    except BaseException:
        run.release()
        raise
    return session, run


def starting_checkpoint(run: RunDir, chosen: str | None) -> tuple[Path, dict[str, Any], dict[str, Any]] | None:
    """The checkpoint ``--resume`` continues from, read: ``chosen`` (``--checkpoint``, one of the run's own), else
    the newest intact one; None for a run stopped before its first."""
    if chosen is not None:
        json_path = run.checkpoint(chosen)
        if json_path.resolve().parent != run.checkpoints.resolve():
            raise GancliError(f"--checkpoint {chosen}: --resume continues from one of {run.checkpoints}")
        return (json_path, *checkpoint.read(json_path))
    if checkpoint.listing(run.checkpoints):
        return checkpoint.newest_intact(run.checkpoints, warn)
    return None


def newest_run(parent: Path = RUNS) -> RunDir:
    """The most recently started run under ``parent``: what a user means by "the run I just trained"."""
    return RunDir.newest(parent)


def open_run(
    path: Path | None = None,
    chosen: str | None = None,
    data: bool | None = True,
    overrides: Mapping[str, Any] | None = None,
) -> tuple[Session, RunDir]:
    """A run's networks on the CPU at a checkpoint (default: the newest intact one) of ``path`` (default: the
    newest run), for commands that sample or evaluate; nothing of it is written. Without ``data`` the dataset is
    not opened (it may be gone): the session's data then only knows the shape the checkpoint recorded; with
    ``data=None`` it is opened only if it holds points (a scatter draws samples over them), not images.
    ``overrides`` replace settings that do not change the networks (``eval``'s ``--features``)."""
    run = RunDir.existing(path) if path is not None else newest_run()
    flags = {**(overrides or {}), "device": "cpu"}
    resolved = resolve(get_plugins().registry, flags, run.config, skip_missing=warn)
    if chosen is not None:
        json_path = run.checkpoint(chosen)
        meta, tensors = checkpoint.read(json_path)
    else:
        json_path, meta, tensors = checkpoint.newest_intact(run.checkpoints, warn)
    keep_recorded_size(resolved.config, meta)
    recorded = None if data else RecordedData.of(resolved.config.data, meta, json_path)
    if data is None and recorded is not None and not recorded.is_image:
        recorded = None
    session = Session.build(resolved, data=recorded, class_factors=checkpoint.recorded_class_factors(meta, json_path))
    checkpoint.check_classes(session, json_path, meta)
    checkpoint.load(session, json_path, meta, tensors, training=False)
    return session, run


def load_step(session: Session, run: RunDir, step: int) -> None:
    """Put the networks of ``run``'s checkpoint at ``step`` into an opened session (``eval --all``)."""
    json_path = run.checkpoint(str(step))
    meta, tensors = checkpoint.read(json_path)
    checkpoint.load(session, json_path, meta, tensors, training=False)


def default_run_dir(data: str, loss: str) -> Path:
    stem = Path(data).stem if ("/" in data or "." in data) else data
    n = 1
    while (path := RUNS / f"{stem}-{loss}-{n}").exists():
        n += 1
    return path


def keep_recorded_size(config: RunConfig, meta: Mapping[str, Any]) -> None:
    """A run saved before its configuration recorded the image size it used (``image_size`` null: a folder was
    decoded at 64 px then, at its own size now) goes on at the size its checkpoint recorded."""
    recorded = meta.get("data")
    shape = recorded.get("shape") if isinstance(recorded, Mapping) else None
    if not (isinstance(shape, list) and len(shape) == 3 and all(type(n) is int and n > 0 for n in shape)):
        return  # a point dataset, or damage that loading the checkpoint names
    if config.image_size is None and shape[1] == shape[2]:
        config.image_size = shape[1]

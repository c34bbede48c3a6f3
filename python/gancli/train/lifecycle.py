"""A run's life: start a new one, resume a stopped one, open a finished one for reading.

The CLI parses flags and reports; everything that decides what a run is — its configuration, its directory,
which checkpoint it continues from — happens here, so a plugin command or a script gets the same behaviour as
``gancli train``/``grid``/``eval`` by calling these functions.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from gancli.config import resolve
from gancli.errors import GancliError
from gancli.io import atomic_write_json
from gancli.plugins.manager import get_plugins
from gancli.train import checkpoint
from gancli.train.rundir import RunDir
from gancli.train.session import Session

RUNS = Path("runs")
#: what ``--resume`` may change: how long and where the run goes on and how often it reports, not what it is
RESUMABLE = {"steps", "device", "sample_every", "checkpoint_every", "eval_every", "log_every"}


def start(
    flags: Mapping[str, Any], config_file: Path | None = None, set_items: Iterable[str] = (), out: Path | None = None
) -> tuple[Session, RunDir]:
    """A new run: resolve its configuration, claim its directory (``out`` or runs/DATA-LOSS-N), build it."""
    resolved = resolve(get_plugins().registry, flags, config_file, set_items)
    config = resolved.config
    run = RunDir(out or default_run_dir(config.data, config.loss))
    if run.config.exists():
        raise GancliError(f"--out {run.path} already holds a run; use --resume {run.path} or another --out")
    session = Session.build(resolved)
    atomic_write_json(run.config, resolved.to_dict())
    return session, run


def resume(
    path: Path, flags: Mapping[str, Any], config_file: Path | None = None, set_items: Iterable[str] = ()
) -> tuple[Session, RunDir]:
    """Continue ``path`` from its latest checkpoint; only the settings in RESUMABLE may change."""
    run = RunDir.existing(path)
    changed = sorted(k for k, v in flags.items() if v is not None and k not in RESUMABLE)
    if changed or config_file or list(set_items):
        names = ", ".join(f"--{k.replace('_', '-')}" for k in changed) or "--set/--config"
        raise GancliError(f"--resume continues the saved experiment; {names} cannot change it")
    resolved = resolve(get_plugins().registry, flags, run.config)
    session = Session.build(resolved)
    checkpoint.restore(session, run.checkpoint())
    run.truncate_logs(session.step)
    if session.step >= resolved.config.steps:
        raise GancliError(f"--resume {path}: already at step {session.step}; raise --steps to go on")
    atomic_write_json(run.config, resolved.to_dict())
    return session, run


def newest_run(parent: Path = RUNS) -> RunDir:
    """The most recently started run under ``parent``: what a user means by "the run I just trained"."""
    return RunDir.newest(parent)


def open_run(path: Path | None = None, chosen: str | None = None) -> tuple[Session, RunDir]:
    """A run's networks on the CPU at a checkpoint (default: the latest) of ``path`` (default: the newest
    run), for commands that sample or evaluate; nothing of it is written."""
    run = RunDir.existing(path) if path is not None else newest_run()
    resolved = resolve(get_plugins().registry, {"device": "cpu"}, run.config)
    session = Session.build(resolved)
    checkpoint.restore(session, run.checkpoint(Path(chosen) if chosen else None), training=False)
    return session, run


def default_run_dir(data: str, loss: str) -> Path:
    stem = Path(data).stem if ("/" in data or "." in data) else data
    n = 1
    while (path := RUNS / f"{stem}-{loss}-{n}").exists():
        n += 1
    return path

"""Fixtures shared by the test modules: the CLI as a user types it, run in-process from a scratch folder."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from cli_helpers import FIXTURES, entry_point
from typer.testing import CliRunner, Result

MAX_WORKERS = 4


def pytest_xdist_auto_num_workers(config: pytest.Config) -> int:
    """``-n auto``: one worker a core, at most MAX_WORKERS (each imports torch and trains on one thread; more cores
    than that would mostly add memory)."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    return max(1, min(cores, MAX_WORKERS))


@pytest.fixture
def one_thread() -> Iterator[None]:
    """One torch thread, as the tests' figures were measured: runs this small go fastest on one thread, and two
    contend badly on a busy 2-core machine."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="session")
def trained_models() -> Path:
    """The user's cache of trained feature extractors (digits-cnn), shared by every test: an entry is keyed by
    its code and data, so it is the very network a fresh cache would train, trained once instead of per test."""
    from gancli.io import cache_dir

    models = cache_dir() / "models"
    models.mkdir(parents=True, exist_ok=True)
    return models


@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 2-step ring8 run with checkpoints and samples at steps 1 and 2, trained once for the tests that read a
    run (a test that changes it works on a copy)."""
    from cli_helpers import TINY
    from gancli import cli

    path = tmp_path_factory.mktemp("trained") / "run"
    args = ["train", *TINY, "--steps", "2", "--checkpoint-every", "1", "--sample-every", "1", "--out", str(path)]
    result = CliRunner().invoke(cli.build_app(), args)
    assert result.exit_code == 0, result.output
    return path


@pytest.fixture
def gancli(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, one_thread: None, trained_models: Path
) -> Callable[..., Result]:
    """Run ``gancli ARGS`` in-process from ``tmp_path`` (runs/ lands there, the decoded-image cache in
    ``tmp_path/cache``, trained extractors shared) on one torch thread, as the figures in the tests were
    measured; returns the click Result."""
    from gancli import cli
    from rich.console import Console

    monkeypatch.chdir(tmp_path)
    (tmp_path / "cache").mkdir()
    (tmp_path / "cache" / "models").symlink_to(trained_models)
    monkeypatch.setenv("GANCLI_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    monkeypatch.setattr(cli, "out", Console(width=250, markup=False))  # as cli.out, wider
    runner = CliRunner()

    def invoke(*args: object) -> Result:
        # built for each call, so that plugins installed by the test (``installed_plugins``) add their commands
        return runner.invoke(cli.build_app(), [str(a) for a in args], prog_name="gancli")

    return invoke


@pytest.fixture
def installed_plugins(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[..., Any]]:
    """``install((plugin, module, package), ...)``: the modules of tests/plugin_fixtures seen as the entry points of
    installed packages by every gancli entry point (``get_plugins``, the CLI); returns the plugin set."""
    from gancli.plugins import manager

    monkeypatch.syspath_prepend(str(FIXTURES))

    def install(*plugins: tuple[str, str, str]) -> Any:
        monkeypatch.setattr(manager, "entry_points", lambda group: [entry_point(*p) for p in plugins])
        manager.get_plugins.cache_clear()
        return manager.get_plugins()

    yield install
    manager.get_plugins.cache_clear()

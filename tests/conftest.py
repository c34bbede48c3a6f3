"""Fixtures shared by the test modules: the CLI as a user types it, run in-process from a scratch folder."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result


@pytest.fixture
def gancli(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Callable[..., Result]]:
    """Run ``gancli ARGS`` in-process from ``tmp_path`` (runs/ lands there, the decoded-image cache in
    ``tmp_path/cache``) on one torch thread, as the figures in the tests were measured; returns the click Result."""
    import torch
    from gancli import cli
    from rich.console import Console

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("GANCLI_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    monkeypatch.setattr(cli, "out", Console(width=250))
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    app, runner = cli.build_app(), CliRunner()

    def invoke(*args: object) -> Result:
        return runner.invoke(app, [str(a) for a in args], prog_name="gancli")

    yield invoke
    torch.set_num_threads(threads)

"""Helpers shared by the tests: a command's success, the one-line failure a user should see, and fake entry points
that make the modules of tests/plugin_fixtures look like installed plugin packages."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from typer.testing import Result

#: a 20-step ring8 run on a small MLP, checkpointed and evaluated at step 10: for the plumbing, not for learning
TINY = ["--data", "ring8", "--steps", "20", "--batch-size", "32", "--latent-dim", "4", "--seed", "3"]
TINY += ["--set", "mlp.hidden=32", "--set", "modes.samples=200", "--set", "modes.min_count=2", "--quiet"]
TINY += ["--log-every", "5", "--sample-every", "10", "--checkpoint-every", "10", "--eval-every", "10"]
# a constant rate: --steps is the horizon of a decaying one (ring8 recommends one), so 10 steps and then --resume
# to 20 would not be the run of 20 in one go (test_schedule.py resumes a decaying run within its horizon)
TINY += ["--lr-schedule", "constant"]


def ok(result: Result) -> str:
    """The output of a command that must have succeeded."""
    assert result.exit_code == 0, result.output + repr(result.exception)
    return result.output


def one_line_error(result: Result, *needles: str) -> str:
    """Exit 1 and a single 'error:' line naming the culprit: no traceback, no Rust panic."""
    assert result.exit_code == 1, result.output
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    assert "Traceback" not in result.output and "panicked" not in result.output
    for needle in needles:
        assert needle in lines[0], (needle, lines[0])
    return lines[0]


FIXTURES = Path(__file__).parent / "plugin_fixtures"


@dataclass
class FakeEntryPoint:
    """What the plugin manager reads of an ``importlib.metadata.EntryPoint``: its name, distribution and loader."""

    name: str
    dist: Any
    load: Callable[[], Any]


def entry_point(name: str, module: str, package: str) -> FakeEntryPoint:
    return FakeEntryPoint(name, SimpleNamespace(name=package), lambda: importlib.import_module(module))

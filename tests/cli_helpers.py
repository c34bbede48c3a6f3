"""Checks shared by the command-line tests: success, and the one-line failure a user should see."""

from __future__ import annotations

from typer.testing import Result


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

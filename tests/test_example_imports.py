"""The example packages are what plugin authors copy, so they must import from gancli only what gancli promises
to keep, ``gancli.api`` (besides it: torch, numpy, typer, the standard library and their own modules), and they
must not slow down gancli's start-up: registering them imports no torch. Nothing is installed here."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
THIRD_PARTY = {"torch", "numpy", "typer"}


def example_sources() -> list[Path]:
    return sorted(p for p in EXAMPLES.rglob("*.py") if "build" not in p.parts)


def own_modules(package: Path) -> set[str]:
    """The top-level modules an example package ships: its ``*.py`` files and its folders of them."""
    return {p.stem for p in package.glob("*.py")} | {p.name for p in package.iterdir() if (p / "__init__.py").is_file()}


def imported_modules(source: Path) -> list[tuple[int, str]]:
    found = []
    for node in ast.walk(ast.parse(source.read_text(), filename=str(source))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.append((node.lineno, node.module))
    return found


def test_there_are_example_sources_to_check() -> None:
    packages = {p.relative_to(EXAMPLES).parts[0] for p in example_sources()}
    assert {"gancli-relativistic", "gancli-toolkit", "gancli-conditional"} <= packages


@pytest.mark.parametrize("source", example_sources(), ids=lambda p: str(p.relative_to(EXAMPLES)))
def test_examples_import_gancli_only_through_gancli_api(source: Path) -> None:
    package = EXAMPLES / source.relative_to(EXAMPLES).parts[0]
    allowed = THIRD_PARTY | own_modules(package) | set(sys.stdlib_module_names) | {"__future__"}
    wrong = [
        f"{source.name}:{line}: {module}"
        for line, module in imported_modules(source)
        if module != "gancli.api" and module.split(".")[0] not in allowed
    ]
    assert wrong == [], "import from gancli.api instead (or torch, numpy, typer, the standard library)"


#: (the folder put on sys.path, the module its entry point names, how many objects it registers, its commands)
PLUGIN_MODULES = [
    ("gancli-relativistic", "gancli_relativistic", 3, []),
    ("gancli-toolkit", "gancli_toolkit", 3, ["energy-curve"]),
    ("gancli-conditional", "gancli_conditional", 2, []),
]


@pytest.mark.parametrize(
    ("folder", "module", "registrations", "commands"), PLUGIN_MODULES, ids=[p[0] for p in PLUGIN_MODULES]
)
def test_registering_an_example_imports_no_torch_and_every_reference_resolves(
    folder: str, module: str, registrations: int, commands: list[str]
) -> None:
    """What every gancli start-up, ``--help`` included, pays for the plugin: its hooks and its commands."""
    script = (
        "import sys, typer\n"
        "from gancli.plugins import Plugins\n"
        f"plugins = Plugins(builtins=[{module!r}], entry_point_group=None)\n"
        "plugins.add_commands(typer.Typer())\n"
        "assert not plugins.failures, plugins.failures\n"
        f"assert len(plugins.registry.all()) == {registrations} and list(plugins.commands) == {commands!r}\n"
        "assert 'torch' not in sys.modules, 'registering imported torch'\n"
        "for reg in plugins.registry.all():\n"
        "    assert callable(reg.load()), reg.name\n"
        "assert 'torch' in sys.modules\n"
    )
    path = [str(EXAMPLES / folder), *filter(None, [os.environ.get("PYTHONPATH")])]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(path)}
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=False, timeout=120, env=env
    )
    assert result.returncode == 0, result.stderr

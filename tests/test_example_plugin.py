"""The example third-party package, installed with pip as a user would: discovered through its entry point,
listed with its package name, its loss checked by hand, and a short run trained with all three of its plugins.

One pip install for the module (a copy of the example, so no build files land in the repository), removed
again at teardown. About 30–60 s in all, most of it pip and three `python -m gancli` start-ups.
"""

from __future__ import annotations

import contextlib
import importlib
import importlib.util
import json
import math
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import torch
from gancli import cli
from gancli.config import resolve
from gancli.plugins.manager import Plugins, get_plugins
from gancli.train.session import Session
from rich.console import Console
from typer.testing import CliRunner

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "gancli-relativistic"
PACKAGE = "gancli-relativistic"
TRAIN = ["--data", "ring8", "--loss", "ragan", "--arch", "resmlp", "--optimizer", "lookahead"]
TRAIN += ["--steps", "200", "--batch-size", "128", "--lr", "1e-3", "--lr-schedule", "constant", "--seed", "0"]
TRAIN += ["--device", "cpu"]
TRAIN += ["--no-minibatch-std"]  # ring8 recommends it; resmlp, like many third-party networks, has no such layer
TRAIN += ["--ema", "0"]  # ring8's 0.999 average of G (for 20,000 steps) would still sit near the start after 200


def pip(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "pip", *args], capture_output=True, text=True, check=False)


def forget_plugins(*modules: str) -> None:
    """Make this process see the packages installed now: fresh import caches and plugin set."""
    importlib.invalidate_caches()
    for name in [m for m in sys.modules if m.split(".")[0] in modules]:
        del sys.modules[name]
    get_plugins.cache_clear()


@contextlib.contextmanager
def pip_installed(example: Path, modules: tuple[str, ...], scratch: Path) -> Iterator[None]:
    """``example`` installed with pip as a user would, from a copy in ``scratch`` (so no build files land in the
    repository), into a folder of its own put on this process's path and its children's ``PYTHONPATH`` (where
    entry points are found as in site-packages), so tests running beside these in other processes never see the
    package; taken off again afterwards. ``modules`` are its top-level modules, forgotten both times."""
    # asked in a subprocess: importing pip here, or only looking it up (importlib's find_spec), turns setuptools'
    # distutils shim off in this process, and a torch.compile in a later test then failed on the stdlib distutils
    if pip("--version").returncode != 0:
        pytest.skip("pip is not installed")
    source, site = scratch / example.name, scratch / "site-packages"
    shutil.copytree(example, source, ignore=shutil.ignore_patterns("build", "*.egg-info", "__pycache__"))
    # setuptools already here: build without fetching it again (a user's plain `pip install` fetches it)
    isolation = ["--no-build-isolation"] if importlib.util.find_spec("setuptools") else []
    result = pip("install", "--no-deps", "--quiet", "--target", str(site), *isolation, str(source))
    if result.returncode != 0:
        pytest.fail(f"pip install {source} failed:\n{result.stdout}\n{result.stderr}")
    before = os.environ.get("PYTHONPATH")
    sys.path.insert(0, str(site))
    os.environ["PYTHONPATH"] = os.pathsep.join([str(site), *([before] if before else [])])
    forget_plugins(*modules)
    try:
        yield
    finally:
        sys.path.remove(str(site))
        if before is None:
            os.environ.pop("PYTHONPATH", None)
        else:
            os.environ["PYTHONPATH"] = before
        forget_plugins(*modules)


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    with pip_installed(EXAMPLE, ("gancli_relativistic",), tmp_path_factory.mktemp("example")):
        yield


@pytest.fixture(scope="module")
def plugins(installed: None) -> Plugins:
    return Plugins()


def gancli(*args: str) -> subprocess.CompletedProcess[str]:
    """The CLI as a user runs it, in a fresh process; one thread, as tiny networks on shared cores want."""
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    return subprocess.run(
        [sys.executable, "-m", "gancli", *args],
        capture_output=True,
        text=True,
        check=False,
        timeout=240,
        env=env,
    )


def test_the_entry_point_registers_each_kind_with_the_package_name(plugins: Plugins) -> None:
    assert [f for f in plugins.failures if f.package == PACKAGE] == []
    for kind, name in (("loss", "ragan"), ("optimizer", "lookahead"), ("architecture", "resmlp")):
        reg = plugins.registry.get(kind, name)
        assert (reg.plugin, reg.package) == ("relativistic", PACKAGE)
    assert plugins.registry.get("optimizer", "lookahead").defaults() == {
        "k": 5,
        "alpha": 0.5,
        "beta1": 0.5,
        "beta2": 0.999,
    }


def test_plugins_list_and_show_name_the_package(installed: None, monkeypatch: pytest.MonkeyPatch) -> None:
    get_plugins.cache_clear()
    cli.build_app()
    monkeypatch.setattr(cli, "out", Console(width=250))
    runner = CliRunner()
    listed = runner.invoke(cli.app, ["plugins", "list"])
    assert listed.exit_code == 0, listed.output
    rows = {tuple(c.strip() for c in line.split("│")[1:4]) for line in listed.stdout.splitlines()}
    assert {
        ("loss", "ragan", PACKAGE),
        ("optimizer", "lookahead", PACKAGE),
        ("architecture", "resmlp", PACKAGE),
    } <= rows
    assert ("loss", "hinge", "gancli") in rows
    shown = runner.invoke(cli.app, ["plugins", "show", "resmlp"])
    assert shown.exit_code == 0, shown.output
    assert f"resmlp (architecture, plugin relativistic, package {PACKAGE})" in shown.stdout
    options = {line.split()[1]: line.split()[2:4] for line in shown.stdout.splitlines() if "--set" in line}
    assert options == {"resmlp.hidden": ["int", "128"], "resmlp.blocks": ["int", "2"]}


def sigmoid(t: float) -> float:
    return 1.0 / (1.0 + math.exp(-t))


def test_ragan_matches_a_hand_computation(plugins: Plugins) -> None:
    loss = plugins.registry.get("loss", "ragan").create()
    real, fake = [1.0, -0.5, 2.0], [-1.0, 0.5, 0.0, 3.0]
    mean_real, mean_fake = sum(real) / len(real), sum(fake) / len(fake)
    d_expected = -sum(math.log(sigmoid(r - mean_fake)) for r in real) / len(real) - sum(
        math.log(1 - sigmoid(f - mean_real)) for f in fake
    ) / len(fake)
    g_expected = -sum(math.log(sigmoid(f - mean_real)) for f in fake) / len(fake) - sum(
        math.log(1 - sigmoid(r - mean_fake)) for r in real
    ) / len(real)
    d_real, d_fake = torch.tensor(real, dtype=torch.float64), torch.tensor(fake, dtype=torch.float64)
    assert loss.d_loss(d_real, d_fake).item() == pytest.approx(d_expected, rel=1e-12)
    assert loss.g_loss(d_fake, d_real).item() == pytest.approx(g_expected, rel=1e-12)
    # indistinguishable scores: both players stand at 2 log 2, as in the standard GAN
    same = torch.full((5,), 0.3, dtype=torch.float64)
    assert loss.d_loss(same, same).item() == pytest.approx(2 * math.log(2))
    # confident logits stay finite (softplus, not log of a sigmoid)
    assert math.isfinite(loss.d_loss(torch.tensor([200.0]), torch.tensor([-200.0])).item())
    assert loss.g_loss(torch.tensor([-200.0]), torch.tensor([200.0])).item() == pytest.approx(800.0)


def distance_to_unit_circle(points: np.ndarray) -> float:
    return float(np.abs(np.linalg.norm(points, axis=1) - 1.0).mean())


def test_training_with_the_plugins_writes_checkpoints_and_approaches_the_ring(plugins: Plugins, tmp_path: Path) -> None:
    run = tmp_path / "run"
    trained = gancli("train", *TRAIN, "--out", str(run), "--quiet")
    assert trained.returncode == 0, trained.stderr

    (checkpoint,) = sorted((run / "checkpoints").glob("step-*.json"))
    meta = json.loads(checkpoint.read_text())
    assert meta["step"] == 200
    assert meta["plugins"]["loss"] == {
        "name": "ragan",
        "plugin": "relativistic",
        "package": PACKAGE,
        "version": "0.1.0",
    }
    assert meta["plugins"]["optimizer"]["package"] == PACKAGE
    assert meta["plugins"]["architecture"]["package"] == PACKAGE
    assert meta["config"]["options"]["lookahead"] == {"k": 5, "alpha": 0.5, "beta1": 0.5, "beta2": 0.999}
    assert (checkpoint.parent / meta["tensors"]).is_file()
    assert list((run / "samples").glob("step-*.png"))

    samples_file = tmp_path / "samples.npy"
    sampled = gancli("sample", str(run), "-o", str(samples_file), "--n", "1000", "--seed", "0")
    assert sampled.returncode == 0, sampled.stderr
    after = np.load(samples_file)
    assert after.shape == (1000, 2)

    # the same networks before any step: the session a run builds from its config, not loaded
    resolved = resolve(plugins.registry, {"device": "cpu"}, run / "config.json")
    before = Session.build(resolved).generate(1000, seed=0).numpy()
    assert distance_to_unit_circle(after) < 0.5 * distance_to_unit_circle(before)

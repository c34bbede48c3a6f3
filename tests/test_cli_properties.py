"""Whatever a user types, gancli answers with a result, a one-line error (exit 1) or a usage error (exit 2): never
an internal error, a traceback or a panic, and never a write where the output rule refuses one.

hypothesis draws flags, ``--set`` pairs, config files and output paths from pools of the usual suspects: zero,
negatives, NaN, infinity, 10**400, full-width digits, markup, garbage bytes, 100,000 nested brackets, and the paths
a machine has (device nodes and FIFOs of the test's own, links, dangling links, missing folders, a file where a
folder is expected, a socket, /proc and /sys). Derandomized and without an example database, so every run sees the
same cases. Training stays at two steps of a tiny ring8 run: the flags that say how long it runs come last and are
fixed, and values that would be accepted yet run for hours (``mlp.layers=10**400``) are left out of the pools:
bounding them is the option ranges' job. Each case found became a plain regression test, at the end of this file.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import socket
import stat
import tempfile
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from cli_helpers import one_line_error
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from PIL import Image
from typer.testing import Result

PROPERTIES = settings(
    max_examples=60,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
HUGE = str(10**400)
NUMBERS = ["0", "-1", "1", "2", "3", "0.5", "1e-300", "nan", "inf", "-inf", "1e400", HUGE, "３", "1_0", "", "x", "[/x]"]
NAMES = ["[/x]", "[bold]b", "", "nope"]
#: the flags a generated run gets last, so that it stays two steps of a tiny network whatever came before
BOUNDED = ["--data", "ring8", "--steps", "2", "--d-steps", "1", "--batch-size", "8", "--quiet"]
BOUNDED += ["--set", "mlp.hidden=8", "--set", "modes.samples=64", "--set", "modes.min_count=1"]
TRAIN_FLAGS: dict[str, list[str]] = {
    **dict.fromkeys(["--lr", "--lr-g", "--lr-d", "--latent-dim", "--seed", "--image-size", "--channels"], NUMBERS),
    **dict.fromkeys(["--pack", "--r1", "--r1-every", "--diversity", "--ema", "--log-every", "--keep"], NUMBERS),
    **dict.fromkeys(["--sample-every", "--checkpoint-every", "--eval-every", "--eval-samples"], NUMBERS),
    "--lr-schedule": ["constant", "linear", "cosine", *NAMES],
    "--device": ["cpu", "auto", "cuda:7", "tpu", *NAMES],
    "--augment": ["flip", "translate=0.125", "translate=nan", "flip,translate=9", *NAMES],
    "--background": ["black", "white", "#FF8000", "#fff", "pink", *NAMES],
    "--diffaugment": ["color", "translation,cutout", "color,flip", "cutout,cutout", *NAMES],
    **dict.fromkeys(["--ada-target", "--ada-kimg", "--eval-draws"], NUMBERS),
    "--precision": ["fp32", "bf16", "fp16", *NAMES],
    "--keep-best": ["mode_kl", "modes_covered", *NAMES],
    "--on-nan": ["stop", "rollback", *NAMES],
    "--features": ["random-cnn", "digits-cnn", "inception:/nonexistent", "inception:", *NAMES],
    "--loss": ["minimax", "nonsaturating", "lsgan", "hinge", "wgan", "wgan-gp", "ebgan", *NAMES],
    "--optimizer": ["adam", "rmsprop", "sgd", *NAMES],
    "--update": ["alternating", "simultaneous", "consensus", "extragradient", *NAMES],
    "--arch": ["mlp", "dcgan", "resnet", *NAMES],
}
SWITCHES = ["--spectral-norm", "--minibatch-std", "--no-minibatch-std", "--amp", "--prefetch", "--stop-when-plateau"]
SWITCHES += ["--ada"]
#: plugin options whose every value in SET_VALUES ends in seconds (no layers, no modes: 10**400 of them would not)
OPTION_NAMES = ["hidden", "mlp.hidden", "d_hidden", "batchnorm", "radius", "ring8.std", "samples", "min_count"]
OPTION_NAMES += ["adam.beta1", "eps", "clip", "gamma", "seed", "k", "kid.subset", "x.y", ".", "=", *NAMES]
SET_VALUES = ["0", "-1", "1", "2", "0.5", "nan", "inf", "1e400", HUGE, "３", "true", "", "[/x]"]
CONFIG_KEYS = ["lr", "seed", "latent_dim", "latent-dim", "ema", "r1", "keep", "log_every", "metrics", "set"]
CONFIG_KEYS += ["plugins", "device", "precision", "loss", "update", "augment", "keep_best", "features", "nope"]
CONFIG_KEYS += ["steps", "batch_size", "data"]  # overridden by BOUNDED: the file's values are read and checked
DEEP = "[" * 100_000 + "]" * 100_000


def scalars() -> st.SearchStrategy[Any]:
    return st.one_of(
        st.sampled_from([0, -1, 1, 2, 10**400, 2**63, True, None]),
        st.floats(allow_nan=True, allow_infinity=True),
        st.text(max_size=8),
    )


def config_values() -> st.SearchStrategy[Any]:
    def containers(inner: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
        return st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3)

    return st.recursive(scalars(), containers, max_leaves=6)


def toml_value(value: Any) -> str:
    """``value`` written as TOML would write it (None, which TOML lacks, as a bare word: a syntax error)."""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float):
        return repr(value)  # nan, inf, -inf: TOML spells them as Python does
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(item) for item in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{json.dumps(k)} = {toml_value(v)}" for k, v in value.items()) + "}"
    return "none" if value is None else json.dumps(value) if isinstance(value, str) else str(value)


KINDS = ["dataset", "loss", "architecture", "optimizer", "update", "features"]
#: a saved run's plugin provenance, well-formed or not; a loss or update rule that is not installed (the provenance
#: is consulted for those)
PROVENANCE = st.fixed_dictionaries({"name": config_values(), "package": config_values()}) | scalars()
CONFIG_VALUES = {
    "plugins": st.fixed_dictionaries({kind: PROVENANCE for kind in KINDS}) | config_values(),
    "loss": st.sampled_from(["wgan", "nope", *NAMES]),
    "update": st.sampled_from(["consensus", "nope"]) | scalars(),
}


@st.composite
def config_files(draw: st.DrawFn) -> tuple[str, bytes]:
    """(file name, contents): settings as TOML or JSON, garbage bytes, deep nesting or a number of 5,000 digits."""
    kind = draw(st.sampled_from(["toml", "json", "saved run", "garbage", "deep", "digits"]))
    if kind == "garbage":
        return draw(st.sampled_from(["exp.toml", "exp.json"])), draw(st.binary(max_size=64))
    if kind == "deep":
        text = "lr = " + DEEP if draw(st.booleans()) else DEEP
        return draw(st.sampled_from(["exp.toml", "exp.json"])), text.encode()
    if kind == "digits":
        return "exp.toml", ("seed = " + "9" * 5000).encode()
    chosen = draw(st.lists(st.sampled_from(CONFIG_KEYS), max_size=4, unique=True))
    if kind == "saved run":  # a run's config.json, edited: the provenance is read when a plugin is missing
        kind, chosen = "json", ["loss", "plugins"]
    settings_ = {key: draw(CONFIG_VALUES.get(key, config_values())) for key in dict.fromkeys(chosen)}
    if kind == "json":
        return "exp.json", json.dumps(settings_).encode()
    return "exp.toml", "".join(f"{key} = {toml_value(value)}\n" for key, value in settings_.items()).encode()


@st.composite
def train_arguments(draw: st.DrawFn) -> list[str]:
    flags = draw(st.dictionaries(st.sampled_from(sorted(TRAIN_FLAGS)), st.just(""), max_size=4))
    arguments = []
    for flag in flags:
        arguments += [flag, draw(st.sampled_from(TRAIN_FLAGS[flag]))]
    arguments += draw(st.lists(st.sampled_from(SWITCHES), max_size=2, unique=True))
    for _ in range(draw(st.integers(0, 2))):
        arguments += ["--set", f"{draw(st.sampled_from(OPTION_NAMES))}={draw(st.sampled_from(SET_VALUES))}"]
    return arguments


def answered(result: Result) -> None:
    """A result, a one-line error or a usage error; never an internal error, a traceback or a panic."""
    output = result.output
    event(f"exit {result.exit_code}")  # how the cases ended, in --hypothesis-show-statistics
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    assert "internal error" not in output and "Traceback" not in output and "panicked" not in output, output
    assert result.exit_code in (0, 1, 2), (result.exit_code, output)
    if result.exit_code == 1:
        assert result.stderr.strip().splitlines()[-1].startswith("error: "), result.stderr
    if result.exit_code == 2:
        assert "Usage:" in output, output


@PROPERTIES
@given(arguments=train_arguments(), config=st.none() | config_files())
def test_train_answers_any_flags_options_and_config_file(
    gancli, tmp_path: Path, arguments: list[str], config: tuple[str, bytes] | None
) -> None:
    case = Path(tempfile.mkdtemp(dir=tmp_path))
    if config is not None:
        name, contents = config
        (case / name).write_bytes(contents)
        arguments = [*arguments, "--config", str(case / name)]
    result = gancli("train", *arguments, *BOUNDED, "--out", case / "run")
    answered(result)
    if result.exit_code == 0:
        saved = json.loads((case / "run" / "config.json").read_text())
        assert (saved["data"], saved["steps"], saved["batch_size"]) == ("ring8", 2, 8)
        assert (case / "run" / "checkpoints" / "step-00000002.json").is_file()


#: what may stand at an output path, and whether the output rule writes there (None: only with --force)
PATH_KINDS = {
    "new": True,
    "existing": None,
    "link to a file": None,
    "null device": True,
    "full device": False,
    "fifo": True,
    "stdout": True,
    "dangling link": False,
    "missing folder": False,
    "file as folder": False,
    "folder": False,
    "socket": False,
    "/proc": False,
    "/sys": False,
}
MAGIC = (b"\x89PNG\r\n\x1a\n", b"\x93NUMPY", b"GANPACK\x00")


@contextlib.contextmanager
def output_path(kind: str, folder: Path) -> Iterator[str]:
    """A path of ``kind`` in ``folder`` (made by the test: device twins, a FIFO with a reader, a bound socket)."""
    target, kept = folder / "out.bin", folder / "kept.bin"
    if kind in ("existing", "file as folder"):
        target.write_bytes(b"the user's own")
    if kind == "link to a file":
        kept.write_bytes(b"the user's own")
        target.symlink_to(kept)
    if kind == "dangling link":
        target.symlink_to(folder / "nowhere")
    if kind == "folder":
        target.mkdir()
    if kind in ("null device", "full device"):
        os.mknod(target, stat.S_IFCHR | 0o666, os.makedev(1, 3 if kind == "null device" else 7))
    listening = socket.socket(socket.AF_UNIX)
    if kind == "socket":
        listening.bind(str(target))
    reader = None
    if kind == "fifo":
        os.mkfifo(target)
        reader = threading.Thread(target=target.read_bytes, daemon=True)
        reader.start()
    named = {"stdout": "-", "missing folder": str(folder / "gone" / "x"), "file as folder": str(target / "x")}
    named |= {"/proc": "/proc/gancli-test.png", "/sys": "/sys/gancli-test.png"}
    try:
        yield named.get(kind, str(target))
    finally:
        listening.close()
        if reader is not None:  # a reader still waiting for a writer that never came: let it go
            with contextlib.suppress(OSError):
                os.close(os.open(target, os.O_WRONLY | os.O_NONBLOCK))
            reader.join(10)


def check_output_rule(kind: str, force: bool, result: Result, folder: Path) -> None:
    """What the output rule promises for ``kind``: refused kinds never written, nodes never replaced, the user's
    file replaced only with --force."""
    target = folder / "out.bin"
    writes = PATH_KINDS[kind] if PATH_KINDS[kind] is not None else force
    if not writes:
        assert result.exit_code != 0, result.output
    if kind in ("existing", "link to a file") and not force:
        assert (folder / ("kept.bin" if kind == "link to a file" else "out.bin")).read_bytes() == b"the user's own"
    kinds = {"null device": stat.S_ISCHR, "full device": stat.S_ISCHR, "fifo": stat.S_ISFIFO, "socket": stat.S_ISSOCK}
    kinds |= {"link to a file": stat.S_ISLNK, "dangling link": stat.S_ISLNK, "folder": stat.S_ISDIR}
    if kind in kinds:
        assert kinds[kind](os.lstat(target).st_mode), kind
    if result.exit_code == 0 and kind in ("new", "existing", "link to a file"):
        written = (folder / ("kept.bin" if kind == "link to a file" else "out.bin")).read_bytes()
        assert written.startswith(MAGIC), written[:16]
    if result.exit_code == 0 and kind == "stdout":
        assert result.stdout_bytes.startswith(MAGIC)
    assert not [name for name in os.listdir(folder) if name.endswith(".tmp")]


def grid(draw: st.DrawFn) -> list[str]:
    arguments = ["grid", "{run}", "--n", draw(st.sampled_from(["1", "5", "0", HUGE, "x"]))]
    arguments += ["--nrow", draw(st.sampled_from(["1", "3", "0", HUGE])), "--seed", draw(st.sampled_from(["0", HUGE]))]
    arguments += ["--compression", draw(st.sampled_from(["fast", "best", "x"]))]
    if draw(st.booleans()):
        arguments += ["--checkpoint", draw(st.sampled_from(["1", "9", "x", "/dev/null", "../config.json"]))]
    return arguments


def sample(draw: st.DrawFn) -> list[str]:
    arguments = ["sample", "{run}", "--n", draw(st.sampled_from(["1", "7", "0", HUGE]))]
    return [*arguments, "--seed", draw(st.sampled_from(["0", HUGE]))]


def dynamics(draw: st.DrawFn) -> list[str]:
    arguments = ["dynamics", "--steps", draw(st.sampled_from(["1", "3", "0", "x"]))]
    arguments += ["--lr", draw(st.sampled_from(["0.1", "0", "nan", "inf", "1e-300"]))]
    arguments += ["--gamma", draw(st.sampled_from(["1", "nan", "inf", "-1", "1e400"]))]
    arguments += ["--rules", draw(st.sampled_from(["simultaneous", "alternating,consensus", "", ",", *NAMES]))]
    return [*arguments, "--loss", draw(st.sampled_from(["minimax", "wgan", "ebgan", "nope"]))]


def prepare(draw: st.DrawFn) -> list[str]:
    arguments = ["data", "prepare", draw(st.sampled_from(["imgs", "missing", "afile"]))]
    arguments += ["--image-size", draw(st.sampled_from(["8", "0", "-1", HUGE, "x"]))]
    arguments += ["--channels", draw(st.sampled_from(["1", "3", "2"]))]
    arguments += ["--background", draw(st.sampled_from(["white", "#102030", "#12345g"]))]
    return [*arguments, "--fit", draw(st.sampled_from(["crop", "x"]))]


#: each writing command's arguments before its output path, "{run}" standing for the run directory
WRITERS: dict[str, Callable[[st.DrawFn], list[str]]] = {
    "grid": grid,
    "animate": lambda draw: ["grid", "{run}", "--animate"],
    "sample": sample,
    "plot": lambda draw: ["plot", *draw(st.sampled_from([["{run}"], ["{run}", "{run}"], ["{run}", "missing"]]))],
    "report": lambda draw: ["report", *draw(st.sampled_from([["{run}"], ["{run}", "{run}"], ["missing"]]))],
    "dynamics": dynamics,
    "prepare": prepare,
}


@st.composite
def writing_commands(draw: st.DrawFn) -> tuple[list[str], str, bool]:
    """(a writing command's arguments before its output path, the kind of output path, --force or not)"""
    command = draw(st.sampled_from(sorted(WRITERS)))
    kind = draw(st.sampled_from([k for k in PATH_KINDS if "device" not in k or os.geteuid() == 0]))
    return WRITERS[command](draw), kind, draw(st.booleans())


@PROPERTIES
@given(case=writing_commands())
def test_commands_that_write_answer_any_options_and_output_path(
    gancli, tiny_run: Path, tmp_path: Path, case: tuple[list[str], str, bool]
) -> None:
    arguments, kind, force = case
    run = tmp_path / "run"
    if not run.exists():  # the examples share the test's folder: a copy of the run, images, a file of text
        shutil.copytree(tiny_run, run)
        (tmp_path / "imgs").mkdir()
        for i in range(3):
            Image.new("RGB", (8, 8), (40 * i, 0, 0)).save(tmp_path / "imgs" / f"{i}.png")
        (tmp_path / "afile").write_text("not images")
    folder = Path(tempfile.mkdtemp(dir=tmp_path))
    with output_path(kind, folder) as path:
        args = [part.replace("{run}", str(run)) for part in arguments]
        args += [path] if args[0] == "data" else ["-o", path]
        result = gancli(*args, *(["--force"] if force else []))
    answered(result)
    check_output_rule(kind, force, result, folder)


# --- the cases the properties found, as plain regression tests -------------------------------------------


def test_a_seed_or_count_no_generator_takes_is_one_line(gancli, tiny_run: Path) -> None:
    """--seed 10**400 overflowed inside torch ("internal error ValueError: Overflow when unpacking long long")."""
    one_line_error(gancli("grid", tiny_run, "--seed", HUGE), "--seed must be between 0 and 2147483647")
    one_line_error(gancli("sample", tiny_run, "-o", "s.npy", "--seed", "-1"), "--seed must be between 0")
    one_line_error(gancli("eval", tiny_run, "--seed", HUGE), "--seed must be between 0")
    one_line_error(gancli("sample", tiny_run, "-o", "s.npy", "--n", HUGE), "--n must be between 1 and 10,000,000")
    one_line_error(gancli("grid", tiny_run, "--nrow", HUGE), "--nrow must be between 1 and 10,000,000")
    assert not Path("s.npy").exists()


def test_dynamics_without_a_rule_is_one_line(gancli) -> None:
    """--rules "" drew an empty figure with matplotlib's warnings."""
    one_line_error(gancli("dynamics", "--rules", ","), "--rules ','", "at least one update rule")
    assert not Path("dynamics.png").exists()


@pytest.mark.parametrize("provenance", [{"loss": 0}, {"loss": {"name": {"a": 1}}}, [1, 2], {"loss": {"name": 3}}])
def test_a_config_whose_plugin_provenance_is_malformed_is_one_line(gancli, tmp_path: Path, provenance: Any) -> None:
    """A hand-edited config.json naming a loss that is not installed: its provenance, read to say which package
    to install, was trusted ("internal error AttributeError: 'int' object has no attribute 'get'")."""
    (tmp_path / "exp.json").write_text(json.dumps({"loss": "nope", "plugins": provenance}))
    one_line_error(gancli("train", "--config", "exp.json", *BOUNDED), "--config exp.json: plugins must map each kind")

"""Values checked at the door (gancli.values): ranges and choices, ASCII numbers, finite floats and 64-bit
integers, for ``gancli train``'s flags, its config files and plugin options alike."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
from cli_helpers import TINY, one_line_error
from gancli.config import FLAG_RANGES, MAX_IMAGE_SIZE, resolve
from gancli.errors import GancliError
from gancli.plugins.manager import Plugins
from gancli.plugins.registry import Option
from gancli.values import Range, parse_number


@pytest.mark.parametrize(
    ("values", "text", "inside", "outside"),
    [
        (Range(min=1), "at least 1", [1, 2**62], [0, -1, 2**63]),
        (Range(min=0, min_open=True), "greater than 0", [1e-300, 5.0], [0.0, -1.0, math.inf, math.nan]),
        (Range(max=3), "at most 3", [3, -(2**63)], [4, -(2**63) - 1]),
        (Range(max=1, max_open=True), "less than 1", [0.5], [1.0]),
        (Range(min=1, max=8192), "between 1 and 8192", [1, 8192], [0, 8193]),
        (Range(min=0, max=1, max_open=True), "in [0, 1)", [0.0, 0.999], [1.0, -0.1]),
        (Range(min=0, max=1, min_open=True, max_open=True), "in (0, 1)", [0.5], [0.0, 1.0]),
        (Range(choices=("crop", "pad")), "one of 'crop', 'pad'", ["crop", "pad"], ["stretch", "Crop"]),
        (Range(), "", [0.0, -1e300, 2**63 - 1, "anything", True], [math.inf, -math.inf, math.nan, 2**63]),
    ],
)
def test_a_range_says_what_it_admits(values: Range, text: str, inside: list, outside: list) -> None:
    assert str(values) == text
    assert all(values.admits(v) for v in inside), inside
    assert not any(values.admits(v) for v in outside), outside


def test_a_refusal_names_the_setting_the_range_and_the_value() -> None:
    with pytest.raises(GancliError, match=r"^--steps must be between 1 and 10, got 0$"):
        Range(min=1, max=10).check(0, "--steps")
    with pytest.raises(GancliError, match=r"^--lr must be a finite number greater than 0, got inf$"):
        Range(min=0, min_open=True).check(math.inf, "--lr")
    with pytest.raises(GancliError, match=r"^--set x.n must be a 64-bit integer, got a number of 401 digits$"):
        Range().check(10**400, "--set x.n")


@pytest.mark.parametrize(
    ("text", "kind", "value"),
    [("3", int, 3), (" -12 ", int, -12), ("1_000", int, 1000), ("1e-4", float, 1e-4), ("2", float, 2.0)],
)
def test_numbers_are_read_as_typed_in_ascii(text: str, kind: type, value: float) -> None:
    assert parse_number(text, kind) == value and type(parse_number(text, kind)) is kind


@pytest.mark.parametrize(
    ("text", "kind", "message"),
    [
        ("３", int, "expected an integer in ASCII digits, got '３'"),  # full-width: Python's int() says 3
        ("١٢", int, "expected an integer in ASCII digits, got '١٢'"),  # Arabic-Indic
        ("０.５", float, "expected a number in ASCII digits, got '０.５'"),
        ("2.5", int, "expected an integer, got '2.5'"),
        ("abc", float, "expected a number, got 'abc'"),
        ("9" * 5000, int, "expected an integer, got '9999999999999999999999999999999999999999'… (5000 characters)"),
    ],
)
def test_other_numbers_are_refused(text: str, kind: type, message: str) -> None:
    with pytest.raises(ValueError) as excinfo:
        parse_number(text, kind)
    assert str(excinfo.value) == message


@pytest.mark.parametrize(
    ("declare", "message"),
    [
        (lambda: Option("k", int, 0, min=1), "option 'k': default 0 is not at least 1"),
        (lambda: Option("fit", str, "crop", choices=["crop", "pad"], min=0), "option 'fit': min and max need"),
        (lambda: Option("k", int, 1, choices=("1", "2")), "option 'k': choices ('1', '2') must be ints"),
        (lambda: Option("k", int, 1, min=5, max=2), "option 'k': min 5 is above max 2"),
        (lambda: Option("x", float, math.nan), "option 'x': default nan is not"),
    ],
)
def test_a_plugin_s_declaration_is_checked_when_it_registers(declare, message: str) -> None:
    with pytest.raises(TypeError) as excinfo:
        declare()
    assert str(excinfo.value).startswith(message)


def test_choices_are_kept_as_a_tuple_and_a_declared_option_parses_within_its_range() -> None:
    fit = Option("fit", str, "crop", "how to fit", choices=["crop", "pad"])
    assert fit.choices == ("crop", "pad") and fit.range.admits("pad") and not fit.range.admits("stretch")


@pytest.fixture(scope="module")
def builtins() -> Plugins:
    return Plugins(entry_point_group=None)


@pytest.mark.parametrize(
    ("toml", "message"),
    [
        ("steps = 1" + "0" * 400, "--steps must be between 1 and 1000000000, got a number of 401 digits"),
        ("steps = 1_000_000_001", "--steps must be between 1 and 1000000000, got 1000000001"),
        ("lr = 1e400", "--lr must be a finite number greater than 0, got inf"),
        ("lr = nan", "--lr must be a finite number greater than 0, got nan"),
        ("lr = 1" + "0" * 400, "lr: expected a number within a float's range, got a number of 401 digits"),
        ("d_steps = 1001", "--d-steps must be between 1 and 1000, got 1001"),
        ("channels = 2", "--channels must be one of 1, 3, got 2"),
        ("precision = 'fp8'", "--precision must be one of 'fp32', 'bf16', 'fp16', got 'fp8'"),
        ("ema = 1.0", "--ema must be in [0, 1), got 1.0"),
        ("seed = -1", "--seed must be between 0 and 2147483647, got -1"),
        ("[options.prdc]\nk = 0", "option prdc.k must be at least 1, got 0"),
        ('set = ["mlp.layers=100000"]', "--set mlp.layers must be between 1 and 100, got 100000"),
    ],
)
def test_a_config_file_s_values_are_refused_naming_the_setting(
    builtins: Plugins, tmp_path: Path, toml: str, message: str
) -> None:
    (tmp_path / "run.toml").write_text(toml + "\n")
    with pytest.raises(GancliError) as excinfo:
        resolve(builtins.registry, {"data": "ring8"}, tmp_path / "run.toml")
    assert str(excinfo.value).endswith(message)


def test_every_flag_declares_what_it_takes() -> None:
    """Numbers have bounds (a typo of ten digits is refused), names of choices their list; text is checked by the
    plugin or flag it names."""
    unbounded = [name for name, values in FLAG_RANGES.items() if not str(values)]
    names = ["data", "arch", "loss", "optimizer", "update", "device", "augment", "diffaugment", "features", "keep_best"]
    names += ["background"]
    switches = ["skip_bad", "spectral_norm", "minibatch_std", "amp", "channels_last", "prefetch", "data_on_device"]
    switches += ["sync_bn", "ada", "conditional", "balance_classes"]
    assert sorted(unbounded) == sorted([*names, *switches, "compile", "stop_when_plateau", "tensorboard"])


def test_the_size_limit_and_the_fits_are_the_kernels() -> None:
    from gancli import kernels

    assert MAX_IMAGE_SIZE**2 == kernels.DEFAULT_MAX_PIXELS
    images = Plugins(entry_point_group=None).registry.get("dataset", "images")
    assert images.option("fit").choices == kernels.FITS


def test_the_cli_refuses_an_out_of_range_value_before_anything_is_built(gancli, tmp_path: Path) -> None:
    one_line_error(gancli("train", *TINY, "--steps", "1" + "0" * 400, "--out", "run"), "--steps", "401 digits")
    one_line_error(gancli("train", *TINY, "--set", "mlp.layers=100000", "--out", "run"), "mlp.layers", "100000")
    one_line_error(gancli("dynamics", "--gamma", "-1"), "option consensus.gamma must be at least 0, got -1.0")
    assert not (tmp_path / "run").exists() and not (tmp_path / "dynamics.png").exists()
    full_width = gancli("train", *TINY, "--steps", "３", "--out", "run")
    assert full_width.exit_code != 0 and not (tmp_path / "run").exists()

"""The plugin system: built-ins through the hooks, failures reported by plugin and package, lookups that
suggest names, `gancli plugins list/show`, and `--set` validation.

Broken, duplicate and extra plugins are modules in ``tests/plugin_fixtures/`` (put on ``sys.path`` here and
loaded by name through ``Plugins(builtins=[...])``), or fake entry points: nothing is installed.
"""

from __future__ import annotations

import json
import shlex
from pathlib import Path
from typing import Any

import pytest
import typer
from cli_helpers import FIXTURES, entry_point, ok
from gancli import cli
from gancli.config import FIELD_NAMES, resolve
from gancli.errors import GancliError, PluginError
from gancli.plugins import manager
from gancli.plugins.manager import BUILTIN_PLUGINS, PluginFailure, Plugins
from gancli.plugins.registry import KINDS, Option, Registration
from rich.console import Console
from typer.testing import CliRunner

ROOT = Path(__file__).parent.parent

#: built-ins every finished gancli provides, by kind (other built-ins may come on top)
EXPECTED_BUILTINS = {
    "loss": {"minimax", "nonsaturating", "lsgan", "hinge", "wgan", "wgan-gp", "ebgan"},
    "optimizer": {"adam", "rmsprop", "sgd"},
    "update": {"alternating", "simultaneous", "consensus", "extragradient"},
    "architecture": {"mlp"},
    "dataset": {"ring8", "grid25"},
    "metric": {"modes", "class-fidelity", "class-fd"},
    "features": {"random-cnn"},
    "diagnostic": {
        "vanishing-gradients",
        "mode-collapse",
        "divergence",
        "oscillation",
        "d-overfitting",
        "plateau",
        "class-ignored",
    },
}

RING8_MLP = {"data": "ring8", "arch": "mlp"}


@pytest.fixture(autouse=True)
def fixture_modules_importable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.syspath_prepend(str(FIXTURES))


@pytest.fixture(scope="module")
def builtins() -> Plugins:
    return Plugins(entry_point_group=None)


def with_fixtures(*modules: str) -> Plugins:
    """The built-ins plus fixture modules, loaded exactly as built-ins are (so their package is gancli)."""
    return Plugins(builtins=[*BUILTIN_PLUGINS, *modules], entry_point_group=None)


def failures_besides_builtins(plugins: Plugins) -> list[PluginFailure]:
    """The failures a test provoked (the built-ins' own are checked by the first test)."""
    return [f for f in plugins.failures if f.plugin not in BUILTIN_PLUGINS]


# --- built-ins --------------------------------------------------------------------------------------------


def test_builtins_register_every_kind_through_the_hooks(builtins: Plugins) -> None:
    assert builtins.failures == []
    for module in BUILTIN_PLUGINS:
        assert builtins.pm.get_plugin(module) is not None, module
    for kind in KINDS:
        regs = builtins.registry.all(kind)
        assert EXPECTED_BUILTINS[kind] <= {reg.name for reg in regs}, kind
        for reg in regs:
            assert reg.package == "gancli"
            assert reg.plugin in BUILTIN_PLUGINS
            assert reg.description, f"{kind} {reg.name} has no description"


def test_builtin_options_carry_types_and_defaults(builtins: Plugins) -> None:
    wgan = builtins.registry.get("loss", "wgan")
    assert wgan.plugin == "gancli.losses"
    clip = wgan.option("clip")
    assert clip is not None
    assert (clip.type, clip.default) == (float, 0.01)
    assert builtins.registry.get("optimizer", "adam").defaults() == {
        "beta1": 0.5,
        "beta2": 0.999,
        "eps": 1e-8,
    }


def test_factories_receive_the_declared_defaults_overridden_by_options(builtins: Plugins) -> None:
    import torch

    reg = builtins.registry.get("optimizer", "sgd")
    params = [torch.nn.Parameter(torch.zeros(2))]
    opt = reg.create(params, 0.1, options={"momentum": 0.7})
    group = opt.param_groups[0]
    assert (group["lr"], group["momentum"], group["nesterov"]) == (0.1, 0.7, False)


# --- failures: duplicates, broken imports, raising hooks ----------------------------------------------------


def test_a_name_two_plugins_register_is_an_error_naming_both_providers(installed_plugins) -> None:
    plugins = installed_plugins(("a", "twin_loss_a", "gancli-a"), ("b", "twin_loss_b", "gancli-b"))
    expected = "loss 'twin' is registered twice: by plugin 'a' (package gancli-a) and by plugin 'b' (package gancli-b)"
    assert [(f.plugin, f.message) for f in failures_besides_builtins(plugins)] == [("b", expected)]
    with pytest.raises(GancliError, match="registered twice") as excinfo:
        plugins.registry.get("loss", "twin")
    assert str(excinfo.value) == expected
    assert plugins.registry.get("loss", "hinge").plugin == "gancli.losses"
    assert plugins.registry.get("loss", "twin-b-only").plugin == "b"  # the clash stops nothing else


def test_a_name_clashing_with_a_builtin_names_gancli_and_the_third_party_package(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(manager, "entry_points", lambda group: [entry_point("twins", "twin_loss_a", "gancli-twins")])
    plugins = Plugins(builtins=["twin_loss_b"])
    (failure,) = plugins.failures
    assert (failure.plugin, failure.package) == ("twins", "gancli-twins")
    assert "by plugin 'twin_loss_b' (package gancli) and by plugin 'twins' (package gancli-twins)" in str(failure)
    assert str(failure).endswith("gancli keeps its own, the plugin's is left out")
    assert plugins.registry.get("loss", "twin").plugin == "twin_loss_b"  # a plugin cannot disable a built-in


def test_a_plugin_that_fails_to_import_is_reported_and_the_rest_keep_working(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(
        manager,
        "entry_points",
        lambda group: [
            entry_point("broken", "broken_import", "gancli-broken"),
            entry_point("twin", "twin_loss_a", "gancli-twin"),
        ],
    )
    plugins = Plugins()
    (failure,) = failures_besides_builtins(plugins)
    assert (failure.plugin, failure.package) == ("broken", "gancli-broken")
    assert "ImportError" in failure.message and "shiny_dependency" in failure.message
    assert str(failure).startswith("plugin 'broken' (package gancli-broken):")
    assert plugins.registry.get("loss", "twin").package == "gancli-twin"
    assert EXPECTED_BUILTINS["loss"] <= {reg.name for reg in plugins.registry.all("loss")}


def test_a_plugin_whose_hook_raises_registers_nothing_of_that_hook_and_its_other_hooks_still_count() -> None:
    plugins = with_fixtures("raising_hook")
    (failure,) = failures_besides_builtins(plugins)
    assert (failure.plugin, failure.package) == ("raising_hook", "gancli")
    assert (
        failure.message == "register_losses failed, nothing of it registered: RuntimeError: the loss table is corrupt"
    )
    assert not plugins.registry.find("half-registered")  # a hook call counts whole or not at all
    assert plugins.registry.get("optimizer", "sgd-fixed").defaults() == {"momentum": 0.9}
    assert plugins.registry.get("loss", "hinge").package == "gancli"


def test_failures_are_printed_as_warnings(capsys: pytest.CaptureFixture[str]) -> None:
    with_fixtures("broken_import").warn_failures()
    err = capsys.readouterr().err
    assert "warning: plugin 'broken_import' (package gancli): ImportError" in err


def test_an_error_inside_a_factory_names_the_plugin_and_package() -> None:
    plugins = with_fixtures("failing_factory")
    with pytest.raises(PluginError) as excinfo:
        plugins.registry.get("loss", "exploding").create()
    assert (excinfo.value.plugin, excinfo.value.package) == ("failing_factory", "gancli")
    assert str(excinfo.value) == (
        "plugin 'failing_factory' (package gancli): loss 'exploding' failed: cannot build this loss"
    )


# --- lookups --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "typo", "suggestion"),
    [("loss", "hinje", "hinge"), ("loss", "wgangp", "wgan-gp"), ("optimizer", "adma", "adam")],
)
def test_an_unknown_name_suggests_the_closest(builtins: Plugins, kind: str, typo: str, suggestion: str) -> None:
    with pytest.raises(GancliError) as excinfo:
        builtins.registry.get(kind, typo)
    message = str(excinfo.value)
    assert message.startswith(f"unknown {kind} {typo!r}; did you mean ")
    assert suggestion in message.split("did you mean ")[1].split("?")[0]
    assert "(available: " in message


def test_a_name_nothing_resembles_lists_what_is_available(builtins: Plugins) -> None:
    with pytest.raises(GancliError, match=r"^unknown update 'zzz' \(available: alternating, consensus, "):
        builtins.registry.get("update", "zzz")


# --- the CLI --------------------------------------------------------------------------------------------


@pytest.fixture
def runner(monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    """A runner for the full app; a wide console so that table cells are not wrapped."""
    cli.build_app()
    monkeypatch.setattr(cli, "out", Console(width=250))
    return CliRunner()


def test_plugins_list_shows_names_packages_and_descriptions(runner: CliRunner, builtins: Plugins) -> None:
    result = runner.invoke(cli.app, ["plugins", "list"])
    assert result.exit_code == 0, result.output
    rows = {}
    for line in result.stdout.splitlines():
        cells = [c.strip() for c in line.split("│")[1:-1]]
        if len(cells) == 4:
            rows[(cells[0], cells[1])] = cells
    for kind, names in EXPECTED_BUILTINS.items():
        for name in names:
            assert rows[(kind, name)][2] == "gancli", (kind, name)
    assert rows[("loss", "wgan")][3] == builtins.registry.get("loss", "wgan").description


def test_plugins_list_filters_by_kind(runner: CliRunner) -> None:
    result = runner.invoke(cli.app, ["plugins", "list", "--kind", "optimizer"])
    assert result.exit_code == 0, result.output
    assert "adam" in result.stdout and "rmsprop" in result.stdout
    assert "hinge" not in result.stdout and "ring8" not in result.stdout
    bad = runner.invoke(cli.app, ["plugins", "list", "--kind", "losses"])
    assert bad.exit_code == 1
    assert "--kind 'losses': expected one of loss, optimizer" in bad.output


def test_plugins_show_lists_options_with_types_and_defaults(runner: CliRunner) -> None:
    result = runner.invoke(cli.app, ["plugins", "show", "wgan"])
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0] == "wgan (loss, plugin gancli.losses, package gancli)"
    clip = next(line for line in lines if "--set wgan.clip" in line).split()
    assert clip[:4] == ["--set", "wgan.clip", "float", "0.01"]
    assert "recommends:" in result.stdout


def test_plugins_show_an_optimizer_lists_every_option(runner: CliRunner) -> None:
    result = runner.invoke(cli.app, ["plugins", "show", "adam"])
    assert result.exit_code == 0, result.output
    defaults = {}
    for line in result.stdout.splitlines():
        words = line.split()
        if words[:1] == ["--set"]:
            defaults[words[1]] = (words[2], words[3])
    assert defaults == {
        "adam.beta1": ("float", "0.5"),
        "adam.beta2": ("float", "0.999"),
        "adam.eps": ("float", "1e-08"),
    }


def test_plugins_show_lists_each_option_s_range_and_choices(runner: CliRunner) -> None:
    values = {}
    for name in ("mlp", "digits", "recognition"):
        result = runner.invoke(cli.app, ["plugins", "show", name])
        assert result.exit_code == 0, result.output
        lines = result.stdout.splitlines()
        header = next(line for line in lines if line.split()[:1] == ["option"])
        start, end = header.index("values"), header.index("help")
        values.update({line.split()[1]: line[start:end].strip() for line in lines if line.split()[:1] == ["--set"]})
    assert values["mlp.layers"] == "between 1 and 100"
    assert values["mlp.d_hidden"] == "between 0 and 65536"
    assert values["mlp.batchnorm"] == ""  # a switch
    assert values["digits.source"] == "one of 'mnist', 'sklearn'"
    assert values["recognition.confidence"] == "in (0, 1)"


def test_plugins_show_an_unknown_name_suggests_one(runner: CliRunner) -> None:
    result = runner.invoke(cli.app, ["plugins", "show", "wgam"])
    assert result.exit_code == 1
    assert "unknown plugin 'wgam'; did you mean wgan" in result.output
    assert "Traceback" not in result.output


def test_train_with_an_unknown_loss_fails_with_a_suggestion(runner: CliRunner, tmp_path: Path) -> None:
    result = runner.invoke(
        cli.app,
        ["train", "--data", "ring8", "--arch", "mlp", "--loss", "nonsaturatin", "--out", str(tmp_path / "r")],
    )
    assert result.exit_code == 1
    assert "error: unknown loss 'nonsaturatin'; did you mean nonsaturating" in result.output
    assert not (tmp_path / "r").exists()


# --- --set validation -----------------------------------------------------------------------------------


def resolve_error(registry: Any, flags: dict[str, Any], *set_items: str) -> str:
    with pytest.raises(GancliError) as excinfo:
        resolve(registry, flags, None, list(set_items))
    return str(excinfo.value)


def test_set_reaches_the_owning_plugin_by_bare_or_qualified_name(builtins: Plugins) -> None:
    flags = {**RING8_MLP, "loss": "wgan", "optimizer": "sgd"}
    config = resolve(builtins.registry, flags, None, ["clip=0.05", "sgd.nesterov=yes", "mlp.hidden=32"]).config
    assert config.options["wgan"] == {"clip": 0.05, "critic_batchnorm": True}
    assert config.options["sgd"] == {"momentum": 0.0, "nesterov": True}
    assert config.options["mlp"]["hidden"] == 32
    assert config.options["ring8"] == {"modes": 8, "radius": 1.0, "std": 0.01}


def test_set_an_unknown_option_suggests_names(builtins: Plugins) -> None:
    message = resolve_error(builtins.registry, {**RING8_MLP, "loss": "wgan"}, "clipp=0.1")
    assert message.startswith("--set clipp: unknown option 'clipp'; did you mean wgan.clip")
    message = resolve_error(builtins.registry, {**RING8_MLP, "loss": "wgan"}, "wgan.clipp=0.1")
    assert message.startswith("--set wgan.clipp: unknown option 'clipp'; did you mean wgan.clip")


def test_set_an_option_of_a_plugin_the_run_does_not_use_is_an_error(builtins: Plugins) -> None:
    message = resolve_error(builtins.registry, {**RING8_MLP, "loss": "hinge"}, "wgan.clip=0.1")
    assert message.startswith("--set wgan.clip: plugin 'wgan' is not used by this run (it uses ")


def test_set_an_option_two_selected_plugins_declare_is_ambiguous() -> None:
    registry = with_fixtures("shared_option_metric").registry
    message = resolve_error(registry, RING8_MLP, "min_count=3")
    assert message == "--set min_count: ambiguous, say which: modes.min_count, coverage.min_count"
    config = resolve(registry, RING8_MLP, None, ["coverage.min_count=3"]).config
    assert config.options["coverage"]["min_count"] == 3
    assert config.options["modes"]["min_count"] == 20


@pytest.mark.parametrize(
    ("item", "expected"),
    [
        ("clip=abc", "--set wgan.clip=abc: expected a number, got 'abc'"),
        ("mlp.layers=2.5", "--set mlp.layers=2.5: expected an integer, got '2.5'"),
        ("mlp.layers=３", "--set mlp.layers=３: expected an integer in ASCII digits, got '３'"),
        ("clip=０.５", "--set wgan.clip=０.５: expected a number in ASCII digits, got '０.５'"),
        ("mlp.hidden=0", "--set mlp.hidden must be between 1 and 65536, got 0"),
        ("mlp.layers=100000", "--set mlp.layers must be between 1 and 100, got 100000"),
        ("clip=0", "--set wgan.clip must be greater than 0, got 0.0"),
        ("clip=nan", "--set wgan.clip must be a finite number greater than 0, got nan"),
        ("clip=1e400", "--set wgan.clip must be a finite number greater than 0, got inf"),
        ("modes.samples=0", "--set modes.samples must be between 1 and 10000000, got 0"),
        ("kid.subset=0", "--set kid.subset must be at least 2, got 0"),
        ("k=-1", "--set prdc.k must be at least 1, got -1"),
        ("prdc.k=" + "9" * 30, "--set prdc.k must be a 64-bit integer at least 1, got " + "9" * 30),
        ("prdc.k=" + "9" * 50, "--set prdc.k must be a 64-bit integer at least 1, got a number of 50 digits"),
        ("rmsprop.alpha=1", "--set rmsprop.alpha must be in [0, 1), got 1.0"),
        ("ring8.std=-0.5", "--set ring8.std must be greater than 0, got -0.5"),
        ("mlp.batchnorm=maybe", "--set mlp.batchnorm=maybe: expected true or false, got 'maybe'"),
        ("clip", "--set 'clip': expected NAME=VALUE, e.g. --set clip=0.02"),
    ],
)
def test_set_a_bad_value_names_the_option_and_the_problem(builtins: Plugins, item: str, expected: str) -> None:
    assert resolve_error(builtins.registry, {**RING8_MLP, "loss": "wgan"}, item) == expected


def test_set_errors_reach_the_user_through_the_cli(runner: CliRunner, tmp_path: Path) -> None:
    args = ["train", "--data", "ring8", "--arch", "mlp", "--loss", "wgan", "--out", str(tmp_path / "r")]
    result = runner.invoke(cli.app, [*args, "--set", "clip=abc"])
    assert result.exit_code == 1
    assert "error: --set wgan.clip=abc: expected a number, got 'abc'" in result.output


def test_values_from_a_config_file_and_from_a_recommendation_are_checked_too(builtins: Plugins, tmp_path: Path) -> None:
    (tmp_path / "run.toml").write_text("[options.mlp]\nhidden = 0\n")
    with pytest.raises(GancliError, match=r"^option mlp.hidden must be between 1 and 65536, got 0$"):
        resolve(builtins.registry, RING8_MLP, tmp_path / "run.toml")
    with pytest.raises(PluginError, match=r"loss 'keen' recommends steps must be between 1 and 1000000000, got 0$"):
        resolve(with_fixtures("recommending_values").registry, {**RING8_MLP, "loss": "keen"})


# --- a bare --set NAME: trainers first, then observers; never a train flag ----------------------------------


DIGITS_WGAN_DIV = {"data": "digits", "loss": "wgan-div"}


def test_a_bare_set_name_goes_to_the_trainer_before_an_observer_of_the_same_name(tmp_path: Path) -> None:
    """A loss whose README says ``--set k=1.5`` keeps it while the built-in metric prdc, which runs on every image
    run, has an option k too; prdc's keeps its qualified name. An observer the user named competes with the
    trainers: then the bare name is ambiguous."""
    registry = with_fixtures("divergence_loss").registry
    options = resolve(registry, DIGITS_WGAN_DIV, None, ["k=1.5", "prdc.k=7"]).config.options
    assert options["wgan-div"] == {"k": 1.5, "p": 6.0} and options["prdc"] == {"k": 7}
    (tmp_path / "named.toml").write_text('metrics = ["prdc", "fd"]\n')
    with pytest.raises(GancliError, match=r"^--set k: ambiguous, say which: wgan-div.k, prdc.k$"):
        resolve(registry, DIGITS_WGAN_DIV, tmp_path / "named.toml", ["k=1.5"])


def test_a_saved_config_names_every_option_by_its_plugin_so_it_never_becomes_ambiguous(tmp_path: Path) -> None:
    plugins = with_fixtures("divergence_loss")
    saved = resolve(plugins.registry, DIGITS_WGAN_DIV, None, ["k=1.5"]).to_dict()
    assert saved["options"]["wgan-div"] == {"k": 1.5, "p": 6.0} and saved["options"]["prdc"] == {"k": 5}
    (tmp_path / "config.json").write_text(json.dumps(saved))
    clash = (Option("k", float, 1.0), Option("p", float, 1.0))  # a later built-in that declares both names
    plugins.registry.add(Registration("metric", "new-metric", "x:y", "", clash, "gancli.metrics", "gancli"))
    again = resolve(plugins.registry, {}, tmp_path / "config.json").config.options
    assert again["wgan-div"] == {"k": 1.5, "p": 6.0} and again["prdc"] == {"k": 5} and again["new-metric"]["k"] == 1


@pytest.mark.parametrize(
    ("flags", "item", "expected"),
    [
        (
            RING8_MLP,
            "seed=3",
            "--set seed=3: seed is both a gancli train flag and a plugin option; say which: --seed 3 (the run's) "
            "or --set random-cnn.seed=3",
        ),
        (
            {"data": "stacked-digits"},
            "seed=3",
            "--set seed=3: seed is both a gancli train flag and a plugin option; say which: --seed 3 (the run's) "
            "or --set stacked-digits.seed=3",
        ),
        (RING8_MLP, "steps=5", "--set steps=5: steps is a gancli train flag, not a plugin option: --steps 5"),
        (
            RING8_MLP,
            "batch-size=8",
            "--set batch-size=8: batch-size is a gancli train flag, not a plugin option: --batch-size 8",
        ),
    ],
)
def test_a_bare_set_name_that_is_a_train_flag_is_refused_with_each_spelling(
    builtins: Plugins, flags: dict[str, Any], item: str, expected: str
) -> None:
    assert resolve_error(builtins.registry, flags, item) == expected
    plugin = expected.rpartition("--set ")[2].partition(".")[0] if "plugin option;" in expected else None
    if plugin:  # the qualified spelling means the option
        name = item.partition("=")[0]
        assert resolve(builtins.registry, flags, None, [f"{plugin}.{item}"]).config.options[plugin][name] == 3


DOCUMENTED = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md")), *sorted(ROOT.glob("examples/*/README.md"))]
#: the modules of the plugins the documentation uses that are not built in: the example packages, the tutorial's
THIRD_PARTY = ("gancli_relativistic", "gancli_toolkit", "tutorial_abc")


def documented_commands() -> list[tuple[str, list[str]]]:
    """Every whole ``gancli train`` command in the docs and the example packages' READMEs that sets a plugin
    option, as (where, arguments)."""
    commands = []
    for path in DOCUMENTED:
        for number, line in enumerate(path.read_text().splitlines(), 1):
            text = line.strip().removeprefix("$ ")
            if text.startswith("gancli train ") and "--set" in text and not {"$", "…"} & set(text):
                commands.append((f"{path.relative_to(ROOT)}:{number}", shlex.split(text, comments=True)[2:]))
    return commands


def test_documented_set_usages_resolve_and_no_new_builtin_observer_can_take_their_names(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Each documented command resolves; then a built-in metric, feature extractor and diagnostic appear that
    declare every option name of the third-party plugins, as a later gancli might: the commands resolve to the
    same options."""
    for example in ROOT.glob("examples/*/"):
        monkeypatch.syspath_prepend(str(example))
    plugins = with_fixtures(*THIRD_PARTY)
    assert not failures_besides_builtins(plugins)
    commands = documented_commands()
    assert {"examples/gancli-relativistic/README.md", "docs/plugins.md", "README.md"} <= {
        where.partition(":")[0] for where, _ in commands
    }
    train = typer.main.get_command(cli.build_app()).commands["train"]  # type: ignore[attr-defined]
    before = {}
    for where, args in commands:
        params = train.make_context("train", list(args)).params
        flags = {k: v for k, v in params.items() if k in FIELD_NAMES and v is not None}
        before[where] = (flags, params["set_"], resolve(plugins.registry, flags, None, params["set_"]).config.options)

    third_party = {o.name for r in plugins.registry.all() if r.plugin in THIRD_PARTY for o in r.options}
    assert {"k", "blocks", "c"} <= third_party
    for kind, plugin in (
        ("metric", "gancli.metrics"),
        ("features", "gancli.features"),
        ("diagnostic", "gancli.diagnostics"),
    ):
        options = tuple(Option(name, float, 1.0) for name in sorted(third_party))
        plugins.registry.add(
            Registration(kind, f"new-{kind}", "gancli.losses.classic:Hinge", "", options, plugin, "gancli")
        )
    for where, (flags, items, options) in before.items():
        after = resolve(plugins.registry, flags, None, items).config.options
        assert {k: v for k, v in after.items() if not k.startswith("new-")} == options, where


def test_a_wrapper_builds_another_plugin_by_name_and_a_diagnostic_reads_the_networks(
    installed_plugins, gancli, tmp_path: Path
) -> None:
    """gancli.api.build gives a plugin the very networks a run would build of another (half-dcgan wraps dcgan),
    and a diagnostic's measure reads the session's networks (session.discriminator)."""
    from gancli.api import ArchSpec, build
    from gancli.nets.common import parameter_count

    installed_plugins(("half", "wrapping_arch", "gancli-half"))
    spec = ArchSpec(data_shape=(1, 16, 16), latent_dim=8, d_input_shape=(1, 16, 16))
    wrapped, plain = build("architecture", "half-dcgan", spec, width=4), build("architecture", "dcgan", spec)
    reference = build("architecture", "dcgan", spec, g_width=4, d_width=4)
    assert [parameter_count(n) for n in wrapped] == [parameter_count(n) for n in reference]
    assert parameter_count(plain[0]) > parameter_count(wrapped[0])  # dcgan's own default widths are wider
    with pytest.raises(GancliError, match="architecture 'dcgan' has no option depth"):
        build("architecture", "dcgan", spec, depth=3)
    with pytest.raises(GancliError, match="unknown architecture 'dcgan2'"):
        build("architecture", "dcgan2", spec)

    args = ["--data", "digits", "--set", "source=sklearn", "--image-size", "16", "--batch-size", "16"]
    args += ["--arch", "half-dcgan", "--set", "width=4", "--latent-dim", "8", "--steps", "4", "--log-every", "2"]
    (tmp_path / "no-metrics.toml").write_text("metrics = []\n")
    ok(gancli("train", *args, "--quiet", "--config", "no-metrics.toml", "--out", "run"))
    records = [json.loads(line) for line in (tmp_path / "run" / "metrics.jsonl").open()]
    assert len(records) == 2 and all(r["d_weight_norm"] > 0 for r in records)

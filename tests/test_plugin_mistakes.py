"""The mistakes plugin authors make, each by a fixture plugin in tests/plugin_fixtures installed as a package
(fake entry points): every one gives a one-line message naming the plugin and its package, and leaves gancli and
the other plugins working. Also the parts of the contract a stranger relies on: start-up without torch,
recommendations and ``matches`` for every kind, runs that remember their plugin packages.
"""

from __future__ import annotations

import json
import subprocess
import sys
import traceback
from pathlib import Path

import pytest
from cli_helpers import ok, one_line_error
from gancli.api import DataRequest, Option
from gancli.config import load_file, resolve
from gancli.errors import GancliError, PluginError
from gancli.nets.spec import ArchSpec
from gancli.train.rundir import RunDir

TINY = ["--data", "ring8", "--steps", "6", "--batch-size", "16", "--latent-dim", "2", "--set", "mlp.hidden=16"]
TINY += ["--set", "modes.samples=100", "--quiet", "--log-every", "3", "--eval-every", "3", "--checkpoint-every", "3"]


def failure_of(plugins, plugin: str) -> str:
    (message,) = [str(f) for f in plugins.failures if f.plugin == plugin]
    assert "\n" not in message
    return message


# --- factories that return the wrong thing ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "name", "args", "returned", "expected"),
    [
        ("loss", "returns-none", (), "None", "a gancli.api.Loss"),
        ("optimizer", "returns-dict", ([], 0.1), "a builtins.dict", "a torch.optim.Optimizer"),
        ("update", "returns-no-step", (), "a builtins.object", "an object with a step(game) method"),
        ("dataset", "returns-array", ("x", DataRequest()), "a numpy.ndarray", "a gancli.api.DataSource"),
        ("metric", "returns-number", (), "a builtins.float", "a gancli.api.Metric"),
        ("features", "returns-network", ("returns-network",), "a torch.nn.modules.linear.Linear", "FeatureExtractor"),
    ],
)
def test_a_factory_returning_the_wrong_thing_is_refused_naming_the_plugin(
    installed_plugins, kind: str, name: str, args: tuple, returned: str, expected: str
) -> None:
    plugins = installed_plugins(("wrong", "wrong_returns", "gancli-wrong"))
    with pytest.raises(PluginError) as excinfo:
        plugins.registry.get(kind, name).create(*args)
    message = str(excinfo.value)
    assert message.startswith(f"plugin 'wrong' (package gancli-wrong): {kind} {name!r}: the factory returned ")
    assert returned in message and expected in message


def test_an_architecture_returning_one_network_is_refused(installed_plugins) -> None:
    plugins = installed_plugins(("wrong", "wrong_returns", "gancli-wrong"))
    spec = ArchSpec((2,), 2, (2,))
    with pytest.raises(PluginError, match=r"returned a torch.nn.modules.linear.Linear, expected a \(generator, disc"):
        plugins.registry.get("architecture", "returns-one").create(spec)


def test_a_wrong_return_ends_a_train_command_in_one_line(installed_plugins, gancli) -> None:
    installed_plugins(("wrong", "wrong_returns", "gancli-wrong"))
    result = gancli("train", *TINY, "--loss", "returns-none", "--out", "run")
    one_line_error(result, "plugin 'wrong' (package gancli-wrong)", "loss 'returns-none'", "returned None")
    assert not Path("run").exists()


# --- plugin code that fails while a run uses it, and contracts checked on a dry batch ------------------------------

RAISING = ("raising", "raising_methods", "gancli-raising")
BY_RAISING = "plugin 'raising' (package gancli-raising): "
#: ring8 for 6 steps, checkpointed at 3 and 6, on the architecture its flags choose
RUN = ["--data", "ring8", "--steps", "6", "--batch-size", "16", "--latent-dim", "2", "--set", "modes.samples=100"]
RUN += ["--quiet", "--log-every", "3", "--eval-every", "3", "--checkpoint-every", "3", "--out", "run"]


def test_blame_names_where_gancli_entered_the_plugin_s_code_and_never_blames_others(installed_plugins) -> None:
    import torch
    from raising_methods import Generator

    plugins = installed_plugins(RAISING)
    network = torch.nn.Sequential(Generator(2, (2,), fail_at_batch=3))  # torch's frames between the two forwards
    with pytest.raises(ValueError) as raised:
        network(torch.zeros(3, 2))
    blamed = plugins.blame(raised.value)
    assert str(blamed) == BY_RAISING + "Generator.forward failed: ValueError: cannot draw 3 samples at once"
    with pytest.raises(ZeroDivisionError) as ours:
        network[0].shape[0] / 0
    assert plugins.blame(ours.value) is None


@pytest.mark.parametrize(
    ("flags", "culprit"),
    [
        (["--loss", "late-loss", "--set", "late-loss.at=6"], "LateLoss.d_loss failed: RuntimeError: the critic"),
        (["--update", "late-rule", "--set", "late-rule.at=5"], "LateRule.step failed: RuntimeError: the rule gave up"),
        (["--data", "late-data", "--arch", "mlp", "--set", "at=6"], "LateData.batch failed: RuntimeError: the data"),
    ],
)
def test_a_plugin_method_that_raises_within_a_step_is_one_line_keeping_the_checkpoint_before(
    installed_plugins, gancli, tmp_path: Path, flags: list[str], culprit: str
) -> None:
    """The failures come in step 4 or 5 (the dry batch counts as a call): a step cut short may have moved one
    player, so the checkpoint of step 3 is the last good state."""
    installed_plugins(RAISING)
    line = one_line_error(gancli("train", *RUN, *flags), BY_RAISING + culprit)
    assert line.endswith("; the last good checkpoint is step 3: gancli train --resume run goes on from it")
    assert "internal error" not in line
    assert RunDir(tmp_path / "run").checkpoint_steps() == [3]


def test_a_plugin_failing_between_steps_keeps_that_step_and_fails_grid_in_one_line(
    installed_plugins, gancli, tmp_path: Path
) -> None:
    """G fails on the 64 samples of the sample grid at step 6, after a whole step: step 6 is saved."""
    installed_plugins(RAISING)
    result = gancli("train", *RUN, "--arch", "fragile", "--set", "fail_at_batch=64")
    line = one_line_error(result, BY_RAISING + "Generator.forward failed: ValueError: cannot draw 64 samples at once")
    assert line.endswith("; the last good checkpoint is step 6: gancli train --resume run goes on from it")
    assert RunDir(tmp_path / "run").checkpoint_steps() == [3, 6]
    line = one_line_error(gancli("grid", "run", "--n", "64"), BY_RAISING + "Generator.forward failed: ValueError")
    assert "internal error" not in line


@pytest.mark.parametrize(
    ("flags", "expected"),
    [
        (["--loss", "scaled-class"], "loss 'scaled-class': d_loss failed: TypeError: unsupported operand type"),
        (["--loss", "vector-loss"], "loss 'vector-loss': d_loss must return a scalar tensor, got a tensor of shape"),
        (
            ["--data", "two-channels", "--arch", "fragile"],
            "dataset 'two-channels': images must be (C, H, W) with 1 (gray) or 3 (RGB) channels, got shape (2, 8, 8)",
        ),
        (
            ["--data", "misfactored", "--conditional"],
            "dataset 'misfactored': class_factors must be a tuple of whole numbers above 1 whose product is its 4 "
            "classes, got (3, 2)",
        ),
    ],
)
def test_a_contract_broken_on_the_dry_batch_is_refused_before_the_run_starts(
    installed_plugins, gancli, tmp_path: Path, flags: list[str], expected: str
) -> None:
    """What failed far from the plugin (a vector loss in backward(), two channels at the first sample grid) is
    refused as the run is built, naming the plugin; no run directory is left."""
    installed_plugins(RAISING)
    one_line_error(gancli("train", *RUN, *flags), BY_RAISING + expected)
    assert not (tmp_path / "run").exists()


def test_an_update_rule_that_never_steps_g_is_refused_after_its_first_step(installed_plugins, gancli) -> None:
    installed_plugins(RAISING)
    one_line_error(
        gancli("train", *RUN, "--update", "only-d"),
        BY_RAISING + "update rule 'only-d': its first step left G's weights unchanged; step(game) must update both",
    )


def test_gancli_debug_shows_the_traceback_of_a_plugin_s_failure(installed_plugins, gancli, monkeypatch) -> None:
    installed_plugins(RAISING)
    monkeypatch.setenv("GANCLI_DEBUG", "1")
    result = gancli("train", *RUN, "--update", "late-rule", "--set", "late-rule.at=2")
    assert isinstance(result.exception, PluginError) and result.exception.plugin == "raising"
    cause = result.exception.__cause__
    assert isinstance(cause, RuntimeError) and str(cause) == "the rule gave up"
    assert "fail_when_due" in [frame.name for frame in traceback.extract_tb(cause.__traceback__)]


def test_a_bug_in_gancli_s_own_code_stays_an_internal_error(gancli, monkeypatch) -> None:
    """Only a third-party plugin's frames make a failure the plugin's: the built-in loss raising here is ours."""
    from gancli.losses.classic import Minimax

    def d_loss(self, d_real, d_fake):
        raise RuntimeError("a bug of ours")

    monkeypatch.setattr(Minimax, "d_loss", d_loss)
    result = gancli("train", *RUN)
    assert result.exit_code == 2 and "error: internal error RuntimeError: a bug of ours" in result.stderr


# --- hooks gancli cannot call, and registrations it cannot accept -------------------------------------------


def test_misspelled_and_undecorated_hooks_are_reported(installed_plugins) -> None:
    plugins = installed_plugins(("typos", "hook_mistakes", "gancli-typos"))
    messages = [str(f) for f in plugins.failures if f.plugin == "typos"]
    assert messages == [
        "plugin 'typos' (package gancli-typos): register_loss is not a gancli hook, so gancli never calls it; "
        "did you mean register_losses?",
        "plugin 'typos' (package gancli-typos): register_metrics is not decorated with @hookimpl, so gancli never "
        "calls it",
    ]
    assert not plugins.registry.find("never-seen") and not plugins.registry.find("never-seen-either")


def test_a_misnamed_hook_argument_shows_pluggy_s_whole_message_on_one_line(installed_plugins) -> None:
    plugins = installed_plugins(("argname", "misnamed_argument", "gancli-argname"))
    message = failure_of(plugins, "argname")
    assert message.startswith("plugin 'argname' (package gancli-argname): PluginValidationError: ")
    assert "register_losses(regster)" in message and "regster" in message.split("hookimpl definition")[1]
    assert "hookspec" in message  # the explanation, not only the first line
    assert plugins.registry.get("loss", "hinge").package == "gancli"


def test_an_option_default_of_the_wrong_type_is_refused_at_registration(installed_plugins) -> None:
    plugins = installed_plugins(("opts", "bad_option_default", "gancli-opts"))
    assert failure_of(plugins, "opts") == (
        "plugin 'opts' (package gancli-opts): register_losses failed, nothing of it registered: "
        "TypeError: option 'n': default 0.5 is not a int"
    )
    assert not plugins.registry.find("halfway")
    with pytest.raises(TypeError, match="type must be int, float, str or bool"):
        Option("n", list, [])
    assert Option("lr", float, 1).default == 1  # an int stands for a float, as in TOML


# --- commands ---------------------------------------------------------------------------------------------


def test_a_plugin_command_cannot_replace_a_builtin_one(installed_plugins, gancli) -> None:
    plugins = installed_plugins(("cmds", "command_mistakes", "gancli-cmds"))
    ok(gancli("greet", "--name", "you"))
    assert "command 'train' is taken by gancli's own command" in failure_of(plugins, "cmds")
    help_text = ok(gancli("train", "--help"))
    assert "--d-steps" in help_text  # gancli's own train, not the plugin's
    assert "greet" in ok(gancli("--help"))


def test_a_plugin_command_that_raises_names_the_plugin(installed_plugins, gancli) -> None:
    installed_plugins(("cmds", "command_mistakes", "gancli-cmds"))
    result = gancli("explode")
    line = one_line_error(result, "plugin 'cmds' (package gancli-cmds)", "command 'explode' failed")
    assert "RuntimeError: the report template is missing" in line and "internal error" not in line


def test_plugins_show_and_list_know_commands_and_packages(installed_plugins, gancli) -> None:
    installed_plugins(("cmds", "command_mistakes", "gancli-cmds"), ("twin", "twin_loss_a", "gancli-twin"))
    shown = ok(gancli("plugins", "show", "greet"))
    assert "greet (command, plugin cmds, package gancli-cmds)" in shown and "A command that works." in shown
    listed = gancli("plugins", "list", "--packages", "--json")
    ok(listed)
    listing = json.loads(listed.stdout)  # the failure (the refused train) goes to stderr
    by_package = {entry["package"]: entry for entry in listing}
    assert by_package["gancli"]["modules"][0]["plugin"] == "gancli.losses"
    (cmds,) = by_package["gancli-cmds"]["modules"]
    assert (cmds["module"], cmds["hooks"], cmds["provides"]) == (
        "command_mistakes",
        ["register_commands"],
        ["command explode", "command greet"],
    )
    assert by_package["gancli-twin"]["modules"][0]["provides"] == ["loss twin"]
    text = ok(gancli("plugins", "list", "--packages"))
    assert "gancli-twin" in text and "register_losses" in text


def test_plugins_show_reports_a_clash_the_run_would_hit(installed_plugins, gancli) -> None:
    installed_plugins(("a", "twin_loss_a", "gancli-a"), ("b", "twin_loss_b", "gancli-b"))
    shown = ok(gancli("plugins", "show", "twin"))
    assert "unusable: loss 'twin' is registered twice: by plugin 'a' (package gancli-a) and by plugin 'b'" in shown
    one_line_error(gancli("train", *TINY, "--loss", "twin"), "registered twice")


# --- metrics that fail during training --------------------------------------------------------------------


def test_a_metric_that_raises_is_dropped_and_the_run_goes_on(installed_plugins, gancli, tmp_path: Path) -> None:
    installed_plugins(("broken", "raising_metric", "gancli-broken"))
    result = ok(gancli("train", *TINY, "--out", "run"))
    assert result.count("plugin 'broken' (package gancli-broken): metric 'broken' failed: ZeroDivisionError") == 1
    assert "left out for the rest of this run" in result
    evaluations = [json.loads(line) for line in (tmp_path / "run" / "eval.jsonl").read_text().splitlines()]
    assert [e["step"] for e in evaluations] == [3, 6] and all("modes_covered" in e for e in evaluations)
    assert (tmp_path / "run" / "checkpoints" / "step-00000006.json").is_file()
    one_line_error(gancli("eval", "run"), "plugin 'broken' (package gancli-broken)", "metric 'broken' failed")


def test_a_failing_feature_extractor_is_named_and_its_metrics_dropped(installed_plugins, gancli, tmp_path) -> None:
    installed_plugins(("nanfeat", "nan_features", "gancli-nanfeat"))
    flags = ["--image-size", "16", "--steps", "4", "--eval-every", "2", "--eval-samples", "100", "--quiet"]
    result = ok(gancli("train", *flags, "--features", "nan-features", "--device", "cpu", "--out", "run"))
    expected = "plugin 'nanfeat' (package gancli-nanfeat): features 'nan-features' failed: ValueError"
    assert result.count(expected) == 1 and "feature-space metrics are left out" in result
    evaluations = [json.loads(line) for line in (tmp_path / "run" / "eval.jsonl").read_text().splitlines()]
    assert [e["step"] for e in evaluations] == [2, 4] and all("recognised" in e and "fd" not in e for e in evaluations)
    assert (tmp_path / "run" / "checkpoints" / "step-00000004.json").is_file()
    one_line_error(gancli("eval", "run"), expected)


def test_a_metric_that_cannot_be_created_is_reported_before_training(installed_plugins, gancli, tmp_path) -> None:
    installed_plugins(("unbuildable", "unbuildable_metric", "gancli-unbuildable"))
    result = ok(gancli("train", *TINY, "--out", "run"))
    expected = "plugin 'unbuildable' (package gancli-unbuildable): metric 'unbuildable' failed: needs a GPU to build"
    assert result.count(expected) == 1 and result.index(expected) < result.index("run directory:")
    assert "modes_covered" in (tmp_path / "run" / "eval.jsonl").read_text()
    one_line_error(gancli("eval", "run"), expected)


def test_a_metric_the_user_asked_for_that_cannot_be_built_stops_the_run_before_it_starts(
    installed_plugins, gancli, tmp_path: Path
) -> None:
    """Options a user set, or a metric a user named, that the factory refuses: an error before the run directory
    is made, not a warning once it has trained (the same metrics nobody asked for are left out with a warning)."""
    installed_plugins(("picky", "picky_metric", "gancli-picky"), ("unbuildable", "unbuildable_metric", "gancli-unb"))
    picky = "plugin 'picky' (package gancli-picky): metric 'picky' failed: bins must be even, got 3"
    one_line_error(gancli("train", *TINY, "--set", "picky.bins=3", "--out", "run"), picky)
    one_line_error(gancli("train", *TINY, "--set", "picky.bins=1", "--out", "run"), "picky.bins must be at least 2")
    (tmp_path / "named.toml").write_text('metrics = ["modes", "unbuildable"]\n')
    one_line_error(gancli("train", *TINY, "--config", "named.toml", "--out", "run"), "needs a GPU to build")
    assert not (tmp_path / "run").exists()


def test_two_metrics_reporting_the_same_name_keep_both_values(installed_plugins, gancli, tmp_path: Path) -> None:
    installed_plugins(("shadow", "shadowing_metric", "gancli-shadow"))
    ok(gancli("train", *TINY, "--out", "run"))
    last = json.loads((tmp_path / "run" / "eval.jsonl").read_text().splitlines()[-1])
    assert last["shadow.modes_covered"] == -1 and 0 <= last["modes_covered"] <= 8


# --- one rule for recommends and matches ----------------------------------------------------------------------


def test_every_kind_may_recommend_and_match(installed_plugins) -> None:
    plugins = installed_plugins(("rec", "recommending_arch", "gancli-rec"))
    resolved = resolve(plugins.registry, {"data": "ring8", "arch": "mlp-wide", "loss": "hinge-v2"})
    assert resolved.plugins["loss"].name == "hinge-any"  # chosen by its matches()
    assert resolved.config.batch_size == 48  # the architecture's recommendation beats the dataset's 256
    assert resolved.config.options["mlp-wide"]["hidden"] == 40
    flags = {"data": "ring8", "arch": "mlp-wide", "loss": "hinge-v2", "batch_size": 32}
    assert resolve(plugins.registry, flags).config.batch_size == 32  # the user's word beats every plugin's
    on_grid = resolve(plugins.registry, {"data": "grid25", "arch": "mlp-wide"}).config
    assert on_grid.batch_size == 24  # what it recommends for grid25 wins over what it recommends for all
    assert (on_grid.options["mlp-wide"]["hidden"], on_grid.options["mlp-wide"]["layers"]) == (40, 2)


@pytest.mark.parametrize(
    ("loss", "expected"),
    [
        ("recommends-data", "loss 'recommends-data' recommends 'data', which is not a setting it may recommend"),
        ("per-data-list", "loss 'per-data-list' recommends per_dataset=['ring8']: it must map dataset names"),
    ],
)
def test_a_recommendation_a_run_cannot_take_names_the_plugin(installed_plugins, loss: str, expected: str) -> None:
    plugins = installed_plugins(("recmistake", "recommending_mistakes", "gancli-recmistake"))
    with pytest.raises(GancliError) as caught:
        resolve(plugins.registry, {"data": "ring8", "loss": loss})
    assert str(caught.value).startswith("plugin 'recmistake' (package gancli-recmistake): " + expected)


# --- runs remember their plugin packages --------------------------------------------------------------------


def test_a_run_whose_plugin_package_is_gone_says_what_to_install(installed_plugins, gancli, tmp_path: Path) -> None:
    installed_plugins(("twin", "twin_loss_a", "gancli-twin"))
    ok(gancli("train", *TINY, "--loss", "twin", "--out", "run"))
    saved = json.loads((tmp_path / "run" / "config.json").read_text())["plugins"]["loss"]
    assert saved == {"name": "twin", "plugin": "twin", "package": "gancli-twin", "version": "unknown"}
    installed_plugins()  # the package was uninstalled
    expected = "loss 'twin' came from plugin 'twin' of package gancli-twin"
    for command in (["grid", "run"], ["eval", "run"], ["train", "--config", "run/config.json", "--out", "again"]):
        line = one_line_error(gancli(*command), expected)
        assert line.endswith("which is not installed: gancli plugins install gancli-twin")


def test_a_saved_run_is_read_without_the_observers_uninstalled_since(installed_plugins, gancli, tmp_path: Path) -> None:
    installed_plugins(("coverage", "shared_option_metric", "gancli-coverage"), ("wide", "recommending_arch", "gw"))
    tiny = [a.replace("mlp.", "mlp-wide.") for a in TINY]
    ok(gancli("train", *tiny, "--arch", "mlp-wide", "--out", "run"))
    saved = json.loads((tmp_path / "run" / "config.json").read_text())
    assert saved["options"]["coverage"] == {"samples": 500, "min_count": 5}
    installed_plugins(("wide", "recommending_arch", "gw"))  # the metric's package was uninstalled
    for command in (["grid", "run"], ["sample", "run", "-o", "s.npy"], ["eval", "run"]):
        result = gancli(*command)
        ok(result)
        warnings = [line for line in result.stderr.splitlines() if line.startswith("warning:")]
        assert warnings == ["warning: plugin 'coverage' is not installed: its saved options are left out"], command
    (tmp_path / "run" / "config.json").write_text(json.dumps({**saved, "metrics": ["modes", "coverage"]}))
    result = gancli("eval", "run", "--json")
    assert "warning: metric 'coverage' is not installed: left out" in ok(result)
    assert "mode_kl" in result.stdout
    installed_plugins()  # and the architecture's: the generator cannot be built without it
    line = one_line_error(gancli("grid", "run"), "architecture 'mlp-wide' came from plugin 'wide' of package gw")
    assert line.endswith("which is not installed: gancli plugins install gw")


# --- config files -------------------------------------------------------------------------------------------


def test_a_config_file_takes_set_as_a_string_or_a_list(tmp_path: Path) -> None:
    single, several = tmp_path / "one.toml", tmp_path / "two.toml"
    single.write_text('set = "clip=0.02"\n')
    several.write_text('set = ["clip=0.02", "rmsprop.alpha=0.9"]\n')
    assert load_file(single).set_items == ["clip=0.02"]
    assert load_file(several).set_items == ["clip=0.02", "rmsprop.alpha=0.9"]
    misspelled = tmp_path / "typo.toml"
    misspelled.write_text('sett = ["clip=0.02"]\n')
    with pytest.raises(GancliError, match=r"unknown key 'sett'; did you mean set, "):
        load_file(misspelled)


# --- start-up -------------------------------------------------------------------------------------------------


def test_building_the_cli_and_listing_plugins_imports_no_torch() -> None:
    """`gancli --help` and `plugins list` answer at once: the built-ins register by reference."""
    script = (
        "import sys\n"
        "from typer.testing import CliRunner\n"
        "from gancli import api, cli\n"
        "app = cli.build_app()\n"
        "commands = [['--help'], ['--version'], ['plugins', 'list'], ['plugins', 'show', 'wgan']]\n"
        "commands.append(['train', '--help'])\n"
        "for args in commands:\n"
        "    assert CliRunner().invoke(app, args).exit_code == 0, args\n"
        "assert 'torch' not in sys.modules, sorted(m for m in sys.modules if m.startswith('torch'))[:5]\n"
        "api.Loss  # the lazy names still resolve\n"
        "assert 'torch' in sys.modules\n"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=False, timeout=120)
    assert result.returncode == 0, result.stderr


# --- the promises of docs/plugins.md --------------------------------------------------------------------------

#: import paths docs/plugins.md documented before gancli.api existed: plugins written against them keep working
DOCUMENTED_BEFORE = [
    "gancli.plugins:hookimpl",
    "gancli.plugins:Option",
    "gancli.plugins:Plugins",
    "gancli.plugins:get_plugins",
    "gancli.plugins.manager:BUILTIN_PLUGINS",
    "gancli.losses:Loss",
    "gancli.losses.base:LogitLoss",
    "gancli.losses.base:gradient_norms",
    "gancli.nets:ArchSpec",
    "gancli.nets.common:check_requirements",
    "gancli.nets.common:NO_BATCHNORM",
    "gancli.nets.common:AUTOENCODER",
    "gancli.nets.common:numel",
    "gancli.data:DataSource",
    "gancli.data:DataRequest",
    "gancli.data:ImageSource",
    "gancli.metrics:Metric",
    "gancli.train.game:Game",
    "gancli.errors:GancliError",
]


@pytest.mark.parametrize("reference", DOCUMENTED_BEFORE)
def test_every_import_path_the_docs_promised_still_works(reference: str) -> None:
    import importlib

    module, _, name = reference.partition(":")
    assert getattr(importlib.import_module(module), name) is not None


def test_every_name_of_gancli_api_resolves_to_the_same_object_as_its_home() -> None:
    import gancli.api
    from gancli.losses.base import Loss
    from gancli.plugins.hookspecs import hookimpl

    for name in gancli.api.__all__:
        assert getattr(gancli.api, name) is not None, name
    assert gancli.api.Loss is Loss and gancli.api.hookimpl is hookimpl
    with pytest.raises(AttributeError, match="has no attribute 'Los'"):
        _ = gancli.api.Los

"""The plugin manager: built-in plugins and ``gancli`` entry points, loaded the same way.

Every mistake a plugin can make while loading — an import that fails, a hook that raises, a hook spelled
wrong or left without ``@hookimpl``, a name or command already taken — becomes a ``PluginFailure`` naming the
plugin and its package; the plugin's hooks that worked still count, the rest of gancli keeps working. An
exception a third-party plugin's code raises later, while gancli runs it, is the plugin's too (``Plugins.blame``).
"""

from __future__ import annotations

import difflib
import functools
import importlib
import inspect
import sys
import traceback
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from importlib.metadata import PackageNotFoundError, entry_points, version
from typing import Any

import pluggy

from gancli import __version__
from gancli.errors import GancliError, PluginError, one_line
from gancli.plugins import hookspecs
from gancli.plugins.registry import BUILTIN_PACKAGE, Factory, Option, Registration, Registry, check_reference

#: the built-in plugin modules, one per family; each registers its objects by reference, so loading them
#: imports no torch
BUILTIN_PLUGINS = (
    "gancli.losses",
    "gancli.optim",
    "gancli.nets",
    "gancli.data",
    "gancli.metrics",
    "gancli.features",
    "gancli.diagnostics",
)

HOOK_KINDS = {
    "register_losses": "loss",
    "register_optimizers": "optimizer",
    "register_update_rules": "update",
    "register_architectures": "architecture",
    "register_datasets": "dataset",
    "register_metrics": "metric",
    "register_feature_extractors": "features",
    "register_diagnostics": "diagnostic",
}
HOOKS = (*HOOK_KINDS, "register_commands")


@dataclass(frozen=True)
class PluginFailure:
    """A plugin that could not be loaded or failed while registering; the rest keep working."""

    plugin: str
    package: str
    message: str

    def __str__(self) -> str:
        return f"plugin {self.plugin!r} (package {self.package}): {self.message}"


@dataclass(frozen=True)
class PluginModule:
    """One loaded plugin module: what ``gancli plugins list --packages`` shows of it."""

    plugin: str
    package: str
    version: str
    module: str
    hooks: tuple[str, ...]


@dataclass(frozen=True)
class PluginCommand:
    """A command a plugin added to the CLI."""

    name: str
    plugin: str
    package: str
    help: str


def package_version(package: str) -> str:
    if package == "gancli":
        return __version__
    try:
        return version(package)
    except PackageNotFoundError:
        return "unknown"


@dataclass
class Plugins:
    """A pluggy manager plus the registry it filled.

    ``builtins`` are module names loaded as package ``gancli``; ``entry_point_group`` names the entry points
    of installed packages (None: none).
    """

    builtins: Iterable[str] = BUILTIN_PLUGINS
    entry_point_group: str | None = "gancli"
    registry: Registry = field(init=False, default_factory=Registry)
    failures: list[PluginFailure] = field(init=False, default_factory=list)
    modules: dict[str, PluginModule] = field(init=False, default_factory=dict)
    commands: dict[str, PluginCommand] = field(init=False, default_factory=dict)
    #: the top-level package of each third-party plugin module → (plugin, package): whose code a frame runs
    owners: dict[str, tuple[str, str]] = field(init=False, default_factory=dict)

    def __post_init__(self) -> None:
        self.pm = pluggy.PluginManager("gancli")
        self.pm.add_hookspecs(hookspecs)
        for module_name in self.builtins:
            self._load(module_name, "gancli", lambda m=module_name: importlib.import_module(m))
        if self.entry_point_group:
            for ep in entry_points(group=self.entry_point_group):
                package = ep.dist.name if ep.dist is not None else "unknown"
                self._load(ep.name, package, ep.load)
        for hook, kind in HOOK_KINDS.items():
            self._collect(hook, kind)

    @property
    def packages(self) -> dict[str, str]:
        """Plugin name → the package that provides it."""
        return {name: module.package for name, module in self.modules.items()}

    def fail(self, plugin: str, package: str, message: str) -> None:
        self.failures.append(PluginFailure(plugin, package, one_line(message)))

    def _load(self, name: str, package: str, load: Callable[[], Any]) -> None:
        try:
            module = load()
            self.pm.register(module, name=name)
        except Exception as exc:  # a broken plugin must not take the tool down
            self.fail(name, package, f"{type(exc).__name__}: {exc}")
            return
        hooks = tuple(impl for impl in HOOKS if self.pm.parse_hookimpl_opts(module, impl) is not None)
        module_name = getattr(module, "__name__", name)
        self.modules[name] = PluginModule(name, package, package_version(package), module_name, hooks)
        if package != BUILTIN_PACKAGE and top_level(module_name) != OWN:
            self.owners.setdefault(top_level(module_name), (name, package))
        for message in unrecognised_hooks(module, hooks):
            self.fail(name, package, message)

    def _collect(self, hook: str, kind: str) -> None:
        """Call every implementation of ``hook``; a call that raises registers nothing at all."""
        for impl in getattr(self.pm.hook, hook).get_hookimpls():
            package = self.packages.get(impl.plugin_name, "unknown")
            staged: list[Registration] = []
            register = functools.partial(self._stage, staged, kind, impl.plugin_name, package)
            try:
                impl.function(register=register)
            except Exception as exc:
                detail = str(exc) if isinstance(exc, GancliError) else f"{type(exc).__name__}: {exc}"
                self.fail(impl.plugin_name, package, f"{hook} failed, nothing of it registered: {detail}")
                continue
            for registration in staged:
                try:
                    self.registry.add(registration)
                except GancliError as exc:  # a clash: this name is left out, the plugin's others count
                    self.fail(impl.plugin_name, package, str(exc))

    @staticmethod
    def _stage(
        staged: list[Registration],
        kind: str,
        plugin: str,
        package: str,
        name: str,
        factory: Factory,
        description: str = "",
        options: Iterable[Option] = (),
        matches: Callable[[str], bool] | None = None,
        recommends: dict[str, Any] | None = None,
    ) -> None:
        """The ``register`` function a hook receives: checks one registration and stages it."""
        if not isinstance(name, str) or not name:
            raise GancliError(f"register: the name must be a non-empty string, got {name!r}")
        if isinstance(factory, str):
            check_reference(factory)
        elif not callable(factory):
            raise GancliError(f"register {name!r}: the factory must be callable, got {factory!r}")
        options = tuple(options)
        for option in options:
            if not isinstance(option, Option):
                raise GancliError(f"register {name!r}: options must be gancli.api.Option, got {option!r}")
        staged.append(
            Registration(kind, name, factory, description, options, plugin, package, matches, recommends or {})
        )

    def add_commands(self, app: Any) -> None:
        """Add each plugin's commands to ``app``; a name already taken is refused and the first keeps it,
        and an exception inside a plugin's command is reported with the plugin's name."""
        import typer

        # a rebuilt CLI (a fresh plugin set in the same process) replaces the commands plugins added before
        app.registered_commands[:] = [c for c in app.registered_commands if not hasattr(c, "gancli_plugin")]
        app.registered_groups[:] = [g for g in app.registered_groups if not hasattr(g, "gancli_plugin")]
        taken = command_names(app)
        for impl in self.pm.hook.register_commands.get_hookimpls():
            plugin, package = impl.plugin_name, self.packages.get(impl.plugin_name, "unknown")
            staging = typer.Typer()
            try:
                impl.function(app=staging)
            except Exception as exc:
                self.fail(plugin, package, f"register_commands failed, no command added: {type(exc).__name__}: {exc}")
                continue
            for info in staging.registered_commands:
                name = info.name or typer.main.get_command_name(info.callback.__name__)
                info.callback = reporting_errors(info.callback, plugin, package, name)
                doc = info.help or inspect.getdoc(info.callback)
                self._claim(taken, plugin, package, name, info, app.registered_commands, doc)
            for group in staging.registered_groups:
                self._claim(taken, plugin, package, group.name or "?", group, app.registered_groups, group.help)

    def _claim(
        self, taken: dict[str, str], plugin: str, package: str, name: str, entry: Any, target: list[Any], doc: Any
    ) -> None:
        """Add a plugin's command or command group to the CLI under ``name``, unless that name is taken."""
        if name in taken:
            self.fail(plugin, package, f"command {name!r} is taken by {taken[name]}; the plugin's is left out")
            return
        taken[name] = f"plugin {plugin!r} (package {package})"
        entry.gancli_plugin = plugin  # marks what a rebuilt CLI replaces
        target.append(entry)
        self.commands[name] = PluginCommand(name, plugin, package, str(doc or "").split("\n")[0])

    def warn_failures(self) -> None:
        for failure in self.failures:
            print(f"warning: {failure}", file=sys.stderr)

    def blame(self, exc: BaseException) -> PluginError | None:
        """``exc`` as the error of the third-party plugin whose code raised it, or None when none of its frames
        run a plugin's code (gancli's own, or a built-in plugin's: a bug to report). The innermost plugin frame
        says whose it is; the method named is where gancli called into that plugin's code (``Net.forward``, not
        the layer inside that failed)."""
        frames = [frame for frame, _ in traceback.walk_tb(exc.__traceback__)]
        owners = [self.owners.get(top_level(frame.f_globals.get("__name__", ""))) for frame in frames]
        culprits = [i for i, owner in enumerate(owners) if owner is not None]
        if not culprits:
            return None
        entry = culprits[-1]
        for i in range(entry - 1, -1, -1):  # out to the frame gancli called, past torch's own in between
            if top_level(frames[i].f_globals.get("__name__", "")) == OWN:
                break
            if owners[i] == owners[entry]:
                entry = i
        plugin, package = owners[culprits[-1]]
        method = frames[entry].f_code.co_qualname
        return PluginError(plugin, package, f"{method} failed: {type(exc).__name__}: {exc}")


def top_level(module: str) -> str:
    """The top-level package of a module's dotted name."""
    return module.partition(".")[0]


#: the top-level package of gancli's own modules, built-in plugins included: never a third-party plugin's code
OWN = top_level(__name__)


def command_names(app: Any) -> dict[str, str]:
    """The names of the commands and command groups ``app`` already has, with who provides them."""
    import typer

    names = {info.name or typer.main.get_command_name(info.callback.__name__) for info in app.registered_commands}
    names |= {group.name for group in app.registered_groups if group.name}
    return dict.fromkeys(names, "gancli's own command")


def reporting_errors(callback: Callable[..., Any], plugin: str, package: str, name: str) -> Callable[..., Any]:
    """``callback`` with its unexpected exceptions reported as the plugin's (a GancliError is shown as it is)."""

    @functools.wraps(callback)
    def command(*args: Any, **kwargs: Any) -> Any:
        try:
            return callback(*args, **kwargs)
        except (GancliError, KeyboardInterrupt):
            raise
        except Exception as exc:
            if type(exc).__module__.startswith("click") or type(exc).__module__.startswith("typer"):
                raise  # typer.Exit and usage errors are the command's way of ending
            raise PluginError(plugin, package, f"command {name!r} failed: {type(exc).__name__}: {exc}") from exc

    return command


def unrecognised_hooks(module: Any, recognised: Iterable[str]) -> list[str]:
    """Messages for module-level ``register_*`` functions that gancli will never call: a misspelled hook
    name, or a hook without ``@hookimpl``."""
    messages = []
    for attribute, value in vars(module).items():
        if not attribute.startswith("register_") or not callable(value) or attribute in recognised:
            continue
        if getattr(value, "__module__", None) != getattr(module, "__name__", None):
            continue  # imported from elsewhere, not this plugin's
        if attribute in HOOKS:
            messages.append(f"{attribute} is not decorated with @hookimpl, so gancli never calls it")
        else:
            close = difflib.get_close_matches(attribute, HOOKS, n=1, cutoff=0.6)
            hint = f"; did you mean {close[0]}?" if close else f" (hooks: {', '.join(HOOKS)})"
            messages.append(f"{attribute} is not a gancli hook, so gancli never calls it{hint}")
    return messages


@functools.cache
def get_plugins() -> Plugins:
    """The process-wide plugin set, loaded on first use."""
    plugins = Plugins()
    plugins.warn_failures()
    return plugins


def build(kind: str, name: str, *args: Any, **options: Any) -> Any:
    """Another registered plugin, built by name as a run builds it: its factory called with ``args`` and its
    options (each at its default unless given here), and what it returns checked. For a plugin that wraps another
    (an architecture around ``dcgan``); a name or option that does not exist is an error naming it."""
    reg = get_plugins().registry.get(kind, name)
    unknown = sorted(set(options) - {option.name for option in reg.options})
    if unknown:
        known = ", ".join(option.name for option in reg.options) or "none"
        raise GancliError(f"{kind} {name!r} has no option {', '.join(unknown)} (its options: {known})")
    return reg.create(*args, options=options)

"""The plugin manager: built-in plugins and ``gancli`` entry points, loaded the same way."""

from __future__ import annotations

import functools
import importlib
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from importlib.metadata import entry_points
from typing import Any

import pluggy

from gancli.errors import GancliError
from gancli.plugins import hookspecs
from gancli.plugins.registry import Option, Registration, Registry

BUILTIN_PLUGINS = (
    "gancli.losses.classic",
    "gancli.losses.wasserstein",
    "gancli.losses.energy",
    "gancli.optim.optimizers",
    "gancli.optim.rules",
    "gancli.nets.mlp",
    "gancli.nets.dcgan",
    "gancli.nets.resnet",
    "gancli.data.mixtures",
    "gancli.data.digits",
    "gancli.data.images",
    "gancli.metrics.modes",
    "gancli.metrics.recognition",
)

HOOK_KINDS = {
    "register_losses": "loss",
    "register_optimizers": "optimizer",
    "register_update_rules": "update",
    "register_architectures": "architecture",
    "register_datasets": "dataset",
    "register_metrics": "metric",
}


@dataclass(frozen=True)
class PluginFailure:
    """A plugin that could not be loaded or failed while registering; the rest keep working."""

    plugin: str
    package: str
    message: str

    def __str__(self) -> str:
        return f"plugin {self.plugin!r} (package {self.package}): {self.message}"


class Plugins:
    """A pluggy manager plus the registry it filled."""

    def __init__(self, builtins: Iterable[str] = BUILTIN_PLUGINS, entry_point_group: str | None = "gancli"):
        self.pm = pluggy.PluginManager("gancli")
        self.pm.add_hookspecs(hookspecs)
        self.packages: dict[str, str] = {}
        self.failures: list[PluginFailure] = []
        for module_name in builtins:
            self._load(module_name, "gancli", lambda m=module_name: importlib.import_module(m))
        if entry_point_group:
            for ep in entry_points(group=entry_point_group):
                package = ep.dist.name if ep.dist is not None else "unknown"
                self._load(ep.name, package, ep.load)
        self.registry = Registry()
        for hook, kind in HOOK_KINDS.items():
            self._collect(hook, kind)

    def _load(self, name: str, package: str, load: Callable[[], Any]) -> None:
        try:
            module = load()
            self.pm.register(module, name=name)
        except Exception as exc:  # a broken plugin must not take the tool down
            self.failures.append(PluginFailure(name, package, f"{type(exc).__name__}: {exc}"))
            return
        self.packages[name] = package

    def _collect(self, hook: str, kind: str) -> None:
        for impl in getattr(self.pm.hook, hook).get_hookimpls():
            package = self.packages.get(impl.plugin_name, "unknown")
            register = functools.partial(self._register, kind, impl.plugin_name, package)
            try:
                impl.function(register=register)
            except GancliError as exc:
                self.failures.append(PluginFailure(impl.plugin_name, package, str(exc)))
            except Exception as exc:
                self.failures.append(
                    PluginFailure(impl.plugin_name, package, f"{hook} failed: {type(exc).__name__}: {exc}")
                )

    def _register(
        self,
        kind: str,
        plugin: str,
        package: str,
        name: str,
        factory: Callable[..., Any],
        description: str = "",
        options: Iterable[Option] = (),
        matches: Callable[[str], bool] | None = None,
        recommends: dict[str, Any] | None = None,
    ) -> None:
        """Record one registration; a clash is reported and the plugin's other registrations still count."""
        registration = Registration(
            kind, name, factory, description, tuple(options), plugin, package, matches, recommends or {}
        )
        try:
            self.registry.add(registration)
        except GancliError as exc:
            self.failures.append(PluginFailure(plugin, package, str(exc)))

    def add_commands(self, app: Any) -> None:
        self.pm.hook.register_commands(app=app)

    def warn_failures(self) -> None:
        for failure in self.failures:
            print(f"warning: {failure}", file=sys.stderr)


@functools.cache
def get_plugins() -> Plugins:
    """The process-wide plugin set, loaded on first use."""
    plugins = Plugins()
    plugins.warn_failures()
    return plugins

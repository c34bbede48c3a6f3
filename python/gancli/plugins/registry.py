"""What a plugin registers: a named factory with a description and typed options."""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from gancli.errors import GancliError, PluginError

KINDS = ("loss", "optimizer", "update", "architecture", "dataset", "metric")


@dataclass(frozen=True)
class Option:
    """One option of a plugin, settable with ``--set NAME=VALUE``."""

    name: str
    type: type
    default: Any
    help: str = ""

    def parse(self, text: str) -> Any:
        """Turn the text of ``--set`` into this option's type."""
        if self.type is bool:
            lowered = text.strip().lower()
            if lowered in ("1", "true", "yes", "on"):
                return True
            if lowered in ("0", "false", "no", "off"):
                return False
            raise ValueError(f"expected true or false, got {text!r}")
        return self.type(text)

    def coerce(self, value: Any) -> Any:
        """Accept a value read from a TOML/JSON config (where ints may stand for floats)."""
        if isinstance(value, str) and self.type is not str:
            return self.parse(value)
        if self.type is float and isinstance(value, int) and not isinstance(value, bool):
            return float(value)
        if not isinstance(value, self.type):
            raise ValueError(f"expected {self.type.__name__}, got {value!r}")
        return value


@dataclass(frozen=True)
class Registration:
    """A registered plugin object: ``kind`` and ``name`` are what a user types."""

    kind: str
    name: str
    factory: Callable[..., Any]
    description: str
    options: tuple[Option, ...]
    plugin: str
    package: str
    matches: Callable[[str], bool] | None = None
    recommends: Mapping[str, Any] = field(default_factory=dict)

    def option(self, name: str) -> Option | None:
        return next((o for o in self.options if o.name == name), None)

    def defaults(self) -> dict[str, Any]:
        return {o.name: o.default for o in self.options}

    def create(self, *args: Any, options: Mapping[str, Any] | None = None) -> Any:
        """Call the factory with the resolved options; errors inside name the plugin and its package."""
        resolved = {**self.defaults(), **(options or {})}
        try:
            return self.factory(*args, resolved)
        except GancliError:
            raise
        except Exception as exc:
            raise PluginError(self.plugin, self.package, f"{self.kind} {self.name!r} failed: {exc}") from exc


@dataclass
class Registry:
    """All registrations of all plugins, by kind and name."""

    entries: dict[str, dict[str, Registration]] = field(default_factory=lambda: {k: {} for k in KINDS})
    conflicts: dict[tuple[str, str], str] = field(default_factory=dict)

    def add(self, reg: Registration) -> None:
        """Add ``reg``; a name registered twice is kept from neither provider, and using it is an error."""
        existing = self.entries[reg.kind].get(reg.name)
        if existing is not None:
            message = (
                f"{reg.kind} {reg.name!r} is registered twice: by plugin {existing.plugin!r} "
                f"(package {existing.package}) and by plugin {reg.plugin!r} (package {reg.package})"
            )
            self.conflicts[(reg.kind, reg.name)] = message
            raise GancliError(message)
        self.entries[reg.kind][reg.name] = reg

    def get(self, kind: str, name: str) -> Registration:
        if (kind, name) in self.conflicts:
            raise GancliError(self.conflicts[(kind, name)])
        try:
            return self.entries[kind][name]
        except KeyError:
            raise GancliError(unknown_message(kind, name, self.entries[kind])) from None

    def all(self, kind: str | None = None) -> list[Registration]:
        kinds = [kind] if kind else list(KINDS)
        return [reg for k in kinds for reg in self.entries[k].values()]

    def find(self, name: str) -> list[Registration]:
        return [reg for reg in self.all() if reg.name == name]


def without_options(cls: Callable[[], Any]) -> Callable[[Mapping[str, Any]], Any]:
    """The factory of a plugin that takes no options: it builds ``cls()`` whatever the options say."""

    def factory(options: Mapping[str, Any]) -> Any:
        return cls()

    return factory


def unknown_message(kind: str, name: str, known: Iterable[str]) -> str:
    known = sorted(known)
    close = difflib.get_close_matches(name, known, n=3, cutoff=0.5)
    hint = f"; did you mean {', '.join(close)}?" if close else ""
    return f"unknown {kind} {name!r}{hint} (available: {', '.join(known) or 'none'})"

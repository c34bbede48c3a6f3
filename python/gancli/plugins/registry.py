"""What a plugin registers: a named factory with a description and typed options.

Nothing here imports torch: a factory may be given as ``"module:attribute"`` and is imported the first time a
run creates the object, so listing plugins and building the CLI stay fast.
"""

from __future__ import annotations

import contextlib
import difflib
import importlib
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import KW_ONLY, dataclass, field
from typing import Any

from gancli.errors import GancliError, PluginError
from gancli.values import Range, as_float, parse_number

BUILTIN_PACKAGE = "gancli"
KINDS = ("loss", "optimizer", "update", "architecture", "dataset", "metric", "features", "diagnostic")
OPTION_TYPES = (int, float, str, bool)

#: a factory, or the "module:attribute" it is imported from when first needed
Factory = Callable[..., Any] | str


@dataclass(frozen=True)
class Option:
    """One option of a plugin, settable with ``--set NAME=VALUE``. A number may declare ``min`` and ``max``
    (inclusive; ``min_open``/``max_open`` exclude the bound) and any option ``choices``: gancli refuses other
    values, naming the option, before a run builds anything, and ``gancli plugins show`` lists them. The default
    is checked against the type and the range when the plugin registers."""

    name: str
    type: type
    default: Any
    help: str = ""
    _: KW_ONLY
    min: float | None = None
    max: float | None = None
    choices: tuple[Any, ...] | None = None
    min_open: bool = False
    max_open: bool = False

    def __post_init__(self) -> None:
        if self.type not in OPTION_TYPES:
            raise TypeError(f"option {self.name!r}: type must be int, float, str or bool, got {self.type!r}")
        if self.choices is not None:
            object.__setattr__(self, "choices", tuple(self.choices))
        self.range.validate(self.type, f"option {self.name!r}")
        try:
            default = self.coerce(self.default)
        except ValueError:
            raise TypeError(f"option {self.name!r}: default {self.default!r} is not a {self.type.__name__}") from None
        if not self.range.admits(default):
            raise TypeError(f"option {self.name!r}: default {self.default!r} is not {self.range}")

    @property
    def range(self) -> Range:
        """The values this option takes (no bounds: any finite number, any 64-bit integer, any text)."""
        return Range(self.min, self.max, self.min_open, self.max_open, self.choices)

    def parse(self, text: str) -> Any:
        """Turn the text of ``--set`` into this option's type (numbers in ASCII digits)."""
        if self.type is bool:
            lowered = text.strip().lower()
            if lowered in ("1", "true", "yes", "on"):
                return True
            if lowered in ("0", "false", "no", "off"):
                return False
            raise ValueError(f"expected true or false, got {text!r}")
        if self.type is str:
            return text
        return parse_number(text, self.type)

    def coerce(self, value: Any) -> Any:
        """Accept a value read from a TOML/JSON config (where ints may stand for floats)."""
        if isinstance(value, str) and self.type is not str:
            return self.parse(value)
        if self.type is float and isinstance(value, int) and not isinstance(value, bool):
            return as_float(value)
        if not isinstance(value, self.type) or (isinstance(value, bool) and self.type is not bool):
            raise ValueError(f"expected {self.type.__name__}, got {value!r}")
        return value


def import_reference(reference: str) -> Any:
    """The object named by ``"package.module:attribute"``."""
    module_name, _, attribute = reference.partition(":")
    obj: Any = importlib.import_module(module_name)
    for part in attribute.split("."):
        obj = getattr(obj, part)
    return obj


def check_reference(reference: str) -> None:
    module_name, sep, attribute = reference.partition(":")
    if not (sep and module_name and attribute):
        raise GancliError(f"factory {reference!r} must be a callable or a 'package.module:attribute' string")


@dataclass(frozen=True)
class Registration:
    """A registered plugin object: ``kind`` and ``name`` are what a user types."""

    kind: str
    name: str
    factory: Factory
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

    def error(self, message: str) -> PluginError:
        return PluginError(self.plugin, self.package, message)

    @contextlib.contextmanager
    def calling(self, method: str) -> Iterator[None]:
        """What a third-party plugin's ``method`` raises inside is reported as this plugin's, naming the method
        (a GancliError as it is; a built-in's exception is gancli's bug): the checks a run makes of a plugin's
        objects on a dry batch."""
        try:
            yield
        except GancliError:
            raise
        except Exception as exc:
            if self.package == BUILTIN_PACKAGE:
                raise
            raise self.error(f"{self.kind} {self.name!r}: {method} failed: {type(exc).__name__}: {exc}") from exc

    def load(self) -> Callable[..., Any]:
        """The factory itself, imported now if it was registered by reference."""
        if not isinstance(self.factory, str):
            return self.factory
        try:
            return import_reference(self.factory)
        except Exception as exc:
            raise self.error(f"{self.kind} {self.name!r}: cannot import {self.factory}: {exc}") from exc

    def create(self, *args: Any, options: Mapping[str, Any] | None = None) -> Any:
        """Call the factory with the resolved options and check what it returns; errors name the plugin."""
        from gancli.plugins.contracts import check_created

        factory = self.load()
        resolved = {**self.defaults(), **(options or {})}
        for option in self.options:
            option.range.check(resolved[option.name], f"option {self.name}.{option.name}")
        try:
            created = factory(*args, resolved)
        except GancliError:
            raise
        except Exception as exc:
            raise self.error(f"{self.kind} {self.name!r} failed: {exc}") from exc
        check_created(self, created)
        return created

    def claims(self, spec: str) -> bool:
        """Whether ``spec`` selects this registration: its name, or a spec its ``matches`` accepts."""
        if spec == self.name:
            return True
        if self.matches is None:
            return False
        try:
            return bool(self.matches(spec))
        except Exception as exc:
            raise self.error(f"{self.kind} {self.name!r}: matches({spec!r}) failed: {exc}") from exc


@dataclass
class Registry:
    """All registrations of all plugins, by kind and name."""

    entries: dict[str, dict[str, Registration]] = field(default_factory=lambda: {k: {} for k in KINDS})
    conflicts: dict[tuple[str, str], str] = field(default_factory=dict)

    def add(self, reg: Registration) -> None:
        """Add ``reg``. A name gancli itself registers stays gancli's (the plugin's is refused, as a command named
        like a built-in one is); a name two plugins register is kept from neither, and using it is an error."""
        existing = self.entries[reg.kind].get(reg.name)
        if existing is not None:
            message = (
                f"{reg.kind} {reg.name!r} is registered twice: by plugin {existing.plugin!r} "
                f"(package {existing.package}) and by plugin {reg.plugin!r} (package {reg.package})"
            )
            if existing.package == BUILTIN_PACKAGE:
                raise GancliError(f"{message}; gancli keeps its own, the plugin's is left out")
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

    def select(self, kind: str, spec: str) -> Registration:
        """The registration ``spec`` chooses: the one of that name, else the first whose ``matches`` accepts
        it (datasets opened from a path, for instance), in registration order. The same rule for every kind."""
        if spec in self.entries[kind] or (kind, spec) in self.conflicts:
            return self.get(kind, spec)
        for reg in self.entries[kind].values():
            if reg.claims(spec):
                return reg
        return self.get(kind, spec)

    def all(self, kind: str | None = None) -> list[Registration]:
        kinds = [kind] if kind else list(KINDS)
        return [reg for k in kinds for reg in self.entries[k].values()]

    def find(self, name: str) -> list[Registration]:
        return [reg for reg in self.all() if reg.name == name]

    def clashes(self, name: str) -> list[str]:
        """The clash messages of every kind for ``name``."""
        return [message for (_, clashed), message in self.conflicts.items() if clashed == name]


def without_options(cls: Factory) -> Callable[[Mapping[str, Any]], Any]:
    """The factory of a plugin that takes no options: it builds ``cls()`` whatever the options say.
    ``cls`` may be a ``"module:attribute"`` reference, imported on first use."""

    def factory(options: Mapping[str, Any]) -> Any:
        return (import_reference(cls) if isinstance(cls, str) else cls)()

    if isinstance(cls, str):
        check_reference(cls)
    return factory


def unknown_message(kind: str, name: str, known: Iterable[str]) -> str:
    known = sorted(known)
    close = difflib.get_close_matches(name, known, n=3, cutoff=0.5)
    hint = f"; did you mean {', '.join(close)}?" if close else ""
    return f"unknown {kind} {name!r}{hint} (available: {', '.join(known) or 'none'})"

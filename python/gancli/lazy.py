"""Attributes imported on first access (PEP 562): a package can name torch-backed classes (``gancli.losses.Loss``)
without importing torch when it is itself imported, which keeps the CLI's start-up fast."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from gancli.plugins.registry import import_reference


def lazy_attributes(
    namespace: Mapping[str, Any], references: Mapping[str, str]
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """``__getattr__`` and ``__dir__`` for the module whose ``globals()`` are ``namespace``: each name in
    ``references`` is imported from its ``"module:attribute"`` on first access."""
    module = namespace["__name__"]

    def __getattr__(name: str) -> Any:
        if name not in references:
            raise AttributeError(f"module {module!r} has no attribute {name!r}")
        return import_reference(references[name])

    def __dir__() -> list[str]:
        return sorted({*namespace, *references})

    return __getattr__, __dir__

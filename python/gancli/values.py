"""The values a setting accepts, checked at the door: one rule for ``gancli train``'s flags and plugin options.

A ``Range`` declares bounds (inclusive unless open) or choices; ``parse_number`` reads the text of a flag or
``--set`` as a user typed it, ``parse_colour`` the colour of ``--background``. Numbers are ASCII digits only
(Python's ``int("３")`` is 3, a full-width digit that no one types on purpose), floats finite, and integers within
64 bits, so a typo or a hostile config file is refused with the setting's name before anything is built. Nothing
here imports torch.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from gancli.errors import GancliError

INT64 = 2**63
MAX_SEED = 2**31 - 1  # a seed, and a seed + small offsets for the other generators, fits every RNG
#: integers and text longer than this are shown by their length, not spelled out in a one-line error
SHOWN_LENGTH = 40


def shown(value: Any) -> str:
    """A value as an error message quotes it: text quoted, a 400-digit integer by its length."""
    if isinstance(value, int) and not isinstance(value, bool) and len(str(abs(value))) > SHOWN_LENGTH:
        return f"a number of {len(str(abs(value)))} digits"
    if isinstance(value, str):
        return repr(value) if len(value) <= SHOWN_LENGTH else f"{value[:SHOWN_LENGTH]!r}… ({len(value)} characters)"
    return str(value)


def too_wide(value: Any) -> bool:
    """Whether ``value`` is an integer that does not fit in 64 bits (torch and numpy take no more)."""
    return isinstance(value, int) and not isinstance(value, bool) and not -INT64 <= value < INT64


@dataclass(frozen=True)
class Range:
    """What a setting accepts: ``min``/``max`` (inclusive, or exclusive when ``min_open``/``max_open``) or
    ``choices``. A float must also be finite and an int fit in 64 bits, with or without bounds."""

    min: float | None = None
    max: float | None = None
    min_open: bool = False
    max_open: bool = False
    choices: tuple[Any, ...] | None = None

    def __str__(self) -> str:
        """What follows "must be": "at least 1", "greater than 0", "between 1 and 8192", "in [0, 1)", "one of …"."""
        if self.choices is not None:
            return "one of " + ", ".join(shown(c) for c in self.choices)
        low, high = self.min, self.max
        if low is not None and high is not None:
            if not (self.min_open or self.max_open):
                return f"between {shown(low)} and {shown(high)}"
            return f"in {'(' if self.min_open else '['}{shown(low)}, {shown(high)}{')' if self.max_open else ']'}"
        if low is not None:
            return f"{'greater than' if self.min_open else 'at least'} {shown(low)}"
        if high is not None:
            return f"{'less than' if self.max_open else 'at most'} {shown(high)}"
        return ""

    def admits(self, value: Any) -> bool:
        """Whether ``value`` (already of the setting's type) lies in the range."""
        if isinstance(value, float) and not math.isfinite(value):
            return False
        return not too_wide(value) and self.bounds_admit(value)

    def bounds_admit(self, value: Any) -> bool:
        """Whether the declared bounds or choices admit ``value``."""
        if self.choices is not None:
            return value in self.choices
        if self.min is not None and (value <= self.min if self.min_open else value < self.min):
            return False
        return self.max is None or (value < self.max if self.max_open else value <= self.max)

    def check(self, value: Any, what: str) -> None:
        """Refuse ``value`` outside the range in one line naming ``what`` (``--steps``, ``--set mlp.hidden``)."""
        if self.admits(value):
            return
        bounds = str(self)
        if isinstance(value, float) and not math.isfinite(value):
            bounds = f"a finite number {bounds}".rstrip()
        elif too_wide(value) and self.bounds_admit(value):
            bounds = f"a 64-bit integer {bounds}".rstrip()
        raise GancliError(f"{what} must be {bounds}, got {shown(value)}")

    def validate(self, kind: type, what: str) -> None:
        """Refuse a declaration that makes no sense: bounds on text, choices of another type, min above max."""
        if (self.min is not None or self.max is not None) and kind not in (int, float):
            raise TypeError(f"{what}: min and max need an int or float option, not {kind.__name__}")
        if self.choices is not None and (self.min is not None or self.max is not None):
            raise TypeError(f"{what}: give choices or bounds, not both")
        if self.choices is not None and not all(type(c) is kind for c in self.choices):
            raise TypeError(f"{what}: choices {self.choices!r} must be {kind.__name__}s")
        if self.min is not None and self.max is not None and self.min > self.max:
            raise TypeError(f"{what}: min {self.min} is above max {self.max}")


def parse_number(text: str, kind: type) -> int | float:
    """``text`` as an int or a float, written in ASCII (``1e-4``, ``-3``, ``1_000``; not ``３``); a float that
    overflows (``1e400``) is read as infinity, which the range then refuses as not finite."""
    stripped = text.strip()
    name = "an integer" if kind is int else "a number"
    if not stripped.isascii():
        raise ValueError(f"expected {name} in ASCII digits, got {shown(text)}")
    try:
        return kind(stripped)
    except ValueError:
        raise ValueError(f"expected {name}, got {shown(text)}") from None


def as_float(value: int) -> float:
    """An integer read for a float setting (TOML's ``lr = 1``); one too large for a float is refused."""
    try:
        return float(value)
    except OverflowError:
        raise ValueError(f"expected a number within a float's range, got {shown(value)}") from None


#: the colours ``--background`` knows by name
NAMED_COLOURS = {"black": (0, 0, 0), "white": (255, 255, 255)}


def parse_colour(text: str) -> tuple[int, int, int]:
    """``black``, ``white`` or ``#rrggbb`` (any case) as (r, g, b): the one reading of ``--background``, so the
    flag, the decoders and the cache key agree on what a colour is."""
    spelled = text.strip().lower()
    if spelled in NAMED_COLOURS:
        return NAMED_COLOURS[spelled]
    digits = spelled.removeprefix("#")
    if spelled.startswith("#") and len(digits) == 6 and all(c in "0123456789abcdef" for c in digits):
        return int(digits[0:2], 16), int(digits[2:4], 16), int(digits[4:6], 16)
    raise ValueError(f"expected black, white or #rrggbb, got {shown(text)}")

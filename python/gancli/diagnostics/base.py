"""The one interface of a diagnostic plugin, and what it reports.

A diagnostic judges a run while it trains, from what the run logs anyway: the newest ``window`` logged records
(RUN/metrics.jsonl) and ``eval_window`` evaluations (RUN/eval.jsonl). Its ``check`` says whether the pitfall
holds now; the run (``gancli.diagnostics.watch``) keeps the history, and reports a finding once per *episode*:
when ``check`` first finds it, not again until ``calm`` healthy checks in a row have ended that episode. A check
that depends only on the history it is given is replayed exactly on ``--resume``.
"""

from __future__ import annotations

import statistics
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from gancli.train.session import Session

Record = Mapping[str, Any]


@dataclass(frozen=True)
class Finding:
    """A pitfall found: what is wrong (``message``, with the figures that show it in ``values``) and a concrete
    remedy (``hint``). A diagnostic's ``check`` fills those three; the run adds its name and the step."""

    message: str
    hint: str
    values: Mapping[str, float] = field(default_factory=dict)
    name: str = ""
    step: int = 0

    def line(self) -> str:
        """The one console line: step, name, message and the hint."""
        return f"diagnostic: step {self.step}: {self.name}: {self.message}; try {self.hint}"

    def to_record(self) -> dict[str, Any]:
        """The RUN/diagnostics.jsonl line."""
        values = {name: round(float(value), 6) for name, value in self.values.items()}
        return {
            "step": self.step,
            "diagnostic": self.name,
            "message": self.message,
            "hint": self.hint,
            "values": values,
        }


class Diagnostic(ABC):
    """Watches the logged records and evaluations of a run and names a pitfall while it happens."""

    #: the logged records ``check`` sees, newest last
    window: int = 20
    #: the evaluations ``check`` sees, newest last
    eval_window: int = 10
    #: healthy checks in a row that end an episode, so that a value wavering at a threshold is reported once
    calm: int = 20

    def applies_to(self, session: Session) -> bool:
        """Whether the run's records mean what this diagnostic judges (a diagnostic that does not apply is left
        out of the run, as a metric is)."""
        return True

    def measure(self, session: Session) -> dict[str, float]:
        """Extra statistics for the logged record, computed at logging points only (never in a training step) and
        written to RUN/metrics.jsonl with the rest, so ``check`` and a resumed run see them. None by default."""
        return {}

    @abstractmethod
    def check(self, records: Sequence[Record], evals: Sequence[Record]) -> Finding | None:
        """The pitfall, if it holds now, judging by the newest records and evaluations (either may be empty)."""


def is_diagnostic(obj: Any) -> bool:
    """What a diagnostic's factory must return."""
    return isinstance(obj, Diagnostic)


def median(records: Sequence[Record], key: str) -> float | None:
    """The median of ``key`` over the records that have it (None when none does): robust to one odd step."""
    values = [float(r[key]) for r in records if isinstance(r.get(key), int | float)]
    return statistics.median(values) if values else None


def probabilities(session: Session) -> bool:
    """Whether the run records D(x) and D(G(z)) as probabilities: its loss's D outputs logits (``LogitLoss``)."""
    from gancli.losses.base import LogitLoss

    return isinstance(session.loss, LogitLoss)

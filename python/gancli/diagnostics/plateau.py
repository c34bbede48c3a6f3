"""Convergence plateau: the evaluations stop improving, a point where the user can stop or change course
(``--stop-when-plateau`` ends the run there, cleanly).

A metric improves when its best over the newest ``patience`` evaluations beats its best before them by more
than ``tolerance`` of that value and by more than ``min_delta``; which way is better comes from the metric's
name (``gancli.metrics.base.improves``: lower for divergences and distances, higher otherwise). Metrics that never
moved by that much (``modes_total``; a run that has not started to learn, whose high-quality share goes from 0 to
0.002) say nothing of a plateau: a run that has not learned has not converged, and other diagnostics name why.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from gancli.diagnostics.base import Diagnostic, Finding, Record
from gancli.metrics.base import improves, lower_is_better

if TYPE_CHECKING:
    from gancli.train.session import Session


def best(metric: str, records: Sequence[Record]) -> float | None:
    values = [float(r[metric]) for r in records if isinstance(r.get(metric), int | float)]
    if not values:
        return None
    return min(values) if lower_is_better(metric) else max(values)


class Plateau(Diagnostic):
    calm = 1  # one evaluation that improves ends a plateau
    window = 1

    def __init__(self, options: Mapping[str, Any]) -> None:
        self.patience, self.tolerance, self.min_delta = options["patience"], options["tolerance"], options["min_delta"]
        self.eval_window = 10_000  # "best before" reaches back to the run's first evaluation
        self.hint = "--stop-when-plateau (it ends a run at its plateau, checkpoint saved) or a lower --lr"

    def applies_to(self, session: Session) -> bool:
        if session.config.stop_when_plateau:  # the run stops here: what is left to try is another run
            self.hint = "a lower learning rate (--lr) in a new run, should the metrics have to go higher"
        return True

    def margin(self, best: float) -> float:
        """The improvement on ``best`` that counts."""
        return max(self.tolerance * abs(best), self.min_delta)

    def improved(self, metric: str, before: float, recent: float) -> bool:
        target = before - self.margin(before) if lower_is_better(metric) else before + self.margin(before)
        return improves(metric, recent, target)

    def check(self, records: Sequence[Record], evals: Sequence[Record]) -> Finding | None:
        if len(evals) <= self.patience:
            return None
        earlier, recent = evals[: -self.patience], evals[-self.patience :]
        metrics = [k for k, v in recent[-1].items() if k != "step" and isinstance(v, int | float)]
        bests = {}
        for metric in metrics:
            before, now = best(metric, earlier), best(metric, recent)
            values = [float(r[metric]) for r in evals if isinstance(r.get(metric), int | float)]
            if before is None or now is None or max(values) - min(values) <= self.margin(before):
                continue  # it never moved by what counts: it says nothing of a plateau
            if self.improved(metric, before, now):
                return None
            bests[metric] = before
        if not bests:
            return None
        shown = ", ".join(f"{metric} {value:.4g}" for metric, value in bests.items())
        return Finding(
            f"no metric improved by {self.tolerance:.0%} (or {self.min_delta:g}) over the last {self.patience} "
            f"evaluations, steps {recent[0]['step']}-{recent[-1]['step']} (best: {shown})",
            self.hint,
            bests,
        )

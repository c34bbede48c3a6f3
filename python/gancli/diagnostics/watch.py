"""A run's diagnostics while it trains: each one's history, its episodes, and its findings on the console and in
RUN/diagnostics.jsonl.

The training loop calls ``measure`` and ``observe`` at logging and evaluation points only, on the process that
logs. A diagnostic whose factory, ``applies_to``, ``measure`` or ``check`` raises is reported with its plugin's
name and package and dropped for the rest of the run (as a failing metric is): it never costs a run its training.
A resumed run first replays the tail of its logs silently, so an episode reported before the stop is not reported
again, and windows are full from the first step.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from gancli.diagnostics.base import Diagnostic, Finding, Record
from gancli.errors import PluginError
from gancli.plugins.contracts import describe
from gancli.plugins.registry import Registration
from gancli.train.rundir import RunDir, append_record, read_jsonl

if TYPE_CHECKING:
    from gancli.train.session import Session

#: the newest logged records and evaluations a resumed run replays: enough to fill any window and to know
#: whether an episode is under way, without reading a long run's whole history
REPLAY = 1000


def read_findings(run: RunDir) -> list[dict[str, Any]]:
    """The findings a run's diagnostics raised, oldest first: ``{"step", "diagnostic", "message", "hint",
    "values"}`` each (what ``gancli eval`` lists and ``gancli plot`` marks)."""
    return read_jsonl(run.diagnostics)


@dataclass
class Watched:
    """One diagnostic of the run, its history and whether an episode of its pitfall is under way."""

    reg: Registration
    diagnostic: Diagnostic
    records: deque[Record] = field(init=False)
    evals: deque[Record] = field(init=False)
    active: bool = False
    healthy: int = 0

    def __post_init__(self) -> None:
        self.records = deque(maxlen=max(1, int(self.diagnostic.window)))
        self.evals = deque(maxlen=max(1, int(self.diagnostic.eval_window)))

    def episode(self, finding: Finding | None, step: int) -> Finding | None:
        """``finding`` named and dated when it opens an episode; None while one goes on, or when all is well."""
        if finding is None:
            self.healthy += 1
            if self.healthy >= self.diagnostic.calm:
                self.active = False
            return None
        self.healthy = 0
        if self.active:
            return None
        self.active = True
        return replace(finding, name=self.reg.name, step=step)


class Watch:
    """The diagnostics of one run: built from the run's registrations, primed from its logs."""

    def __init__(self, session: Session, run: RunDir, say: Callable[[str], None]) -> None:
        self.run, self.say = run, say
        self.watched: list[Watched] = []
        for reg in session.resolved.diagnostics:
            try:
                diagnostic = reg.create(options=session.config.options.get(reg.name, {}))
                if diagnostic.applies_to(session):
                    self.watched.append(Watched(reg, diagnostic))
            except Exception as exc:
                self.drop(reg, exc, "could not start")
        self.replay()

    def drop(self, reg: Registration, exc: Exception, what: str) -> None:
        detail = f"diagnostic {reg.name!r} {what}: {type(exc).__name__}: {exc}"
        error = exc if isinstance(exc, PluginError) else reg.error(detail)
        self.say(f"warning: {error}; it is left out for the rest of this run")
        self.watched = [w for w in self.watched if w.reg is not reg]

    def replay(self) -> None:
        """Feed the tail of RUN/metrics.jsonl and RUN/eval.jsonl through the diagnostics without reporting: a
        resumed run carries on with full windows and knows which episodes it already reported."""
        records = [(r["step"], 0, r) for r in read_jsonl(self.run.metrics)[-REPLAY:]]
        # an evaluation as the diagnostics saw it live: the figures, without their spread over draws
        evals = [
            (r["step"], 1, {k: v for k, v in r.items() if k != "spread"}) for r in read_jsonl(self.run.evals)[-REPLAY:]
        ]
        for _, is_eval, record in sorted(records + evals, key=lambda item: item[:2]):
            self.observe(record, evaluation=bool(is_eval), report=False)

    def measure(self, session: Session) -> dict[str, float]:
        """The diagnostics' extra statistics for the record being logged."""
        values: dict[str, float] = {}
        for watched in list(self.watched):
            try:
                measured = watched.diagnostic.measure(session)
                values.update({name: round(float(value), 6) for name, value in measured.items()})
            except Exception as exc:
                self.drop(watched.reg, exc, "failed in measure")
        return values

    def observe(self, record: Record, evaluation: bool = False, report: bool = True) -> list[Finding]:
        """Show every diagnostic a logged record (or an evaluation); report each finding that opens an episode:
        one console line, one line of RUN/diagnostics.jsonl."""
        findings = []
        for watched in list(self.watched):
            (watched.evals if evaluation else watched.records).append(record)
            try:
                found = watched.diagnostic.check(list(watched.records), list(watched.evals))
                if found is not None and not isinstance(found, Finding):
                    raise TypeError(f"check returned {describe(found)}, expected a gancli.api.Finding or None")
                finding = watched.episode(found, record["step"])
                line = finding.to_record() if finding is not None and report else None
            except Exception as exc:
                self.drop(watched.reg, exc, "failed in check")
                continue
            if finding is not None and line is not None:
                findings.append(finding)
                self.say(finding.line())
                append_record(self.run.diagnostics, line)
        return findings

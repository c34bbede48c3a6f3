"""Evaluating a run: the metric plugins, created once, scored on samples from fixed noise.

Metrics the configuration does not name run only where they apply (``Metric.applies_to``); a metric named
explicitly always runs. During training a metric that fails is reported with its plugin's name and package and
dropped for the rest of the run, so a broken metric never costs a run its training or its checkpoints;
``gancli eval`` (``strict``) stops on it instead.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from gancli.errors import PluginError
from gancli.metrics.base import Metric
from gancli.plugins.registry import Registration

if TYPE_CHECKING:
    from gancli.train.session import Session


class Evaluation:
    def __init__(self, session: Session, strict: bool, warn: Callable[[str], None] = print) -> None:
        self.session = session
        self.strict = strict
        self.warn = warn
        self._metrics: list[tuple[Registration, Metric]] | None = None

    @property
    def metrics(self) -> list[tuple[Registration, Metric]]:
        """The metrics this run is scored by, created on first use."""
        if self._metrics is None:
            config = self.session.config
            self._metrics = []
            for reg in self.session.resolved.metrics:
                metric: Metric = reg.create(options=config.options.get(reg.name, {}))
                if config.metrics is not None or metric.applies_to(self.session.data):
                    self._metrics.append((reg, metric))
        return self._metrics

    def __call__(self, seed: int) -> dict[str, float]:
        """Every metric's values on samples from the noise of ``seed``."""
        results: dict[str, float] = {}
        for reg, metric in list(self.metrics):
            samples = self.session.generate(metric.samples_needed, seed)
            try:
                values = metric.compute(samples, self.session.data)
            except Exception as exc:
                error = reg.error(f"metric {reg.name!r} failed: {type(exc).__name__}: {exc}")
                if self.strict:
                    raise error from exc
                self.drop(reg, error)
                continue
            for name, value in values.items():
                if name in results:  # two metrics report the same name: neither value may hide the other
                    name = f"{reg.name}.{name}"
                results[name] = value
        return results

    def drop(self, reg: Registration, error: PluginError) -> None:
        self.warn(f"warning: {error}; it is left out for the rest of this run")
        self._metrics = [(r, m) for r, m in self.metrics if r is not reg]

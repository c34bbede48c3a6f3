"""Evaluating a run: the metric plugins, created once, scored on samples from fixed noise.

Metrics the configuration does not name run only where they apply (``applies_to``), and those that are not
``live`` (memorisation) only in ``gancli eval`` (``offline``); a metric named explicitly always runs.
Feature-space metrics (``FeatureMetric``) are scored in the space of the run's ``--features`` extractor, built
once: its real reference and held-out images are embedded a single time, and each call embeds its samples once
for all of them. In a conditional run on labelled images, those samples ask for the reference images' own
classes, one sample per image: the fakes' class mixture is the data's, so uneven classes do not count against
a generator that draws each class well. Class metrics (``ClassMetric``) score a conditional run's samples, which
ask for every class in turn, in the same space; they do not apply to an unconditional run. During training a
metric (or the extractor) that fails is reported with its plugin's name and package and dropped for the rest of
the run, so a broken metric never costs a run its training or its checkpoints; ``gancli eval`` (``strict``)
stops on it instead. A metric the user asked for (named in ``metrics``, or with options set) that cannot be
created stops a new run before it starts (``check_requested``).

One protocol scores a checkpoint wherever it is scored, in the run's own evaluations and in ``gancli eval``: the
run's ``--eval-samples`` samples against the feature space's fixed real sets, from the noise of the run's seed +
3, once per ``--eval-draws`` draw (draw i from seed + 3 + i); each figure is the mean over the draws, with their
standard deviation as its spread. The same checkpoint gives the same figures in both.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, TypeVar

import torch

from gancli.errors import PluginError
from gancli.features.space import FeatureSpace
from gancli.metrics import REAL_SUFFIX
from gancli.metrics.base import Metric
from gancli.metrics.feature import ClassMetric, FeatureMetric
from gancli.plugins.registry import Registration

if TYPE_CHECKING:
    from gancli.train.session import Session

T = TypeVar("T")
AnyMetric = Metric | FeatureMetric | ClassMetric
#: a run's evaluation noise comes from its seed + 3 (its data draws from the seed, its latents from seed + 1, its
#: sample images from seed + 2)
EVAL_SEED_OFFSET = 3


def number(value: Any) -> str:
    """A figure as gancli prints it: four significant digits."""
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def figure_text(record: Mapping[str, Any], name: str) -> str:
    """``26.2 ± 0.4123``: a figure of an evaluation record and its spread over draws (alone with one draw)."""
    if name not in record:
        return ""
    spread = record.get("spread", {}).get(name)
    return number(record[name]) + ("" if spread is None else f" ± {number(spread)}")


class ExtractorError(PluginError):
    """The run's feature extractor failed: every feature-space metric goes with it."""


def check_requested(session: Session) -> None:
    """Create each metric the user asked for, named in ``metrics`` or with options set, once: one whose factory
    refuses its options is an error now, before the run starts, where one nobody asked for is left out with a
    warning at the first evaluation."""
    config = session.config
    for reg in session.resolved.metrics:
        options = config.options.get(reg.name, {})
        if config.metrics is not None or options != reg.defaults():
            reg.create(options=options)


class Evaluation:
    def __init__(
        self, session: Session, strict: bool, warn: Callable[[str], None] = print, offline: bool = False
    ) -> None:
        self.session = session
        self.strict = strict
        self.offline = offline
        self.warn = warn
        self._metrics: list[tuple[Registration, AnyMetric]] | None = None
        self._space: FeatureSpace | None = None
        #: each figure of the last call: how many generated and real images it scored (real: None when the metric
        #: does not say); a real floor (NAME_real) scores held-out real images against as many reference ones
        self.scored: dict[str, tuple[int, int | None]] = {}
        #: each generated figure of the last call: its standard deviation over the draws (with two or more)
        self.spread: dict[str, float] = {}

    @property
    def metrics(self) -> list[tuple[Registration, AnyMetric]]:
        """The metrics this run is scored by, created on first use."""
        if self._metrics is None:
            config = self.session.config
            self._metrics = []
            for reg in self.session.resolved.metrics:
                try:
                    metric: AnyMetric = reg.create(options=config.options.get(reg.name, {}))
                except PluginError as error:
                    if self.strict:
                        raise
                    self.warn(f"warning: {error}; it is left out of this run")
                    continue
                if isinstance(metric, ClassMetric) and self.session.classes is None:
                    continue  # samples of an unconditional run were asked for no class
                chosen = config.metrics is not None
                if chosen or (metric.applies_to(self.session.data) and (metric.live or self.offline)):
                    self._metrics.append((reg, metric))
        return self._metrics

    @property
    def space(self) -> FeatureSpace:
        """The run's feature space, built on first use; a failure names the extractor's plugin."""
        if self._space is None:
            config = self.session.config
            reg = self.session.resolved.plugins["features"]
            extractor = reg.create(config.features, options=config.options.get(reg.name, {}))
            space = FeatureSpace(extractor, self.session.data, config.eval_samples)
            self.extracting(lambda: (space.reference, space.held_out))
            self._space = space
        return self._space

    @property
    def built_space(self) -> FeatureSpace | None:
        """The feature space if an evaluation has built it (a feature-space metric ran), else None."""
        return self._space

    def extracting(self, compute: Callable[..., T], *args: Any) -> T:
        """``compute(*args)``, whose failures are the extractor's: named after its plugin."""
        reg = self.session.resolved.plugins["features"]
        try:
            return compute(*args)
        except Exception as exc:
            message = f"features {reg.name!r} failed: {type(exc).__name__}: {exc}"
            raise ExtractorError(reg.plugin, reg.package, message) from exc

    def generate(
        self, samples: dict[Any, torch.Tensor], count: int, seed: int, labels: torch.Tensor | None = None
    ) -> torch.Tensor:
        """``count`` samples from the noise of ``seed``, generated once per call for all metrics; in a conditional
        run asking for ``labels`` (by default every class in turn)."""
        key = (count, labels is not None)
        if key not in samples:
            samples[key] = self.session.generate(count, seed, labels=labels)
        return samples[key]

    def mixture_labels(self, space: FeatureSpace) -> torch.Tensor | None:
        """The classes the feature-space metrics' samples ask for: the reference images' (None, every class in
        turn, for an unconditional run or data whose images carry no labels)."""
        return space.reference_labels if self.session.classes is not None else None

    def __call__(self, seed: int | None = None) -> dict[str, float]:
        """Every metric's values, each the mean over the run's ``--eval-draws`` draws of samples, draw i from the
        noise of ``seed`` + i (default: the run's seed + EVAL_SEED_OFFSET); their spread in ``spread``. A metric
        may draw from torch's global generator (torchmetrics' KID draws its subsets there): it is given a fork of
        it, so the run's own stream, saved in each checkpoint, does not depend on when or what was evaluated."""
        config = self.session.config
        seed = config.seed + EVAL_SEED_OFFSET if seed is None else seed
        device = self.session.device
        with torch.random.fork_rng(devices=[device] if device.type == "cuda" else []):
            results = [self.evaluate(seed + draw) for draw in range(config.eval_draws)]
        names = [name for name in results[-1] if all(name in result for result in results)]  # a metric dropped
        self.spread = {
            name: statistics.stdev(result[name] for result in results)
            for name in names
            if len(results) > 1 and not name.endswith(REAL_SUFFIX)
        }
        return {name: statistics.fmean(result[name] for result in results) for name in names}

    def evaluate(self, seed: int) -> dict[str, float]:
        results: dict[str, float] = {}
        self.scored = {}
        samples: dict[Any, torch.Tensor] = {}
        fake_features: torch.Tensor | None = None
        for reg, metric in list(self.metrics):
            if (reg, metric) not in self.metrics:  # dropped with the extractor during this call
                continue
            try:
                if isinstance(metric, FeatureMetric):
                    space = self.space
                    if fake_features is None:
                        fake = self.generate(samples, space.size, seed, self.mixture_labels(space))
                        fake_features = self.extracting(space.embed, fake)
                    values = metric.score(space, fake_features)
                    scored: tuple[int, int | None] = (space.size, space.size)
                elif isinstance(metric, ClassMetric):
                    space = self.space
                    fake = self.generate(samples, space.size, seed)
                    (asked,) = self.session.class_inputs(len(fake))
                    values = metric.score(space, fake, asked)
                    scored = (space.size, space.size)
                else:
                    batch = self.generate(samples, metric.samples_needed, seed)
                    values = metric.compute(batch, self.session.data)
                    scored = (len(batch), None)
            except ExtractorError as error:
                if self.strict:
                    raise
                self.warn(f"warning: {error}; the feature-space metrics are left out for the rest of this run")
                self._metrics = [(r, m) for r, m in self.metrics if not isinstance(m, FeatureMetric | ClassMetric)]
                continue
            except PluginError as error:
                if self.strict:
                    raise
                self.drop(reg, error)
                continue
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
                self.scored[name] = scored
        return results

    def drop(self, reg: Registration, error: PluginError) -> None:
        self.warn(f"warning: {error}; it is left out for the rest of this run")
        self._metrics = [(r, m) for r, m in self.metrics if r is not reg]

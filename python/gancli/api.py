"""The public API for plugin authors: everything a plugin imports comes from here.

``from gancli.api import hookimpl, Option, Loss`` — these names are a promise: they keep working when gancli's
internals move. Importing this module is cheap (no torch); the names backed by torch (``Loss``, ``Metric``,
``DataSource``, …) are imported on first use, so a plugin module that only registers factories by reference
(``register("name", "my_plugin.losses:build", …)``) keeps ``gancli --help`` fast. docs/plugins.md documents
each kind's contract.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from gancli.errors import GancliError, PluginError
from gancli.lazy import lazy_attributes
from gancli.nets.spec import (
    AUTOENCODER,
    AUX_CLASSIFIER,
    CONDITIONAL,
    MINIBATCH_STD,
    NO_BATCHNORM,
    REQUIREMENTS,
    ArchSpec,
    check_requirements,
    numel,
)
from gancli.plugins.hookspecs import hookimpl
from gancli.plugins.registry import Option, without_options

if TYPE_CHECKING:
    from gancli.data.base import (
        DataRequest,
        DataSource,
        ImageSource,
        KnownMixture,
        Labelled,
        LabelledImages,
        check_targets,
    )
    from gancli.diagnostics.base import Diagnostic, Finding
    from gancli.features.base import FeatureExtractor
    from gancli.features.space import FeatureSpace
    from gancli.losses.base import LogitLoss, Loss, gradient_norms
    from gancli.metrics.base import Metric, kl_from_uniform
    from gancli.metrics.feature import ClassMetric, FeatureMetric
    from gancli.nets.common import parameter_count
    from gancli.optim.rules import UpdateRule
    from gancli.plugins.manager import build
    from gancli.train.game import Game, total_norm
    from gancli.train.lifecycle import newest_run, open_run
    from gancli.train.rundir import RunDir

#: torch-backed names, imported on first access
LAZY = {
    "Loss": "gancli.losses.base:Loss",
    "LogitLoss": "gancli.losses.base:LogitLoss",
    "gradient_norms": "gancli.losses.base:gradient_norms",
    "UpdateRule": "gancli.optim.rules:UpdateRule",
    "Game": "gancli.train.game:Game",
    "total_norm": "gancli.train.game:total_norm",
    "parameter_count": "gancli.nets.common:parameter_count",
    "DataRequest": "gancli.data.base:DataRequest",
    "DataSource": "gancli.data.base:DataSource",
    "ImageSource": "gancli.data.base:ImageSource",
    "Labelled": "gancli.data.base:Labelled",
    "LabelledImages": "gancli.data.base:LabelledImages",
    "check_targets": "gancli.data.base:check_targets",
    "KnownMixture": "gancli.data.base:KnownMixture",
    "Metric": "gancli.metrics.base:Metric",
    "kl_from_uniform": "gancli.metrics.base:kl_from_uniform",
    "FeatureExtractor": "gancli.features.base:FeatureExtractor",
    "FeatureSpace": "gancli.features.space:FeatureSpace",
    "FeatureMetric": "gancli.metrics.feature:FeatureMetric",
    "ClassMetric": "gancli.metrics.feature:ClassMetric",
    "Diagnostic": "gancli.diagnostics.base:Diagnostic",
    "Finding": "gancli.diagnostics.base:Finding",
    "newest_run": "gancli.train.lifecycle:newest_run",
    "RunDir": "gancli.train.rundir:RunDir",
    "open_run": "gancli.train.lifecycle:open_run",
    "build": "gancli.plugins.manager:build",
}

__all__ = [
    "AUTOENCODER",
    "AUX_CLASSIFIER",
    "CONDITIONAL",
    "MINIBATCH_STD",
    "NO_BATCHNORM",
    "REQUIREMENTS",
    "ArchSpec",
    "ClassMetric",
    "DataRequest",
    "DataSource",
    "Diagnostic",
    "FeatureExtractor",
    "FeatureMetric",
    "FeatureSpace",
    "Finding",
    "Game",
    "GancliError",
    "ImageSource",
    "KnownMixture",
    "Labelled",
    "LabelledImages",
    "LogitLoss",
    "Loss",
    "Metric",
    "Option",
    "PluginError",
    "RunDir",
    "UpdateRule",
    "build",
    "check_requirements",
    "check_targets",
    "gradient_norms",
    "hookimpl",
    "kl_from_uniform",
    "newest_run",
    "numel",
    "open_run",
    "parameter_count",
    "total_norm",
    "without_options",
]

_lazy_getattr, _ = lazy_attributes(globals(), LAZY)


def __getattr__(name: str) -> object:
    return _lazy_getattr(name)


def __dir__() -> list[str]:
    return list(__all__)

"""What each kind's factory must return, checked where the object is created, so that a plugin's mistake is
reported with its name and package instead of surfacing later as an AttributeError deep in a training step.

The checks import torch and the base classes only when an object is created, never when plugins are listed.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from gancli.plugins.registry import Registration


def describe(obj: Any) -> str:
    if obj is None:
        return "None"
    if isinstance(obj, tuple | list):
        return f"a {type(obj).__name__} of {len(obj)}: ({', '.join(type(o).__name__ for o in obj)})"
    return f"a {type(obj).__module__}.{type(obj).__qualname__}"


def is_loss(obj: Any) -> bool:
    from gancli.losses.base import Loss

    return isinstance(obj, Loss)


def is_optimizer(obj: Any) -> bool:
    import torch

    return isinstance(obj, torch.optim.Optimizer)


def is_update_rule(obj: Any) -> bool:
    return callable(getattr(obj, "step", None))


def is_network_pair(obj: Any) -> bool:
    from torch import nn

    return isinstance(obj, tuple | list) and len(obj) == 2 and all(isinstance(o, nn.Module) for o in obj)


def is_data_source(obj: Any) -> bool:
    from gancli.data.base import DataSource

    return isinstance(obj, DataSource)


def is_metric(obj: Any) -> bool:
    from gancli.metrics.base import Metric
    from gancli.metrics.feature import FeatureMetric

    return isinstance(obj, Metric | FeatureMetric)


def is_feature_extractor(obj: Any) -> bool:
    from gancli.features.base import FeatureExtractor

    return isinstance(obj, FeatureExtractor)


def is_diagnostic(obj: Any) -> bool:
    from gancli.diagnostics.base import Diagnostic

    return isinstance(obj, Diagnostic)


#: kind → (the check, what the factory should have returned)
CONTRACTS: dict[str, tuple[Callable[[Any], bool], str]] = {
    "loss": (is_loss, "a gancli.api.Loss"),
    "optimizer": (is_optimizer, "a torch.optim.Optimizer"),
    "update": (is_update_rule, "an update rule, an object with a step(game) method"),
    "architecture": (is_network_pair, "a (generator, discriminator) pair of torch.nn.Module"),
    "dataset": (is_data_source, "a gancli.api.DataSource"),
    "metric": (is_metric, "a gancli.api.Metric or gancli.api.FeatureMetric"),
    "features": (is_feature_extractor, "a gancli.api.FeatureExtractor"),
    "diagnostic": (is_diagnostic, "a gancli.api.Diagnostic"),
}


def check_created(reg: Registration, created: Any) -> None:
    """Raise a PluginError naming ``reg``'s plugin when its factory returned the wrong kind of thing."""
    check, expected = CONTRACTS[reg.kind]
    if not check(created):
        raise reg.error(f"{reg.kind} {reg.name!r}: the factory returned {describe(created)}, expected {expected}")

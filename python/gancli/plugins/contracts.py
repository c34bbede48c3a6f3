"""What each kind's factory must return, checked where the object is created, so that a plugin's mistake is
reported with its name and package instead of surfacing later as an AttributeError deep in a training step.

Each family keeps its check beside its base class (``gancli.losses.base.is_loss``, …) and the checks a run makes
of its objects on a dry batch (``check_loss``, ``check_networks``, ``check_data``, the update rule's
``first_step``); here they are named by reference, imported when an object is created, so the plugin system
imports no family and listing plugins imports no torch.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from gancli.plugins.registry import Registration


def describe(obj: Any) -> str:
    """What ``obj`` is, for a message saying what a plugin returned."""
    if obj is None:
        return "None"
    if isinstance(obj, tuple | list):
        return f"a {type(obj).__name__} of {len(obj)}: ({', '.join(type(o).__name__ for o in obj)})"
    return f"a {type(obj).__module__}.{type(obj).__qualname__}"


#: kind → (its family's check, by reference; what the factory should have returned)
CONTRACTS: dict[str, tuple[str, str]] = {
    "loss": ("gancli.losses.base:is_loss", "a gancli.api.Loss"),
    "optimizer": ("gancli.optim.optimizers:is_optimizer", "a torch.optim.Optimizer"),
    "update": ("gancli.optim.rules:is_update_rule", "an update rule, an object with a step(game) method"),
    "architecture": ("gancli.nets.common:is_network_pair", "a (generator, discriminator) pair of torch.nn.Module"),
    "dataset": ("gancli.data.base:is_data_source", "a gancli.api.DataSource"),
    "metric": ("gancli.metrics.feature:is_metric", "a gancli.api.Metric, FeatureMetric or ClassMetric"),
    "features": ("gancli.features.base:is_feature_extractor", "a gancli.api.FeatureExtractor"),
    "diagnostic": ("gancli.diagnostics.base:is_diagnostic", "a gancli.api.Diagnostic"),
}


def check_created(reg: Registration, created: Any) -> None:
    """Raise a PluginError naming ``reg``'s plugin when its factory returned the wrong kind of thing."""
    from gancli.plugins.registry import import_reference

    reference, expected = CONTRACTS[reg.kind]
    if not import_reference(reference)(created):
        raise reg.error(f"{reg.kind} {reg.name!r}: the factory returned {describe(created)}, expected {expected}")

"""A plugin that imports fine but whose register_losses hook fails; its other hook works."""

from gancli.optim.optimizers import sgd
from gancli.plugins import Option, hookimpl


@hookimpl
def register_losses(register):
    raise RuntimeError("the loss table is corrupt")


@hookimpl
def register_optimizers(register):
    register("sgd-fixed", sgd, "SGD from a half-broken plugin", options=[Option("momentum", float, 0.9)])

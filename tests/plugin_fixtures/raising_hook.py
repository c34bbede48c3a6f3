"""A plugin that imports fine but whose register_losses hook fails after registering one loss; its other hook
works."""

from gancli.plugins import Option, hookimpl


@hookimpl
def register_losses(register):
    register("half-registered", "gancli.losses.classic:Hinge", "registered before the hook raised")
    raise RuntimeError("the loss table is corrupt")


@hookimpl
def register_optimizers(register):
    register(
        "sgd-fixed",
        "gancli.optim.optimizers:sgd",
        "SGD from a half-broken plugin",
        options=[Option("momentum", float, 0.9)],
    )

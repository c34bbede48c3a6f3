"""An option whose default does not have its declared type."""

from gancli.api import Option, hookimpl


@hookimpl
def register_losses(register):
    register("halfway", "gancli.losses.classic:Hinge", "a loss with a bad option", options=[Option("n", int, 0.5)])

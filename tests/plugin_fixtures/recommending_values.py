"""A loss that recommends a value outside the setting's range."""

from gancli.api import hookimpl


@hookimpl
def register_losses(register):
    register("keen", "gancli.losses.classic:Hinge", "recommends no steps at all", recommends={"steps": 0})

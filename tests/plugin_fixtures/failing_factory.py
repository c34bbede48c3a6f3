"""A plugin whose loss factory raises when a run creates it."""

from gancli.plugins import hookimpl


def explode(options):
    raise ValueError("cannot build this loss")


@hookimpl
def register_losses(register):
    register("exploding", explode, "a loss whose factory fails")

"""Registers the loss "twin" too, so that the name is claimed twice, then a loss of its own."""

from gancli.losses.classic import LeastSquares
from gancli.plugins import hookimpl, without_options


@hookimpl
def register_losses(register):
    register("twin", without_options(LeastSquares), "the second of two plugins claiming 'twin'")
    register("twin-b-only", without_options(LeastSquares), "registered after the clash: must survive it")

"""Registers the loss "twin"; twin_loss_b.py registers the same name."""

from gancli.losses.classic import Hinge
from gancli.plugins import hookimpl


@hookimpl
def register_losses(register):
    register("twin", lambda options: Hinge(), "the first of two plugins claiming 'twin'")

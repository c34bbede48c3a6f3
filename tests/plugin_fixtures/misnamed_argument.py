"""A hook whose argument is misnamed: pluggy refuses the whole plugin when it is registered."""

from gancli.api import hookimpl


@hookimpl
def register_losses(regster):
    regster("typo", "gancli.losses.classic:Hinge", "never registered")

"""A plugin whose hooks gancli can never call: one misspelled, one without @hookimpl."""

from gancli.api import hookimpl


@hookimpl
def register_loss(register):
    register("never-seen", "gancli.losses.classic:Hinge", "registered by a misspelled hook")


def register_metrics(register):
    register("never-seen-either", "gancli.metrics.modes:mode_coverage", "registered without @hookimpl")

"""A metric whose factory raises: a run must say so before it trains, and train without it."""

from gancli.api import hookimpl


def build(options):
    raise RuntimeError("needs a GPU to build")


@hookimpl
def register_metrics(register):
    register("unbuildable", build, "a metric that cannot be created")

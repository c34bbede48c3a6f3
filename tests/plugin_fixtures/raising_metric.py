"""A metric whose compute raises: a run must report it, drop it and go on training and checkpointing."""

from gancli.api import Metric, hookimpl


class Broken(Metric):
    samples_needed = 16

    def compute(self, samples, data):
        raise ZeroDivisionError("no samples in bin 3")


@hookimpl
def register_metrics(register):
    register("broken", lambda options: Broken(), "a metric with a bug")

"""A metric that reports a value under a name a built-in metric already uses."""

from gancli.api import Metric, hookimpl


class Shadow(Metric):
    samples_needed = 8

    def compute(self, samples, data):
        return {"modes_covered": -1}


@hookimpl
def register_metrics(register):
    register("shadow", lambda options: Shadow(), "reports modes_covered too")

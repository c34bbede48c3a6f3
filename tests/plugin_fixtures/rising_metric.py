"""A metric that rises once and then stays (1 at its first evaluation, 2 after): a run reaching its plateau within
a few steps, where real metrics would take thousands."""

from gancli.api import Metric, hookimpl


class RisesOnce(Metric):
    samples_needed = 16

    def __init__(self):
        self.calls = 0

    def compute(self, samples, data):
        self.calls += 1
        return {"score": 1.0 if self.calls == 1 else 2.0}


@hookimpl
def register_metrics(register):
    register("rises-once", lambda options: RisesOnce(), "1, then 2 for ever")

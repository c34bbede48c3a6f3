"""A metric that moves at every evaluation (the spread of the samples), for a plateau on runs too short to cover
any mode."""

from gancli.api import Metric, hookimpl


class Spread(Metric):
    samples_needed = 64

    def compute(self, samples, data):
        return {"spread": float(samples.std())}


@hookimpl
def register_metrics(register):
    register("spread", lambda options: Spread(), "the standard deviation of the samples")

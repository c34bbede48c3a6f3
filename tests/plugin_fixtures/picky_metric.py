"""A metric whose factory refuses an option value no range can say (an odd number of bins)."""

from gancli.api import Option, hookimpl


def build(options):
    if options["bins"] % 2:
        raise ValueError(f"bins must be even, got {options['bins']}")
    from gancli.metrics.modes import mode_coverage

    return mode_coverage({"samples": 100, "min_count": 1})


@hookimpl
def register_metrics(register):
    register("picky", build, "a metric with an even number of bins", options=[Option("bins", int, 10, "bins", min=2)])

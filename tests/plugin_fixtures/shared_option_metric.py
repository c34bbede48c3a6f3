"""A metric whose option shares its name with the built-in "modes" metric's, for ambiguous --set."""

from gancli.metrics.modes import mode_coverage
from gancli.plugins import Option, hookimpl


@hookimpl
def register_metrics(register):
    register(
        "coverage",
        mode_coverage,
        "modes, under another name",
        options=[
            Option("samples", int, 500, "generated samples to score"),
            Option("min_count", int, 5, "samples a mode needs"),
        ],
    )

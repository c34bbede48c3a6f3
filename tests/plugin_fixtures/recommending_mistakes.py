"""Losses whose recommendations a run cannot take: one recommends a kind already chosen, one a per-dataset
table of the wrong shape."""

from gancli.api import hookimpl


@hookimpl
def register_losses(register):
    register("recommends-data", "gancli.losses.classic:Hinge", "recommends the dataset", recommends={"data": "ring8"})
    register(
        "per-data-list",
        "gancli.losses.classic:Hinge",
        "recommends per dataset with a list",
        recommends={"per_dataset": ["ring8"]},
    )

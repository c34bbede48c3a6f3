"""An architecture that recommends run settings (some for grid25 only), and a loss chosen by a pattern
(``matches``): the rules for ``recommends`` and ``matches`` hold for every kind, not only datasets and losses."""

from gancli.api import hookimpl
from gancli.nets import MLP_OPTIONS


@hookimpl
def register_architectures(register):
    register(
        "mlp-wide",
        "gancli.nets.mlp:build",
        "the mlp, recommending a batch size and its own width",
        options=MLP_OPTIONS,
        recommends={
            "batch_size": 48,
            "options": {"mlp-wide": {"hidden": 40}},
            "per_dataset": {"grid25": {"batch_size": 24, "options": {"mlp-wide": {"layers": 2}}}},
        },
    )


@hookimpl
def register_losses(register):
    register(
        "hinge-any",
        "gancli.losses.classic:Hinge",
        "the hinge loss, chosen by any name that starts with hinge-",
        matches=lambda spec: spec.startswith("hinge-v"),
    )

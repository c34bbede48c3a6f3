"""A third-party gancli plugin for class-conditional runs: a labelled dataset and an architecture that takes the class.

- ``moons``: two interleaving half circles, each point labelled with its moon.
- ``moons-net``: G reads a learned class embedding beside z; D scores with a projection head.

gancli imports this module at every start-up, so it imports no torch: each factory is registered by its
``"module:attribute"`` reference and imported when a run first creates the object.
"""

from __future__ import annotations

from typing import Any

from gancli.api import Option, hookimpl


@hookimpl
def register_datasets(register: Any) -> None:
    register(
        "moons",
        "gancli_conditional.moons:open_moons",
        "two interleaving half circles, each point labelled with its moon (upper, lower)",
        options=[Option("noise", float, 0.05, "standard deviation of the noise on each point", min=0)],
        recommends={"arch": "moons-net", "latent_dim": 2, "minibatch_std": False, "ema": 0.0},
    )


@hookimpl
def register_architectures(register: Any) -> None:
    register(
        "moons-net",
        "gancli_conditional.network:build",
        "class-conditional MLP G (class embedding beside z) and D (projection head); conditional runs only",
        options=[Option("hidden", int, 64, "units per hidden layer", min=1)],
    )

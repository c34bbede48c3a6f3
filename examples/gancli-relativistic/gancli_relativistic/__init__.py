"""A third-party gancli plugin: one loss, one optimizer and one architecture, registered through the hooks.

- ``ragan``: the relativistic average GAN (Jolicoeur-Martineau 2018, "The relativistic discriminator:
  a key element missing from standard GAN").
- ``lookahead``: Adam wrapped in Lookahead (Zhang et al. 2019), which Chavdarova et al. (2021) found to
  damp the rotations of GAN training.
- ``resmlp``: a residual MLP generator and discriminator for 2-D data (and any flat data).

gancli imports this module at every start-up, so it imports no torch: each factory is registered by its
``"module:attribute"`` reference and imported when a run first creates the object.
"""

from __future__ import annotations

from typing import Any

from gancli.api import Option, hookimpl


@hookimpl
def register_losses(register: Any) -> None:
    register(
        "ragan",
        "gancli_relativistic.ragan:ragan",
        "relativistic average GAN (Jolicoeur-Martineau 2018)",
        recommends={"optimizer": "adam", "lr": 2e-4, "options": {"adam": {"beta1": 0.5}}},
    )


@hookimpl
def register_optimizers(register: Any) -> None:
    register(
        "lookahead",
        "gancli_relativistic.lookahead:lookahead",
        "Adam inside Lookahead: k fast steps, then one slow step (Zhang et al. 2019)",
        options=[
            Option("k", int, 5, "fast steps between synchronisations"),
            Option("alpha", float, 0.5, "how far the slow weights move towards the fast ones"),
            Option("beta1", float, 0.5, "Adam's first-moment decay"),
            Option("beta2", float, 0.999, "Adam's second-moment decay"),
        ],
    )


@hookimpl
def register_architectures(register: Any) -> None:
    register(
        "resmlp",
        "gancli_relativistic.resmlp:resmlp",
        "residual MLP G and D (LeakyReLU, no normalisation); for 2-D data",
        options=[
            Option("hidden", int, 128, "units per layer"),
            Option("blocks", int, 2, "residual blocks in each network"),
        ],
    )

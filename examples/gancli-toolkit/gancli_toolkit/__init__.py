"""A third-party gancli plugin covering the hooks gancli-relativistic leaves out: a dataset, a metric, an update
rule and a command.

This module is what gancli imports at every start-up, ``gancli --help`` included, so it imports nothing heavy:
each factory is registered by its ``"module:attribute"`` reference and imported, with torch, only when a run
creates the object. The command is added here too, but its module imports torch inside the command.
"""

from __future__ import annotations

from typing import Any

from gancli.api import Option, hookimpl

#: what a plain `gancli train --data swissroll` runs: the 2-D toy settings of the built-in ring8, which fit
#: this manifold too (a 3×128 MLP, a 2-D latent, Adam at 1e-3, large batches, the generator's moving average)
SWISSROLL_RUN: dict[str, Any] = {
    "arch": "mlp",
    "batch_size": 256,
    "latent_dim": 2,
    "lr": 1e-3,
    "ema": 0.99,
    "steps": 3000,
    "options": {"mlp": {"hidden": 128, "layers": 3}},
}


@hookimpl
def register_datasets(register: Any) -> None:
    register(
        "swissroll",
        "gancli_toolkit.swissroll:open_swissroll",
        "2-D swiss roll, a continuous spiral manifold (the WGAN-GP toy set, Gulrajani et al. 2017)",
        options=[
            Option("points", int, 10_000, "size of the training set"),
            Option("noise", float, 0.25, "standard deviation of the Gaussian noise, before scaling by 1/7.5"),
        ],
        recommends=SWISSROLL_RUN,
    )


@hookimpl
def register_metrics(register: Any) -> None:
    register(
        "energy",
        "gancli_toolkit.energy:energy_metric",
        "energy distance between samples and the training data (Székely & Rizzo 2013); 2-D and other point data",
        options=[Option("samples", int, 2000, "generated samples, and as many data points, to compare")],
    )


@hookimpl
def register_update_rules(register: Any) -> None:
    register(
        "optimistic",
        "gancli_toolkit.optimism:optimistic",
        "optimistic gradient descent-ascent: step along 2·g_t − g_(t−1) (Daskalakis et al. 2018)",
        options=[Option("optimism", float, 1.0, "β in g_t + β(g_t − g_(t−1)); 0 is simultaneous descent")],
    )


@hookimpl
def register_commands(app: Any) -> None:
    from gancli_toolkit.commands import energy_curve

    app.command("energy-curve")(energy_curve)

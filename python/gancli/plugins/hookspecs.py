"""The hooks a gancli plugin implements.

Every hook but ``register_commands`` receives one argument, ``register``: a function the plugin calls once
for each thing it adds::

    register(name, factory, description="one line", options=[Option("clip", float, 0.01, "...")])

Built-in plugins use exactly these hooks; a third-party package exposes its module under the ``gancli``
entry-point group and is discovered the same way.
"""

from __future__ import annotations

from typing import Any

import pluggy

hookspec = pluggy.HookspecMarker("gancli")
hookimpl = pluggy.HookimplMarker("gancli")


@hookspec
def register_losses(register: Any) -> None:
    """Called once at start-up to collect GAN losses.

    ``factory(options) -> gancli.losses.Loss``: ``options`` maps each declared option to its resolved value.
    """


@hookspec
def register_optimizers(register: Any) -> None:
    """Called once at start-up to collect per-player optimizers.

    ``factory(params, lr, options) -> torch.optim.Optimizer`` for one player's parameters.
    """


@hookspec
def register_update_rules(register: Any) -> None:
    """Called once at start-up to collect update rules (how the two players' steps are combined).

    ``factory(options) -> gancli.train.UpdateRule``; its ``step(game)`` performs one generator update and
    the discriminator updates that go with it, using ``gancli.train.Game``.
    """


@hookspec
def register_architectures(register: Any) -> None:
    """Called once at start-up to collect architectures.

    ``factory(spec: gancli.nets.ArchSpec, options) -> (generator, discriminator)``, two ``torch.nn.Module``:
    G maps (B, latent_dim) to (B, *data_shape); D maps (B, *spec.d_input_shape) to (B,) scores.
    """


@hookspec
def register_datasets(register: Any) -> None:
    """Called once at start-up to collect datasets.

    ``factory(spec: str, request: gancli.data.DataRequest, options) -> gancli.data.DataSource``. A dataset
    that opens paths also passes ``matches=callable(spec) -> bool`` to ``register``.
    """


@hookspec
def register_metrics(register: Any) -> None:
    """Called once at start-up to collect evaluation metrics.

    ``factory(options) -> gancli.metrics.Metric`` whose ``compute(samples, data)`` returns ``{name: value}``.
    """


@hookspec
def register_feature_extractors(register: Any) -> None:
    """Called once at start-up to collect feature extractors: the spaces image metrics compare samples in.

    ``factory(spec, options) -> gancli.features.FeatureExtractor``; ``spec`` is what the user typed after
    ``--features`` (an extractor that loads a file passes ``matches=callable(spec) -> bool``, like datasets).
    """


@hookspec
def register_diagnostics(register: Any) -> None:
    """Called once at start-up to collect live diagnostics: watchers that name a pitfall while a run trains.

    ``factory(options) -> gancli.diagnostics.Diagnostic``.
    """


@hookspec
def register_commands(app: Any) -> None:
    """Called when the CLI is built: add Typer commands to ``app``."""

"""A plugin whose factories return the wrong kind of thing, one per kind: each must be refused where it is
created, naming the plugin, instead of failing later inside a training step."""

import numpy as np
from gancli.api import hookimpl
from torch import nn


@hookimpl
def register_losses(register):
    register("returns-none", lambda options: None, "a loss factory that forgot its return")


@hookimpl
def register_optimizers(register):
    register("returns-dict", lambda params, lr, options: {"lr": lr}, "an optimizer factory returning its settings")


@hookimpl
def register_update_rules(register):
    register("returns-no-step", lambda options: object(), "an update rule without step()")


@hookimpl
def register_architectures(register):
    register("returns-one", lambda spec, options: nn.Linear(2, 2), "an architecture returning one network")


@hookimpl
def register_datasets(register):
    register("returns-array", lambda spec, request, options: np.zeros((8, 2)), "a dataset returning a bare array")


@hookimpl
def register_metrics(register):
    register("returns-number", lambda options: 0.5, "a metric factory returning a value")


@hookimpl
def register_feature_extractors(register):
    register("returns-network", lambda spec, options: nn.Linear(2, 2), "an extractor returning a bare network")

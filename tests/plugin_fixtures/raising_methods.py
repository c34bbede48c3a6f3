"""Plugin objects whose methods fail while a run uses them, one per kind a run trains with, and objects that break
their kind's contract: each failure must be one line naming this plugin, its package and the method, never an
internal error. ``at`` (where a kind has it) is the call that raises, counting the dry batch gancli checks a run's
objects on when it builds them."""

import itertools

import numpy as np
import torch
from gancli.api import DataSource, Labelled, Loss, Option, hookimpl
from torch import nn

AT = [Option("at", int, 1, "the call that raises", min=1)]


class Counted:
    """Raises at the ``at``-th call of ``fail_when_due``."""

    def __init__(self, at: int) -> None:
        self.at, self.calls = at, itertools.count(1)

    def fail_when_due(self, what: str) -> None:
        if next(self.calls) == self.at:
            raise RuntimeError(f"{what} gave up")


class LateLoss(Loss, Counted):
    def d_loss(self, d_real, d_fake):
        self.fail_when_due("the critic")
        return torch.nn.functional.softplus(-d_real).mean() + torch.nn.functional.softplus(d_fake).mean()

    def g_loss(self, d_fake, d_real):
        return torch.nn.functional.softplus(-d_fake).mean()


class ScaledLoss(Loss):
    """Registered as its own factory: its ``scale`` receives the options dict."""

    def __init__(self, scale=1.0):
        self.scale = scale

    def d_loss(self, d_real, d_fake):
        return self.scale * (d_fake - d_real).mean()

    def g_loss(self, d_fake, d_real):
        return -self.scale * d_fake.mean()


class VectorLoss(Loss):
    def d_loss(self, d_real, d_fake):
        return d_fake - d_real  # forgot the mean

    def g_loss(self, d_fake, d_real):
        return -d_fake.mean()


class LateRule(Counted):
    def step(self, game):
        self.fail_when_due("the rule")
        real, z = game.sample_real(), game.sample_latent()
        game.zero_grad()
        game.d_loss(real, game.generate(z).detach()).backward()
        game.step_d()
        game.zero_grad()
        game.g_loss(game.generate(z), real, z).backward()
        game.step_g()


class OnlyD:
    """Trains D and forgets G."""

    def step(self, game):
        real = game.sample_real()
        game.zero_grad()
        game.d_loss(real, game.generate().detach()).backward()
        game.step_d()


class Generator(nn.Module):
    def __init__(self, latent_dim, shape, fail_at_batch):
        super().__init__()
        self.shape, self.fail_at_batch = shape, fail_at_batch
        self.net = nn.Linear(latent_dim, int(np.prod(shape)))

    def forward(self, z):
        if z.shape[0] == self.fail_at_batch:
            raise ValueError(f"cannot draw {z.shape[0]} samples at once")
        return torch.tanh(self.net(z)).reshape(-1, *self.shape)


def networks(spec, options):
    critic = nn.Sequential(nn.Flatten(), nn.Linear(int(np.prod(spec.d_input_shape)), 1))
    return Generator(spec.latent_dim, spec.data_shape, options["fail_at_batch"]), critic


class LateData(DataSource, Counted):
    name, shape = "late-data", (2,)

    def __len__(self):
        return 100

    def batch(self, size, rng):
        self.fail_when_due("the data")
        return torch.from_numpy(rng.normal(size=(size, 2)).astype(np.float32))


class TwoChannels(DataSource):
    name, shape, is_image = "two-channels", (2, 8, 8), True

    def __len__(self):
        return 100

    def batch(self, size, rng):
        return torch.from_numpy(rng.uniform(-1, 1, size=(size, 2, 8, 8)).astype(np.float32))


class Misfactored(DataSource):
    """Four classes of points declared as factors of 3 and 2, whose product is 6."""

    name, shape, classes, class_factors = "misfactored", (2,), ("a", "b", "c", "d"), (3, 2)

    def __len__(self):
        return 100

    def batch(self, size, rng):
        return torch.from_numpy(rng.normal(size=(size, 2)).astype(np.float32))

    def labelled_batch(self, size, rng):
        return Labelled(self.batch(size, rng), torch.from_numpy(rng.integers(0, 4, size=size)))


@hookimpl
def register_losses(register):
    register("late-loss", lambda options: LateLoss(options["at"]), "d_loss raises at call AT", options=AT)
    register("scaled-class", ScaledLoss, "a loss class given as its own factory")
    register("vector-loss", lambda options: VectorLoss(), "d_loss returns one value per sample")


@hookimpl
def register_update_rules(register):
    register("late-rule", lambda options: LateRule(options["at"]), "step raises at call AT", options=AT)
    register("only-d", lambda options: OnlyD(), "never steps G")


@hookimpl
def register_architectures(register):
    fail = Option("fail_at_batch", int, 0, "G raises on batches of this size (0: never)", min=0)
    register("fragile", networks, "G raises on batches of one size", options=[fail])


@hookimpl
def register_datasets(register):
    register("late-data", lambda spec, request, options: LateData(options["at"]), "batch raises at call AT", options=AT)
    register("two-channels", lambda spec, request, options: TwoChannels(), "images of 2 channels")
    register("misfactored", lambda spec, request, options: Misfactored(), "class factors that miss its classes")

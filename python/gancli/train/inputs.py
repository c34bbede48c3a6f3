"""What the Game draws each step, real batches and latents, on their way from the host to the training device.

Every rank draws the same global batch from the run's numpy generator and keeps its own shard: disjoint data for
each rank, and the very batches a single process would train on. Images drawn as ``ImageSource`` draws them
travel as stored, uint8 (augmented by the native kernels on the host, or gathered and augmented on the device
when held there: resident.py), and become floats in [-1, 1] in the networks' memory layout on the device: the
host pins and copies a quarter of the bytes of floats and makes no float pass of its own. Other datasets hand
out floats, which travel as they are. On CUDA the host's batches come from pinned memory, so the copy runs while
the step goes on, and ``--prefetch`` draws them ahead in a background thread (prefetch.py).

Latents (noise, and in a conditional run the classes the fakes ask for) are drawn on the host from the run's
latent generator, so a run draws the same ones on every device, and reach a GPU through pinned memory too: a
copy from pageable memory makes the host wait until the GPU has run everything queued before it, which twice a
step kept the host from running ahead of the GPU.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch

from gancli.config import RunConfig
from gancli.data.base import DataSource, ImageSource, Labelled, draws_as_stored, signed
from gancli.train.distributed import Ranks
from gancli.train.game import Batch
from gancli.train.prefetch import Prefetcher
from gancli.train.resident import ResidentImages, hold_on_device, to_device


class RealBatches:
    """``sample_real`` of the run's Game: each call the next real batch, on the device, ready for D.

    ``draw`` is the host's share of the work (what ``loader``, the --prefetch thread, runs); ``deliver`` the
    device's (the copy, and for stored images their conversion to floats)."""

    def __init__(
        self,
        data: DataSource,
        config: RunConfig,
        device: torch.device,
        rng: np.random.Generator,
        ranks: Ranks,
        memory: torch.memory_format,
        labelled: bool,
    ) -> None:
        self.device, self.memory, self.labelled = device, memory, labelled
        self.batch_size, self.ranks, self.rng = config.batch_size, ranks, rng
        self.data = data
        resident = hold_on_device(data, device, config.data_on_device)
        #: the images drawn as stored (uint8), on the host or held on the device; None for data drawn as floats
        self.images: ImageSource | ResidentImages | None = (resident or data) if draws_as_stored(data) else None
        #: whether the host's batches are pinned for an asynchronous copy (not for a batch already on the device)
        self.pinned = device.type == "cuda" and resident is None
        prefetch = config.prefetch if config.prefetch is not None else self.pinned
        self.loader = Prefetcher(self.draw, rng) if prefetch and resident is None else None

    def draw(self) -> Batch:
        """This rank's shard of the next global batch where the data holds it (uint8 images as stored), pinned on
        CUDA."""
        if self.images is not None and self.labelled:
            batch = self.images.stored_labelled_batch(self.batch_size, self.rng)
        elif self.images is not None:
            batch = self.images.stored_batch(self.batch_size, self.rng)
        elif self.labelled:
            batch = self.data.labelled_batch(self.batch_size, self.rng)
        else:
            batch = self.data.batch(self.batch_size, self.rng)
        return map_batch(batch, self.pinned_shard)

    def pinned_shard(self, tensor: torch.Tensor) -> torch.Tensor:
        """This rank's shard of a global batch's tensor, pinned on CUDA."""
        tensor = self.ranks.shard(tensor)
        return tensor.pin_memory() if self.pinned else tensor

    def deliver(self, batch: Batch) -> Batch:
        """A drawn batch on the device: images as floats in [-1, 1] in the networks' layout; classes as they are."""
        moved = map_batch(batch, lambda t: t.to(self.device, non_blocking=self.pinned))
        samples, classes = (moved.x, moved.y) if isinstance(moved, Labelled) else (moved, None)
        if self.images is not None:
            samples = signed(samples)
        if samples.dim() == 4:
            samples = samples.contiguous(memory_format=self.memory)
        return samples if classes is None else Labelled(samples, classes)

    def __call__(self) -> Batch:
        return self.deliver((self.loader or self.draw)())


def map_batch(batch: Batch, fn: Callable[[torch.Tensor], torch.Tensor]) -> Batch:
    """``fn`` applied to a batch's samples and, for a labelled batch, to its classes."""
    return Labelled(fn(batch.x), fn(batch.y)) if isinstance(batch, Labelled) else fn(batch)


class Latents:
    """``sample_latent`` of the run's Game: this rank's shard of the next global batch of noise and, in a
    conditional run (``classes`` > 0), the classes its fakes ask for, on the device."""

    def __init__(
        self,
        config: RunConfig,
        data: DataSource,
        device: torch.device,
        generator: torch.Generator,
        ranks: Ranks,
        classes: int,
    ) -> None:
        self.batch_size, self.latent_dim, self.classes = config.batch_size, config.latent_dim, classes
        self.device, self.generator, self.ranks = device, generator, ranks
        self.drawn = real_batch_labels(config, data) if classes else None

    def __call__(self) -> Batch:
        latents: Batch = torch.randn(self.batch_size, self.latent_dim, generator=self.generator)
        if self.classes:  # fakes ask for the classes as often as the real batches hold them
            latents = Labelled(latents, fake_classes(self.drawn, self.classes, self.batch_size, self.generator))
        return map_batch(latents, lambda t: to_device(self.ranks.shard(t), self.device))


def real_batch_labels(config: RunConfig, data: DataSource) -> torch.Tensor | None:
    """The labels a conditional run's real batches draw from alike, its training images': its fakes draw their
    classes so too, and D cannot tell a fake by its class being rarer or commoner than among real images (with
    every class alike, the icons' actions class, 43 % of the images and a tenth of the fakes, was drawn at 5-8×
    its real FD floor, against 1.4-1.9×). None, every class alike, under --balance-classes, whose batches draw
    so, and for data that draws its own labelled batches."""
    targets = getattr(data, "targets", None)
    if config.balance_classes or not isinstance(data, ImageSource) or targets is None:
        return None
    return torch.from_numpy(targets[data.training_indices])


def fake_classes(drawn: torch.Tensor | None, classes: int, count: int, generator: torch.Generator) -> torch.Tensor:
    """``count`` classes for fakes to ask for: entries of ``drawn`` (``real_batch_labels``) alike, or every one of
    ``classes`` alike where it is None."""
    if drawn is None:
        return torch.randint(classes, (count,), generator=generator)
    return drawn[torch.randint(len(drawn), (count,), generator=generator)]

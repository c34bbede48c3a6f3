"""Image data held on the training device: uploaded once as uint8, each batch gathered there.

On a GPU the host path decodes nothing per step but still gathers a batch, pins it and copies it; for a dataset
that fits, the device does the gather itself and the host only draws the indices. The indices come from the run's
numpy generator exactly as ``ImageSource.stored_batch`` draws them, so a run sees the very batches of the host path
(and a resumed run continues them). ``--augment`` runs on the device too (train/device_augment.py: the kernels'
transforms and ranges, other random draws).
"""

from __future__ import annotations

import numpy as np
import torch

from gancli.data.base import DataSource, ImageSource, Labelled, draws_as_stored
from gancli.errors import GancliError
from gancli.train.device_augment import augment_on_device

#: the share of the device's free memory a dataset may take to be held there by default
SHARE_OF_FREE_MEMORY = 0.25


class ResidentImages:
    """An ``ImageSource``'s images on ``device``, drawn as the source's ``stored_batch`` and
    ``stored_labelled_batch`` draw them: uint8 device tensors (train/inputs.py turns them into floats)."""

    def __init__(self, source: ImageSource, device: torch.device) -> None:
        self.source = source
        self.images = torch.from_numpy(np.ascontiguousarray(source.images)).to(device)
        targets = source.targets
        self.targets = None if targets is None else torch.from_numpy(targets).to(device)

    def stored_batch(self, size: int, rng: np.random.Generator) -> torch.Tensor:
        return self.augmented(self.indices(size, rng), rng)

    def stored_labelled_batch(self, size: int, rng: np.random.Generator) -> Labelled:
        index = self.indices(size, rng)
        assert self.targets is not None, "hold_on_device holds labelled images with their targets"
        return Labelled(self.augmented(index, rng), self.targets[index])

    def indices(self, size: int, rng: np.random.Generator) -> torch.Tensor:
        return to_device(torch.from_numpy(self.source.draw_indices(size, rng)), self.images.device)

    def augmented(self, index: torch.Tensor, rng: np.random.Generator) -> torch.Tensor:
        images = self.images[index]
        if self.source.augment:  # its seed drawn after the indices, as the host path draws the kernels'
            images = augment_on_device(images, self.source.augment, int(rng.integers(0, 2**63 - 1)))
        return images


def to_device(tensor: torch.Tensor, device: torch.device) -> torch.Tensor:
    """A host tensor on ``device``, without the host waiting for a GPU: on CUDA a copy from pinned memory, queued
    in the stream's order (from pageable memory torch's copy waits for all the GPU's queued work: bench_gpu.py's
    sync check found it in the indices of held images)."""
    if device.type != "cuda":
        return tensor.to(device)
    return tensor.pin_memory().to(device, non_blocking=True)


def hold_on_device(data: DataSource, device: torch.device, requested: bool | None) -> ResidentImages | None:
    """The data to draw on ``device``, or None for the host path: ``--data-on-device`` asks for it (refused,
    naming the reason, where it cannot be); by default on CUDA when the images take at most a quarter of the
    device's free memory."""
    if requested is False:
        return None
    # a dataset drawing or labelling its images its own way draws them on the host
    if not draws_as_stored(data):
        if requested:
            if not isinstance(data, ImageSource):
                reason = f"dataset {data.name!r} is not held as an image array"
            else:
                reason = f"dataset {data.name!r} draws or labels its images its own way, on the host"
            raise GancliError(f"--data-on-device: {reason}; leave it out")
        return None
    assert isinstance(data, ImageSource)
    if requested is None and (
        device.type != "cuda" or data.images.nbytes > SHARE_OF_FREE_MEMORY * torch.cuda.mem_get_info(device)[0]
    ):
        return None
    return ResidentImages(data, device)

"""``random-cnn``: a convolutional network with fixed random weights, the feature space for any images.

Where no network trained on the data's domain is at hand, random embeddings still separate real from generated
images and rank generators consistently with trained ones (Naeem et al. 2020, "Reliable Fidelity and Diversity
Metrics for Generative Models", §4.3). The weights depend only on the seed and the images' channel count, so
two runs on the same kind of data are compared in the same space. Images larger than 128 px are resized first.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from gancli.features.base import FeatureExtractor

MAX_SIDE = 128
WIDTHS = (64, 128, 256, 512)


def random_net(channels: int, seed: int) -> nn.Module:
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        layers: list[nn.Module] = []
        for width in WIDTHS:
            layers += [nn.Conv2d(channels, width, 3, stride=2, padding=1), nn.LeakyReLU(0.2)]
            channels = width
        return nn.Sequential(*layers, nn.AdaptiveAvgPool2d(1), nn.Flatten()).eval()


class RandomCNN(FeatureExtractor):
    def __init__(self, seed: int) -> None:
        self.seed = seed
        self.nets: dict[int, nn.Module] = {}

    @torch.no_grad()
    def embed(self, images: torch.Tensor) -> torch.Tensor:
        channels = images.shape[1]
        net = self.nets.get(channels) or self.nets.setdefault(channels, random_net(channels, self.seed))
        images = images.float()
        if max(images.shape[-2:]) > MAX_SIDE:
            images = F.interpolate(images, size=(MAX_SIDE, MAX_SIDE), mode="bilinear", antialias=True)
        return torch.cat([net(chunk) for chunk in images.split(256)])


def random_cnn(spec: str, options: Mapping[str, Any]) -> FeatureExtractor:
    return RandomCNN(options["seed"])

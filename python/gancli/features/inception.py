"""``inception:PATH``: the Inception-v3 pool features of FID, from a weights file the user already has.

The network is torch-fidelity's (the port of TensorFlow's FID Inception that pytorch-fid and torchmetrics use),
given ``PATH`` (e.g. ``weights-inception-2015-12-05-6726825d.pth``), so gancli downloads nothing. The file is
first read with ``torch.load(weights_only=True)``: a file holding anything but tensors is refused before
torch-fidelity unpickles it. Gray images are repeated in R, G and B; torch-fidelity resizes to 299×299.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch

from gancli.errors import GancliError
from gancli.features.base import FeatureExtractor

FEATURES = "2048"


class Inception(FeatureExtractor):
    def __init__(self, network: torch.nn.Module) -> None:
        self.network = network

    @torch.no_grad()
    def embed(self, images: torch.Tensor) -> torch.Tensor:
        if images.shape[1] == 1:
            images = images.expand(-1, 3, -1, -1)
        if images.shape[1] != 3:
            raise ValueError(f"Inception takes gray or RGB images, not {images.shape[1]} channels")
        pixels = images.float().add(1.0).mul(127.5).round().clamp(0, 255).to(torch.uint8)
        return torch.cat([self.network(chunk)[0] for chunk in pixels.split(64)])


def inception(spec: str, options: Mapping[str, Any]) -> FeatureExtractor:
    path = Path(spec.removeprefix("inception:")).expanduser()
    if not path.is_file():
        raise GancliError(f"--features {spec}: no such weights file")
    try:
        torch.load(path, weights_only=True, map_location="cpu")
    except Exception as exc:
        raise GancliError(f"--features {spec}: not a file of tensors ({type(exc).__name__}: {exc})") from None
    try:
        from torch_fidelity.feature_extractor_inceptionv3 import FeatureExtractorInceptionV3
    except ImportError:
        raise GancliError(
            f"--features {spec}: the Inception network comes from torch-fidelity: pip install 'gancli[inception]'"
        ) from None
    try:
        network = FeatureExtractorInceptionV3("inception-v3-compat", [FEATURES], feature_extractor_weights_path=path)
    except Exception as exc:
        raise GancliError(f"--features {spec}: not the FID Inception's weights ({type(exc).__name__})") from None
    return Inception(network)

"""``digits-cnn``: a small digit classifier whose penultimate layer is the feature space for digit images.

Trained once, deterministically, on 4,000 of the 5,000 packaged MNIST digits (a fixed split; about half a
minute on two CPU cores) and cached in ``$GANCLI_CACHE/models`` (default ``~/.cache/gancli/models``) under a key made of
this module's code and the digits, with a checksum verified on load: a damaged or stale entry is trained
again. The 1,000 digits it never saw are where the real floor comes from when a run trains on those digits.
Each channel of an image is judged on its own (stacked digits put one digit per channel), resized to 32×32.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import inspect
import json
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from gancli import kernels
from gancli.data.base import DataSource
from gancli.data.digits import Digits, load_mnist
from gancli.features.base import FeatureExtractor
from gancli.io import atomic_write_bytes, cache_dir, parse_document

SIDE = 32
FEATURES = 128
UNSEEN = 1000  # digits held out of training, the real floor's share
BATCH = 64


class DigitNet(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(1, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),  # 16×16
            nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),  # 8×8
            nn.Conv2d(64, 128, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),  # 4×4
            nn.Flatten(), nn.Linear(128 * 16, FEATURES), nn.ReLU(),
        )  # fmt: skip
        self.head = nn.Linear(FEATURES, 10)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.head(self.body(images))


def split() -> tuple[np.ndarray, np.ndarray]:
    """(trained-on, unseen) indices of the 5,000 MNIST digits: a fixed permutation, the same everywhere."""
    order = np.random.default_rng(0).permutation(5000)
    return np.sort(order[UNSEEN:]), np.sort(order[:UNSEEN])


def as_input(images: torch.Tensor) -> torch.Tensor:
    """(N, C, H, W) in [-1, 1] → (N·C, 1, 32, 32): each channel a digit of its own."""
    n, c, h, w = images.shape
    flat = images.float().reshape(n * c, 1, h, w)
    if (h, w) != (SIDE, SIDE):
        flat = F.interpolate(flat, size=(SIDE, SIDE), mode="bilinear", antialias=True, align_corners=False)
    return flat


def train_net(images: np.ndarray, labels: np.ndarray, epochs: int) -> DigitNet:
    """Adam on the digits with ±2-pixel random shifts, from fixed seeds: the same net for the same input."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        net = DigitNet()
        rng = np.random.default_rng(0)
        x = torch.from_numpy(images).float().div(127.5).sub(1.0)
        y = torch.from_numpy(labels)
        optimizer = torch.optim.Adam(net.parameters(), lr=1e-3, weight_decay=1e-4)
        padded = F.pad(x, (2, 2, 2, 2), value=-1.0)
        with torch.enable_grad():
            for _ in range(epochs):
                for batch in np.array_split(rng.permutation(len(x)), len(x) // BATCH):
                    dy, dx = rng.integers(0, 5, size=2)
                    shifted = padded[batch, :, dy : dy + SIDE, dx : dx + SIDE]
                    optimizer.zero_grad()
                    F.cross_entropy(net(shifted), y[batch]).backward()
                    optimizer.step()
    return net.eval()


def mnist_at_side() -> tuple[np.ndarray, np.ndarray]:
    images, labels = load_mnist()
    return kernels.resize_images(images, SIDE, 1), labels


def cache_key(images: np.ndarray, labels: np.ndarray, epochs: int) -> str:
    digest = hashlib.sha256(inspect.getsource(sys.modules[__name__]).encode())
    digest.update(images.tobytes())
    digest.update(labels.tobytes())
    digest.update(f"{epochs}".encode())
    return digest.hexdigest()[:16]


@contextlib.contextmanager
def locked(path: Path) -> Iterator[None]:
    """Hold ``path``.lock, so that two processes needing the net train it once between them."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.with_suffix(".lock"), "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def checksums(tensors: Mapping[str, torch.Tensor]) -> dict[str, str]:
    return {name: f"{kernels.checksum(t.numpy().tobytes()):016x}" for name, t in tensors.items()}


def load_cached(path: Path) -> DigitNet | None:
    """The cached net, or None if there is none or it does not match its checksums (read in one pass)."""
    from safetensors.torch import load

    try:
        data = path.read_bytes()
    except OSError:
        return None
    try:
        header = parse_document(data[8 : 8 + int.from_bytes(data[:8], "little")])  # safetensors: length, header
        tensors = load(data)
        if checksums(tensors) != parse_document(header["__metadata__"]["checksums"]):
            return None
        net = DigitNet()
        net.load_state_dict(tensors)
    except Exception:  # a damaged entry is trained again, never trusted
        return None
    return net.eval()


def store(net: DigitNet, path: Path) -> None:
    """Cache the net (atomically, checksummed); caching is only a speed-up, so failing to is a warning."""
    from safetensors.torch import save

    tensors = {k: v.contiguous() for k, v in net.state_dict().items()}
    try:
        atomic_write_bytes(path, save(tensors, metadata={"checksums": json.dumps(checksums(tensors))}))
    except OSError as exc:
        print(f"warning: cannot cache digits-cnn in {path.parent}: {exc}", file=sys.stderr)


class DigitsCNN(FeatureExtractor):
    def __init__(self, net: DigitNet) -> None:
        self.net = net

    @torch.no_grad()
    def embed(self, images: torch.Tensor) -> torch.Tensor:
        n = len(images)
        return torch.cat([self.net.body(chunk) for chunk in as_input(images).split(1024)]).reshape(n, -1)

    @torch.no_grad()
    def classify(self, images: torch.Tensor) -> torch.Tensor:
        n, c = images.shape[:2]
        logits = torch.cat([self.net(chunk) for chunk in as_input(images).split(1024)])
        return logits.softmax(dim=1).reshape(n, c, -1)

    def unseen(self, data: DataSource) -> np.ndarray | None:
        if isinstance(data, Digits) and data.source == "mnist":
            return split()[1]
        return None


def digits_cnn(spec: str, options: Mapping[str, Any]) -> FeatureExtractor:
    images, labels = mnist_at_side()
    seen = split()[0]
    path = cache_dir() / "models" / f"digits-cnn-{cache_key(images, labels, options['epochs'])}.safetensors"
    with locked(path):
        net = load_cached(path)
        if net is None:
            print(f"training the digits-cnn feature extractor once (cached in {path.parent})", file=sys.stderr)
            net = train_net(images[seen], labels[seen], options["epochs"])
            store(net, path)
    return DigitsCNN(net)

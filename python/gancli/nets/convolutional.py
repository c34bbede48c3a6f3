"""What the convolutional architectures (``dcgan``, ``resnet``) share: which image sizes they accept and
how wide each resolution is."""

from __future__ import annotations

from gancli.errors import GancliError
from gancli.nets.common import ArchSpec

SMALLEST_SIZE = 16
LARGEST_SIZE = 256
#: widths double each time the resolution halves, up to this multiple of the base width (the seed DCGAN's
#: 64×64 widths: ngf·8 at 4×4)
WIDEST = 8


def image_levels(arch: str, spec: ArchSpec) -> int:
    """How many times the spec's images halve down to 4×4; refuses what the architecture cannot build."""
    if not spec.is_image:
        raise GancliError(
            f"architecture {arch!r} needs image data (C, H, W), got samples of shape {spec.data_shape}; "
            "use --arch mlp for points"
        )
    _, height, width = spec.data_shape
    if height != width or not SMALLEST_SIZE <= height <= LARGEST_SIZE or height & (height - 1):
        raise GancliError(
            f"architecture {arch!r} needs square images whose side is a power of two from {SMALLEST_SIZE} "
            f"to {LARGEST_SIZE}, got {height}×{width}; pass --image-size 32 (or 16, 64, 128, 256)"
        )
    return height.bit_length() - 3


def level_widths(base: int, levels: int) -> list[int]:
    """Channels at each resolution from the largest down to 4×4: ``base`` doubling per halving, at most
    ``WIDEST``·``base``."""
    return [base * min(2**level, WIDEST) for level in range(levels)]

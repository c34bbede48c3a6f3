"""What the convolutional architectures (``dcgan``, ``resnet``) share: which image sizes they accept and
how wide each resolution is."""

from __future__ import annotations

from gancli.errors import GancliError
from gancli.nets.common import ArchSpec

SMALLEST_SIZE = 16
LARGEST_SIZE = 256
#: the side G starts from and D ends at: 4×4 for sides that are powers of two, 3×3 for three times one
CORNERS = (4, 3)
#: widths double each time the resolution halves, up to this multiple of the base width (the seed DCGAN's
#: 64×64 widths: ngf·8 at 4×4)
WIDEST = 8


def image_levels(arch: str, spec: ArchSpec) -> tuple[int, int]:
    """How many times the spec's images halve down to the smallest side, and that side: 4×4, or 3×3 for sides
    three times a power of two (48-px icons train at their own size); refuses what the architecture cannot build."""
    if not spec.is_image:
        raise GancliError(
            f"architecture {arch!r} needs image data (C, H, W), got samples of shape {spec.data_shape}; "
            "use --arch mlp for points"
        )
    _, height, width = spec.data_shape
    for corner in CORNERS:
        levels = (height // corner).bit_length() - 1
        if height == width and SMALLEST_SIZE <= height <= LARGEST_SIZE and height == corner << levels:
            return levels, corner
    raise GancliError(
        f"architecture {arch!r} needs square images whose side is a power of two from {SMALLEST_SIZE} to "
        f"{LARGEST_SIZE} or three times one (24, 48, 96, 192), got {height}×{width}; pass --image-size 32 "
        "(or 16, 48, 64, …)"
    )


def level_widths(base: int, levels: int) -> list[int]:
    """Channels at each resolution from the largest down to the smallest: ``base`` doubling per halving, at most
    ``WIDEST``·``base``."""
    return [base * min(2**level, WIDEST) for level in range(levels)]

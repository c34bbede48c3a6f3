"""GAN losses: the interface every loss plugin implements, and the built-ins (each family in its module)."""

from gancli.losses.base import Loss

__all__ = ["Loss"]

"""Architectures: the spec an architecture plugin builds from, shared layers, and the built-ins."""

from gancli.nets.common import ArchSpec

__all__ = ["ArchSpec"]

"""gancli: train, compare and debug GANs from the terminal."""

__version__ = "0.1.0"

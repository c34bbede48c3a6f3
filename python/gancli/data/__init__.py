"""Datasets: what a dataset plugin returns, and the built-in ones (each in its own module)."""

from gancli.data.base import DataRequest, DataSource, ImageSource

__all__ = ["DataRequest", "DataSource", "ImageSource"]

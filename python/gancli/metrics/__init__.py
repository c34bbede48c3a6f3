"""Evaluation metrics: the interface of a metric plugin and the built-ins."""

from gancli.metrics.base import Metric

__all__ = ["Metric"]

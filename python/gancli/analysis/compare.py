"""``gancli compare``: runs side by side — the settings in which they differ, how far each got, and each metric's
last and best values (best: the largest, or the smallest for divergences and distances)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from gancli.errors import GancliError
from gancli.io import read_document
from gancli.metrics.base import improves
from gancli.train.rundir import RunDir, read_jsonl


def flat_config(run: RunDir) -> dict[str, Any]:
    """A run's settings as ``name: value``, plugin options as ``plugin.option``; provenance left out."""
    try:
        config = read_document(run.config)
    except ValueError as exc:
        raise GancliError(f"{run.config} is damaged: {exc}") from None
    options = config.pop("options", {}) if isinstance(config, dict) else None
    if not isinstance(options, dict) or not all(isinstance(values, dict) for values in options.values()):
        raise GancliError(f"{run.config} is damaged: not the settings of a run")
    config.pop("plugins", None)
    flat = dict(config)
    for plugin, values in options.items():
        flat.update({f"{plugin}.{name}": value for name, value in values.items()})
    return flat


def comparison(runs: Sequence[RunDir]) -> dict[str, Any]:
    """What ``gancli compare`` shows, as data: differing settings, steps reached, last and best metric values."""
    configs = [flat_config(run) for run in runs]
    keys = sorted({key for config in configs for key in config})
    differing = {
        key: [config.get(key) for config in configs]
        for key in keys
        if len({json.dumps(config.get(key), sort_keys=True) for config in configs}) > 1
    }
    results = []
    for run in runs:
        records, evaluations = read_jsonl(run.metrics), read_jsonl(run.evals)
        metrics: dict[str, dict[str, float]] = {}
        for record in evaluations:
            for name, value in record.items():
                if name == "step" or not isinstance(value, int | float):
                    continue
                entry = metrics.setdefault(name, {"last": value, "best": value, "best_step": record["step"]})
                entry["last"] = value
                if improves(name, value, entry["best"]):
                    entry["best"], entry["best_step"] = value, record["step"]
        step = max((r["step"] for r in records), default=0)
        results.append({"run": str(run.path), "step": step, "metrics": metrics})
    return {"differing": differing, "runs": results}

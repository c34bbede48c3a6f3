"""The run directory: everything a run leaves behind, and how the read-only commands find it.

RUN/config.json        the resolved RunConfig (re-runs the experiment with --config)
RUN/metrics.jsonl      one JSON line per logged step: losses, D(x), D(G(z)), gradient norms
RUN/eval.jsonl         one JSON line per evaluation: metric values
RUN/samples/           step-NNNNNNNN.png from fixed noise
RUN/checkpoints/       step-NNNNNNNN.safetensors + .json
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gancli.errors import GancliError
from gancli.io import atomic_write_bytes
from gancli.train import checkpoint


@dataclass(frozen=True)
class RunDir:
    path: Path

    @property
    def config(self) -> Path:
        return self.path / "config.json"

    @property
    def metrics(self) -> Path:
        return self.path / "metrics.jsonl"

    @property
    def evals(self) -> Path:
        return self.path / "eval.jsonl"

    @property
    def samples(self) -> Path:
        return self.path / "samples"

    @property
    def checkpoints(self) -> Path:
        return self.path / "checkpoints"

    @classmethod
    def existing(cls, path: Path) -> RunDir:
        run = cls(Path(path))
        if not run.config.is_file():
            raise GancliError(f"{path}: not a gancli run directory (no config.json)")
        return run

    @classmethod
    def newest(cls, parent: Path) -> RunDir:
        """The most recently started run under ``parent``: what a user means by "the run I just trained"."""
        runs = [p.parent for p in parent.glob("*/config.json")] if parent.is_dir() else []
        if not runs:
            raise GancliError(f"no run directory under {parent}/; name one (gancli grid RUN)")
        return cls(max(runs, key=lambda p: (p / "config.json").stat().st_mtime))

    def checkpoint(self, chosen: Path | None = None) -> Path:
        """The JSON of ``chosen`` (a checkpoint path or step number) or of the latest checkpoint."""
        if chosen is not None:
            candidates = [chosen, self.checkpoints / chosen, self.checkpoints / f"{chosen}.json"]
            if str(chosen).isdigit():
                candidates.append(self.checkpoints / f"{checkpoint.checkpoint_name(int(str(chosen)))}.json")
            for candidate in candidates:
                if candidate.is_file() and candidate.suffix == ".json":
                    return candidate
            raise GancliError(f"--checkpoint {chosen}: no such checkpoint in {self.checkpoints}")
        found = checkpoint.latest(self.checkpoints) if self.checkpoints.is_dir() else None
        if found is None:
            raise GancliError(f"{self.path}: the run has no checkpoint yet")
        return found

    def write_sample(self, step: int, png: bytes) -> Path:
        path = self.samples / f"{checkpoint.checkpoint_name(step)}.png"
        atomic_write_bytes(path, png)
        return path

    def sample_frames(self) -> list[Path]:
        return sorted(self.samples.glob("step-*.png"))

    def truncate_logs(self, step: int) -> None:
        """Drop log lines past ``step`` (written after the checkpoint a resumed run restarts from)."""
        for log in (self.metrics, self.evals):
            if log.is_file():
                kept = [line for line in log.read_text().splitlines() if json.loads(line)["step"] <= step]
                atomic_write_bytes(log, "".join(line + "\n" for line in kept).encode())


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    if not path.is_file():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]

"""The run directory: everything a run leaves behind, and how the read-only commands find it.

RUN/config.json        the resolved RunConfig (re-runs the experiment with --config)
RUN/metrics.jsonl      one JSON line per logged step: losses, D(x), D(G(z)), gradient norms
RUN/eval.jsonl         one JSON line per evaluation: metric values
RUN/events.jsonl       what happened to the run: rollbacks after a NaN (--on-nan rollback)
RUN/diagnostics.jsonl  one JSON line per pitfall a live diagnostic found (gancli.diagnostics)
RUN/tensorboard/       TensorBoard event files (--tensorboard)
RUN/samples/           step-NNNNNNNN.png from fixed noise
RUN/checkpoints/       step-NNNNNNNN.safetensors + .json
RUN/.lock              held (flock) by the process training the run; names its pid
"""

from __future__ import annotations

import fcntl
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gancli.errors import GancliError
from gancli.io import atomic_write_bytes, file_mode, naming, parse_document, remove_leftovers
from gancli.train import checkpoint


class RunLock:
    """An exclusive ``flock`` on RUN/.lock, held for a whole run so two processes never write one run.

    The kernel drops a flock when its process dies, however it dies: a lock file left by a killed run is
    stale by construction and simply taken over.
    """

    def __init__(self, fd: int) -> None:
        self.fd: int | None = fd

    @classmethod
    def acquire(cls, run: Path) -> RunLock:
        run.mkdir(parents=True, exist_ok=True)
        path = run / ".lock"
        while True:
            fd = os.open(path, os.O_RDWR | os.O_CREAT, file_mode())
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                holder = os.read(fd, 32).decode(errors="replace").strip() or "unknown"
                os.close(fd)
                raise GancliError(
                    f"{run} is in use by another gancli process (pid {holder}); wait for it or use another --out"
                ) from None
            try:
                same_file = os.fstat(fd).st_ino == path.stat().st_ino
            except FileNotFoundError:
                same_file = False
            if same_file:  # not a lock file its last holder removed while we waited for it
                break
            os.close(fd)
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        return cls(fd)

    def release(self) -> None:
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None


def check_run_path(path: Path) -> None:
    """Refuse an ``--out`` that cannot become a run directory (a file, a device, a dangling link) before
    anything is built; a missing parent folder is created, as for runs/."""
    if os.path.islink(path) and not path.exists():
        raise GancliError(f"--out {path} is a symbolic link to {os.readlink(path)}, which does not exist")
    if path.exists() and not path.is_dir():
        raise GancliError(f"--out {path} exists and is not a directory; name a new or a run directory")


@dataclass(frozen=True)
class RunDir:
    path: Path
    lock: RunLock | None = field(default=None, compare=False, repr=False)

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
    def events(self) -> Path:
        return self.path / "events.jsonl"

    @property
    def diagnostics(self) -> Path:
        return self.path / "diagnostics.jsonl"

    @property
    def tensorboard(self) -> Path:
        return self.path / "tensorboard"

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
    def locked(cls, path: Path) -> RunDir:
        """``path`` under this process's lock, its leftover temporary files removed (only the holder may)."""
        run = cls(Path(path), RunLock.acquire(Path(path)))
        for directory in (run.path, run.checkpoints, run.samples):
            remove_leftovers(directory)
        return run

    def release(self) -> None:
        if self.lock is not None:
            self.lock.release()

    @classmethod
    def newest(cls, parent: Path) -> RunDir:
        """The most recently started run under ``parent``: what a user means by "the run I just trained"."""
        runs = [p.parent for p in parent.glob("*/config.json")] if parent.is_dir() else []
        if not runs:
            raise GancliError(f"no run directory under {parent}/; name one (gancli grid RUN)")
        return cls(max(runs, key=lambda p: (p / "config.json").stat().st_mtime))

    def checkpoint(self, chosen: Path | str) -> Path:
        """The JSON of ``chosen``: a checkpoint path or a step number."""
        chosen = str(chosen)
        candidates = [Path(chosen), self.checkpoints / chosen, self.checkpoints / f"{chosen}.json"]
        if chosen.isdigit():
            candidates.append(self.checkpoints / f"{checkpoint.checkpoint_name(int(chosen))}.json")
        for candidate in candidates:
            if candidate.is_file() and candidate.suffix == ".json":
                return candidate
        raise GancliError(f"--checkpoint {chosen}: no such checkpoint in {self.checkpoints}")

    def checkpoint_steps(self) -> list[int]:
        """The steps at which the run has a checkpoint, oldest first (intact or not: loading checks)."""
        return [step for step, _ in checkpoint.listing(self.checkpoints)]

    def write_sample(self, step: int, png: bytes) -> Path:
        path = self.samples / f"{checkpoint.checkpoint_name(step)}.png"
        atomic_write_bytes(path, png)
        return path

    def sample_frames(self) -> list[Path]:
        return sorted(self.samples.glob("step-*.png"))

    def rewind(self, step: int) -> list[Path]:
        """Forget everything written after ``step`` (a resumed or rolled-back run restarts there): log lines,
        sample images and checkpoints. Returns the checkpoints removed."""
        for log in (self.metrics, self.evals, self.events, self.diagnostics):
            if log.is_file():
                kept = [record for record in read_jsonl(log) if record["step"] <= step]
                atomic_write_bytes(log, "".join(json.dumps(record) + "\n" for record in kept).encode())
        for sample in self.sample_frames():
            if (checkpoint.step_of(sample) or 0) > step:
                sample.unlink(missing_ok=True)
        later = [path for s, path in checkpoint.listing(self.checkpoints) if s > step]
        for path in later:
            checkpoint.remove(path)
        return later


MAX_RECORD_BYTES = 1 << 20  # a logged record is a few hundred bytes


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    """The records of a JSON-lines log, each parsed within MAX_RECORD_BYTES and the nesting limit. A torn last
    line (the disk filled mid-write, the machine went down) is dropped; damage anywhere else is reported by file
    and line."""
    if not path.is_file():
        return []
    records = []
    with path.open("rb") as log:
        number = 0
        while line := log.readline(MAX_RECORD_BYTES + 1):
            number += 1
            if not line.strip():
                continue
            try:
                record = parse_document(line, limit=MAX_RECORD_BYTES)
            except ValueError as exc:
                if not line.endswith(b"\n") and len(line) <= MAX_RECORD_BYTES:  # a record never written whole
                    break
                text = line[:40].decode(errors="replace")
                raise GancliError(f"{path}:{number}: damaged record {text!r} ({exc})") from None
            if not isinstance(record, dict) or type(record.get("step")) is not int:
                raise GancliError(f"{path}:{number}: a record must be an object with an integer step")
            records.append(record)
    return records


def append_record(path: Path, record: dict[str, Any]) -> None:
    """Append one JSON line to a log in a single unbuffered write; if the disk fills part-way, cut the partial
    line off again so the log never holds half a record."""
    data = (json.dumps(record) + "\n").encode()
    with path.open("ab", buffering=0) as log:
        end = os.fstat(log.fileno()).st_size
        try:
            written = 0
            while written < len(data):
                written += log.write(data[written:]) or 0
        except OSError as exc:
            os.ftruncate(log.fileno(), end)
            raise naming(exc, path) from None

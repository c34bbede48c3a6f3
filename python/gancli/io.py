"""Atomic file writes: a crash or a full disk never leaves a half-written file where a good one stood."""

from __future__ import annotations

import contextlib
import functools
import json
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any, BinaryIO

TEMP_SUFFIX = ".tmp"


def cache_dir() -> Path:
    """Where gancli keeps what it can make again: decoded image folders, the digits-cnn extractor."""
    return Path(os.environ.get("GANCLI_CACHE", Path.home() / ".cache" / "gancli"))


@functools.cache
def file_mode() -> int:
    """The mode ``open()`` gives a new file under the process umask (mkstemp's own 0600 would hide runs from
    the user's group and tools)."""
    umask = os.umask(0o022)
    os.umask(umask)
    return 0o666 & ~umask


@contextlib.contextmanager
def atomic_open(path: str | os.PathLike[str]) -> Iterator[BinaryIO]:
    """A binary file to write that appears at ``path`` only when the block ends without error.

    It is written beside ``path`` under a temporary name, fsynced, renamed over ``path``, and the rename
    is made durable by syncing the directory; on any error the temporary file is removed, and an OSError
    names ``path`` rather than the temporary file.
    """
    path = Path(path)
    tmp = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=TEMP_SUFFIX, dir=path.parent)
        os.fchmod(fd, file_mode())
        with os.fdopen(fd, "wb") as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException as exc:
        if tmp is not None:
            Path(tmp).unlink(missing_ok=True)
        if isinstance(exc, OSError) and exc.errno is not None and exc.filename in (None, tmp, str(path.parent)):
            raise OSError(exc.errno, exc.strerror, str(path)) from None
        raise
    try:
        directory = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(directory)
        finally:
            os.close(directory)
    except OSError:
        pass  # some filesystems cannot fsync a directory; the file itself is already durable


def atomic_write_bytes(path: str | os.PathLike[str], data: bytes) -> None:
    with atomic_open(path) as f:
        f.write(data)


def atomic_write_json(path: str | os.PathLike[str], obj: Any) -> None:
    atomic_write_bytes(path, (json.dumps(obj, indent=2, sort_keys=True) + "\n").encode())


def remove_leftovers(directory: Path) -> list[Path]:
    """Delete the temporary files an interrupted atomic write left in ``directory``; only safe while no other
    process writes there (a run directory under its lock)."""
    left = [p for p in directory.glob(f".*{TEMP_SUFFIX}") if p.is_file()] if directory.is_dir() else []
    for path in left:
        path.unlink(missing_ok=True)
    return left

"""Files gancli writes and reads.

- Inside a run directory every file is written atomically (``atomic_open``): a crash or a full disk never
  leaves a half-written file where a good one stood.
- A path the user names (``-o``, ``data prepare OUTPUT``) follows one rule (``check_output``): ``-`` is standard
  output; a character device or FIFO (``/dev/null``, a named pipe) is written in place, never replaced; a
  symbolic link is written through to the existing file it names, atomically beside that file (a dangling link
  is refused: gancli does not create files where a link points); a directory, socket or block device is
  refused; an existing file is replaced only with ``--force`` (a command's default target, such as
  ``RUN/grid.png``, is gancli's own and always replaced).
- Temporary files are named ``.NAME.HOST-PID.XXXXXXXX.tmp``, so a later write of the same format beside them
  removes those whose process is gone (killed mid-write), saying so.
- JSON and TOML are parsed within a size and nesting limit (``parse_document``): hostile nesting is a
  ``ValueError`` the caller reports as damage, never a RecursionError.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import re
import signal
import socket
import stat
import sys
import tempfile
import tomllib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from gancli.errors import GancliError, Interrupted

TEMP_SUFFIX = ".tmp"
#: ``.NAME.HOST-PID.XXXXXXXX.tmp``: the file being written, and who writes it (mkstemp adds the 8 characters)
TEMP_NAME = re.compile(r"^\.(?P<name>.+)\.(?P<host>[A-Za-z0-9]+)-(?P<pid>\d+)\.[a-z0-9_]{8}\.tmp$")
STDOUT = "-"
MAX_DOCUMENT_BYTES = 16 << 20  # config files, checkpoint JSONs and log records are kilobytes
MAX_NESTING = 64  # gancli's own documents nest 6 levels deep


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


def writer_tag() -> str:
    """``HOST-PID`` of this process, as temporary file names carry it."""
    host = re.sub(r"[^A-Za-z0-9]", "", socket.gethostname())[:32] or "host"
    return f"{host}-{os.getpid()}"


def naming(exc: OSError, path: Path, *unhelpful: object) -> OSError:
    """``exc`` naming ``path`` when it names nothing or only one of ``unhelpful`` (a temporary file, a folder)."""
    if exc.errno is not None and exc.filename in (None, *unhelpful):
        return OSError(exc.errno, exc.strerror, str(path))
    return exc


def make_temporary(path: Path) -> tuple[int, str]:
    """A new temporary file beside ``path``, named for it and for this process; an OSError names ``path``."""
    try:
        return tempfile.mkstemp(prefix=f".{path.name}.{writer_tag()}.", suffix=TEMP_SUFFIX, dir=path.parent)
    except OSError as exc:
        raise OSError(exc.errno, exc.strerror, str(path)) from None


@contextlib.contextmanager
def atomic_open(path: str | os.PathLike[str], make_parents: bool = True) -> Iterator[BinaryIO]:
    """A binary file to write that appears at ``path`` only when the block ends without error.

    It is written beside ``path`` under a temporary name, fsynced, renamed over ``path``, and the rename
    is made durable by syncing the directory; on any error (Ctrl-C included) the temporary file is removed,
    and an OSError names ``path`` rather than the temporary file. ``make_parents`` creates missing folders
    (a run directory's own; never those of a path the user named).
    """
    path = Path(path)
    tmp = None
    try:
        if make_parents:
            path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = make_temporary(path)
        os.fchmod(fd, file_mode())
        with os.fdopen(fd, "wb") as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException as exc:
        if tmp is not None:
            Path(tmp).unlink(missing_ok=True)
        if isinstance(exc, OSError):
            raise naming(exc, path, tmp, str(path.parent)) from None
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


def process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        return True
    return True


def remove_abandoned(target: Path) -> list[Path]:
    """Delete the temporary files beside ``target``, of its format (its suffix), whose writer on this machine is
    gone (a ``data prepare`` killed with -9 leaves hundreds of MB), and say so in one line; those of live
    processes and of other machines (a shared folder) are left alone."""
    host = writer_tag().split("-")[0]
    abandoned = []
    with contextlib.suppress(OSError):  # a folder that cannot be listed has nothing of ours to clean
        for path in target.parent.iterdir():
            match = TEMP_NAME.match(path.name)
            ours = match is not None and match["name"].endswith(target.suffix) and match["host"] == host
            if ours and not process_alive(int(match["pid"])) and path.is_file() and not path.is_symlink():
                path.unlink(missing_ok=True)
                abandoned.append(path)
    if abandoned:
        names = ", ".join(path.name for path in abandoned)
        print(f"removed temporary files of interrupted gancli processes beside {target}: {names}", file=sys.stderr)
    return abandoned


FILE_KINDS = {stat.S_IFDIR: "a directory", stat.S_IFSOCK: "a socket", stat.S_IFBLK: "a block device"}


@dataclass(frozen=True)
class Output:
    """Where a command writes a file the user named, by the output rule (module docstring): ``how`` is
    ``stdout``, ``direct`` (a character device or FIFO, written in place) or ``atomic`` (a regular file,
    new or replaced, at ``target``: the path, or the file a symbolic link names)."""

    path: Path
    how: str
    target: Path

    @property
    def to_stdout(self) -> bool:
        return self.how == "stdout"

    @contextlib.contextmanager
    def open(self) -> Iterator[BinaryIO]:
        """The file to write; written as the rule says for what is at the path now."""
        if self.how == "stdout":
            sys.stdout.flush()
            yield sys.stdout.buffer
            sys.stdout.buffer.flush()
        elif self.how == "direct":
            try:
                fd = os.open(self.path, os.O_WRONLY | os.O_CLOEXEC)
                mode = os.fstat(fd).st_mode
                if not (stat.S_ISCHR(mode) or stat.S_ISFIFO(mode)):
                    os.close(fd)
                    raise GancliError(f"{self.path} changed while gancli was writing it; nothing was written")
                with os.fdopen(fd, "wb") as f:
                    yield f
            except OSError as exc:
                raise naming(exc, self.path) from None
        else:
            with atomic_open(self.target, make_parents=False) as f:
                yield f

    def write(self, data: bytes) -> None:
        with self.open() as f:
            write_all(f, data)


def write_all(f: BinaryIO, data: bytes | memoryview) -> None:
    """Write all of ``data``: a pipe whose reader has gone takes part of a large write without an error (Python
    returns the count), and only the next write raises."""
    view = memoryview(data).cast("B")
    while view:
        view = view[f.write(view) :]


def check_output(path: Path, replace: bool) -> Output:
    """Where ``path`` is written by the output rule (module docstring), refusing what the rule refuses; call it
    before the work (at the door) and again to write. ``replace``: the user gave ``--force``, or the path is the
    command's default target. A regular file's folder is probed with a temporary file (a read-only or virtual
    filesystem is refused before any work), and abandoned temporary files of its format there are removed."""
    if str(path) == STDOUT:
        return Output(path, "stdout", path)
    try:
        info = os.stat(path)
    except FileNotFoundError:
        if os.path.islink(path):
            raise GancliError(
                f"{path} is a symbolic link to {os.readlink(path)}, which does not exist; gancli writes through a "
                "link only to an existing file"
            ) from None
        if not os.path.isdir(path.parent):
            raise GancliError(f"{path}: there is no folder {path.parent}") from None
        return probed(Output(path, "atomic", path))
    if is_stdout(info):
        return Output(path, "stdout", path)
    if stat.S_ISCHR(info.st_mode) or stat.S_ISFIFO(info.st_mode):
        return Output(path, "direct", path)
    if not stat.S_ISREG(info.st_mode):
        kind = FILE_KINDS.get(stat.S_IFMT(info.st_mode), "not a regular file")
        raise GancliError(f"{path} is {kind}; name a file to write")
    if not replace:
        raise GancliError(f"{path} exists; --force replaces it")
    return probed(Output(path, "atomic", Path(os.path.realpath(path))))


def is_stdout(info: os.stat_result) -> bool:
    """Whether ``info`` is the file standard output writes to (``-o /dev/stdout``, even redirected to a file)."""
    try:
        mine = os.fstat(sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):  # no real stdout (closed, or a test runner's buffer)
        return False
    return (mine.st_dev, mine.st_ino) == (info.st_dev, info.st_ino)


def probed(output: Output) -> Output:
    """``output`` once a temporary file could be made in its folder (and abandoned ones removed there)."""
    remove_abandoned(output.target)
    fd, name = make_temporary(output.target)
    os.close(fd)
    os.unlink(name)
    return output


def write_output(path: Path, data: bytes, replace: bool) -> Output:
    """Write ``data`` to a path the user named (or a command's default target), by the output rule."""
    output = check_output(path, replace)
    output.write(data)
    return output


@contextlib.contextmanager
def on_stop_signals(handler: Callable[[int, Any], None], restore: bool = True) -> Iterator[None]:
    """``handler`` answers Ctrl-C and SIGTERM inside the block, the previous handlers after it unless not
    ``restore`` (outside the main thread, where signals cannot be set, the block runs with them as they are)."""
    previous = {}
    try:
        for signum in (signal.SIGINT, signal.SIGTERM):
            previous[signum] = signal.signal(signum, handler)
    except ValueError:  # not the main thread: leave the signals alone
        pass
    try:
        yield
    finally:
        for signum, old in previous.items() if restore else ():
            signal.signal(signum, old)


@contextlib.contextmanager
def interruptible(message: str) -> Iterator[None]:
    """Ctrl-C and SIGTERM (whose default would end the process on the spot, leaving a temporary file) raise
    :class:`Interrupted` carrying ``message`` wherever the block is, so an atomic write in it cleans up."""

    def handler(signum: int, frame: Any) -> None:
        raise Interrupted(signum, message)

    with on_stop_signals(handler):
        yield


def parse_document(text: str | bytes, syntax: str = "json", limit: int = MAX_DOCUMENT_BYTES) -> Any:
    """JSON or TOML (``syntax``) gancli may not have written (a config file, a checkpoint, a log record), parsed
    within ``limit`` bytes and MAX_NESTING levels. Raises ValueError (a JSON/TOML error included) saying what is
    wrong, for the caller to report as damage naming the file."""
    if len(text) > limit:
        raise ValueError(f"over {limit >> 20} MiB, larger than any file gancli writes")
    try:
        if syntax == "toml":
            value = tomllib.loads(text.decode() if isinstance(text, bytes) else text)
        else:
            value = json.loads(text)
    except RecursionError:  # the parsers' own guard, at a depth far beyond MAX_NESTING
        raise ValueError(f"nested deeper than {MAX_NESTING} levels") from None
    if nesting(value) > MAX_NESTING:
        raise ValueError(f"nested deeper than {MAX_NESTING} levels")
    return value


def nesting(value: Any) -> int:
    """How deeply lists and tables nest in a parsed document (iteratively: the check must not recurse)."""
    deepest, stack = 0, [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict | list):
            deepest = max(deepest, depth + 1)
            stack.extend((child, depth + 1) for child in (item.values() if isinstance(item, dict) else item))
    return deepest


def read_document(path: Path, syntax: str = "json", limit: int = MAX_DOCUMENT_BYTES) -> Any:
    """A JSON or TOML file read and parsed within the limits of :func:`parse_document` (reading at most
    ``limit`` + 1 bytes). OSError if it cannot be read; ValueError if it is not a document gancli reads."""
    with open(path, "rb") as f:
        data = f.read(limit + 1)
    try:
        return parse_document(data, syntax, limit)
    except UnicodeDecodeError as exc:
        raise ValueError(f"not UTF-8 text ({exc.reason} at byte {exc.start})") from None

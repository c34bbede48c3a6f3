"""Write only what the user named, check everything at the door, and say what failed.

Every command that writes a path the user names (grid, grid --animate, sample, plot, dynamics, data prepare) follows
one rule: character devices and FIFOs are written in place, symbolic links written through to their file, other
nodes refused, an existing file kept unless --force; a run's own default targets are replaced. JSON and TOML are
parsed within size and nesting limits, so hostile nesting is damage (and a checkpoint falls back to an intact one);
every OSError is one line naming the path; a closed standard output ends quietly; messages are printed as written,
never read as Rich markup; an interrupted ``data prepare`` leaves nothing behind.

Device nodes, FIFOs, sockets and links are the test's own, in its temporary folder, never the system's (making a
device node needs root: those tests are skipped otherwise). Outputs come from ``grid`` on the 2-step ring8 run of
conftest.py (a scatter, a tenth of a second).
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import stat
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from cli_helpers import TINY, ok, one_line_error
from gancli.errors import Interrupted
from gancli.io import atomic_open, interruptible, parse_document, writer_tag
from PIL import Image

PNG = b"\x89PNG\r\n\x1a\n"
ENV = {**os.environ, "OMP_NUM_THREADS": "1"}
DEEP = "[" * 100_000 + "]" * 100_000
MARKUP = "[/__w/gloo/pair.cc:545] [bold]b[/bold] [red]r[/] [/x]"  # as in plugin_fixtures/markup_text.py
root_only = pytest.mark.skipif(os.geteuid() != 0, reason="making device nodes needs root")


def temporary_files(folder: Path) -> list[str]:
    return [name for name in os.listdir(folder) if name.endswith(".tmp")]


# --- the output rule ------------------------------------------------------------------------------------


@root_only
def test_a_device_is_written_in_place_and_never_replaced(gancli, tiny_run: Path, tmp_path: Path) -> None:
    null, full, block = tmp_path / "null", tmp_path / "full", tmp_path / "block"
    os.mknod(null, stat.S_IFCHR | 0o666, os.makedev(1, 3))  # twins of /dev/null and /dev/full
    os.mknod(full, stat.S_IFCHR | 0o666, os.makedev(1, 7))
    os.mknod(block, stat.S_IFBLK | 0o600, os.makedev(7, 200))
    before = {path: os.lstat(path) for path in (null, full, block)}
    assert "wrote null" in ok(gancli("grid", tiny_run, "-o", "null"))
    one_line_error(gancli("plot", tiny_run, "-o", "full"), "full: No space left on device")
    one_line_error(gancli("sample", tiny_run, "-o", "block", "--force"), "block is a block device")
    for path, info in before.items():
        now = os.lstat(path)
        assert (now.st_ino, now.st_mode, now.st_rdev) == (info.st_ino, info.st_mode, info.st_rdev), path
    assert temporary_files(tmp_path) == []


def test_a_fifo_is_written_in_place_for_its_reader(gancli, tiny_run: Path, tmp_path: Path) -> None:
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    received: list[bytes] = []
    reader = threading.Thread(target=lambda: received.append(fifo.read_bytes()), daemon=True)
    reader.start()
    ok(gancli("grid", tiny_run, "-o", "pipe"))
    reader.join(30)
    assert received and received[0].startswith(PNG)
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)


def test_standard_output_gets_the_file_and_the_report_goes_to_stderr(gancli, tiny_run: Path) -> None:
    result = gancli("sample", tiny_run, "-o", "-", "--n", "5")
    assert result.exit_code == 0, result.output
    import io

    samples = np.load(io.BytesIO(result.stdout_bytes))
    assert samples.shape == (5, 2) and samples.dtype == np.float32
    assert "wrote standard output (5 samples from step 2)" in result.stderr


def test_a_link_is_written_through_to_its_file_and_a_dangling_link_is_refused(
    gancli, tiny_run: Path, tmp_path: Path
) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    picture = elsewhere / "picture.png"
    picture.write_bytes(b"the user's own")
    (tmp_path / "link.png").symlink_to(picture)
    one_line_error(gancli("grid", tiny_run, "-o", "link.png"), "link.png exists", "--force")
    assert picture.read_bytes() == b"the user's own"
    ok(gancli("grid", tiny_run, "-o", "link.png", "--force"))
    assert os.readlink(tmp_path / "link.png") == str(picture) and picture.read_bytes().startswith(PNG)
    assert temporary_files(elsewhere) == [] and temporary_files(tmp_path) == []

    (tmp_path / "dangling.png").symlink_to(tmp_path / "nowhere.png")
    one_line_error(
        gancli("grid", tiny_run, "-o", "dangling.png", "--force"), "dangling.png", "nowhere.png", "not exist"
    )
    assert (tmp_path / "dangling.png").is_symlink() and not (tmp_path / "nowhere.png").exists()


@pytest.fixture
def image_folder(tmp_path: Path) -> Path:
    folder = tmp_path / "imgs"
    folder.mkdir()
    for i in range(3):
        Image.fromarray(np.full((8, 8, 3), 40 * i, np.uint8)).save(folder / f"{i}.png")
    return folder


@pytest.mark.parametrize(
    "command",
    [
        ["grid", "{run}", "-o"],
        ["grid", "{run}", "--animate", "-o"],
        ["sample", "{run}", "-o"],
        ["plot", "{run}", "-o"],
        ["dynamics", "--steps", "2", "-o"],
        ["data", "prepare", "imgs", "--image-size", "8"],
    ],
)
def test_every_command_replaces_an_existing_file_only_with_force(
    gancli, tiny_run: Path, tmp_path: Path, image_folder: Path, command: list[str]
) -> None:
    args = [part.format(run=tiny_run) for part in command]
    mine = tmp_path / "mine.ganpack"
    mine.write_bytes(b"the user's own")
    one_line_error(gancli(*args, "mine.ganpack"), "mine.ganpack exists; --force replaces it")
    assert mine.read_bytes() == b"the user's own"
    ok(gancli(*args, "mine.ganpack", "--force"))
    assert mine.read_bytes()[:8] in (PNG, b"\x93NUMPY\x01\x00", b"GANPACK\x00")
    assert temporary_files(tmp_path) == []


def test_a_default_target_in_the_run_is_gancli_own_and_replaced(gancli, tiny_run: Path, tmp_path: Path) -> None:
    copy = shutil.copytree(tiny_run, tmp_path / "run")
    ok(gancli("grid", "run", "--n", "8"))
    first = (copy / "grid.png").read_bytes()
    ok(gancli("grid", "run", "--n", "8", "--seed", "1"))
    assert first.startswith(PNG) and (copy / "grid.png").read_bytes() != first


def test_what_cannot_be_written_is_refused_at_the_door_in_one_line(gancli, tiny_run: Path, tmp_path: Path) -> None:
    (tmp_path / "folder").mkdir()
    (tmp_path / "afile").write_text("kept")
    listening = socket.socket(socket.AF_UNIX)
    listening.bind("sock")  # relative: the test's folder, as the command sees it
    cases = {
        "folder": "folder is a directory",
        "sock": "sock is a socket",
        "missing/x.png": "missing/x.png: there is no folder missing",
        "afile/x.png": "afile/x.png: Not a directory",
        "/proc/x.png": "/proc/x.png: No such file or directory",
    }
    for path, needle in cases.items():
        one_line_error(gancli("grid", tiny_run, "-o", path), needle)
    listening.close()
    assert (tmp_path / "afile").read_text() == "kept" and not (tmp_path / "missing").exists()


def test_out_names_a_directory_or_is_refused_in_one_line(gancli, tmp_path: Path) -> None:
    (tmp_path / "afile").write_text("kept")
    (tmp_path / "dangling").symlink_to(tmp_path / "nowhere")
    one_line_error(gancli("train", *TINY, "--out", "afile"), "--out afile exists and is not a directory")
    one_line_error(gancli("train", *TINY, "--out", "dangling"), "--out dangling is a symbolic link", "not exist")
    one_line_error(gancli("train", *TINY, "--out", "/proc/run"), "/proc/run: No such file or directory")
    assert (tmp_path / "afile").read_text() == "kept" and not (tmp_path / "nowhere").exists()


def test_temporary_files_of_dead_writers_are_removed_and_only_those(gancli, tiny_run: Path, tmp_path: Path) -> None:
    host = writer_tag().split("-")[0]
    finished = subprocess.Popen(["true"])
    finished.wait()
    dead = finished.pid
    names = {
        "abandoned": f".grid.png.{host}-{dead}.abcd1234.tmp",
        "being written": f".grid.png.{host}-{os.getpid()}.abcd1234.tmp",
        "another machine's": f".grid.png.otherhost-{dead}.abcd1234.tmp",
        "another format": f".samples.npy.{host}-{dead}.abcd1234.tmp",
        "not gancli's": ".grid.png.tmp",
    }
    for name in names.values():
        (tmp_path / name).write_bytes(b"half a file")
    result = gancli("grid", tiny_run, "-o", "grid.png")
    ok(result)
    assert [key for key, name in names.items() if not (tmp_path / name).exists()] == ["abandoned"]
    removed = f"removed temporary files of interrupted gancli processes beside grid.png: {names['abandoned']}"
    assert removed in result.stderr


# --- bounded parsing ------------------------------------------------------------------------------------


def test_documents_are_parsed_within_size_and_nesting_limits() -> None:
    assert parse_document("[" * 64 + "]" * 64) is not None
    for text, syntax in [
        ("[" * 65 + "]" * 65, "json"),
        (DEEP, "json"),
        ('{"a": ' * 100_000 + "1" + "}" * 100_000, "json"),
        ("a = " + DEEP, "toml"),
        ("a = " + "{b = " * 100_000 + "1" + "}" * 100_000, "toml"),
        ("a" + ".a" * 70 + " = 1", "toml"),  # dotted keys nest tables without a bracket
    ]:
        with pytest.raises(ValueError, match="nested deeper than 64 levels"):
            parse_document(text, syntax)
    with pytest.raises(ValueError, match="over 1 MiB"):
        parse_document(b" " * ((1 << 20) + 1), limit=1 << 20)
    with pytest.raises(ValueError, match="digits"):
        parse_document("9" * 5000)  # Python's own limit on converting huge integers


def test_a_deeply_nested_checkpoint_is_damage_and_the_intact_one_is_used(
    gancli, tiny_run: Path, tmp_path: Path
) -> None:
    copy = shutil.copytree(tiny_run, tmp_path / "run")
    (copy / "checkpoints" / "step-00000002.json").write_text(DEEP)
    result = gancli("sample", "run", "-o", "s.npy", "--n", "4")
    assert "step 1" in ok(result)
    assert "step-00000002.json is damaged: nested deeper than 64 levels; using step-00000001.json" in result.stderr
    (copy / "checkpoints" / "step-00000001.json").write_text('{"a": ' * 100_000 + "1" + "}" * 100_000)
    one_line_error(gancli("sample", "run", "-o", "t.npy"), "no intact checkpoint", "nested deeper than 64 levels")


def test_deep_nesting_in_any_file_gancli_reads_is_one_line_naming_it(gancli, tiny_run: Path, tmp_path: Path) -> None:
    (tmp_path / "deep.toml").write_text("steps = " + DEEP)
    one_line_error(gancli("train", "--config", "deep.toml"), "--config deep.toml", "nested deeper")
    (tmp_path / "deep.json").write_text(DEEP)
    one_line_error(gancli("train", "--config", "deep.json"), "--config deep.json", "nested deeper")
    (tmp_path / "huge.toml").write_bytes(b"# " + b"x" * (16 << 20))
    one_line_error(gancli("train", "--config", "huge.toml"), "--config huge.toml", "over 16 MiB")

    copy = shutil.copytree(tiny_run, tmp_path / "run")
    with (copy / "metrics.jsonl").open("a") as log:
        log.write(DEEP + "\n")
    one_line_error(gancli("plot", "run", "-o", "p.png"), "metrics.jsonl:2: damaged record", "nested deeper")
    one_line_error(gancli("compare", "run", str(tiny_run)), "metrics.jsonl:2")
    (copy / "config.json").write_text(DEEP)
    one_line_error(gancli("grid", "run"), "run/config.json", "nested deeper")
    one_line_error(gancli("compare", "run", str(tiny_run)), "run/config.json is damaged", "nested deeper")


# --- errors of the machine, closed pipes, markup ----------------------------------------------------------


def test_a_closed_standard_output_ends_quietly(tiny_run: Path) -> None:
    """The pipe's reader is gone before gancli writes (as after `| head -1`): exit 1 without a word, as Rich and
    the Python docs do; never an internal error."""
    read_end, write_end = os.pipe()
    os.close(read_end)
    for args in (["plugins", "list"], ["train", "--help"], ["grid", str(tiny_run), "-o", "-"]):
        result = subprocess.run(
            [sys.executable, "-m", "gancli", *args], stdout=write_end, stderr=subprocess.PIPE, text=True, env=ENV
        )
        assert (result.returncode, result.stderr) == (1, ""), args
    os.close(write_end)


def test_messages_reach_the_user_as_written_never_read_as_markup(
    gancli, installed_plugins, tiny_run: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    installed_plugins(("markup", "markup_text", "gancli-markup"))
    one_line_error(gancli("refuse"), MARKUP)  # a GancliError
    one_line_error(gancli("crash"), "command 'crash' failed: RuntimeError: " + MARKUP)  # a plugin's bug
    one_line_error(
        gancli("grid", tiny_run, "-o", "/proc/[bold]x[red].png"), "/proc/[bold]x[red].png: No such"
    )  # OSError
    assert MARKUP in ok(gancli("plugins", "list", "--kind", "metric"))
    assert MARKUP in ok(gancli("plugins", "show", "markup-metric"))

    result = gancli("train", *TINY, "--steps", "2", "--out", "[red]run[/]")  # a metric that fails while training
    assert result.exit_code == 0, result.output
    assert f"{MARKUP}; it is left out for the rest of this run" in result.stderr
    assert "run directory: [red]run[/]" in result.stderr

    def bug(*args: object) -> bytes:
        raise RuntimeError(MARKUP)

    monkeypatch.setattr("gancli.analysis.dynamics.dynamics_png", bug)
    result = gancli("dynamics", "--steps", "2")
    assert result.exit_code == 2 and f"error: internal error RuntimeError: {MARKUP} (set GANCLI_DEBUG" in result.stderr


# --- interrupted writes ---------------------------------------------------------------------------------


def test_a_signal_during_an_atomic_write_leaves_neither_file_nor_temporary(tmp_path: Path) -> None:
    with pytest.raises(Interrupted) as stopped, interruptible("stopped"), atomic_open(tmp_path / "out.ganpack") as f:
        f.write(b"half of it")
        assert callable(signal.getsignal(signal.SIGTERM))  # else the signal would end pytest
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(5)  # the handler raises here, on the main thread's next instruction
    assert (stopped.value.exit_code, stopped.value.message) == (143, "stopped")
    assert os.listdir(tmp_path) == []
    assert signal.getsignal(signal.SIGTERM) == signal.SIG_DFL


def catches_sigterm(pid: int) -> bool:
    """Whether process ``pid`` has a handler for SIGTERM (its SigCgt mask in /proc)."""
    caught = next(line for line in Path(f"/proc/{pid}/status").read_text().splitlines() if line.startswith("SigCgt"))
    return bool(int(caught.split()[1], 16) & (1 << (signal.SIGTERM - 1)))


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_an_interrupted_data_prepare_says_so_and_leaves_nothing(tmp_path: Path, signum: int) -> None:
    """The source is a FIFO named like a zip: opening it waits for a writer that never comes, so the signal
    arrives while the command decodes, once its handler is in place."""
    os.mkfifo(tmp_path / "slow.zip")
    output = "[bold]o[red].ganpack"
    command = [sys.executable, "-m", "gancli", "data", "prepare", "slow.zip", output, "--image-size", "8"]
    process = subprocess.Popen(command, cwd=tmp_path, env=ENV, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while not catches_sigterm(process.pid):
        assert process.poll() is None and time.monotonic() < deadline, process.stderr and process.stderr.read()
        time.sleep(0.05)
    process.send_signal(signum)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 128 + signum, stderr
    assert stderr.strip() == f"interrupted: data prepare stopped; nothing was written to {output}"
    assert os.listdir(tmp_path) == ["slow.zip"]

"""Runs that lose nothing and trust nothing: one process per run directory, checkpoints that are checksummed,
validated, chosen and kept, runs stopped at any moment that resume, divergence caught before it is saved, and
the machine's refusals (full disk, read-only, permissions) reported as one line naming the file.

Each test first makes the failure happen (a second process, a flipped bit, a hand-edited JSON, a kill, a torn
log line, a learning rate of 100); runs are tiny ring8 runs of a few seconds.
"""

from __future__ import annotations

import errno
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from cli_helpers import TINY, ok, one_line_error
from safetensors.numpy import load_file
from typer.testing import Result

ENV = {**os.environ, "OMP_NUM_THREADS": "1"}


def steps(run: Path) -> list[int]:
    return sorted(int(p.stem.split("-")[1]) for p in (run / "checkpoints").glob("step-*.json"))


def tensors(run: Path, step: int) -> dict[str, np.ndarray]:
    return load_file(run / "checkpoints" / f"step-{step:08d}.safetensors")


def same_tensors(a: dict[str, np.ndarray], b: dict[str, np.ndarray]) -> bool:
    return a.keys() == b.keys() and all(np.array_equal(a[k], b[k]) for k in a)


def edit_json(path: Path, **changes: object) -> None:
    meta = json.loads(path.read_text())
    meta.update(changes)
    path.write_text(json.dumps(meta))


def error_after_start(result: Result, *needles: str) -> str:
    """Exit 1 and an 'error:' line naming the culprit after the run's settings were shown: no traceback."""
    assert result.exit_code == 1, result.output
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("error: ") and "Traceback" not in result.output, result.stderr
    for needle in needles:
        assert needle in last, (needle, last)
    return last


def background_train(cwd: Path, *args: str) -> subprocess.Popen[str]:
    """A long ``gancli train --out run`` in another process, returned once it has logged its first record."""
    command = [sys.executable, "-m", "gancli", "train", *TINY, "--steps", "100000", *args, "--out", "run"]
    process = subprocess.Popen(command, cwd=cwd, env=ENV, stderr=subprocess.PIPE, text=True)
    metrics, deadline = cwd / "run" / "metrics.jsonl", time.monotonic() + 120
    while not (metrics.is_file() and metrics.stat().st_size > 0):
        assert process.poll() is None and time.monotonic() < deadline, "training did not start"
        time.sleep(0.1)
    return process


# --- 1. runs cannot destroy each other -------------------------------------------------------------------


def test_a_second_process_on_a_run_directory_is_refused_naming_the_holder_and_a_stale_lock_is_taken_over(
    gancli, tmp_path: Path
) -> None:
    first = background_train(tmp_path, "--checkpoint-every", "100000")
    try:
        one_line_error(gancli("train", *TINY, "--out", "run"), "run is in use", f"pid {first.pid}")
        one_line_error(gancli("train", "--resume", "run", "--steps", "30"), f"pid {first.pid}")
    finally:
        first.kill()  # SIGKILL: no clean-up, the lock file stays behind
        first.communicate(timeout=60)
    assert (tmp_path / "run" / ".lock").read_text().strip() == str(first.pid)
    assert steps(tmp_path / "run") == [], "the killed run never reached a checkpoint"
    ok(gancli("train", "--resume", "run", "--steps", "20", "--checkpoint-every", "10", "--quiet"))
    assert steps(tmp_path / "run") == [10, 20]


# --- 2. checkpoints that are checked, chosen and kept ---------------------------------------------------


def test_a_bit_flip_is_caught_and_the_newest_intact_checkpoint_is_used(gancli, tmp_path: Path) -> None:
    ok(gancli("train", *TINY, "--out", "run"))
    damaged = tmp_path / "run" / "checkpoints" / "step-00000020.safetensors"
    data = bytearray(damaged.read_bytes())
    data[-100] ^= 0x01  # one bit of a weight: safetensors alone would load it silently
    damaged.write_bytes(bytes(data))

    one_line_error(gancli("grid", "run", "--checkpoint", "20"), "step-00000020", "checksum")
    result = gancli("grid", "run", "-o", "grid.png")
    assert "step 10" in ok(result) and "step-00000020.json is damaged" in result.stderr

    one_line_error(gancli("train", "--resume", "run", "--steps", "30", "--checkpoint", "20"), "checksum")
    result = gancli("train", "--resume", "run", "--steps", "30", "--quiet")
    assert "using step-00000010.json" in ok(result)
    assert steps(tmp_path / "run") == [10, 20, 30]
    assert json.loads((tmp_path / "run" / "checkpoints" / "step-00000020.json").read_text())["step"] == 20
    ok(gancli("train", "--resume", "run", "--steps", "40", "--checkpoint", "10", "--quiet"))
    records = [json.loads(line) for line in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in records] == list(range(5, 45, 5)), "log lines after step 10 were not rewound"


def test_checkpoint_without_resume_or_from_another_run_is_refused(gancli) -> None:
    one_line_error(gancli("train", *TINY, "--checkpoint", "10", "--out", "run"), "--checkpoint", "--resume")
    ok(gancli("train", *TINY, "--out", "run"))
    ok(gancli("train", *TINY, "--steps", "10", "--out", "other"))
    elsewhere = "run/checkpoints/step-00000020.json"
    one_line_error(gancli("train", "--resume", "other", "--checkpoint", elsewhere), "--checkpoint", "other")


@pytest.mark.parametrize(
    ("changes", "needle"),
    [
        ({"step": -1}, "does not match the file name"),
        ({"step": "20"}, "does not match the file name"),
        ({"step": 10}, "does not match the file name"),
        ({"tensors": "/dev/zero"}, "is not the tensor file beside it"),
        ({"tensors": "../config.json"}, "is not the tensor file beside it"),
        ({"tensor_bytes": 10**15}, "the JSON says"),
        ({"checksum": 5}, "malformed"),
        ({"format": 1}, "format 1"),
        ({"opt_g": 5}, "damaged"),
        ({"d_updates": -3}, "damaged"),
        ({"rng_data": {"bit_generator": "nonsense"}}, "damaged"),
    ],
)
def test_a_checkpoint_json_is_validated_before_anything_is_touched(
    gancli, tmp_path: Path, changes: dict[str, object], needle: str
) -> None:
    ok(gancli("train", *TINY, "--out", "run"))
    logs = {name: (tmp_path / "run" / name).read_text() for name in ("metrics.jsonl", "eval.jsonl")}
    edit_json(tmp_path / "run" / "checkpoints" / "step-00000020.json", **changes)
    one_line_error(gancli("train", "--resume", "run", "--steps", "30", "--checkpoint", "20"), "step-00000020", needle)
    assert {name: (tmp_path / "run" / name).read_text() for name in logs} == logs, "a refused resume changed the logs"
    assert steps(tmp_path / "run") == [10, 20]


def test_a_checkpoint_json_that_is_not_json_is_one_line(gancli, tmp_path: Path) -> None:
    ok(gancli("train", *TINY, "--out", "run"))
    for text in ("{not json", "[1, 2]", "x" * 20_000_000):
        (tmp_path / "run" / "checkpoints" / "step-00000020.json").write_text(text)
        one_line_error(gancli("sample", "run", "-o", "x.npy", "--checkpoint", "20"), "step-00000020.json")


def test_a_run_killed_before_its_first_checkpoint_resumes_from_step_0(gancli, tmp_path: Path) -> None:
    ok(gancli("train", *TINY, "--out", "whole"))
    process = background_train(tmp_path, "--checkpoint-every", "100000")
    process.kill()
    process.communicate(timeout=60)
    run = tmp_path / "run"
    assert steps(run) == [] and (run / "metrics.jsonl").stat().st_size > 0
    one_line_error(gancli("train", *TINY, "--out", "run"), "already holds a run", "--resume")
    ok(gancli("train", "--resume", "run", "--steps", "20", "--checkpoint-every", "10", "--quiet"))
    assert same_tensors(tensors(run, 20), tensors(tmp_path / "whole", 20))
    assert (run / "metrics.jsonl").read_text() == (tmp_path / "whole" / "metrics.jsonl").read_text()


def test_sigterm_saves_a_checkpoint_and_exits_143(tmp_path: Path) -> None:
    process = background_train(tmp_path, "--checkpoint-every", "100000")
    process.send_signal(signal.SIGTERM)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 143, stderr
    assert "interrupted: saved" in stderr and "--resume run" in stderr and "Traceback" not in stderr
    (saved,) = steps(tmp_path / "run")
    assert saved > 0


def test_ctrl_c_before_anything_was_saved_says_so_and_leaves_the_directory_free(
    gancli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from gancli.train.session import Session

    def interrupted(*args: object) -> None:
        raise KeyboardInterrupt  # Ctrl-C while the dataset loads

    with monkeypatch.context() as patch:
        patch.setattr(Session, "build", interrupted)
        result = gancli("train", *TINY, "--out", "run")
    assert result.exit_code == 130
    assert "no checkpoint was saved" in result.stderr and "a checkpoint was saved" not in result.stderr
    assert not (tmp_path / "run").exists()
    ok(gancli("train", *TINY, "--out", "run", "--steps", "2"))


def test_a_torn_last_log_line_is_dropped_and_damage_elsewhere_is_named(gancli, tmp_path: Path) -> None:
    ok(gancli("train", *TINY, "--out", "whole"))
    ok(gancli("train", *TINY, "--steps", "10", "--out", "run"))
    metrics = tmp_path / "run" / "metrics.jsonl"
    with metrics.open("a") as log:
        log.write('{"step": 15, "loss_d": 0.6')  # the disk filled mid-record
    ok(gancli("train", "--resume", "run", "--steps", "20", "--quiet"))
    assert metrics.read_text() == (tmp_path / "whole" / "metrics.jsonl").read_text()

    lines = metrics.read_text().splitlines()
    metrics.write_text("\n".join([lines[0], "{torn", *lines[1:]]) + "\n")
    one_line_error(gancli("train", "--resume", "run", "--steps", "30"), "metrics.jsonl:2", "damaged record")


def test_a_log_record_is_written_whole_or_not_at_all(tmp_path: Path) -> None:
    """The file-size limit makes the kernel refuse a write part-way, as a disk filling mid-record does."""
    import resource

    from gancli.train.rundir import append_record, read_jsonl

    log = tmp_path / "metrics.jsonl"
    append_record(log, {"step": 1, "loss_d": 0.5})
    size = log.stat().st_size
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    previous = signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (size + 20, hard))
    try:
        with pytest.raises(OSError) as refused:
            append_record(log, {"step": 2, "loss_d": 0.25, "note": "x" * 100})
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
        signal.signal(signal.SIGXFSZ, previous)
    assert (refused.value.errno, refused.value.filename) == (errno.EFBIG, str(log))  # the user learns which file
    assert log.stat().st_size == size, "half a record was left in the log"
    assert read_jsonl(log) == [{"step": 1, "loss_d": 0.5}]


def test_keep_retains_the_newest_checkpoints_cleans_temporary_files_and_writes_readable_files(
    gancli, tmp_path: Path
) -> None:
    ok(gancli("train", *TINY, "--steps", "40", "--keep", "2", "--out", "run"))
    run = tmp_path / "run"
    assert steps(run) == [30, 40]
    left = [run / "checkpoints" / ".step-00000050.safetensors.x1y2.tmp", run / ".config.json.abc.tmp"]
    for path in left:
        path.write_bytes(b"half a file")
    ok(gancli("train", "--resume", "run", "--steps", "50", "--quiet"))
    assert steps(run) == [40, 50]
    assert not any(path.exists() for path in left)
    umask = os.umask(0)
    os.umask(umask)
    for path in [run / "config.json", *(run / "checkpoints").iterdir(), *(run / "samples").iterdir()]:
        assert path.stat().st_mode & 0o777 == 0o666 & ~umask, path
    one_line_error(gancli("train", *TINY, "--keep", "0", "--out", "other"), "--keep")


def test_a_relative_data_path_is_stored_resolved(gancli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from PIL import Image

    (tmp_path / "data" / "faces").mkdir(parents=True)
    rng = np.random.default_rng(0)
    for i in range(8):
        Image.fromarray(rng.integers(0, 255, (8, 8), dtype=np.uint8)).save(tmp_path / "data" / "faces" / f"{i}.png")
    monkeypatch.chdir(tmp_path / "data")
    args = ["--image-size", "8", "--channels", "1", "--arch", "mlp", "--set", "mlp.hidden=16", "--batch-size", "4"]
    ok(gancli("train", "--data", "faces", *args, "--steps", "2", "--quiet", "--out", "../run"))
    config = json.loads((tmp_path / "run" / "config.json").read_text())
    assert config["data"] == str(tmp_path / "data" / "faces")
    monkeypatch.chdir(tmp_path)
    (tmp_path / "faces").mkdir()  # another folder of the same name, where a relative path would now point
    ok(gancli("train", "--resume", "run", "--steps", "4", "--quiet"))
    assert "step 4" in ok(gancli("grid", "run", "-o", "grid.png"))
    Image.fromarray(np.zeros((8, 8), np.uint8)).save(tmp_path / "data" / "faces" / "extra.png")
    one_line_error(gancli("train", "--resume", "run", "--steps", "6"), "8 examples (content xxh3:", "9 examples")


def gray_pngs(folder: Path, count: int, seed: int, start: int = 0) -> None:
    """``count`` 8×8 gray PNGs of noise, named from ``start``."""
    from PIL import Image

    folder.mkdir(exist_ok=True)
    rng = np.random.default_rng(seed)
    for i in range(start, start + count):
        Image.fromarray(rng.integers(0, 255, (8, 8), dtype=np.uint8)).save(folder / f"{i:02}.png")


FACES = ["--data", "faces", "--image-size", "8", "--channels", "1", "--arch", "mlp", "--set", "mlp.hidden=16"]
FACES += ["--batch-size", "4", "--checkpoint-every", "2", "--eval-every", "100", "--quiet"]


def test_resume_refuses_data_whose_content_changed_unless_allowed(gancli, tmp_path: Path) -> None:
    """32 of 64 images replaced by others of the same size: count and shape agree, the content fingerprint (XXH3
    of the decoded pixels, in every checkpoint) does not, and the refusal names the data and both fingerprints."""
    from gancli import kernels

    faces = tmp_path / "faces"
    gray_pngs(faces, 64, seed=0)
    ok(gancli("train", *FACES, "--steps", "2", "--out", "run"))

    def content(step: int) -> str:
        return json.loads((tmp_path / "run" / "checkpoints" / f"step-{step:08d}.json").read_text())["data"]["content"]

    decoded = kernels.decode_images(sorted(faces.iterdir()), 8, 1).images
    before = f"xxh3:{kernels.checksum(decoded):016x}"
    assert content(2) == before
    gray_pngs(faces, 32, seed=1)  # images 00-31 replaced
    after = f"xxh3:{kernels.checksum(kernels.decode_images(sorted(faces.iterdir()), 8, 1).images):016x}"
    assert after != before
    one_line_error(
        gancli("train", "--resume", "run", "--steps", "4"),
        f"--data {faces} changed since checkpoint run/checkpoints/step-00000002.json",
        f"64 examples (content {before}) then, 64 examples (content {after}) now",
        "--allow-data-change",
    )
    assert steps(tmp_path / "run") == [2]
    allowed = ok(gancli("train", "--resume", "run", "--steps", "4", "--allow-data-change"))
    assert f"content {after}) now; training on it as --allow-data-change asks" in allowed
    assert content(4) == after  # what the run goes on from, so resuming it again needs no flag
    ok(gancli("train", "--resume", "run", "--steps", "6"))
    one_line_error(gancli("train", *FACES, "--allow-data-change", "--out", "other"), "needs --resume")


def test_a_checkpoint_from_before_content_fingerprints_compares_count_and_shape(gancli, tmp_path: Path) -> None:
    gray_pngs(tmp_path / "faces", 8, seed=0)
    ok(gancli("train", *FACES, "--steps", "2", "--out", "run"))
    json_path = tmp_path / "run" / "checkpoints" / "step-00000002.json"
    meta = json.loads(json_path.read_text())
    edit_json(json_path, data={"examples": 8, "shape": meta["data"]["shape"]})
    gray_pngs(tmp_path / "faces", 8, seed=1)
    ok(gancli("train", "--resume", "run", "--steps", "4"))
    gray_pngs(tmp_path / "faces", 1, seed=2, start=8)
    one_line_error(gancli("train", "--resume", "run", "--steps", "6"), "8 examples (content xxh3:", "9 examples")


def test_a_run_directory_inside_its_image_folder_is_refused_at_start(
    gancli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Its sample PNGs would become training data on the next run or resume: refused naming both paths, before
    anything is written."""
    faces = tmp_path / "faces"
    gray_pngs(faces, 8, seed=0)
    one_line_error(
        gancli("train", *FACES, "--steps", "2", "--out", "faces/deep/run"),
        f"the run directory faces/deep/run is inside --data {faces}",
        "pass an --out outside it",
    )
    monkeypatch.chdir(faces)  # the default runs/… of a run started in the folder
    FROM_INSIDE = [*FACES[:1], ".", *FACES[2:]]
    one_line_error(gancli("train", *FROM_INSIDE, "--steps", "2"), "the run directory runs/", f"inside --data {faces}")
    assert sorted(p.name for p in faces.iterdir()) == [f"{i:02}.png" for i in range(8)]


# --- 3. numerical health --------------------------------------------------------------------------------


def test_divergence_stops_the_run_or_rolls_back_once_and_no_non_finite_checkpoint_is_written(
    gancli, tmp_path: Path
) -> None:
    """At lr 100 this run's D blows up at step 2; at 50 it trains: one rollback at half the lr saves it, and
    at lr 1000 (then 500) a second divergence stops it."""
    fast = [*TINY, "--lr", "100", "--log-every", "1"]
    error_after_start(
        gancli("train", *fast, "--checkpoint-every", "1", "--out", "stop"),
        "step 2",
        "training diverged",
        "the last good checkpoint is step 1",
        "--on-nan",
    )

    result = gancli("train", *fast, "--on-nan", "rollback", "--out", "back")
    assert "step 2: grad_norm_d is inf; rolled back to step 0 at half the lr" in ok(result)
    run = tmp_path / "back"
    (event,) = [json.loads(line) for line in (run / "events.jsonl").read_text().splitlines()]
    assert (event["event"], event["step"], event["from"], event["lr_g"], event["lr_d"]) == ("rollback", 0, 2, 50, 50)
    meta = json.loads((run / "checkpoints" / "step-00000020.json").read_text())
    assert meta["opt_g"]["param_groups"][0]["lr"] == meta["opt_d"]["param_groups"][0]["lr"] == 50
    assert [json.loads(line)["step"] for line in (run / "metrics.jsonl").read_text().splitlines()] == list(range(1, 21))

    error_after_start(
        gancli("train", *fast, "--lr", "1000", "--on-nan", "rollback", "--out", "again"),
        "training diverged after one rollback at half the lr",
        "lower --lr",
    )
    for name in ("stop", "back", "again"):
        for step in steps(tmp_path / name):
            assert all(np.isfinite(t).all() for t in tensors(tmp_path / name, step).values() if t.dtype.kind == "f")


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--lr", "inf"], "--lr"),
        (["--lr", "nan"], "--lr"),
        (["--lr-g", "-1"], "--lr-g"),
        (["--r1", "-1"], "--r1"),
        (["--r1-every", "0"], "--r1-every must be between 1 and 1000000000, got 0"),
        (["--diversity", "nan"], "--diversity"),
        (["--ema", "nan"], "--ema"),
        (["--seed", "-1"], "--seed"),
        (["--seed", "99999999999999999999"], "--seed"),
        (["--batch-size", "10000000000"], "--batch-size"),
        (["--latent-dim", "100000000"], "--latent-dim"),
        (["--on-nan", "ignore"], "--on-nan"),
        (["--set", "ring8.modes=0"], "--set ring8.modes must be between 1 and 1000000, got 0"),
        (["--set", "ring8.std=-0.5"], "--set ring8.std must be greater than 0, got -0.5"),
    ],
)
def test_non_finite_and_out_of_range_values_are_refused(gancli, args: list[str], needle: str) -> None:
    one_line_error(gancli("train", *TINY, *args, "--out", "run"), needle)


# --- 5. errors a user can act on ------------------------------------------------------------------------


@pytest.mark.parametrize("code", [errno.ENOSPC, errno.EROFS, errno.EACCES])
def test_a_disk_that_refuses_a_write_is_one_line_naming_the_file(
    gancli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, code: int
) -> None:
    """The disk's refusal is injected where every atomic write reaches the disk (fsync), as a full or
    read-only filesystem would refuse it."""

    def refuse(fd: int) -> None:
        raise OSError(code, os.strerror(code))

    with monkeypatch.context() as patch:
        patch.setattr(os, "fsync", refuse)
        result = gancli("train", *TINY, "--out", "run")
    one_line_error(result, str(Path("run") / "config.json"), os.strerror(code))


def test_a_corrupt_sample_image_under_animate_is_named(gancli, tmp_path: Path) -> None:
    ok(gancli("train", *TINY, "--out", "run"))
    (tmp_path / "run" / "samples" / "step-00000010.png").write_bytes(b"not a png")
    one_line_error(gancli("grid", "run", "--animate"), "step-00000010.png")


def test_a_config_file_with_metrics_of_the_wrong_type_is_named(gancli, tmp_path: Path) -> None:
    (tmp_path / "exp.toml").write_text('data = "ring8"\nmetrics = [1]\n')
    one_line_error(gancli("train", "--config", "exp.toml"), "--config exp.toml", "metrics")


def test_grid_and_sample_need_only_the_networks_not_the_data(gancli, tmp_path: Path) -> None:
    """A run on an image folder that has since gone: its samples still render and save; eval, which compares
    with the data, says the data is missing."""
    import shutil

    from PIL import Image

    folder = tmp_path / "faces"
    folder.mkdir()
    for i in range(6):
        Image.fromarray(np.full((20, 20, 3), 40 * i, dtype=np.uint8)).save(folder / f"{i}.png")
    args = ["--data", "faces", "--arch", "mlp", "--image-size", "16", "--batch-size", "4", "--steps", "2"]
    ok(gancli("train", *args, "--latent-dim", "4", "--set", "mlp.hidden=8", "--quiet", "--out", "run"))
    shutil.rmtree(folder)
    ok(gancli("grid", "run", "-o", "grid.png", "--n", "4"))
    ok(gancli("sample", "run", "-o", "samples.npy", "--n", "5"))
    assert np.load(tmp_path / "samples.npy").shape == (5, 3, 16, 16)
    assert (tmp_path / "grid.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    one_line_error(gancli("eval", "run"), "faces: no such file or folder")


def test_keep_best_keeps_the_best_checkpoint_beside_the_newest(gancli, tmp_path: Path) -> None:
    args = [*TINY, "--steps", "60", "--eval-every", "5", "--keep", "1", "--lr", "3e-3"]
    ok(gancli("train", *args, "--keep-best", "mode_kl", "--out", "run"))
    evaluations = [json.loads(line) for line in (tmp_path / "run" / "eval.jsonl").read_text().splitlines()]
    lowest = min(evaluations, key=lambda e: (e["mode_kl"], e["step"]))
    bests = [json.loads(line) for line in (tmp_path / "run" / "events.jsonl").read_text().splitlines()]
    assert bests[-1]["event"] == "best" and bests[-1]["value"] == lowest["mode_kl"]
    assert steps(tmp_path / "run") == sorted({bests[-1]["step"], 60})  # the best (lower KL is better) and the newest
    warned = ok(gancli("train", *TINY, "--keep-best", "modes", "--out", "typo"))
    assert warned.count("--keep-best modes: no metric reports it (they report modes_covered,") == 1

"""The command line end to end, as a user types it: what a run directory holds, grid/sample/eval on it,
--config and --resume reproducing a run bit for bit, recommendations and their overrides, and bad input
answered by one line that names the culprit (exit 1, no traceback).

Runs are tiny (ring8, a 32-unit MLP, 20 steps): these tests check the plumbing; test_learning.py checks
that training learns.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from cli_helpers import TINY, ok, one_line_error
from gancli.config import resolve
from gancli.plugins.manager import get_plugins
from PIL import Image
from safetensors.numpy import load_file

#: digits at 16 px through a DCGAN a few channels wide: a convolutional run that takes seconds
TINY_DCGAN_DIGITS = ["--data", "digits", "--set", "source=sklearn", "--image-size", "16", "--batch-size", "16"]
TINY_DCGAN_DIGITS += ["--set", "dcgan.g_width=8", "--set", "dcgan.d_width=8", "--latent-dim", "8"]


def tensors(run: Path, step: int) -> dict[str, np.ndarray]:
    return load_file(run / "checkpoints" / f"step-{step:08d}.safetensors")


def test_help_and_version_read_well(gancli) -> None:
    assert ok(gancli("--version")).strip().startswith("gancli ")
    top = ok(gancli("--help"))
    for command in ("train", "grid", "sample", "eval", "plugins", "data"):
        assert command in top
    for command in (["train"], ["grid"], ["sample"], ["eval"], ["plugins", "install"], ["data", "prepare"]):
        assert "Usage: gancli " + " ".join(command) in ok(gancli(*command, "--help"))
    assert "--d-steps" in ok(gancli("train", "--help"))


def test_a_run_directory_holds_config_metrics_checkpoints_samples_and_evaluations(gancli, tmp_path: Path) -> None:
    ok(gancli("train", *TINY, "--out", "run"))
    run = tmp_path / "run"
    config = json.loads((run / "config.json").read_text())
    assert (config["data"], config["arch"], config["steps"], config["seed"]) == ("ring8", "mlp", 20, 3)
    assert config["options"]["mlp"]["hidden"] == 32

    records = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in records] == [5, 10, 15, 20]
    for key in ("loss_d", "loss_g", "d_real", "d_fake", "d_fake_g"):
        assert all(np.isfinite(r[key]) for r in records), key
    assert all(0 <= r["d_real"] <= 1 and 0 <= r["d_fake"] <= 1 for r in records)  # probabilities, not logits

    assert sorted(p.name for p in (run / "checkpoints").iterdir()) == [
        "step-00000010.json",
        "step-00000010.safetensors",
        "step-00000020.json",
        "step-00000020.safetensors",
    ]
    meta = json.loads((run / "checkpoints" / "step-00000020.json").read_text())
    assert meta["step"] == 20 and meta["plugins"]["loss"]["name"] == "nonsaturating"
    assert not list(run.rglob("*.tmp*")), "a temporary file was left behind"
    assert any(name.startswith("G/") for name in tensors(run, 20))

    scatter = Image.open(run / "samples" / "step-00000020.png")
    assert scatter.format == "PNG" and scatter.size[0] > 100
    evals = [json.loads(line) for line in (run / "eval.jsonl").read_text().splitlines()]
    assert [e["step"] for e in evals] == [10, 20] and evals[-1]["modes_total"] == 8


def test_grid_sample_and_eval_read_the_latest_checkpoint(gancli, tmp_path: Path) -> None:
    ok(gancli("train", *TINY, "--out", "run"))
    assert "step 20" in ok(gancli("grid", "run", "-o", "grid.png", "--n", "16"))
    assert Image.open(tmp_path / "grid.png").format == "PNG"
    assert "step 10" in ok(gancli("grid", "run", "--checkpoint", "10", "-o", "grid10.png"))
    ok(gancli("sample", "run", "--n", "50", "-o", "a.npy", "--seed", "7"))
    ok(gancli("sample", "run", "--n", "50", "-o", "b.npy", "--seed", "7"))
    ok(gancli("sample", "run", "--n", "50", "-o", "c.npy", "--seed", "8", "--checkpoint", "10"))
    a, b, c = (np.load(tmp_path / f"{x}.npy") for x in "abc")
    assert a.shape == (50, 2) and a.dtype == np.float32
    assert np.array_equal(a, b) and not np.array_equal(a, c)
    result = json.loads(ok(gancli("eval", "run", "--json")))
    assert result["step"] == 20 and 0 <= result["modes_covered"] <= 8


def test_grid_without_a_run_renders_the_newest_under_runs(gancli, tmp_path: Path) -> None:
    one_line_error(gancli("grid"), "no run directory under runs")
    ok(gancli("train", *TINY))
    assert (tmp_path / "runs" / "ring8-nonsaturating-1" / "config.json").is_file()
    assert "step 20" in ok(gancli("grid"))
    assert (tmp_path / "runs" / "ring8-nonsaturating-1" / "grid.png").is_file()


def test_the_saved_config_reruns_the_experiment_bit_for_bit(gancli, tmp_path: Path) -> None:
    ok(gancli("train", *TINY, "--out", "first"))
    ok(gancli("train", "--config", "first/config.json", "--out", "again", "--quiet"))
    assert (tmp_path / "first" / "metrics.jsonl").read_text() == (tmp_path / "again" / "metrics.jsonl").read_text()
    first, again = tensors(tmp_path / "first", 20), tensors(tmp_path / "again", 20)
    assert first.keys() == again.keys()
    assert all(np.array_equal(first[k], again[k]) for k in first)


def test_resume_continues_the_same_run(gancli, tmp_path: Path) -> None:
    """20 steps in one go equal 10 steps, a stop, and --resume to 20: weights, optimizer, RNG and logs."""
    ok(gancli("train", *TINY, "--out", "whole"))
    halfway = [a if a != "20" else "10" for a in TINY]
    ok(gancli("train", *halfway, "--out", "split"))
    ok(gancli("train", "--resume", "split", "--steps", "20", "--quiet"))
    whole, split = tensors(tmp_path / "whole", 20), tensors(tmp_path / "split", 20)
    assert whole.keys() == split.keys()
    assert [k for k in whole if not np.array_equal(whole[k], split[k])] == []
    for log in ("metrics.jsonl", "eval.jsonl"):
        assert (tmp_path / "whole" / log).read_text() == (tmp_path / "split" / log).read_text(), log


def test_a_batchnorm_generators_average_samples_the_same_after_a_resume(gancli, tmp_path: Path) -> None:
    """--ema on a DCGAN: the average's BatchNorm statistics are measured on fixed noise, so a resumed run draws
    the very samples and saves the very weights of an unbroken one, and `gancli sample` draws them again."""
    digits = [*TINY_DCGAN_DIGITS, "--ema", "0.9"]
    digits += ["--sample-every", "10", "--checkpoint-every", "10", "--eval-every", "1000", "--seed", "2", "--quiet"]
    ok(gancli("train", *digits, "--steps", "20", "--out", "whole"))
    ok(gancli("train", *digits, "--steps", "10", "--out", "split"))
    ok(gancli("train", "--resume", "split", "--steps", "20", "--quiet"))
    whole, split = tensors(tmp_path / "whole", 20), tensors(tmp_path / "split", 20)
    assert [k for k in whole if not np.array_equal(whole[k], split[k])] == []
    assert any(k.startswith("G_ema") and "running_mean" in k for k in whole)
    png = "samples/step-00000020.png"
    assert (tmp_path / "whole" / png).read_bytes() == (tmp_path / "split" / png).read_bytes()
    for run in ("whole", "split"):
        ok(gancli("sample", run, "--n", "8", "-o", f"{run}.npy"))
    assert np.array_equal(np.load(tmp_path / "whole.npy"), np.load(tmp_path / "split.npy"))


def test_resume_refuses_to_change_the_experiment(gancli) -> None:
    ok(gancli("train", *TINY, "--out", "run"))
    one_line_error(gancli("train", "--resume", "run", "--lr", "0.1"), "--lr")
    one_line_error(gancli("train", "--resume", "run"), "already at step 20")
    one_line_error(gancli("train", "--resume", "nowhere", "--steps", "30"), "nowhere", "not a gancli run")


def test_ctrl_c_saves_a_checkpoint_that_resume_continues(tmp_path: Path) -> None:
    args = [a for a in TINY if a != "--quiet"]
    args[args.index("--steps") + 1] = "100000"
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    command = [sys.executable, "-m", "gancli", "train", *args, "--out", "run", "--quiet"]
    process = subprocess.Popen(command, cwd=tmp_path, env=env, stderr=subprocess.PIPE, text=True)
    metrics = tmp_path / "run" / "metrics.jsonl"
    deadline = time.monotonic() + 120
    while not (metrics.is_file() and metrics.stat().st_size > 0):
        assert process.poll() is None and time.monotonic() < deadline, "training did not start"
        time.sleep(0.2)
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 130, stderr
    assert "interrupted" in stderr and "Traceback" not in stderr
    saved = sorted((tmp_path / "run" / "checkpoints").glob("*.json"))
    step = json.loads(saved[-1].read_text())["step"]
    assert 0 < step < 100000
    resumed = subprocess.run(
        [sys.executable, "-m", "gancli", "train", "--resume", "run", "--steps", str(step + 5), "--quiet"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
    )
    assert resumed.returncode == 0, resumed.stderr
    assert json.loads(sorted((tmp_path / "run" / "checkpoints").glob("*.json"))[-1].read_text())["step"] == step + 5


def test_a_loss_recommends_its_settings_and_flags_override_them(gancli, tmp_path: Path) -> None:
    ok(gancli("train", *TINY, "--loss", "wgan", "--out", "wgan", "--steps", "2"))
    config = json.loads((tmp_path / "wgan" / "config.json").read_text())
    assert (config["optimizer"], config["lr"], config["d_steps"]) == ("rmsprop", 2e-4, 5)
    assert config["options"]["wgan"]["clip"] == 0.01
    ok(gancli("train", *TINY, "--loss", "wgan", "--out", "own", "--steps", "2", "--d-steps", "2"))
    ok(gancli("train", "--config", "own/config.json", "--out", "own2", "--set", "clip=0.05", "--quiet"))
    own = json.loads((tmp_path / "own2" / "config.json").read_text())
    assert (own["optimizer"], own["d_steps"], own["options"]["wgan"]["clip"]) == ("rmsprop", 2, 0.05)


def test_wgan_critic_drops_batchnorm_when_asked(gancli, tmp_path: Path) -> None:
    """The paper's DCGAN critic has BatchNorm; --set wgan.critic_batchnorm=false trains the same critic without it."""
    digits = [*TINY_DCGAN_DIGITS, "--loss", "wgan"]
    digits += ["--steps", "2", "--checkpoint-every", "2", "--eval-every", "1000", "--quiet"]
    ok(gancli("train", *digits, "--out", "with"))
    ok(gancli("train", *digits, "--set", "wgan.critic_batchnorm=false", "--out", "without"))

    with_norm, without = (
        {k: v for k, v in tensors(tmp_path / run, 2).items() if k.startswith("D/")} for run in ("with", "without")
    )
    assert any("running_mean" in k for k in with_norm) and not any("running_mean" in k for k in without)
    assert max(np.abs(v).max() for v in without.values()) <= 0.01  # still clipped


def test_wgan_recommends_a_budget_for_the_digits_and_only_there(gancli) -> None:
    """The design card's command on the default data: 4,000 G steps at two critic steps each, without the
    digits' R1 penalty; on ring8 the dataset's own 20,000 steps at the paper's five critic steps stand."""
    registry = get_plugins().registry
    digits = resolve(registry, {"loss": "wgan"}).config
    assert (digits.steps, digits.d_steps, digits.r1, digits.ema, digits.optimizer) == (4000, 2, 0.0, 0.99, "rmsprop")
    assert resolve(registry, {"loss": "nonsaturating"}).config.r1 == 1.0
    ring = resolve(registry, {"loss": "wgan", "data": "ring8"}).config
    assert (ring.steps, ring.d_steps) == (20000, 5)
    assert resolve(registry, {"loss": "wgan", "steps": 700}).config.steps == 700  # the user's word wins
    assert "recommends on digits: steps=4000, d_steps=2, r1=0.0, ema=0.99" in ok(gancli("plugins", "show", "wgan"))


def test_a_toml_config_takes_the_flags_keys_and_flags_win(gancli, tmp_path: Path) -> None:
    (tmp_path / "exp.toml").write_text(
        'data = "ring8"\nsteps = 4\nbatch-size = 16\nlr = 0.001\nset = ["mlp.hidden=16"]\n'
        "checkpoint_every = 2\nsample_every = 2\neval_every = 2\nlog_every = 2\n"
    )
    ok(gancli("train", "--config", "exp.toml", "--lr", "0.002", "--out", "run", "--quiet"))
    config = json.loads((tmp_path / "run" / "config.json").read_text())
    assert (config["steps"], config["batch_size"], config["lr"]) == (4, 16, 0.002)
    assert config["options"]["mlp"]["hidden"] == 16


def test_quiet_prints_only_the_run_directory_and_a_loud_run_its_configuration(gancli, tmp_path: Path) -> None:
    quiet = ok(gancli("train", *TINY, "--out", "quiet"))
    assert [line for line in quiet.splitlines() if line.strip()] == [
        "run directory: quiet   samples: quiet/samples   grid: gancli grid quiet"
    ]
    assert json.loads((tmp_path / "quiet" / "config.json").read_text())["options"]["mlp"]["hidden"] == 32
    loud = ok(gancli("train", *[a for a in TINY if a != "--quiet"], "--steps", "10", "--out", "loud"))
    for shown in ("mlp.hidden", "recommended by", "--set", "examples of shape (2,)", "evaluation: ", "run directory"):
        assert shown in loud, shown


def row_of(text: str) -> dict[str, list[str]]:
    """A printed table's rows by their first cell (cells apart by two spaces or more)."""
    return {cells[0]: cells[1:] for line in text.splitlines() if (cells := re.split(r"\s{2,}", line.strip()))}


def test_dry_run_shows_each_value_with_where_it_came_from_and_writes_nothing(gancli, tmp_path: Path) -> None:
    (tmp_path / "exp.toml").write_text('batch_size = 8\nset = ["dcgan.g_width=16"]\n[options.dcgan]\nd_width = 8\n')
    args = ["--config", "exp.toml", "--steps", "7", "--set", "source=sklearn", "--out", "run", "--dry-run"]
    rows = row_of(ok(gancli("train", *args)))
    assert rows["lr"] == ["0.0005", "recommended by dataset digits"]
    assert rows["features"] == ["digits-cnn", "recommended by dataset digits"]
    assert rows["adam.beta1"] == ["0.5", "recommended by loss nonsaturating"]
    assert rows["steps"] == ["7", "--steps"]
    assert rows["batch_size"] == ["8", "--config exp.toml"]
    assert rows["dcgan.g_width"] == ["16", "--config exp.toml"]
    assert rows["dcgan.d_width"] == ["8", "--config exp.toml"]
    assert rows["digits.source"] == ["sklearn", "--set"]
    assert rows["seed"] == ["0", "default"]
    assert not (tmp_path / "run").exists() and not (tmp_path / "runs").exists()
    one_line_error(gancli("train", "--dry-run", "--set", "clipp=1"), "--set clipp", "unknown option")


def test_dry_run_of_a_resume_shows_the_saved_run_with_what_may_change(gancli, tiny_run: Path) -> None:
    before = sorted(p.name for p in tiny_run.rglob("*"))
    rows = row_of(ok(gancli("train", "--resume", tiny_run, "--steps", "5", "--dry-run")))
    assert rows["steps"] == ["5", "--steps"]
    assert rows["data"] == ["ring8", f"--config {tiny_run / 'config.json'}"]
    assert sorted(p.name for p in tiny_run.rglob("*")) == before
    one_line_error(gancli("train", "--resume", tiny_run, "--lr", "0.1", "--dry-run"), "--lr cannot change it")


def test_train_help_says_where_to_see_the_defaults_a_dataset_recommends(gancli) -> None:
    from gancli.config import dataset_recommended

    text = " ".join(ok(gancli("train", "--help")).replace("│", " ").split())
    recommended = dataset_recommended(get_plugins().registry)
    assert {"lr", "steps", "batch_size", "arch", "features"} <= recommended and "seed" not in recommended
    assert text.count("Default: the dataset's recommendation, else gancli's; --dry-run shows it.") == len(recommended)
    assert "Print the resolved configuration, each value with where it came from" in text


@pytest.mark.parametrize(
    ("args", "needles"),
    [
        (["--loss", "hinj"], ["unknown loss 'hinj'", "did you mean hinge"]),
        (["--data", "ring9"], ["unknown dataset 'ring9'", "ring8"]),
        (["--set", "clipp=1"], ["--set clipp", "unknown option"]),
        (["--set", "mlp.hidden=lots"], ["mlp.hidden=lots"]),
        (["--set", "dcgan.g_width=8"], ["--set dcgan.g_width", "plugin 'dcgan' is not used by this run"]),
        (["--set", "nonsense"], ["--set 'nonsense'", "NAME=VALUE"]),
        (["--batch-size", "30", "--pack", "4"], ["--batch-size 30", "--pack 4"]),
        (["--steps", "0"], ["--steps must be between 1 and 1000000000, got 0"]),
        (["--device", "tpu"], ["--device"]),
        (["--config", "missing.toml"], ["--config missing.toml"]),
        (["--ema", "1.5"], ["--ema"]),
    ],
)
def test_bad_train_input_is_one_line_naming_the_culprit(gancli, args: list[str], needles: list[str]) -> None:
    one_line_error(gancli("train", *TINY, *args, "--out", "run"), *needles)


def test_an_architecture_that_does_not_fit_the_data_is_named(gancli) -> None:
    one_line_error(gancli("train", "--data", "ring8", "--arch", "dcgan"), "architecture 'dcgan'", "--arch mlp")


def test_a_broken_config_file_and_an_occupied_run_directory_are_refused(gancli, tmp_path: Path) -> None:
    (tmp_path / "bad.toml").write_text("steps = = 3\n")
    one_line_error(gancli("train", "--config", "bad.toml"), "--config bad.toml", "not valid")
    (tmp_path / "typo.toml").write_text("stepz = 3\n")
    one_line_error(gancli("train", "--config", "typo.toml"), "unknown key 'stepz'", "steps")
    ok(gancli("train", *TINY, "--out", "run", "--steps", "2"))
    before = (tmp_path / "run" / "config.json").read_text()
    one_line_error(gancli("train", *TINY, "--out", "run"), "already holds a run")
    assert (tmp_path / "run" / "config.json").read_text() == before


def test_read_only_commands_name_what_is_wrong(gancli, tmp_path: Path) -> None:
    one_line_error(gancli("grid", "nowhere"), "nowhere", "not a gancli run")
    ok(gancli("train", *TINY, "--out", "run", "--steps", "2"))
    one_line_error(gancli("grid", "run", "--checkpoint", "999"), "--checkpoint 999")
    one_line_error(gancli("grid", "run", "--n", "0"), "--n")
    (tmp_path / "run" / "checkpoints" / "step-00000002.safetensors").write_bytes(b"garbage")
    one_line_error(gancli("sample", "run", "-o", "x.npy"), "step-00000002")


@pytest.mark.parametrize(
    "game",
    [[], ["--r1", "1"], ["--loss", "wgan-gp", "--update", "consensus"]],
    ids=["plain", "r1", "gradient-penalty-consensus"],
)
def test_compiled_networks_train_like_eager_ones(gancli, tmp_path: Path, game: list[str]) -> None:
    """--compile (torch.compile, inductor on the CPU here) computes what the eager networks compute, also where
    a pass is differentiated twice (R1, the gradient penalty, consensus's field), which a compiled backward
    pass cannot be: `gancli train --compile` with the digits' R1 failed on it."""
    short = [*TINY, *game, "--steps", "5", "--log-every", "1"]
    ok(gancli("train", *short, "--out", "eager"))
    ok(gancli("train", *short, "--compile", "--out", "compiled"))
    eager, compiled = (
        [json.loads(line) for line in (tmp_path / run / "metrics.jsonl").open()] for run in ("eager", "compiled")
    )
    assert len(eager) == len(compiled) == 5
    for a, b in zip(eager, compiled, strict=True):
        assert b["loss_d"] == pytest.approx(a["loss_d"], rel=1e-3, abs=1e-4)
        assert b["loss_g"] == pytest.approx(a["loss_g"], rel=1e-3, abs=1e-4)
        assert a.keys() == b.keys()
        for penalty in {"r1", "penalty"} & a.keys():
            assert b[penalty] == pytest.approx(a[penalty], rel=1e-3, abs=1e-4)


def test_progress_in_a_log_is_a_whole_line_every_few_steps(gancli) -> None:
    """Where stderr is no terminal (a log, CI), progress comes as plain lines at logging points, about 20 a run and
    at the last step, each whole: step, it/s, losses, time left (Rich's bar printed one 80-column line at the end)."""
    result = gancli("train", *[arg for arg in TINY if arg != "--quiet"], "--out", "run")
    progress = [line for line in ok(result).splitlines() if line.startswith("step ")]
    assert [line.split()[1] for line in progress] == ["5/20", "10/20", "15/20", "20/20"]
    figure = r"-?\d+\.\d+"
    losses = rf"D {figure}  G {figure}  D\(x\) {figure}  D\(G\(z\)\) {figure}/{figure}"
    shape = rf"step \d+/20  {figure} it/s  {losses}  ETA 0:00:\d\d"
    assert all(re.fullmatch(shape, line) for line in progress), progress
    assert max(len(line) for line in progress) > 80

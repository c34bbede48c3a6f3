"""``gancli export``: the generator as TorchScript and ONNX, loaded in a fresh process by plain torch and
onnxruntime (no gancli), gives the samples ``gancli sample`` gives on the same noise."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
from cli_helpers import ok, one_line_error

#: a DCGAN with a moving average (BatchNorm statistics measured for it) on 16-px digits, no metrics: 3 steps
DCGAN_EMA = ["--data", "digits", "--set", "source=sklearn", "--image-size", "16", "--batch-size", "16"]
DCGAN_EMA += ["--ema", "0.9", "--steps", "3", "--quiet", "--config", "no-metrics.toml"]

#: run by a fresh interpreter that cannot import gancli: the noise of `gancli sample --seed 5 --n 8`, through
#: each export; 8 samples where the exporter traced 4, so the batch size is free
LOAD_EXPORTS = """
import sys
import numpy as np, onnxruntime, torch
z = torch.randn(8, 64, generator=torch.Generator().manual_seed(5))
pt = torch.jit.load("g.pt")(z).detach().numpy()
onnx = onnxruntime.InferenceSession("g.onnx").run(["x"], {"z": z.numpy()})[0]
assert not any(name.startswith("gancli") for name in sys.modules)
np.save("pt.npy", pt)
np.save("onnx.npy", onnx)
"""


def test_an_export_loads_without_gancli_and_samples_as_gancli_sample_does(gancli, tmp_path: Path) -> None:
    (tmp_path / "no-metrics.toml").write_text("metrics = []\n")
    ok(gancli("train", *DCGAN_EMA, "--out", "run"))
    ok(gancli("sample", "run", "-o", "sampled.npy", "--n", "8", "--seed", "5"))
    ok(gancli("export", "run", "-o", "g.pt"))
    note = ok(gancli("export", "run", "-o", "g.onnx"))
    assert "input     z: float32 (batch, 64)" in note
    assert "output    x: float32 (batch, 1, 16, 16): images, channels first (NCHW), gray, in [-1, 1]" in note
    assert "moving average of G's weights (--ema 0.9)" in note and "classes   none" in note
    assert (tmp_path / "g.onnx.txt").read_text() in note  # printed and saved beside it
    environment = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    code = [sys.executable, "-I", "-c", LOAD_EXPORTS]  # -I: isolated, no site-packages path of the user either
    loaded = subprocess.run(code, cwd=tmp_path, env=environment, capture_output=True, text=True, check=False)
    assert loaded.returncode == 0, loaded.stderr
    sampled = np.load(tmp_path / "sampled.npy")
    assert sampled.shape == (8, 1, 16, 16) and float(sampled.std()) > 0.01
    np.testing.assert_allclose(np.load(tmp_path / "pt.npy"), sampled, atol=1e-5)
    np.testing.assert_allclose(np.load(tmp_path / "onnx.npy"), sampled, atol=1e-4)
    exported_step = json.loads((tmp_path / "run" / "config.json").read_text())["steps"]
    assert f"at step {exported_step}" in note


#: the same for a conditional run's export, given each sample's class as gancli sample asks (i mod 1,000)
LOAD_CONDITIONAL_EXPORTS = """
import numpy as np, onnxruntime, torch
z = torch.randn(8, 64, generator=torch.Generator().manual_seed(5))
labels = torch.arange(8) % 1000
np.save("pt.npy", torch.jit.load("g.pt")(z, labels).detach().numpy())
onnx = onnxruntime.InferenceSession("g.onnx").run(["x"], {"z": z.numpy(), "labels": labels.numpy()})[0]
np.save("onnx.npy", onnx)
"""


def test_a_conditional_export_takes_the_classes_and_samples_as_gancli_sample_does(gancli, tmp_path: Path) -> None:
    """Stacked digits conditioned on their 1,000 classes, embedded by digit: G(z, labels) in both formats."""
    (tmp_path / "no-metrics.toml").write_text("metrics = []\n")
    tiny = ["--data", "stacked-digits", "--conditional", "--image-size", "16", "--batch-size", "16", "--steps", "3"]
    ok(gancli("train", *tiny, "--quiet", "--config", "no-metrics.toml", "--out", "run"))
    ok(gancli("sample", "run", "-o", "sampled.npz", "--n", "8", "--seed", "5"))
    ok(gancli("export", "run", "-o", "g.pt"))
    note = ok(gancli("export", "run", "-o", "g.onnx"))
    assert "classes   1000 classes (000, 001, 002, …, 999); labels: int64 (batch,)" in note
    assert '"labels": np.arange(16, dtype=np.int64) % 1000' in note and "labels = torch.arange(n) % 1000" in note
    environment = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    code = [sys.executable, "-I", "-c", LOAD_CONDITIONAL_EXPORTS]
    loaded = subprocess.run(code, cwd=tmp_path, env=environment, capture_output=True, text=True, check=False)
    assert loaded.returncode == 0, loaded.stderr
    sampled = np.load(tmp_path / "sampled.npz")
    assert sampled["y"].tolist() == list(range(8)) and float(sampled["x"].std()) > 0.01
    np.testing.assert_allclose(np.load(tmp_path / "pt.npy"), sampled["x"], atol=1e-5)
    np.testing.assert_allclose(np.load(tmp_path / "onnx.npy"), sampled["x"], atol=1e-4)


def test_an_export_is_named_by_its_format(gancli, tiny_run: Path, tmp_path: Path) -> None:
    one_line_error(gancli("export", tiny_run, "-o", "g.bin"), "-o g.bin", ".pt (TorchScript), .onnx (ONNX)")
    (tmp_path / "g.pt.txt").write_text("mine")
    one_line_error(gancli("export", tiny_run, "-o", "g.pt"), "g.pt.txt exists; --force replaces it")
    assert (tmp_path / "g.pt.txt").read_text() == "mine" and not (tmp_path / "g.pt").exists()

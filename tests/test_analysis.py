"""Looking at runs: `gancli plot` and `gancli compare` on real run directories, `gancli dynamics` drawing gancli's
own update rules on the Dirac-GAN (whose trajectories test_update_rules.py checks against the theory)."""

from __future__ import annotations

import io
import json
from pathlib import Path

from cli_helpers import ok, one_line_error
from gancli.analysis.compare import comparison
from gancli.train.rundir import RunDir
from PIL import Image

TINY = ["--data", "ring8", "--steps", "20", "--batch-size", "32", "--latent-dim", "2", "--set", "mlp.hidden=16"]
TINY += ["--set", "modes.samples=200", "--quiet", "--log-every", "5", "--eval-every", "10"]


def png_size(path: Path) -> tuple[int, int]:
    with Image.open(io.BytesIO(path.read_bytes())) as image:
        assert image.format == "PNG"
        return image.size


def test_dynamics_draws_a_png(gancli, tmp_path: Path) -> None:
    ok(gancli("dynamics", "-o", "field.png", "--steps", "50"))
    width, height = png_size(tmp_path / "field.png")
    assert width > 1000 and height > 500
    one_line_error(gancli("dynamics", "--rules", "simultanous"), "unknown update 'simultanous'; did you mean")
    one_line_error(gancli("dynamics", "--lr", "0"), "--lr in (0, 1]")


def test_plot_and_compare_two_real_runs(gancli, tmp_path: Path) -> None:
    ok(gancli("train", *TINY, "--out", "runs/slow", "--lr", "1e-4"))
    ok(gancli("train", *TINY, "--out", "runs/fast", "--lr", "1e-3"))
    ok(gancli("plot", "runs/slow", "runs/fast", "-o", "both.png"))
    assert png_size(tmp_path / "both.png")[0] >= 1200
    ok(gancli("plot"))  # the newest run, to RUN/plot.png
    assert (tmp_path / "runs" / "fast" / "plot.png").is_file()

    result = gancli("compare", "runs/slow", "runs/fast", "--json")
    ok(result)
    compared = json.loads(result.stdout)
    assert compared["differing"] == {"lr": [1e-4, 1e-3]}
    assert [r["step"] for r in compared["runs"]] == [20, 20]
    assert set(compared["runs"][0]["metrics"]) == {"modes_covered", "modes_total", "high_quality", "mode_kl"}
    table = ok(gancli("compare", "runs/slow", "runs/fast"))
    assert "settings that differ" in table and "mode_kl" in table
    one_line_error(gancli("compare", "runs/slow", "nowhere"), "nowhere: not a gancli run directory")


def test_compare_takes_the_best_in_each_metric_s_own_direction(tmp_path: Path) -> None:
    run = tmp_path / "run"
    run.mkdir()
    (run / "config.json").write_text(json.dumps({"lr": 0.1, "options": {"mlp": {"hidden": 8}}, "plugins": {}}))
    evaluations = [{"step": 10, "modes_covered": 5, "mode_kl": 0.4}, {"step": 20, "modes_covered": 7, "mode_kl": 0.9}]
    (run / "eval.jsonl").write_text("".join(json.dumps(e) + "\n" for e in evaluations))
    (run / "metrics.jsonl").write_text('{"step": 20, "loss_d": 1.0}\n')
    (result,) = comparison([RunDir(run)])["runs"]
    assert result["step"] == 20
    assert result["metrics"]["modes_covered"] == {"last": 7, "best": 7, "best_step": 20}
    assert result["metrics"]["mode_kl"] == {"last": 0.9, "best": 0.4, "best_step": 10}


def test_plot_draws_real_data_and_spread_inside_each_metric_s_panel(tmp_path: Path) -> None:
    import matplotlib.pyplot as plt
    from gancli.analysis.plots import runs_figure

    run = tmp_path / "run"
    run.mkdir()
    (run / "metrics.jsonl").write_text('{"step": 10, "loss_d": 1.0, "loss_g": 0.7}\n')
    evaluations = [
        {"step": step, "fd": fd, "fd_real": 2.5, "kid": kid, "kid_std": 0.1, "kid_real": 0.2, "kid_std_real": 0.05}
        | {"precision": 0.5, "precision_real": 0.9, "spread": {"fd": 1.5, "precision": 0.02}}
        for step, fd, kid in ((10, 40.0, 3.0), (20, 30.0, 2.0))
    ]
    (run / "eval.jsonl").write_text("".join(json.dumps(e) + "\n" for e in evaluations))
    figure = runs_figure([RunDir(run)])
    panels = {ax.get_title(): ax for ax in figure.axes if ax.get_title()}
    assert set(panels) == {"losses", "eval: fd", "eval: kid", "eval: precision"}  # no *_real, no *_std panels
    for name, floor in (("fd", 2.5), ("kid", 0.2), ("precision", 0.9)):
        (reference,) = [line for line in panels[f"eval: {name}"].get_lines() if line.get_label() == "run: real data"]
        assert list(reference.get_ydata()) == [floor, floor] and reference.get_linestyle() == ":"
    (band,) = panels["eval: fd"].collections  # ± the spread over draws
    assert band.get_paths()[0].vertices[:, 1].min() == 30.0 - 1.5
    (band,) = panels["eval: kid"].collections  # ± KID's own std, where no draws were recorded for it
    assert band.get_paths()[0].vertices[:, 1].max() == 3.0 + 0.1
    plt.close(figure)

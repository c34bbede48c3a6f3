"""``gancli plot``: one PNG of what a practitioner watches over a run — both losses, mean D(x) and D(G(z)),
both players' gradient norms, the fixed-noise diversity, and the evaluation metrics — with several runs overlaid
in the same panels, and a vertical marker in every panel at each step where a live diagnostic found a pitfall.

A metric's panel holds what reading it needs: the figure, a band of ± its spread (over the evaluation's noise
draws, else the metric's own ``NAME_std``) and, dotted, the real data's own figure (``NAME_real``) as the
reference it is read against; those companions get no panel of their own."""

from __future__ import annotations

import io
from collections.abc import Container, Sequence
from typing import TYPE_CHECKING, Any

from gancli.diagnostics.watch import read_findings
from gancli.metrics import REAL_SUFFIX
from gancli.train.rundir import RunDir, read_jsonl

if TYPE_CHECKING:
    from matplotlib.figure import Figure

#: panels of the training records: title, the keys drawn, whether the axis is logarithmic
RECORD_PANELS = (
    ("losses", ("loss_d", "loss_g"), False),
    ("D(x) and D(G(z)) (before / after G's step)", ("d_real", "d_fake", "d_fake_g"), False),
    ("gradient norms", ("grad_norm_d", "grad_norm_g"), True),
    ("diversity of fixed-noise samples (the data's = 1)", ("diversity",), False),
    ("--holdout: D on training / held-out images (eval mode)", ("d_train", "d_held_out"), False),
    ("--ada: augmentation probability p, r = E[sign D(x)]", ("ada_p", "ada_r"), False),
    ("--aux-classifier: accuracy on real batches / on G's samples as asked", ("aux_acc_real", "aux_acc_fake"), False),
)
STYLES = ("-", "--", ":", "-.")
#: a metric's own spread (KID's over its subsets), drawn as a band around the figure
STD_SUFFIX = "_std"


def metric_names(evaluations: Sequence[Sequence[dict]]) -> list[str]:
    """The numeric metrics any of the runs recorded, in the order first seen, less the companions drawn inside
    another's panel (``NAME_real``, ``NAME_std`` beside a recorded ``NAME``)."""
    names: dict[str, None] = {}
    for records in evaluations:
        for record in records:
            names.update({k: None for k, v in record.items() if k != "step" and isinstance(v, int | float)})
    return [name for name in names if not is_companion(name, names)]


def is_companion(name: str, names: Container[str]) -> bool:
    """Whether ``name`` is a real floor or a spread of another figure in ``names``."""
    return any(name.endswith(suffix) and name.removesuffix(suffix) in names for suffix in (REAL_SUFFIX, STD_SUFFIX))


def draw_metric(ax: Any, name: str, records: Sequence[dict], label: str, style: str) -> None:
    """A metric over steps, ± its spread as a band, and the real data's figure as a dotted reference line."""
    rows = [r for r in records if isinstance(r.get(name), int | float)]
    if not rows:
        return
    steps = [r["step"] for r in rows]
    (line,) = ax.plot(steps, [r[name] for r in rows], style, marker="o", ms=3, lw=1.0, label=label)
    spreads = [r.get("spread", {}).get(name, r.get(name + STD_SUFFIX)) for r in rows]
    if all(isinstance(s, int | float) for s in spreads):
        low = [r[name] - s for r, s in zip(rows, spreads, strict=True)]
        high = [r[name] + s for r, s in zip(rows, spreads, strict=True)]
        ax.fill_between(steps, low, high, color=line.get_color(), alpha=0.2, lw=0)
    floors = [(r["step"], r[name + REAL_SUFFIX]) for r in rows if isinstance(r.get(name + REAL_SUFFIX), int | float)]
    if floors:
        real_steps, values = zip(*floors, strict=True)
        ax.plot(real_steps, values, ":", color=line.get_color(), lw=1.2, label=f"{label}: real data")


def mark_findings(ax: Any, findings: Sequence[Sequence[dict]]) -> None:
    """A vertical line at each finding's step, named by its diagnostic (each run in its own line style)."""
    for index, rows in enumerate(findings):
        for finding in rows:
            ax.axvline(finding["step"], color="tab:red", ls=STYLES[index % len(STYLES)], lw=0.8, alpha=0.6)
            label = finding.get("diagnostic", "?")
            ax.annotate(
                label,
                (finding["step"], 0.98),
                xycoords=("data", "axes fraction"),
                rotation=90,
                ha="right",
                va="top",
                fontsize=6,
                color="tab:red",
            )


def runs_png(runs: Sequence[RunDir]) -> bytes:
    import matplotlib.pyplot as plt

    figure = runs_figure(runs)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=100)
    plt.close(figure)
    return buffer.getvalue()


def runs_figure(runs: Sequence[RunDir]) -> Figure:
    """The figure ``gancli plot`` draws: a panel per training-record group and per metric."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    records = [read_jsonl(run.metrics) for run in runs]
    evaluations = [read_jsonl(run.evals) for run in runs]
    findings = [read_findings(run) for run in runs]
    metrics = metric_names(evaluations)
    drawn = [panel for panel in RECORD_PANELS if any(k in r for rows in records for r in rows for k in panel[1])]
    panels = len(drawn) + len(metrics)
    columns = 3
    rows = max(1, -(-panels // columns))
    figure, axes = plt.subplots(rows, columns, figsize=(5 * columns, 3.4 * rows), squeeze=False)
    flat = list(axes.flat)
    for (title, keys, log), ax in zip(drawn, flat, strict=False):
        for index, (run, rows_of_run) in enumerate(zip(runs, records, strict=True)):
            for key in keys:
                points = [(r["step"], r[key]) for r in rows_of_run if key in r]
                if points:
                    steps, values = zip(*points, strict=True)
                    label = key if len(runs) == 1 else f"{run.path.name}: {key}"
                    ax.plot(steps, values, STYLES[index % len(STYLES)], lw=1.0, label=label)
        ax.set(title=title, xlabel="step", yscale="log" if log else "linear")
        ax.legend(fontsize=7)
    for name, ax in zip(metrics, flat[len(drawn) :], strict=False):
        for index, (run, rows_of_run) in enumerate(zip(runs, evaluations, strict=True)):
            draw_metric(ax, name, rows_of_run, run.path.name, STYLES[index % len(STYLES)])
        ax.set(title=f"eval: {name}", xlabel="step")
        ax.legend(fontsize=7)
    for ax in flat[:panels]:
        mark_findings(ax, findings)
    for ax in flat[panels:]:
        ax.axis("off")
    figure.tight_layout()
    return figure

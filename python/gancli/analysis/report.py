"""``gancli report``: one HTML page that tells what a run is and how it went, to keep or to send.

Self-contained, so that it survives being mailed or attached: no script, no style sheet or image fetched from
anywhere; every image is embedded as a ``data:`` URI. For each run: its settings, each with where its value came
from, and the plugin packages that provided them; the evaluation table (each figure ± its spread over noise
draws, beside real data's own); the diagnostics on a timeline of the run; its sample images over time. Above
them, ``gancli plot``'s panels for all the runs together.
"""

from __future__ import annotations

import base64
import html
from collections.abc import Mapping, Sequence
from typing import Any

from gancli import __version__
from gancli.analysis.plots import is_companion, runs_png
from gancli.config import DEFAULT, KIND_FIELDS, RunConfig, resolve
from gancli.diagnostics.watch import read_findings
from gancli.errors import GancliError
from gancli.io import read_document
from gancli.plugins.registry import Registry
from gancli.train.checkpoint import step_of
from gancli.train.evaluation import figure_text, number
from gancli.train.rundir import RunDir, read_jsonl

#: sample images a run shows at most, spread evenly over the run (the first and the last among them)
MAX_SAMPLE_IMAGES = 12
#: where a setting's value is none of the defaults and recommendations: a flag, --set or a config file
SET_FOR_RUN = "set for this run"
#: the settings a run fills in from its data when nothing set them (``session.record_shape``)
FILLED_FROM_DATA = ("image_size", "channels")
FROM_DATA = "the data's own, or set for this run"

STYLE = """
body { font: 14px/1.45 system-ui, sans-serif; margin: 2em auto; max-width: 1500px; padding: 0 1em; color: #222; }
h1 { font-size: 1.6em; } h2 { border-bottom: 2px solid #ccc; margin-top: 2em; } h3 { margin-top: 1.5em; }
table { border-collapse: collapse; margin: .5em 0; } td, th { padding: .15em .7em; text-align: left; }
tr:nth-child(even) { background: #f4f4f4; } th { background: #e6e6e6; } .num { text-align: right; }
.source { color: #777; } .scroll { overflow-x: auto; } img { max-width: 100%; image-rendering: pixelated; }
.timeline { position: relative; height: 2.2em; background: #eef; margin: .5em 0 1.6em; border-radius: 3px; }
.mark { position: absolute; top: 0; bottom: 0; width: 3px; background: #c33; }
.mark span { position: absolute; top: 2.3em; font-size: 11px; white-space: nowrap; color: #c33; }
.samples { display: flex; flex-wrap: wrap; gap: 1em; } figure { margin: 0; text-align: center; }
"""


def data_uri(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def table(header: Sequence[str], rows: Sequence[Sequence[str]], numeric_from: int = 1) -> str:
    """An HTML table of text cells (escaped), the columns from ``numeric_from`` on right-aligned."""
    head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    body = "".join(
        "<tr>"
        + "".join(
            f'<td class="num">{html.escape(c)}</td>' if i >= numeric_from else f"<td>{html.escape(c)}</td>"
            for i, c in enumerate(row)
        )
        + "</tr>"
        for row in rows
    )
    return f'<div class="scroll"><table><tr>{head}</tr>{body}</table></div>'


def setting_sources(saved: Mapping[str, Any], registry: Registry) -> dict[str, str]:
    """Where each of a saved run's settings came from, found again by resolving the run's choices alone: a value
    the same as the default or a plugin's recommendation is theirs, any other was set for this run (a flag,
    --set or a file). The plugin kinds themselves are judged against a run that chose only its data. Empty when
    a plugin the run chose is not installed now."""
    chosen = {field: saved[field] for field in KIND_FIELDS.values() if isinstance(saved.get(field), str)}
    try:
        baseline = resolve(registry, {"data": chosen.get("data")})
        recommended = resolve(registry, chosen)
    except GancliError:
        return {}
    sources = {"data": DEFAULT if saved.get("data") == RunConfig.data else SET_FOR_RUN}
    for key, value in saved.items():
        reference = baseline if key in KIND_FIELDS.values() else recommended
        if key not in reference.sources or key in sources:
            continue
        resolved = getattr(reference.config, key)
        if resolved == value:
            sources[key] = reference.sources[key]
        else:
            sources[key] = FROM_DATA if key in FILLED_FROM_DATA and resolved is None else SET_FOR_RUN
    for plugin, values in saved.get("options", {}).items():
        for name, value in values.items() if isinstance(values, Mapping) else ():
            key = f"{plugin}.{name}"
            same = recommended.config.options.get(plugin, {}).get(name) == value
            sources[key] = recommended.sources.get(key, SET_FOR_RUN) if same else SET_FOR_RUN
    return sources


def config_section(run: RunDir, registry: Registry) -> str:
    saved = read_document(run.config)
    if not isinstance(saved, dict):
        raise GancliError(f"{run.config} is damaged: not the settings of a run")
    sources = setting_sources(saved, registry)
    rows = []
    for key, value in saved.items():
        if key == "options":
            for plugin, values in value.items():
                for name, option in values.items():
                    setting = f"{plugin}.{name}"
                    rows.append([setting, number(option), sources.get(setting, "")])
        elif key != "plugins":
            rows.append([key, number(value), sources.get(key, "")])
    plugins = [
        [kind, entry.get("name", ""), entry.get("plugin", ""), entry.get("package", ""), entry.get("version", "")]
        for kind, entry in saved.get("plugins", {}).items()
    ]
    return (
        "<h3>Plugins</h3>"
        + table(["kind", "name", "plugin", "package", "version"], plugins, numeric_from=5)
        + "<h3>Configuration</h3>"
        + table(["setting", "value", "where the value came from"], rows, numeric_from=3)
    )


def evaluation_section(run: RunDir) -> str:
    """Metrics down, evaluations across, each figure ± its spread; real data's own and the last figure over it."""
    from gancli.metrics import REAL_SUFFIX

    records = read_jsonl(run.evals)
    if not records:
        return "<h3>Evaluation</h3><p>No evaluation recorded.</p>"
    last = records[-1]
    names = [n for n in last if n not in ("step", "spread") and not is_companion(n, last)]
    rows = []
    for name in names:
        floor = last.get(name + REAL_SUFFIX)
        ratio = f"{last[name] / floor:.2f}×" if isinstance(floor, int | float) and floor > 0 else ""
        real = "" if floor is None else number(floor)
        rows.append([name, *(figure_text(r, name) for r in records), real, ratio])
    header = ["metric", *(f"step {r['step']}" for r in records), "real data", "÷ real"]
    return "<h3>Evaluation (mean ± std over noise draws)</h3>" + table(header, rows)


def diagnostics_section(run: RunDir, last_step: int) -> str:
    """Each finding of the live diagnostics as a mark on the run's time line, then listed with its hint."""
    findings = read_findings(run)
    if not findings:
        return "<h3>Diagnostics</h3><p>None raised while training.</p>"
    span = max(last_step, *(f["step"] for f in findings), 1)
    marks = "".join(
        f'<div class="mark" style="left: {100 * f["step"] / span:.2f}%" title="{html.escape(f["message"])}">'
        f"<span>{html.escape(f['diagnostic'])} @ {f['step']}</span></div>"
        for f in findings
    )
    rows = [[str(f["step"]), f["diagnostic"], f["message"], f.get("hint", "")] for f in findings]
    timeline = f'<div class="timeline" title="steps 0 to {span}">{marks}</div>'
    return "<h3>Diagnostics</h3>" + timeline + table(["step", "diagnostic", "finding", "hint"], rows, numeric_from=4)


def samples_section(run: RunDir) -> str:
    """The run's sample images over time: at most MAX_SAMPLE_IMAGES, evenly spread, the first and last kept."""
    frames = run.sample_frames()
    if not frames:
        return "<h3>Samples over time</h3><p>No sample images.</p>"
    if len(frames) > MAX_SAMPLE_IMAGES:
        last = len(frames) - 1
        frames = [frames[round(i * last / (MAX_SAMPLE_IMAGES - 1))] for i in range(MAX_SAMPLE_IMAGES)]
    figures = "".join(
        f'<figure><img src="{data_uri(frame.read_bytes())}" alt="samples at step {step_of(frame)}">'
        f"<figcaption>step {step_of(frame)}</figcaption></figure>"
        for frame in frames
    )
    return f'<h3>Samples over time</h3><div class="samples">{figures}</div>'


def report_html(runs: Sequence[RunDir], registry: Registry) -> str:
    """The report of ``runs`` as one HTML document."""
    names = ", ".join(run.path.name for run in runs)
    sections = []
    for run in runs:
        last_step = max((r["step"] for r in read_jsonl(run.metrics)), default=0)
        sections.append(
            f"<h2>{html.escape(str(run.path))}</h2><p>{last_step:,} steps recorded.</p>"
            + config_section(run, registry)
            + evaluation_section(run)
            + diagnostics_section(run, last_step)
            + samples_section(run)
        )
    plot = f'<img src="{data_uri(runs_png(runs))}" alt="losses, D outputs, gradient norms and metrics over steps">'
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>gancli report: {html.escape(names)}</title>
<style>{STYLE}</style></head>
<body><h1>gancli report: {html.escape(names)}</h1><p class="source">written by gancli {__version__}</p>
<h2>Training and evaluation over steps</h2>{plot}
{"".join(sections)}
</body></html>
"""

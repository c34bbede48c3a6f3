"""The ``gancli`` command line: parse flags, resolve the configuration, hand over to the training loop or
to the read-only commands that render, sample and evaluate a run directory.

Heavy imports (torch) happen inside the commands, which keep the module cheap to import.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table
from typer.core import TyperGroup

from gancli import __version__
from gancli.errors import GancliError

console = Console(stderr=True)
out = Console()


class ReportingGroup(TyperGroup):
    """Turns a GancliError from any command, plugin commands included, into one red line and exit 1."""

    def invoke(self, ctx: typer.Context) -> Any:
        try:
            return super().invoke(ctx)
        except GancliError as exc:
            console.print(f"[bold red]error:[/] {exc}", highlight=False, soft_wrap=True)
            raise typer.Exit(1) from None
        except KeyboardInterrupt:
            console.print("[yellow]interrupted[/]: a checkpoint was saved; continue with --resume")
            raise typer.Exit(130) from None
        except (typer.Exit, typer.Abort, typer.TyperException):  # --help, usage errors: typer reports them
            raise
        except Exception as exc:  # a bug, ours or a library's: one line, the traceback on request
            if os.environ.get("GANCLI_DEBUG"):
                raise
            console.print(
                f"[bold red]error:[/] internal error {type(exc).__name__}: {exc} "
                "(set GANCLI_DEBUG=1 for the traceback, and please report it)",
                highlight=False,
                soft_wrap=True,
            )
            raise typer.Exit(2) from None


app = typer.Typer(
    cls=ReportingGroup,
    help="Train, compare and debug Generative Adversarial Networks from the terminal.",
    no_args_is_help=True,
    rich_markup_mode="rich",
    pretty_exceptions_enable=False,
)
plugins_app = typer.Typer(help="List, inspect, install and uninstall plugins.", no_args_is_help=True)
app.add_typer(plugins_app, name="plugins")
data_app = typer.Typer(help="Prepare image datasets.", no_args_is_help=True)
app.add_typer(data_app, name="data")


def version_callback(value: bool) -> None:
    if value:
        out.print(f"gancli {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    version: Annotated[
        bool, typer.Option("--version", callback=version_callback, is_eager=True, help="Show the version.")
    ] = False,
) -> None:
    """Train GANs with pluggable losses, update rules, architectures and datasets."""


def load_plugins():
    from gancli.plugins.manager import get_plugins

    return get_plugins()


# --- train ---------------------------------------------------------------------------------------------

TRAIN = "Training"
DATA = "Data"
REMEDIES = "Remedies and regularisers"
OUTPUT = "Output"


@app.command()
def train(
    data: Annotated[
        str | None,
        typer.Option(help="Dataset name (see `gancli plugins list`) or a path.", rich_help_panel=DATA),
    ] = None,
    arch: Annotated[str | None, typer.Option(help="Architecture plugin.", rich_help_panel=TRAIN)] = None,
    loss: Annotated[str | None, typer.Option(help="Loss plugin.", rich_help_panel=TRAIN)] = None,
    optimizer: Annotated[str | None, typer.Option(help="Optimizer plugin.", rich_help_panel=TRAIN)] = None,
    update: Annotated[
        str | None,
        typer.Option(help="Update rule: alternating, simultaneous, consensus, …", rich_help_panel=TRAIN),
    ] = None,
    steps: Annotated[int | None, typer.Option(help="Generator updates in total.", rich_help_panel=TRAIN)] = None,
    batch_size: Annotated[int | None, typer.Option(help="Samples per batch.", rich_help_panel=TRAIN)] = None,
    lr: Annotated[float | None, typer.Option(help="Learning rate of both players.", rich_help_panel=TRAIN)] = None,
    lr_g: Annotated[float | None, typer.Option(help="Generator learning rate.", rich_help_panel=TRAIN)] = None,
    lr_d: Annotated[float | None, typer.Option(help="Discriminator learning rate.", rich_help_panel=TRAIN)] = None,
    d_steps: Annotated[
        int | None, typer.Option(help="Discriminator steps per generator step (k).", rich_help_panel=TRAIN)
    ] = None,
    latent_dim: Annotated[int | None, typer.Option(help="Size of the latent z.", rich_help_panel=TRAIN)] = None,
    seed: Annotated[
        int | None, typer.Option(help="Random seed (CPU runs repeat exactly).", rich_help_panel=TRAIN)
    ] = None,
    device: Annotated[str | None, typer.Option(help="auto, cpu or cuda[:N].", rich_help_panel=TRAIN)] = None,
    amp: Annotated[bool | None, typer.Option(help="bf16 autocast on CUDA.", rich_help_panel=TRAIN)] = None,
    compile: Annotated[bool | None, typer.Option(help="torch.compile G and D.", rich_help_panel=TRAIN)] = None,
    image_size: Annotated[int | None, typer.Option(help="Resize images to this size.", rich_help_panel=DATA)] = None,
    channels: Annotated[int | None, typer.Option(help="1 (gray) or 3 (RGB).", rich_help_panel=DATA)] = None,
    augment: Annotated[
        str | None, typer.Option(help="Data augmentation, e.g. flip,translate=0.125.", rich_help_panel=DATA)
    ] = None,
    skip_bad: Annotated[bool | None, typer.Option(help="Skip unreadable images.", rich_help_panel=DATA)] = None,
    pack: Annotated[
        int | None, typer.Option(help="PacGAN: D judges m samples jointly.", rich_help_panel=REMEDIES)
    ] = None,
    minibatch_std: Annotated[
        bool | None, typer.Option(help="Minibatch standard-deviation feature in D.", rich_help_panel=REMEDIES)
    ] = None,
    diversity: Annotated[
        float | None, typer.Option(help="Weight of the mode-seeking penalty on G.", rich_help_panel=REMEDIES)
    ] = None,
    r1: Annotated[
        float | None, typer.Option(help="γ of the R1 penalty on real data.", rich_help_panel=REMEDIES)
    ] = None,
    spectral_norm: Annotated[
        bool | None, typer.Option(help="Spectral normalisation in D.", rich_help_panel=REMEDIES)
    ] = None,
    ema: Annotated[
        float | None, typer.Option(help="Decay of the generator's moving average.", rich_help_panel=REMEDIES)
    ] = None,
    set_: Annotated[
        list[str] | None,
        typer.Option("--set", help="Plugin option [PLUGIN.]NAME=VALUE (repeatable).", rich_help_panel=TRAIN),
    ] = None,
    config: Annotated[
        Path | None,
        typer.Option(help="TOML or JSON config (a run's config.json re-runs it).", rich_help_panel=TRAIN),
    ] = None,
    out_dir: Annotated[
        Path | None,
        typer.Option("--out", help="Run directory (default runs/DATA-LOSS-N).", rich_help_panel=OUTPUT),
    ] = None,
    resume: Annotated[
        Path | None,
        typer.Option(help="Continue a run directory from its latest checkpoint.", rich_help_panel=OUTPUT),
    ] = None,
    sample_every: Annotated[
        int | None, typer.Option(help="Steps between sample images.", rich_help_panel=OUTPUT)
    ] = None,
    checkpoint_every: Annotated[
        int | None, typer.Option(help="Steps between checkpoints.", rich_help_panel=OUTPUT)
    ] = None,
    eval_every: Annotated[int | None, typer.Option(help="Steps between evaluations.", rich_help_panel=OUTPUT)] = None,
    log_every: Annotated[int | None, typer.Option(help="Steps between metric records.", rich_help_panel=OUTPUT)] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar.", rich_help_panel=OUTPUT)] = False,
) -> None:
    """Train a GAN; writes checkpoints, sample images and metrics to a run directory."""
    given = dict(locals())
    from gancli.config import FIELD_NAMES, resolve
    from gancli.io import atomic_write_json
    from gancli.train.loop import train as run_training
    from gancli.train.rundir import RunDir
    from gancli.train.session import Session

    flags = {k: v for k, v in given.items() if k in FIELD_NAMES}
    plugins = load_plugins()
    if resume is not None:
        run = RunDir.existing(resume)
        changed = [k for k, v in flags.items() if v is not None and k not in RESUMABLE]
        if changed or set_ or config:
            names = ", ".join(f"--{k.replace('_', '-')}" for k in changed) or "--set/--config"
            raise GancliError(f"--resume continues the saved experiment; {names} cannot change it")
        cfg = resolve(plugins.registry, flags, run.config)
        session = Session.build(cfg, plugins)
        session.load(run.checkpoint())
        run.truncate_logs(session.step)
        if session.step >= cfg.steps:
            raise GancliError(f"--resume {resume}: already at step {session.step}; raise --steps to go on")
    else:
        cfg = resolve(plugins.registry, flags, config, set_ or [])
        run = RunDir(out_dir or default_run_dir(cfg.data, cfg.loss))
        if run.config.exists():
            raise GancliError(f"--out {run.path} already holds a run; use --resume {run.path} or another --out")
        session = Session.build(cfg, plugins)
    atomic_write_json(run.config, cfg.to_dict())
    show_config(cfg, session, run.path)
    result = run_training(session, plugins, run, show_progress=not quiet)
    if result:
        console.print("evaluation: " + ", ".join(f"{k} {format_value(v)}" for k, v in result.items()))
    console.print(f"run directory: [bold]{run.path}[/]   samples: {run.samples}   grid: gancli grid {run.path}")


RUNS = Path("runs")
RESUMABLE = {"steps", "device", "sample_every", "checkpoint_every", "eval_every", "log_every"}


def default_run_dir(data: str, loss: str) -> Path:
    stem = Path(data).stem if ("/" in data or "." in data) else data
    n = 1
    while (path := RUNS / f"{stem}-{loss}-{n}").exists():
        n += 1
    return path


def format_value(value: Any) -> str:
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def show_config(cfg: Any, session: Any, path: Path) -> None:
    table = Table(title=f"gancli {__version__} · {path}", show_header=False, box=None, pad_edge=False)
    table.add_column(style="bold")
    table.add_column()
    for key, value in cfg.to_dict().items():
        if key == "options":
            for plugin, values in value.items():
                table.add_row(f"  {plugin}", ", ".join(f"{k}={format_value(v)}" for k, v in values.items()))
        else:
            table.add_row(key, format_value(value))
    table.add_row("device (resolved)", str(session.device))
    table.add_row("data", f"{len(session.data)} examples of shape {tuple(session.data.shape)}")
    console.print(table)


# --- read-only commands on a run ------------------------------------------------------------------------


def open_run(run_path: Path | None, checkpoint: str | None):
    from gancli.config import resolve
    from gancli.train.rundir import RunDir
    from gancli.train.session import Session

    plugins = load_plugins()
    run = RunDir.existing(run_path) if run_path is not None else RunDir.newest(RUNS)
    cfg = resolve(plugins.registry, {"device": "cpu"}, run.config)
    session = Session.build(cfg, plugins)
    session.load(run.checkpoint(Path(checkpoint) if checkpoint else None), training=False)
    return plugins, run, session


RunArg = Annotated[
    Path | None,
    typer.Argument(
        help="A run directory written by `gancli train` (default: the newest under runs/).", show_default=False
    ),
]
CheckpointOpt = Annotated[
    str | None, typer.Option(help="Checkpoint step or file (default: the latest).", show_default=False)
]


@app.command()
def grid(
    run_path: RunArg = None,
    output: Annotated[Path | None, typer.Option("-o", "--output", help="PNG to write (default RUN/grid.png).")] = None,
    n: Annotated[int, typer.Option("--n", help="Number of samples.")] = 64,
    nrow: Annotated[int, typer.Option(help="Images per row.")] = 8,
    seed: Annotated[int, typer.Option(help="Seed of the latent noise.")] = 0,
    checkpoint: CheckpointOpt = None,
    compression: Annotated[str, typer.Option(help="PNG compression: fast, default or best.")] = "fast",
    animate: Annotated[bool, typer.Option(help="Write an animated PNG of the run's sample images instead.")] = False,
) -> None:
    """Render samples of a trained generator to a PNG grid (images) or scatter (2-D data)."""
    from gancli.io import atomic_write_bytes

    if n < 1 or nrow < 1:
        raise GancliError("--n and --nrow must be at least 1")
    if animate:
        from gancli import kernels
        from gancli.train.rundir import RunDir

        run = RunDir.existing(run_path) if run_path is not None else RunDir.newest(RUNS)
        frames = run.sample_frames()
        if not frames:
            raise GancliError(f"{run.path}: no sample images to animate")
        target = output or run.path / "progress.png"
        pictures = [kernels.decode_image(f.read_bytes(), name=str(f)) for f in frames]
        atomic_write_bytes(target, kernels.encode_animation(pictures))
        out.print(f"wrote {target} ({len(frames)} frames)")
        return
    from gancli.render import samples_png

    _, run, session = open_run(run_path, checkpoint)
    target = output or run.path / "grid.png"
    png = samples_png(session.generate(n, seed), session.data, nrow=nrow, compression=compression)
    atomic_write_bytes(target, png)
    out.print(f"wrote {target} ({n} samples from step {session.step})")


@app.command()
def sample(
    output: Annotated[Path, typer.Option("-o", "--output", help="Where to write the samples (.npy).")],
    run_path: RunArg = None,
    n: Annotated[int, typer.Option("--n", help="Number of samples.")] = 1000,
    seed: Annotated[int, typer.Option(help="Seed of the latent noise (same seed, same samples).")] = 0,
    checkpoint: CheckpointOpt = None,
) -> None:
    """Write raw generator samples as a float32 .npy array, for other tools."""
    import io

    import numpy as np

    from gancli.io import atomic_write_bytes

    if n < 1:
        raise GancliError("--n must be at least 1")
    _, _, session = open_run(run_path, checkpoint)
    buffer = io.BytesIO()
    np.save(buffer, session.generate(n, seed).numpy().astype(np.float32))
    atomic_write_bytes(output, buffer.getvalue())
    out.print(f"wrote {output} ({n} samples from step {session.step})")


@app.command("eval")
def evaluate(
    run_path: RunArg = None,
    seed: Annotated[int, typer.Option(help="Seed of the latent noise.")] = 0,
    checkpoint: CheckpointOpt = None,
) -> None:
    """Compute the run's metrics (e.g. modes covered) from a checkpoint; prints JSON."""
    import json

    plugins, run, session = open_run(run_path, checkpoint)
    result = session.evaluate(plugins, seed)
    if not result:
        raise GancliError(f"{run.path}: no metric applies to dataset {session.config.data!r}")
    out.print_json(json.dumps({"step": session.step, **result}))


# --- data ---------------------------------------------------------------------------------------------------


@data_app.command("prepare")
def data_prepare(
    source: Annotated[Path, typer.Argument(help="A folder or zip of images.")],
    output: Annotated[Path, typer.Argument(help="The packed dataset to write (.ganpack).")],
    image_size: Annotated[int, typer.Option(help="Side of the square images.")] = 64,
    channels: Annotated[int, typer.Option(help="1 (gray) or 3 (RGB).")] = 3,
    fit: Annotated[str, typer.Option(help="crop (short side, center crop) or pad.")] = "crop",
    skip_bad: Annotated[bool, typer.Option(help="Skip unreadable images instead of stopping.")] = False,
) -> None:
    """Decode images once into a packed, memory-mappable file that `train --data` reads directly."""
    import numpy as np

    from gancli import kernels
    from gancli.data.images import PACKED_SUFFIX, decode_source

    if not (source.is_dir() or source.suffix.lower() == ".zip"):
        raise GancliError(f"{source}: not a folder or a .zip of images")
    if output.suffix != PACKED_SUFFIX:
        raise GancliError(f"{output}: the packed file's name must end in {PACKED_SUFFIX}")
    if channels not in (1, 3) or image_size < 1 or fit not in ("crop", "pad"):
        raise GancliError("--channels must be 1 or 3, --image-size positive, --fit crop or pad")
    images, _, count = decode_source(source, image_size, channels, fit, skip_bad)
    kernels.write_packed(output, np.asarray(images), source=str(source.resolve()), source_count=count)
    out.print(f"wrote {output}: {len(images)} images of {channels}×{image_size}×{image_size} from {count} files")


# --- plugins ---------------------------------------------------------------------------------------------


@plugins_app.command("list")
def plugins_list(
    kind: Annotated[str | None, typer.Option(help="Only this kind (loss, optimizer, update, …).")] = None,
) -> None:
    """Every registered plugin object, with the package that provides it."""
    from gancli.plugins.registry import KINDS

    plugins = load_plugins()
    if kind is not None and kind not in KINDS:
        raise GancliError(f"--kind {kind!r}: expected one of {', '.join(KINDS)}")
    table = Table("kind", "name", "package", "description")
    for reg in plugins.registry.all(kind):
        table.add_row(reg.kind, reg.name, reg.package, reg.description)
    out.print(table)
    for failure in plugins.failures:
        out.print(f"[red]failed:[/] {failure}")


@plugins_app.command("show")
def plugins_show(name: Annotated[str, typer.Argument(help="A plugin object's name, e.g. wgan.")]) -> None:
    """A plugin object's description, package and options with their defaults."""
    from gancli.plugins.registry import unknown_message

    plugins = load_plugins()
    found = plugins.registry.find(name)
    if not found:
        raise GancliError(unknown_message("plugin", name, {r.name for r in plugins.registry.all()}))
    for reg in found:
        out.print(f"[bold]{reg.name}[/] ({reg.kind}, plugin {reg.plugin}, package {reg.package})")
        out.print(f"  {reg.description}")
        if reg.options:
            table = Table("option", "type", "default", "help", box=None)
            for o in reg.options:
                table.add_row(f"--set {reg.name}.{o.name}", o.type.__name__, repr(o.default), o.help)
            out.print(table)
        if reg.recommends:
            out.print("  recommends: " + ", ".join(f"{k}={v}" for k, v in reg.recommends.items()))


def pip(*args: str) -> None:
    result = subprocess.run([sys.executable, "-m", "pip", *args], check=False)
    if result.returncode != 0:
        raise GancliError(f"pip {' '.join(args)} failed with exit code {result.returncode}")


@plugins_app.command("install")
def plugins_install(
    specs: Annotated[list[str], typer.Argument(help="Packages (names, paths, URLs) to install.")],
    editable: Annotated[bool, typer.Option("--editable", "-e", help="Install a local path in editable mode.")] = False,
    upgrade: Annotated[bool, typer.Option("--upgrade", "-U", help="Upgrade if already installed.")] = False,
) -> None:
    """Install plugin packages into gancli's own environment (pip under the hood)."""
    args = ["install", *(["--upgrade"] if upgrade else [])]
    for spec in specs:
        args += ["-e", spec] if editable else [spec]
    pip(*args)


@plugins_app.command("uninstall")
def plugins_uninstall(
    packages: Annotated[list[str], typer.Argument(help="Package names to remove.")],
) -> None:
    """Uninstall plugin packages from gancli's environment."""
    if "gancli" in packages:
        raise GancliError("uninstall: refusing to remove gancli itself")
    pip("uninstall", "--yes", *packages)


def build_app() -> typer.Typer:
    """The full CLI: built-in commands plus those that plugins add through ``register_commands``."""
    load_plugins().add_commands(app)
    return app


def main() -> None:
    build_app()()

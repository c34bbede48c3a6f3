"""The ``gancli`` command line: parse flags, hand over to ``train.lifecycle`` (which resolves the configuration
and starts, resumes or opens a run) and the training loop, and report; errors become one line here.

Heavy imports (torch) happen inside the commands, which keep the module cheap to import.
"""

from __future__ import annotations

import contextlib
import inspect
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text
from typer.core import TyperGroup

from gancli import __version__
from gancli.errors import GancliError, Interrupted

if TYPE_CHECKING:
    from gancli.features.space import FeatureSpace
    from gancli.io import Output

# what gancli prints holds paths, plugins' text and other processes' messages: never read as Rich markup
console = Console(stderr=True, markup=False)
out = Console(markup=False)


class ReportingGroup(TyperGroup):
    """Turns a GancliError from any command, plugin commands included, an exception a third-party plugin's code
    raised, and every refusal of the machine (an OSError: a missing, read-only, full or forbidden path) into one
    red line and exit 1; a closed standard output (``gancli … | head``) into a quiet exit 1; anything else is a
    bug. ``GANCLI_DEBUG=1`` shows the traceback of what a line reports."""

    def invoke(self, ctx: typer.Context) -> Any:
        try:
            return super().invoke(ctx)
        except GancliError as exc:
            if os.environ.get("GANCLI_DEBUG") and exc.__cause__ is not None:
                raise  # the traceback of what the error reports (a plugin's exception)
            fail(str(exc))
        except KeyboardInterrupt as exc:
            if isinstance(exc, Interrupted):
                message = exc.message
            elif ctx.invoked_subcommand == "train":
                message = "no checkpoint was saved on the way out"
            else:
                message = "the command stopped before it finished"
            console.print(labelled("interrupted", "yellow", message), soft_wrap=True)
            raise typer.Exit(getattr(exc, "exit_code", 128 + signal.SIGINT)) from None
        except (typer.Exit, typer.Abort, typer.TyperException):  # --help, usage errors: typer reports them
            raise
        except OSError as exc:
            if isinstance(exc, BrokenPipeError) and exc.filename is None:
                stdout_closed()
            if os.environ.get("GANCLI_DEBUG"):
                raise
            fail(os_error_text(exc))
        except Exception as exc:  # a bug, ours or a library's: one line, the traceback on request
            if os.environ.get("GANCLI_DEBUG"):
                raise
            if isinstance(exc, MemoryError) or type(exc).__name__ == "OutOfMemoryError":
                fail(f"out of memory ({str(exc).splitlines()[0]}); a smaller --batch-size or network needs less")
            kernels = sys.modules.get("gancli.kernels")  # loaded if an image was decoded; never imported here
            if kernels is not None and isinstance(exc, kernels.ImageError):  # a bad image file, named in exc
                fail(str(exc))
            blamed = load_plugins().blame(exc)  # raised by a third-party plugin's code: the plugin's, not ours
            if blamed is not None:
                fail(str(blamed))
            internal_error(exc)


def labelled(label: str, style: str, text: str) -> Text:
    """``label:`` in ``style``, then ``text`` exactly as it is (a ``[/x]`` in a path or message is text)."""
    return Text.assemble((f"{label}:", style), " ", text)


def fail(message: str) -> NoReturn:
    console.print(labelled("error", "bold red", message), highlight=False, soft_wrap=True)
    raise typer.Exit(1) from None


def internal_error(exc: BaseException) -> NoReturn:
    if os.environ.get("GANCLI_DEBUG"):
        raise exc
    text = f"internal error {type(exc).__name__}: {exc} (set GANCLI_DEBUG=1 for the traceback, and please report it)"
    console.print(labelled("error", "bold red", text), highlight=False, soft_wrap=True)
    raise typer.Exit(2) from None


def os_error_text(exc: OSError) -> str:
    """An OSError as one line: the path (or both paths of a rename) and the system's reason."""
    reason = exc.strerror or str(exc)
    if exc.filename is None:
        return reason
    names = f"{exc.filename} → {exc.filename2}" if exc.filename2 is not None else f"{exc.filename}"
    return f"{names}: {reason}"


def stdout_closed() -> NoReturn:
    """Standard output's reader went away (``gancli sample -o - | head -c 100``): stop quietly with exit 1, as
    Rich does for what it prints and the Python docs' "Note on SIGPIPE" (module signal) recommend; stdout is
    pointed at /dev/null first so that the interpreter's last flush does not complain."""
    with contextlib.suppress(OSError, ValueError):  # no file descriptor behind stdout (a test runner's buffer)
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    raise typer.Exit(1)


ForceOpt = Annotated[
    bool, typer.Option("--force", help="Replace an existing file at the output path (devices and FIFOs: in place).")
]


def wrote(output: Output, details: str) -> None:
    """Say what a command wrote: on stderr when the file itself went to standard output."""
    name = "standard output" if output.to_stdout else str(output.path)
    (console if output.to_stdout else out).print(f"wrote {name} {details}", highlight=False, soft_wrap=True)


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


def load_plugins() -> Any:
    from gancli.plugins.manager import get_plugins

    return get_plugins()


# --- train ---------------------------------------------------------------------------------------------


def train_option(spec: Any, recommended: bool) -> inspect.Parameter:
    """The ``gancli train`` option of one RunConfig field: same name, its help (with its bounds, and where to see
    its default when a dataset may recommend one) and panel, unset by default."""
    from gancli.config import FIELD_TYPES

    values = spec.metadata["range"]
    help = spec.metadata["help"] + (f" ({values})" if values.choices is None and str(values) else "")
    if recommended:
        help += " Default: the dataset's recommendation, else gancli's; --dry-run shows it."
    option = typer.Option(help=help, rich_help_panel=spec.metadata["panel"])
    annotation = Annotated[FIELD_TYPES[spec.name] | None, option]
    return inspect.Parameter(spec.name, inspect.Parameter.KEYWORD_ONLY, default=None, annotation=annotation)


def train(
    set_: list[str] | None = None,
    config: Path | None = None,
    out_dir: Path | None = None,
    resume: Path | None = None,
    checkpoint: str | None = None,
    allow_data_change: bool = False,
    quiet: bool = False,
    nproc: int | None = None,
    nnodes: int | None = None,
    node_rank: int | None = None,
    rdzv_endpoint: str | None = None,
    dry_run: bool = False,
    **flags: Any,
) -> None:
    """Train a GAN; writes checkpoints, sample images and metrics to a run directory."""
    if resume is None and (checkpoint is not None or allow_data_change):
        name = "--checkpoint" if checkpoint is not None else "--allow-data-change"
        raise GancliError(f"{name} says how --resume RUN continues; it needs --resume")
    if dry_run:
        from gancli.train import lifecycle
        from gancli.train.session import open_data

        if resume is not None:
            resolved = lifecycle.plan_resume(resume, flags, config, set_ or [])
        else:
            resolved = lifecycle.plan_start(flags, config, set_ or [], out_dir)
        data, _ = open_data(resolved)
        table = config_table(resolved, f"gancli {__version__} · --dry-run: nothing is trained or written")
        table.add_row("data (opened)", describe_data(resolved.config, data), "")
        out.print(table)
        return
    several = (nproc is not None and nproc != 1) or (nnodes or 1) > 1 or node_rank or rdzv_endpoint
    if several and "WORLD_SIZE" not in os.environ:
        from gancli.train.distributed import Nodes, launch

        nodes = Nodes.of(nnodes, node_rank, rdzv_endpoint)
        given = {"set": set_, "config": config, "out": out_dir, "resume": resume, "checkpoint": checkpoint}
        given |= {"allow_data_change": allow_data_change or None, "quiet": quiet or None}
        code = launch(1 if nproc is None else nproc, as_arguments({**flags, **given}), nodes)
        raise typer.Exit(code)
    from gancli.train import lifecycle
    from gancli.train.loop import train as run_training

    if resume is not None:
        session, run = lifecycle.resume(resume, flags, config, set_ or [], checkpoint, allow_data_change)
    else:
        session, run = lifecycle.start(flags, config, set_ or [], out_dir)
    main = session.ranks.is_main
    if main and not quiet:
        show_config(session, run.path)
    result = run_training(session, run, show_progress=not quiet)
    if result and not quiet:
        console.print("evaluation: " + ", ".join(f"{k} {format_value(v)}" for k, v in result.items()))
    if main:
        grid = f"   samples: {run.samples}   grid: gancli grid {run.path}"
        console.print(Text.assemble("run directory: ", (str(run.path), "bold"), grid), soft_wrap=True)


def as_arguments(values: dict[str, Any]) -> list[str]:
    """The command-line arguments that give ``train`` these values again (for the processes --nproc starts)."""
    arguments: list[str] = []
    for name, value in values.items():
        option = "--" + name.replace("_", "-")
        if value is None:
            continue
        if isinstance(value, bool):
            arguments.append(option if value else "--no-" + option[2:])
        elif isinstance(value, list):
            for item in value:
                arguments += [option, str(item)]
        else:
            arguments += [option, str(value)]
    return arguments


def train_signature(recommended: set[str]) -> inspect.Signature:
    """``train``'s options: one per RunConfig field (built from the fields, so the two cannot drift apart; those
    in ``recommended`` have defaults that depend on the dataset), and those that say what to do with the run
    rather than what it is."""
    from gancli.config import FLAG_FIELDS, OUTPUT, TRAINING

    fixed = {
        "set_": (
            list[str] | None,
            typer.Option("--set", help="Plugin option [PLUGIN.]NAME=VALUE (repeatable).", rich_help_panel=TRAINING),
            None,
        ),
        "config": (
            Path | None,
            typer.Option(help="TOML or JSON config (a run's config.json re-runs it).", rich_help_panel=TRAINING),
            None,
        ),
        "out_dir": (
            Path | None,
            typer.Option("--out", help="Run directory (default runs/DATA-LOSS-N).", rich_help_panel=OUTPUT),
            None,
        ),
        "resume": (
            Path | None,
            typer.Option(help="Continue a run directory from its latest intact checkpoint.", rich_help_panel=OUTPUT),
            None,
        ),
        "checkpoint": (
            str | None,
            typer.Option(help="With --resume: the checkpoint (step or file) to continue from.", rich_help_panel=OUTPUT),
            None,
        ),
        "allow_data_change": (
            bool,
            typer.Option(
                "--allow-data-change",
                help="With --resume: go on although the data's content changed since the checkpoint.",
                rich_help_panel=OUTPUT,
            ),
            False,
        ),
        "quiet": (
            bool,
            typer.Option(
                "--quiet",
                "-q",
                help="Print only the run directory, warnings and errors (the configuration is in RUN/config.json).",
                rich_help_panel=OUTPUT,
            ),
            False,
        ),
        "dry_run": (
            bool,
            typer.Option(
                "--dry-run",
                help="Print the resolved configuration, each value with where it came from, open and check the "
                "data (its size, --holdout), and exit: nothing is trained or written.",
                rich_help_panel=OUTPUT,
            ),
            False,
        ),
        "nproc": (
            int | None,
            typer.Option(
                help="Train on N processes (torchrun; gloo on the CPU, nccl on GPUs); per machine with --nnodes.",
                rich_help_panel=TRAINING,
            ),
            None,
        ),
        "nnodes": (
            int | None,
            typer.Option(
                help="Machines in the run (each runs this command with its --node-rank).", rich_help_panel=TRAINING
            ),
            None,
        ),
        "node_rank": (
            int | None,
            typer.Option(
                help="With --nnodes: this machine's place, 0 … N-1 (0 writes the run).", rich_help_panel=TRAINING
            ),
            None,
        ),
        "rdzv_endpoint": (
            str | None,
            typer.Option(
                help="With --nnodes: HOST:PORT where node 0 listens for the others.", rich_help_panel=TRAINING
            ),
            None,
        ),
    }
    params = [train_option(spec, spec.name in recommended) for spec in FLAG_FIELDS]
    params += [
        inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=default, annotation=Annotated[kind, option])
        for name, (kind, option, default) in fixed.items()
    ]
    return inspect.Signature(params)


app.command()(train)  # its signature, built from the plugins' recommendations, is set by build_app


def format_value(value: Any) -> str:
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def config_table(resolved: Any, title: str) -> Table:
    """A run's resolved configuration: a row per setting and per plugin option, each with where its value came
    from (a default, a plugin's recommendation, the config file, a flag or --set)."""
    table = Table(title=title, show_header=False, box=None, pad_edge=False)
    table.add_column(style="bold")
    table.add_column()
    table.add_column(style="dim")
    for key, value in resolved.config.to_dict().items():
        if key == "options":
            for plugin, values in value.items():
                for name, option in values.items():
                    setting = f"{plugin}.{name}"
                    table.add_row(f"  {setting}", format_value(option), resolved.sources.get(setting, ""))
        else:
            table.add_row(key, format_value(value), resolved.sources.get(key, ""))
    for kind, reg in resolved.plugins.items():
        if reg.package != "gancli":
            table.add_row(f"{kind} plugin", f"{reg.name} from {reg.package}", "")
    return table


def show_config(session: Any, path: Path) -> None:
    """The configuration a run trains with, printed as it starts (not under --quiet)."""
    table = config_table(session.resolved, f"gancli {__version__} · {path}")
    table.add_row("device (resolved)", str(session.device), "")
    table.add_row("data (opened)", describe_data(session.config, session.data), "")
    console.print(table)


def describe_data(config: Any, data: Any) -> str:
    """What the run trains on, for the configuration table: how many examples, their shape, how many held out, the
    classes a conditional run takes (by factor, where the data has them) and how batches draw them."""
    held_out = f", {config.holdout:,} of them held out" if config.holdout else ""
    conditioned = ""
    if config.conditional and data.classes:
        factors = data.class_factors
        by_factor = f" ({' × '.join(map(str, factors))}, embedded factor by factor)" if factors else ""
        conditioned = f", conditioned on its {len(data.classes):,} classes{by_factor}"
    balanced = f", each of its {len(data.classes)} classes drawn equally often" if config.balance_classes else ""
    return f"{len(data)} examples of shape {tuple(data.shape)}{held_out}{conditioned}{balanced}"


# --- read-only commands on a run ------------------------------------------------------------------------


RunArg = Annotated[
    Path | None,
    typer.Argument(
        help="A run directory written by `gancli train` (default: the newest under runs/).", show_default=False
    ),
]
MAX_SAMPLES = 10_000_000  # drawn from one noise tensor: more is a typo, not a request


def check_sampling(n: int, seed: int) -> None:
    """Refuse an --n or --seed the generator cannot take (10**400 overflowed inside torch), naming the flag."""
    from gancli.config import MAX_SEED

    if not 1 <= n <= MAX_SAMPLES:
        raise GancliError(f"--n must be between 1 and {MAX_SAMPLES:,}, got {n}")
    if not 0 <= seed <= MAX_SEED:
        raise GancliError(f"--seed must be between 0 and {MAX_SEED}, got {seed}")


CheckpointOpt = Annotated[
    str | None, typer.Option(help="Checkpoint step or file (default: the latest).", show_default=False)
]
ClassOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--class",
        help="A class to draw, by name or index (repeatable; runs trained with --conditional).",
        show_default=False,
    ),
]
#: classes a --by-class grid shows without --class choosing its rows
MAX_GRID_CLASSES = 100


def asked_classes(session: Any, given: list[str] | None, n: int) -> Any:
    """The class each of ``n`` samples asks for: the ``--class`` values in turn; None without any (every class in
    turn, for a conditional run)."""
    import torch

    if not given:
        return None
    chosen = torch.tensor([session.class_index(text) for text in given])
    return chosen[torch.arange(n) % len(chosen)]


@app.command()
def grid(
    run_path: RunArg = None,
    output: Annotated[
        Path | None, typer.Option("-o", "--output", help="PNG to write, - for stdout (default RUN/grid.png).")
    ] = None,
    n: Annotated[int, typer.Option("--n", help="Number of samples.")] = 64,
    nrow: Annotated[int, typer.Option(help="Images per row.")] = 8,
    seed: Annotated[int, typer.Option(help="Seed of the latent noise.")] = 0,
    checkpoint: CheckpointOpt = None,
    compression: Annotated[str, typer.Option(help="PNG compression: fast, default or best.")] = "fast",
    animate: Annotated[bool, typer.Option(help="Write an animated PNG of the run's sample images instead.")] = False,
    by_class: Annotated[
        bool,
        typer.Option(
            "--by-class",
            help="One row of --nrow samples per class, labelled; a column shares its noise (conditional runs).",
        ),
    ] = False,
    classes: ClassOpt = None,
    neighbours: Annotated[
        bool,
        typer.Option(
            help="Each sample followed by its nearest training image in the run's feature space (copies show as "
            "pairs alike; --nrow rounded up to even)."
        ),
    ] = False,
    force: ForceOpt = False,
) -> None:
    """Render samples of a trained generator to a PNG grid (images) or scatter (2-D data)."""
    from gancli.io import check_output, write_output

    check_sampling(n, seed)
    if animate and classes:
        raise GancliError("--animate shows the run's own sample images: leave out --class")
    if not 1 <= nrow <= MAX_SAMPLES:
        raise GancliError(f"--nrow must be between 1 and {MAX_SAMPLES:,}, got {nrow}")
    if animate and neighbours:
        raise GancliError("--animate and --neighbours: choose one")
    run = existing_runs([run_path] if run_path is not None else None)[0]
    target = output or run.path / ("progress.png" if animate else "grid.png")
    replace = force or output is None
    check_output(target, replace)
    if animate:
        from gancli import kernels

        if by_class and not conditional_run(run):  # its sample images are by class when it was conditional
            raise GancliError(f"--by-class: {run.path} was trained without --conditional")
        frames = run.sample_frames()
        if not frames:
            raise GancliError(f"{run.path}: no sample images to animate")
        pictures = [kernels.decode_image(f.read_bytes(), name=str(f)) for f in frames]
        wrote(write_output(target, kernels.encode_animation(pictures), replace), f"({len(frames)} frames)")
        return
    from gancli.render import samples_png
    from gancli.train.lifecycle import open_run

    # the data only for a scatter, drawn over its points, or for the training images beside --neighbours
    session, _ = open_run(run.path, checkpoint, data=True if neighbours else None)
    if by_class:
        if neighbours:
            raise GancliError("--by-class and --neighbours: choose one")
        wrote(write_output(target, class_grid(session, classes, nrow, seed), replace), f"(from step {session.step})")
        return
    samples = session.generate(n, seed, labels=asked_classes(session, classes, n))
    if neighbours:
        samples, nrow = beside_nearest(session, samples), nrow + nrow % 2
    png = samples_png(samples, session.data, nrow=nrow, compression=compression)
    wrote(write_output(target, png, replace), f"({n} samples from step {session.step})")


MAX_WALK_POINTS = 1000


def conditional_run(run: Any) -> bool:
    """Whether a run was trained with --conditional, by its saved configuration."""
    from gancli.io import read_document

    try:
        return read_document(run.config).get("conditional") is True
    except (OSError, ValueError, AttributeError) as exc:
        raise GancliError(f"{run.config} is damaged: {exc}") from None


def class_grid(session: Any, given: list[str] | None, per_row: int, seed: int) -> bytes:
    """``grid --by-class``: a row of ``per_row`` samples for each class (those of ``--class``, else all), each
    labelled with its class name."""
    from gancli.render import by_class_png

    if session.classes is None:
        raise GancliError(f"--by-class: this run ({session.config.data}) was trained without --conditional")
    if not session.data.is_image:
        raise GancliError("--by-class draws image grids; this run's samples are points")
    rows = [session.class_index(text) for text in given] if given else list(range(len(session.classes)))
    if len(rows) > MAX_GRID_CLASSES:
        raise GancliError(f"--by-class: {len(rows)} classes; choose at most {MAX_GRID_CLASSES} rows with --class")
    return by_class_png(session, rows, per_row, seed)


def beside_nearest(session: Any, samples: Any) -> Any:
    """``samples`` with each one's nearest training image after it, in the run's feature space (as memorisation
    measures it in ``gancli eval``)."""
    import torch

    from gancli.train.evaluation import Evaluation

    if not session.data.is_image:
        raise GancliError(f"--neighbours shows images; dataset {session.config.data!r} holds points")
    evaluation = Evaluation(session, strict=True)
    space = evaluation.space
    _, indices = evaluation.extracting(lambda: space.nearest(space.embed(samples)))
    return torch.stack([samples, space.pixels(indices.numpy())], dim=1).flatten(0, 1)


@app.command()
def sample(
    output: Annotated[
        Path,
        typer.Option(
            "-o", "--output", help="Where to write the samples (.npy), - for stdout; with --interpolate a .png too."
        ),
    ],
    run_path: RunArg = None,
    n: Annotated[
        int | None, typer.Option("--n", help="Number of samples (with --interpolate: of walks).", show_default=False)
    ] = None,
    seed: Annotated[int, typer.Option(help="Seed of the latent noise (same seed, same samples).")] = 0,
    interpolate: Annotated[
        int | None,
        typer.Option(
            help="Walk through K latent points (spherical interpolation, back to the first): an animated PNG "
            "(-o NAME.png) or the frames' samples (.npy: frames × walks × sample).",
            show_default=False,
        ),
    ] = None,
    checkpoint: CheckpointOpt = None,
    classes: ClassOpt = None,
    force: ForceOpt = False,
) -> None:
    """Write raw generator samples as a float32 .npy array, for other tools (default --n 1000); a conditional
    run's as an .npz of the samples (x), the class each was asked for (y) and the class names (classes), which
    --data reads back; or latent walks (default --n 8 side by side), frame 0 the samples of the same --seed and --n."""
    import io

    import numpy as np

    from gancli.io import check_output, write_output

    n = n if n is not None else 1000 if interpolate is None else 8
    check_sampling(n, seed)
    if interpolate is not None:
        from gancli.latent import FRAMES_BETWEEN

        if not 2 <= interpolate <= MAX_WALK_POINTS:
            raise GancliError(f"--interpolate must be between 2 and {MAX_WALK_POINTS:,} points, got {interpolate}")
        if interpolate * FRAMES_BETWEEN * n > MAX_SAMPLES:
            raise GancliError(
                f"--interpolate {interpolate} with --n {n} walks makes {interpolate * FRAMES_BETWEEN * n:,} samples "
                f"({FRAMES_BETWEEN} frames a step), more than {MAX_SAMPLES:,}"
            )
    from gancli.train.lifecycle import open_run

    check_output(output, force)
    if interpolate is None:
        session, _ = open_run(run_path, checkpoint, data=False)
        labels = asked_classes(session, classes, n)
        samples, what = session.generate(n, seed, labels=labels), f"{n} samples"
        if session.classes is not None:
            if str(output) != "-" and output.suffix != ".npz":
                raise GancliError(
                    f"-o {output}: a conditional run's samples are written with their labels: name an .npz"
                )
            asked = session.class_inputs(n, labels)[0].numpy()
            buffer = io.BytesIO()
            np.savez(buffer, x=samples.numpy().astype(np.float32), y=asked, classes=np.array(session.classes))
            wrote(write_output(output, buffer.getvalue(), force), f"({what} from step {session.step})")
            return
    else:
        from gancli.latent import FRAME_MS, walk_noise

        animated = output.suffix.lower() == ".png"
        session, _ = open_run(run_path, checkpoint, data=None if animated else False)  # a scatter draws the data
        walk = walk_noise(interpolate, n, session.config.latent_dim, seed)
        samples = session.generate_from(walk.flatten(0, 1)).unflatten(0, walk.shape[:2])
        what = f"{n} walk{'s' if n > 1 else ''} through {interpolate} points, {len(walk)} frames"
        if animated:
            from gancli import kernels
            from gancli.render import samples_png

            pictures = [kernels.decode_image(samples_png(frame, session.data)) for frame in samples]
            written = write_output(output, kernels.encode_animation(pictures, FRAME_MS), force)
            wrote(written, f"({what} from step {session.step})")
            return
    buffer = io.BytesIO()
    np.save(buffer, samples.numpy().astype(np.float32))
    wrote(write_output(output, buffer.getvalue(), force), f"({what} from step {session.step})")


@app.command()
def export(
    output: Annotated[
        Path, typer.Option("-o", "--output", help="The file to write: NAME.pt (TorchScript) or NAME.onnx (ONNX).")
    ],
    run_path: RunArg = None,
    checkpoint: CheckpointOpt = None,
    force: ForceOpt = False,
) -> None:
    """Write the generator (its moving average where the run kept one) as TorchScript or ONNX, for programs without
    gancli, and a usage note beside it (OUTPUT.txt): latent size, classes, output layout and range."""
    from gancli.export import export_format, exported_generator, usage_note
    from gancli.io import check_output, write_output
    from gancli.train.lifecycle import open_run

    suffix = export_format(output)
    note_path = output.with_name(output.name + ".txt")
    check_output(output, force)
    check_output(note_path, force)
    session, run = open_run(run_path, checkpoint, data=False)
    written = write_output(output, exported_generator(session, suffix), force)
    note = usage_note(session, run.path, output, suffix)
    write_output(note_path, note.encode(), force)
    out.print(note, highlight=False, soft_wrap=True)
    wrote(written, f"(step {session.step}) and its usage note {note_path}")


@app.command("eval")
def evaluate(
    run_path: RunArg = None,
    seed: Annotated[
        int | None,
        typer.Option(help="Seed of the first draw's noise (default: the run's seed + 3, as its own evaluations)."),
    ] = None,
    draws: Annotated[
        int | None, typer.Option(help="Noise draws, figures their mean ± std (default: the run's --eval-draws).")
    ] = None,
    checkpoint: CheckpointOpt = None,
    every: Annotated[bool, typer.Option("--all", help="Evaluate every checkpoint the run kept.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
    features: Annotated[
        str | None, typer.Option(help="Feature space: digits-cnn, random-cnn, inception:PATH (default: the run's).")
    ] = None,
    eval_samples: Annotated[
        int | None, typer.Option(help="Images the feature-space metrics score (default: the run's).")
    ] = None,
) -> None:
    """Score a run's samples as the run scored them itself: each metric, the mean ± std over noise draws, beside
    the same figure for held-out real data, the floor to compare with; then the diagnostics the run raised."""
    import json

    from gancli.diagnostics.watch import read_findings
    from gancli.train.evaluation import Evaluation
    from gancli.train.lifecycle import load_step, open_run

    if every and checkpoint is not None:
        raise GancliError("--all and --checkpoint: choose one")
    check_sampling(1, 0 if seed is None else seed)
    if draws is not None:
        from gancli.config import FLAG_RANGES

        FLAG_RANGES["eval_draws"].check(draws, "--draws")
    overrides = {"features": features, "eval_samples": eval_samples, "eval_draws": draws}
    session, run = open_run(run_path, checkpoint, overrides={k: v for k, v in overrides.items() if v is not None})
    evaluation = Evaluation(session, strict=True, offline=True)
    rows = []
    for step in run.checkpoint_steps() if every else [None]:
        if step is not None:
            load_step(session, run, step)
        result = evaluation(seed)
        if not result:
            raise GancliError(f"{run.path}: no metric applies to dataset {session.config.data!r}")
        rows.append({"step": session.step, **result, "spread": evaluation.spread})
    findings = read_findings(run)
    scored = evaluation.scored
    if as_json:
        images = {name: {"generated": generated, "real": real} for name, (generated, real) in scored.items()}
        given = {"evaluations": rows} if every else rows[0]
        draws_of = {"draws": session.config.eval_draws}
        out.print_json(json.dumps({**given, **draws_of, "images": images, "diagnostics": findings}))
    else:
        draws_text = f"mean ± std of {session.config.eval_draws} noise draws"
        title = f"{run.path} · features: {session.config.features} · {draws_text}"
        out.print(evaluation_table(rows, title, scored))
        if evaluation.built_space is not None:
            out.print(feature_space_note(evaluation.built_space))
        out.print(findings_table(findings))


def findings_table(findings: list[dict[str, Any]]) -> Table | str:
    """What the live diagnostics raised while the run trained, in step order."""
    if not findings:
        return "diagnostics: none raised while training"
    table = Table("step", "diagnostic", "finding", "hint", title="diagnostics raised while training")
    for finding in findings:
        table.add_row(str(finding["step"]), finding["diagnostic"], finding["message"], finding["hint"])
    return table


def evaluation_table(rows: list[dict[str, Any]], title: str, scored: dict[str, tuple[int, int | None]]) -> Table:
    """Metrics down, checkpoints across (each figure ± its spread over draws), the real data's own figure
    (``NAME_real``), the last figure as a multiple of it, and the images each figure scored."""
    from gancli.metrics import REAL_SUFFIX
    from gancli.train.evaluation import figure_text

    last = rows[-1]
    steps = [f"step {row['step']}" for row in rows]
    table = Table("metric", *steps, "real data", "÷ real", "images scored", title=title)
    for name in last:
        if name in ("step", "spread") or (name.endswith(REAL_SUFFIX) and name.removesuffix(REAL_SUFFIX) in last):
            continue
        floor = last.get(name + REAL_SUFFIX)
        cells = [figure_text(row, name) for row in rows]
        ratio = f"{last[name] / floor:.2f}×" if floor is not None and floor > 0 else ""
        table.add_row(name, *cells, "" if floor is None else format_value(floor), ratio, scored_text(scored.get(name)))
    return table


def scored_text(scored: tuple[int, int | None] | None) -> str:
    """``707 generated vs 707 real``: the images a figure scored (the real ones where the metric says)."""
    if scored is None:
        return ""
    generated, real = scored
    return f"{generated:,} generated" + ("" if real is None else f" vs {real:,} real")


def feature_space_note(space: FeatureSpace) -> str:
    """What the feature-space figures' sizes and scale mean, and why they scored fewer images than asked."""
    n = space.size
    note = (
        f"The feature-space figures (fd, kid, precision, …) scored {n:,} generated images against {n:,} real ones (the "
        f"reference); their real data, {n:,} held-out real images against the same reference: the floor at this "
        "sample size. ÷ real: the figure over its floor; fd and kid at 1× are as close to the data as real images "
        "are (lower is better), precision and recall at 1× as high."
    )
    if "training" in vars(space):  # memorisation embedded every training image
        note += (
            f" nn_distance: each sample's distance to its nearest of the {len(space.training):,} training images; its "
            "real data, each held-out image's to its nearest other training image. Far below 1×: G copies them "
            "(gancli grid --neighbours shows them side by side)."
        )
    if n < space.asked:
        note += (
            f" --eval-samples {space.asked:,} asked for more: {space.available:,} of the {len(space.data):,} images "
            "are held out (half, those the feature extractor never saw, or --holdout's), so each set has that many."
        )
    return note


RunsArg = Annotated[
    list[Path] | None,
    typer.Argument(help="Run directories (default: the newest under runs/).", show_default=False),
]


def existing_runs(paths: list[Path] | None) -> list[Any]:
    from gancli.train.lifecycle import newest_run
    from gancli.train.rundir import RunDir

    return [RunDir.existing(p) for p in paths] if paths else [newest_run()]


@app.command()
def plot(
    run_paths: RunsArg = None,
    output: Annotated[
        Path | None, typer.Option("-o", "--output", help="PNG to write, - for stdout (default RUN/plot.png).")
    ] = None,
    force: ForceOpt = False,
) -> None:
    """Plot losses, D(x) and D(G(z)), gradient norms and evaluation metrics over steps; several runs overlaid."""
    from gancli.analysis.plots import runs_png
    from gancli.io import check_output, write_output

    runs = existing_runs(run_paths)
    target = output or runs[0].path / "plot.png"
    replace = force or output is None
    check_output(target, replace)
    wrote(write_output(target, runs_png(runs), replace), f"({len(runs)} run{'s' if len(runs) > 1 else ''})")


@app.command()
def report(
    run_paths: RunsArg = None,
    output: Annotated[
        Path | None,
        typer.Option("-o", "--output", help="HTML file to write, - for stdout (default RUN/report.html)."),
    ] = None,
    force: ForceOpt = False,
) -> None:
    """One self-contained HTML page of runs, to keep or share: settings with where each came from, plugin
    packages, plots over steps, the evaluation table, diagnostics on a timeline, sample images over time."""
    from gancli.analysis.report import report_html
    from gancli.io import check_output, write_output

    runs = existing_runs(run_paths)
    target = output or runs[0].path / "report.html"
    replace = force or output is None
    check_output(target, replace)
    page = report_html(runs, load_plugins().registry)
    wrote(write_output(target, page.encode(), replace), f"({len(runs)} run{'s' if len(runs) > 1 else ''})")


@app.command()
def compare(
    run_paths: Annotated[list[Path], typer.Argument(help="Run directories to compare.", show_default=False)],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of tables.")] = False,
) -> None:
    """Runs side by side: the settings that differ, the steps reached, each metric's last and best value."""
    import json

    from gancli.analysis.compare import comparison

    runs = existing_runs(run_paths)
    result = comparison(runs)
    if as_json:
        out.print_json(json.dumps(result))
        return
    names = [run.path.name for run in runs]
    settings = Table("setting", *names, title="settings that differ")
    for key, values in result["differing"].items():
        settings.add_row(key, *(format_value(v) for v in values))
    settings.add_row("steps reached", *(str(r["step"]) for r in result["runs"]), style="bold")
    out.print(settings)
    metrics = sorted({name for r in result["runs"] for name in r["metrics"]})
    if metrics:
        table = Table("metric (last / best @ step)", *names, title="evaluation")
        for name in metrics:
            cells = []
            for r in result["runs"]:
                m = r["metrics"].get(name)
                cells.append(f"{format_value(m['last'])} / {format_value(m['best'])} @ {m['best_step']}" if m else "—")
            table.add_row(name, *cells)
        out.print(table)


@app.command()
def dynamics(
    output: Annotated[
        Path | None, typer.Option("-o", "--output", help="PNG to write, - for stdout (default dynamics.png).")
    ] = None,
    loss: Annotated[str, typer.Option(help="Loss plugin of the game.")] = "minimax",
    rules: Annotated[
        str, typer.Option(help="Update rules to draw, comma-separated.")
    ] = "simultaneous,alternating,consensus,extragradient",
    gamma: Annotated[float, typer.Option(help="γ of consensus optimization.")] = 1.0,
    steps: Annotated[int, typer.Option(help="Steps of each trajectory.")] = 300,
    lr: Annotated[float, typer.Option(help="Step size of both players.")] = 0.1,
    force: ForceOpt = False,
) -> None:
    """The Dirac-GAN's gradient field with the trajectories of gancli's update rules, as a PNG."""
    from gancli.analysis.dynamics import dynamics_png
    from gancli.io import check_output, write_output

    if steps < 1 or not 0 < lr <= 1:
        raise GancliError(f"--steps must be at least 1 and --lr in (0, 1], got {steps} and {lr}")
    target = output or Path("dynamics.png")
    replace = force or output is None
    check_output(target, replace)
    registry = load_plugins().registry
    chosen = []
    for name in [r.strip() for r in rules.split(",") if r.strip()]:
        reg = registry.get("update", name)
        options = {"gamma": gamma} if reg.option("gamma") else {}
        chosen.append((name, reg.create(options=options)))
    if not chosen:
        raise GancliError(f"--rules {rules!r}: name at least one update rule, e.g. --rules simultaneous")
    png = dynamics_png(registry.get("loss", loss), chosen, steps, lr)
    wrote(write_output(target, png, replace), f"({len(chosen)} rules, {steps} steps)")


# --- data ---------------------------------------------------------------------------------------------------


@data_app.command("prepare")
def data_prepare(
    source: Annotated[Path, typer.Argument(help="A folder or zip of images.")],
    output: Annotated[Path, typer.Argument(help="The packed dataset to write (.ganpack), - for stdout.")],
    image_size: Annotated[
        int | None,
        typer.Option(
            help="Side of the square images (default: the images' own, the most common when they differ, at most 256).",
            show_default=False,
        ),
    ] = None,
    channels: Annotated[int, typer.Option(help="1 (gray) or 3 (RGB).")] = 3,
    fit: Annotated[str, typer.Option(help="crop (short side, center crop) or pad.")] = "crop",
    background: Annotated[
        str, typer.Option(help="Colour under transparent pixels and around padded images: black, white or #rrggbb.")
    ] = "black",
    skip_bad: Annotated[
        bool, typer.Option(help="Skip unreadable images (counted and named) instead of stopping.")
    ] = False,
    force: ForceOpt = False,
) -> None:
    """Decode images once into a packed, memory-mappable file that `train --data` reads directly. Ctrl-C or
    SIGTERM stops it without leaving a partial file."""
    import numpy as np

    from gancli.data import PACKED_SUFFIX
    from gancli.data.base import DataRequest
    from gancli.data.images import check_request, decode_source, source_labels
    from gancli.data.packed import write_packed
    from gancli.io import check_output, interruptible

    if not (source.is_dir() or source.suffix.lower() == ".zip"):
        raise GancliError(f"{source}: not a folder or a .zip of images")
    destination = check_output(output, force)
    if destination.how == "atomic" and output.suffix != PACKED_SUFFIX:
        raise GancliError(f"{output}: the packed file's name must end in {PACKED_SUFFIX}")
    if channels not in (1, 3) or fit not in ("crop", "pad"):
        raise GancliError(f"--channels must be 1 or 3 and --fit crop or pad, got {channels} and {fit!r}")
    request = DataRequest(image_size, channels, skip_bad=skip_bad, background=background)
    check_request(request)  # the size limit and the colour, as for train
    kept = "nothing was written to" if destination.how == "atomic" else "only part of the data went to"
    with interruptible(f"data prepare stopped; {kept} {output}"):
        images, _, count, names = decode_source(source, request, fit)
        labels, classes = source_labels(source, names, required=False) or (None, None)
        pixels, origin = np.asarray(images), str(source.resolve())
        written = write_packed(
            output, pixels, source=origin, source_count=count, replace=force, classes=classes, labels=labels
        )
    shape = "×".join(map(str, images.shape[1:]))
    labelled = f", labelled in {len(classes)} classes" if classes else ""
    wrote(written, f"{len(images)} images of {shape} from {count} files{labelled}")


# --- plugins ---------------------------------------------------------------------------------------------


@plugins_app.command("list")
def plugins_list(
    kind: Annotated[str | None, typer.Option(help="Only this kind (loss, optimizer, update, …).")] = None,
    packages: Annotated[
        bool, typer.Option("--packages", help="Group by package: version, plugin modules, hooks, commands.")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
) -> None:
    """Every registered plugin object with the package that provides it, or every plugin package (plugins that
    failed to load are reported as warnings when gancli starts)."""
    import json

    from gancli.plugins.registry import KINDS

    plugins = load_plugins()
    if kind is not None and kind not in KINDS:
        raise GancliError(f"--kind {kind!r}: expected one of {', '.join(KINDS)}")
    if packages:
        listing = package_listing(plugins)
        if as_json:
            out.print_json(json.dumps(listing))
        else:
            for entry in listing:
                out.print(Text.assemble((entry["package"], "bold"), f" {entry['version']}"), highlight=False)
                for module in entry["modules"]:
                    out.print(
                        f"  plugin {module['plugin']} ({module['module']}): {', '.join(module['hooks']) or 'no hooks'}"
                    )
                    for line in module["provides"]:
                        out.print(f"    {line}", highlight=False)
    elif as_json:
        rows = [
            {"kind": r.kind, "name": r.name, "plugin": r.plugin, "package": r.package, "description": r.description}
            for r in plugins.registry.all(kind)
        ]
        out.print_json(json.dumps(rows))
    else:
        table = Table("kind", "name", "package", "description")
        for reg in plugins.registry.all(kind):
            table.add_row(reg.kind, reg.name, reg.package, reg.description)
        if kind is None:
            for command in plugins.commands.values():
                table.add_row("command", command.name, command.package, command.help)
        out.print(table)


def package_listing(plugins: Any) -> list[dict[str, Any]]:
    """Each plugin package, its version, and per plugin module: the hooks it implements and what it adds."""
    listing: dict[str, dict[str, Any]] = {}
    for name, module in plugins.modules.items():
        entry = listing.setdefault(
            module.package, {"package": module.package, "version": module.version, "modules": []}
        )
        provides = [f"{reg.kind} {reg.name}" for reg in plugins.registry.all() if reg.plugin == name]
        provides += [f"command {c.name}" for c in plugins.commands.values() if c.plugin == name]
        entry["modules"].append(
            {"plugin": name, "module": module.module, "hooks": list(module.hooks), "provides": provides}
        )
    return sorted(listing.values(), key=lambda entry: (entry["package"] != "gancli", entry["package"]))


def settings_text(settings: Any) -> str:
    """``key=value, …`` of a plugin's recommended settings, as `plugins show` prints them."""
    return ", ".join(f"{k}={v}" for k, v in settings.items()) if isinstance(settings, dict) else repr(settings)


@plugins_app.command("show")
def plugins_show(name: Annotated[str, typer.Argument(help="A plugin object's or command's name, e.g. wgan.")]) -> None:
    """A plugin object's description, package and options with their defaults (or a plugin command's)."""
    from gancli.plugins.registry import unknown_message

    plugins = load_plugins()
    found = plugins.registry.find(name)
    clashes = plugins.registry.clashes(name)
    command = plugins.commands.get(name)
    if not (found or clashes or command):
        known = {r.name for r in plugins.registry.all()} | set(plugins.commands)
        raise GancliError(unknown_message("plugin", name, known))
    for message in clashes:
        out.print(labelled("unusable", "bold red", f"{message}; uninstall one of the two packages"), highlight=False)
    for reg in found:
        about = f" ({reg.kind}, plugin {reg.plugin}, package {reg.package})"
        out.print(Text.assemble((reg.name, "bold"), about), highlight=False)
        out.print(f"  {reg.description}", highlight=False)
        if reg.options:
            table = Table(box=None)
            table.add_column("option", no_wrap=True)  # the spelling to type, whole
            for heading in ("type", "default", "values", "help"):
                table.add_column(heading)
            for o in reg.options:
                table.add_row(f"--set {reg.name}.{o.name}", o.type.__name__, repr(o.default), str(o.range), o.help)
            out.print(table)
        general = {k: v for k, v in reg.recommends.items() if k != "per_dataset"}
        if general:
            out.print("  recommends: " + settings_text(general), highlight=False)
        per_dataset = reg.recommends.get("per_dataset", {})
        if not isinstance(per_dataset, dict):  # a mistake `train` refuses, shown as it is
            out.print(f"  recommends per_dataset={per_dataset!r}", highlight=False)
            per_dataset = {}
        for dataset, settings in per_dataset.items():
            out.print(f"  recommends on {dataset}: " + settings_text(settings), highlight=False)
    if command is not None:
        about = f" (command, plugin {command.plugin}, package {command.package})"
        out.print(Text.assemble((command.name, "bold"), about), highlight=False)
        out.print(f"  {command.help}  (gancli {command.name} --help)", highlight=False)


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
    """The full CLI: built-in commands plus those that plugins add through ``register_commands``; ``train``'s
    help says which defaults the installed datasets recommend."""
    from gancli.config import dataset_recommended

    plugins = load_plugins()
    train.__signature__ = train_signature(dataset_recommended(plugins.registry))  # type: ignore[attr-defined]
    plugins.add_commands(app)
    return app


def main() -> None:
    try:
        build_app()()
    except SystemExit as exit:
        ranked = sys.modules.get("gancli.train.distributed")  # imported by training alone: --help stays torch-free
        if ranked is not None:
            ranked.end_process(exit.code)
        raise

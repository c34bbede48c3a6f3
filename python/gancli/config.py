"""The run configuration: one typed dataclass, resolved once, printed and saved with the run.

Each field that has a ``flag`` is a ``gancli train`` option of the same name (the CLI is built from these
fields) and a ``--config FILE.toml`` key. ``resolve`` chooses each plugin kind once, in the order dataset →
loss → architecture → optimizer → update rule, and layers, lowest first: the defaults below < each chosen
plugin's ``recommends``, in that order (a later kind's recommendation wins, and a recommendation may choose a
later kind: ring8 recommends the ``mlp`` architecture, WGAN the ``rmsprop`` optimizer) < ``--config FILE`` <
command-line flags. Plugin options (``--set NAME=VALUE``) follow the same order on top of each plugin's
declared defaults. A saved ``config.json`` holds every resolved value and the plugin packages that provided
them, so ``--config RUN/config.json`` re-runs the experiment as it was.

Nothing here imports torch.
"""

from __future__ import annotations

import dataclasses
import importlib.util
import types
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, get_args, get_origin, get_type_hints

from gancli.errors import GancliError
from gancli.io import read_document
from gancli.nets.spec import CHANNELS
from gancli.plugins.manager import package_version
from gancli.plugins.registry import Option, Registration, Registry, unknown_message
from gancli.values import MAX_SEED, Range, as_float, parse_colour

TRAINING = "Training"
DATA = "Data"
REMEDIES = "Remedies and regularisers"
OUTPUT = "Output"

MAX_COUNT = 10**9  # steps, intervals, kept checkpoints: a billion steps is years of training; beyond, a typo
MAX_BATCH = 2**20  # beyond any accelerator's memory for any data; a typo, not a setting
MAX_LATENT = 2**16
MAX_D_STEPS = 1000  # critic steps per G step: WGAN takes 5, its first phases 100
MAX_IMAGE_SIZE = 8192  # the decoders' pixel limit, kernels.DEFAULT_MAX_PIXELS = 8192² (a test keeps them equal)
#: torch's own default for gloo: a process that vanishes without closing its connections (a machine that loses power
#: or its network) is noticed after this long; one that dies on a living machine, at once
DEFAULT_COLLECTIVE_TIMEOUT = 1800
MAX_COLLECTIVE_TIMEOUT = 7 * 24 * 3600  # a week: beyond, a typo
MAX_OWN_SIZE = 256  # the largest side an image folder is decoded at without --image-size (dcgan's limit)
PRECISIONS = ("fp32", "bf16", "fp16")
LR_SCHEDULES = ("constant", "linear", "cosine")
ON_NAN = ("stop", "rollback")
#: torch.compile's modes; "reduce-overhead" replays each compiled pass as a CUDA graph (one launch on a GPU)
COMPILE_MODES = ("default", "reduce-overhead", "max-autotune")
#: --diffaugment's transforms, in the order they apply (Zhao et al. 2020's "color,translation,cutout")
DIFFAUGMENT = ("color", "translation", "cutout")


def flag(help: str, panel: str = TRAINING, **values: Any) -> dict[str, Any]:
    """Field metadata that makes a RunConfig field a ``gancli train`` option; ``values`` are its ``Range``
    (min, max, min_open, max_open, choices), checked by ``check_values`` whatever set it."""
    return {"flag": True, "help": help, "panel": panel, "range": Range(**values)}


def count(help: str, panel: str = TRAINING, most: int = MAX_COUNT) -> dict[str, Any]:
    """A flag that counts something: at least 1, at most ``most``."""
    return flag(help, panel, min=1, max=most)


def rate(help: str, panel: str = TRAINING) -> dict[str, Any]:
    """A flag that is a positive finite number (a learning rate)."""
    return flag(help, panel, min=0, min_open=True)


def weight(help: str, panel: str = TRAINING) -> dict[str, Any]:
    """A flag that weighs a term: a finite number ≥ 0 (0 turns it off)."""
    return flag(help, panel, min=0)


@dataclass
class RunConfig:
    data: str = field(default="digits", metadata=flag("Dataset name (see `gancli plugins list`) or a path.", DATA))
    arch: str = field(default="dcgan", metadata=flag("Architecture plugin."))
    loss: str = field(default="nonsaturating", metadata=flag("Loss plugin."))
    optimizer: str = field(default="adam", metadata=flag("Optimizer plugin."))
    update: str = field(default="alternating", metadata=flag("Update rule: alternating, simultaneous, consensus, …"))
    steps: int = field(default=3000, metadata=count("Generator updates in total."))
    batch_size: int = field(default=64, metadata=count("Samples per batch.", most=MAX_BATCH))
    lr: float = field(default=2e-4, metadata=rate("Learning rate of both players."))
    lr_g: float | None = field(default=None, metadata=rate("Generator learning rate (default: --lr)."))
    lr_d: float | None = field(default=None, metadata=rate("Discriminator learning rate (default: --lr)."))
    lr_schedule: str = field(
        default="constant",
        metadata=flag("constant, or linear/cosine decay of both learning rates to 0 by --steps.", choices=LR_SCHEDULES),
    )
    d_steps: int = field(default=1, metadata=count("Discriminator steps per generator step (k).", most=MAX_D_STEPS))
    latent_dim: int = field(default=64, metadata=count("Size of the latent z.", most=MAX_LATENT))
    seed: int = field(default=0, metadata=flag("Random seed (CPU runs repeat exactly).", min=0, max=MAX_SEED))
    device: str = field(default="auto", metadata=flag("auto, cpu or cuda[:N]."))
    image_size: int | None = field(
        default=None,
        metadata=count(
            "Side of the square images (default: the images' own, the most common when they differ, at most "
            f"{MAX_OWN_SIZE}; digits 32).",
            DATA,
            MAX_IMAGE_SIZE,
        ),
    )
    channels: int | None = field(
        default=None,
        metadata=flag("1 (gray) or 3 (RGB) (default: the data's own; 3 for a folder or zip).", DATA, choices=CHANNELS),
    )
    background: str = field(
        default="black",
        metadata=flag(
            "Colour under transparent pixels (RGBA, gray + alpha, palette) and around --set fit=pad images: black, "
            "white or #rrggbb (default: black).",
            DATA,
        ),
    )
    augment: str = field(
        default="",
        metadata=flag(
            "Augment the real images alone, e.g. flip (safe: a flipped image is still one of the data). translate, "
            "cutout and colour here leak into G's samples: use --diffaugment for those.",
            DATA,
        ),
    )
    skip_bad: bool = field(
        default=False,
        metadata=flag("Leave out unreadable images (broken links, corrupt files), counted and named.", DATA),
    )
    holdout: int = field(
        default=0,
        metadata=flag(
            "Images kept out of training (the same ones for every seed), so that D's scores on them can be compared "
            "with its scores on training images (d-overfitting) and gancli eval's memorisation and real floors use "
            "images G never saw.",
            DATA,
            min=0,
            max=MAX_COUNT,
        ),
    )
    balance_classes: bool = field(
        default=False,
        metadata=flag(
            "Draw every class equally often (a class chosen uniformly, then one of its images) for labelled data "
            "whose classes are uneven: a rare class is seen as often as a common one, its images repeated.",
            DATA,
        ),
    )
    conditional: bool = field(
        default=False,
        metadata=flag(
            "Class-conditional G and D on the dataset's labels (digits, class subfolders, dataset.json, .npz y); "
            "then gancli sample --class asks for one.",
            DATA,
        ),
    )
    aux_classifier: float = field(
        default=0.0,
        metadata=weight(
            "ACGAN with --conditional: weight of an auxiliary classifier's cross-entropy, D's on real data and G's on "
            "its samples for the class asked (logit and hinge losses)."
        ),
    )
    pack: int = field(default=1, metadata=count("PacGAN: D judges m samples jointly.", REMEDIES, MAX_BATCH))
    r1: float = field(default=0.0, metadata=weight("γ of the R1 penalty on real data.", REMEDIES))
    r1_every: int = field(
        default=1, metadata=count("R1 (and R2) on every N-th D step, weighted N× (lazy regularisation).", REMEDIES)
    )
    r2: float = field(default=0.0, metadata=weight("γ of the R2 penalty on generated images (R3GAN).", REMEDIES))
    diversity: float = field(default=0.0, metadata=weight("Weight of the mode-seeking penalty on G.", REMEDIES))
    diffaugment: str = field(
        default="",
        metadata=flag(
            "Differentiable augmentation of every batch D judges, real and generated (DiffAugment): any of "
            "translation,color,cutout.",
            REMEDIES,
        ),
    )
    ada: bool = field(
        default=False,
        metadata=flag(
            "Adaptive augmentation (ADA): each --diffaugment transform applies with a probability p, tuned so "
            "that E[sign D(x)] on real batches stays at --ada-target.",
            REMEDIES,
        ),
    )
    ada_target: float = field(
        default=0.6,
        metadata=flag(
            "--ada's target for E[sign D(x)]: p rises while D is surer of the reals.",
            REMEDIES,
            min=0,
            max=1,
            min_open=True,
            max_open=True,
        ),
    )
    ada_kimg: int = field(
        default=500, metadata=count("--ada's pace: thousands of real images for p to move from 0 to 1.", REMEDIES)
    )
    spectral_norm: bool = field(default=False, metadata=flag("Spectral normalisation in D.", REMEDIES))
    minibatch_std: bool = field(default=False, metadata=flag("Minibatch standard-deviation feature in D.", REMEDIES))
    ema: float = field(
        default=0.0, metadata=flag("Decay of the generator's moving average.", REMEDIES, min=0, max=1, max_open=True)
    )
    precision: str = field(
        default="fp32",
        metadata=flag(
            "fp32, bf16 (autocast) or fp16 (autocast with loss scaling, alternating rule).", choices=PRECISIONS
        ),
    )
    amp: bool = field(default=False, metadata=flag("bf16 autocast: the same as --precision bf16."))
    channels_last: bool = field(
        default=False,
        metadata=flag(
            "Channels-last memory format for image networks (dcgan and resnet recommend it; with --compile, "
            "inductor chooses the layout)."
        ),
    )
    prefetch: bool | None = field(
        default=None, metadata=flag("Draw the next batches in a background thread (default: on CUDA).", DATA)
    )
    data_on_device: bool | None = field(
        default=None,
        metadata=flag(
            "Hold the images on the device and draw batches there (default: on CUDA when they take at most a "
            "quarter of its free memory; --augment then runs there too).",
            DATA,
        ),
    )
    sync_bn: bool = field(default=False, metadata=flag("BatchNorm statistics over every process's shard (CUDA)."))
    collective_timeout: int = field(
        default=DEFAULT_COLLECTIVE_TIMEOUT,
        metadata=count(
            "With several processes: seconds one waits for the others (at the start, at each step, while process 0 "
            "evaluates or saves) before it stops, saying another is gone or cannot be reached.",
            most=MAX_COLLECTIVE_TIMEOUT,
        ),
    )
    compile: bool = field(default=False, metadata=flag("torch.compile G and D."))
    compile_mode: str = field(
        default="default",
        metadata=flag(
            "torch.compile's mode with --compile: reduce-overhead replays G's and D's passes as CUDA graphs.",
            choices=COMPILE_MODES,
        ),
    )
    metrics: list[str] | None = None  # None: every metric that applies to the data
    log_every: int = field(default=10, metadata=count("Steps between metric records.", OUTPUT))
    sample_every: int = field(default=500, metadata=count("Steps between sample images.", OUTPUT))
    checkpoint_every: int = field(default=1000, metadata=count("Steps between checkpoints.", OUTPUT))
    eval_every: int = field(default=1000, metadata=count("Steps between evaluations.", OUTPUT))
    features: str = field(
        default="random-cnn",
        metadata=flag("Feature space of the image metrics: digits-cnn, random-cnn, inception:PATH.", OUTPUT),
    )
    eval_samples: int = field(
        default=1000, metadata=count("Generated (and real) images the feature-space metrics score.", OUTPUT, MAX_BATCH)
    )
    eval_draws: int = field(
        default=3,
        metadata=count(
            "Noise draws each evaluation scores (eval_samples each): every figure is their mean ± std.", OUTPUT, 100
        ),
    )
    keep: int = field(default=3, metadata=count("Checkpoints kept: the newest K.", OUTPUT))
    keep_best: str = field(
        default="", metadata=flag("Also keep the checkpoint with the best value of this metric (e.g. mode_kl).", OUTPUT)
    )
    on_nan: str = field(
        default="stop",
        metadata=flag(
            "On a NaN/inf loss or weight: stop, or rollback to the last checkpoint at half the lr once.", choices=ON_NAN
        ),
    )
    stop_when_plateau: bool = field(
        default=False,
        metadata=flag("End the run cleanly (checkpoint saved) when the plateau diagnostic finds no metric improving."),
    )
    tensorboard: bool = field(
        default=False, metadata=flag("Also write scalars and sample images to RUN/tensorboard/ (TensorBoard).", OUTPUT)
    )
    options: dict[str, dict[str, Any]] = field(default_factory=dict)

    @property
    def lr_generator(self) -> float:
        return self.lr if self.lr_g is None else self.lr_g

    @property
    def lr_discriminator(self) -> float:
        return self.lr if self.lr_d is None else self.lr_d

    @property
    def autocast_dtype(self) -> str | None:
        """The dtype autocast computes in, None for full precision (``--amp`` is ``--precision bf16``)."""
        precision = "bf16" if self.amp and self.precision == "fp32" else self.precision
        return {"fp32": None, "bf16": "bfloat16", "fp16": "float16"}[precision]

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


FIELD_TYPES: dict[str, Any] = get_type_hints(RunConfig)
FIELD_NAMES = [f.name for f in fields(RunConfig)]
FLAG_FIELDS = [f for f in fields(RunConfig) if f.metadata.get("flag")]
FLAG_RANGES: dict[str, Range] = {f.name: f.metadata["range"] for f in FLAG_FIELDS}
FILE_ONLY_KEYS = ("set", "plugins")  # keys of a config file besides the fields: --set items, provenance

#: where a setting nobody set got its value (``Resolved.sources``)
DEFAULT = "default"
#: the kinds that make a run what it is; the others (features, metrics, diagnostics) observe it, and their
#: options yield a bare ``--set NAME`` to a trainer's
TRAINING_KINDS = ("dataset", "loss", "architecture", "optimizer", "update")
#: each plugin kind a run chooses one of, in the order they are resolved, and the field that names it
KIND_FIELDS = {
    "dataset": "data",
    "loss": "loss",
    "architecture": "arch",
    "optimizer": "optimizer",
    "update": "update",
    "features": "features",
}


def dataset_recommended(registry: Registry) -> set[str]:
    """The flags some dataset recommends a value of: their defaults depend on ``--data``."""
    return {
        key
        for reg in registry.all("dataset")
        if isinstance(reg.recommends, Mapping)
        for key in reg.recommends
        if key in FLAG_RANGES
    }


@dataclass(frozen=True)
class ConfigFile:
    """What a ``--config`` file holds: field values, ``set`` items, and the packages of a saved run's plugins."""

    values: dict[str, Any]
    set_items: list[str]
    provenance: dict[str, dict[str, str]]


def load_file(path: Path) -> ConfigFile:
    """Read a TOML or JSON configuration (a saved run's config.json included)."""
    syntax = "json" if path.suffix == ".json" else "toml"
    try:
        values = read_document(path, syntax)
    except OSError as exc:
        raise GancliError(f"--config {path}: {exc.strerror or exc}") from None
    except ValueError as exc:  # bad syntax, not UTF-8, too large or too deeply nested
        raise GancliError(f"--config {path}: not valid {syntax.upper()}: {exc}") from None
    if not isinstance(values, dict):
        raise GancliError(f"--config {path}: expected a table of settings, got {type(values).__name__}")
    values = {k.replace("-", "_"): v for k, v in values.items()}
    for key in values:
        if key not in FIELD_NAMES and key not in FILE_ONLY_KEYS:
            raise GancliError(f"--config {path}: {unknown_message('key', key, [*FIELD_NAMES, 'set'])}")
    set_items = values.pop("set", [])
    if isinstance(set_items, str):
        set_items = [set_items]
    if not isinstance(set_items, list) or not all(isinstance(item, str) for item in set_items):
        raise GancliError(f'--config {path}: set must be a string or a list of strings, e.g. set = ["clip=0.02"]')
    provenance = values.pop("plugins", {})
    entries = provenance.values() if isinstance(provenance, dict) else [None]
    if not all(isinstance(entry, dict) and all(isinstance(v, str) for v in entry.values()) for entry in entries):
        raise GancliError(f"--config {path}: plugins must map each kind to a table of name, plugin, package, version")
    return ConfigFile(values, set_items, provenance)


def check_type(name: str, value: Any, origin: str) -> Any:
    """Check a value read from a file against the field's annotation (ints are accepted for floats)."""
    hint = FIELD_TYPES[name]
    allowed = get_args(hint) if isinstance(hint, types.UnionType) else (hint,)
    allowed = tuple(get_origin(t) or t for t in allowed)
    if value is None and type(None) in allowed:
        return None
    if float in allowed and type(value) is int:
        try:
            return as_float(value)
        except ValueError as exc:
            raise GancliError(f"{origin}: {name}: {exc}") from None
    if isinstance(value, allowed) and not (isinstance(value, bool) and bool not in allowed):
        if isinstance(value, list) and not all(isinstance(item, str) for item in value):
            raise GancliError(f"{origin}: {name} must be a list of names, got {value!r}")
        return value
    expected = " or ".join("null" if t is type(None) else t.__name__ for t in allowed)
    raise GancliError(f"{origin}: {name} must be {expected}, got {value!r}")


def parse_set(items: Iterable[str]) -> list[tuple[str | None, str, str]]:
    """``--set [PLUGIN.]NAME=VALUE`` items as (plugin or None, name, text)."""
    parsed = []
    for item in items:
        key, sep, text = item.partition("=")
        if not sep or not key.strip():
            raise GancliError(f"--set {item!r}: expected NAME=VALUE, e.g. --set clip=0.02")
        plugin, dot, name = key.strip().rpartition(".")
        parsed.append((plugin if dot else None, name, text.strip()))
    return parsed


@dataclass(frozen=True)
class Resolved:
    """A run's configuration and the registrations it chose, each plugin kind resolved exactly once."""

    config: RunConfig
    plugins: dict[str, Registration]  # kind → registration, for each kind in KIND_FIELDS
    metrics: list[Registration]  # the metrics asked for (all registered ones when the config names none)
    diagnostics: list[Registration] = field(default_factory=list)  # every registered diagnostic
    #: each setting (a field, or PLUGIN.OPTION) → where its value came from: ``default``, ``recommended by KIND
    #: NAME``, ``--config FILE``, its flag or ``--set``; what ``gancli train --dry-run`` shows beside each value
    sources: dict[str, str] = field(default_factory=dict)

    def provenance(self) -> dict[str, dict[str, str]]:
        """Which plugin of which package (and version) provided each kind: saved with the run."""
        return {
            kind: {
                "name": reg.name,
                "plugin": reg.plugin,
                "package": reg.package,
                "version": package_version(reg.package),
            }
            for kind, reg in self.plugins.items()
        }

    def to_dict(self) -> dict[str, Any]:
        """What ``RUN/config.json`` holds: every setting, and the plugins that provided them."""
        return {**self.config.to_dict(), "plugins": self.provenance()}


def resolve(
    registry: Registry,
    flags: Mapping[str, Any],
    config_file: Path | None = None,
    set_items: Iterable[str] = (),
    skip_missing: Callable[[str], None] | None = None,
) -> Resolved:
    """Merge defaults, the chosen plugins' recommendations, the file and the flags into one checked config.

    ``skip_missing`` reads a saved run for a command that only samples or scores it: the options and metrics of
    observer plugins that are no longer installed are left out, each said through it, instead of refused (a
    trainer it names must still be installed: the run's networks need it)."""
    loaded = load_file(config_file) if config_file else ConfigFile({}, [], {})
    origin = f"--config {config_file}"
    user = {k: check_type(k, v, origin) for k, v in loaded.values.items()}
    user.update({k: v for k, v in flags.items() if v is not None})
    sources = dict.fromkeys(FIELD_NAMES, DEFAULT)
    del sources["options"]

    recommended: dict[str, Any] = {}
    option_layers: list[tuple[str, Mapping[str, Mapping[str, Any]]]] = []
    chosen: dict[str, Registration] = {}
    for kind, field_name in KIND_FIELDS.items():
        spec = user.get(field_name, recommended.get(field_name, getattr(RunConfig, field_name)))
        saved = {} if flags.get(field_name) is not None else loaded.provenance  # a flag means what it says
        reg = chosen[kind] = select(registry, kind, spec, saved)
        already_chosen = list(KIND_FIELDS.values())[: len(chosen)]
        by = f"recommended by {kind} {reg.name}"
        for recommends in recommendations(reg, chosen["dataset"].name):
            option_layers.append((by, recommends.pop("options", {})))
            for key, value in recommends.items():
                if key not in FIELD_NAMES or key in already_chosen:
                    raise reg.error(f"{kind} {reg.name!r} recommends {key!r}, which is not a setting it may recommend")
                recommended[key] = checked_recommendation(reg, key, value)
                sources[key] = by
    sources.update({key: origin for key in loaded.values if key in sources})
    sources.update({key: flag_name(key) for key, value in flags.items() if value is not None and key in sources})
    config = RunConfig(**{**recommended, **user})
    check_values(config)
    metrics = registry.all("metric") if config.metrics is None else chosen_metrics(registry, config, skip_missing)
    diagnostics = registry.all("diagnostic")
    option_layers.append((origin, user.pop("options", {})))
    named = {kind for kind, field_name in KIND_FIELDS.items() if field_name in user}
    first = [reg for kind, reg in chosen.items() if kind in TRAINING_KINDS or kind in named]
    first += metrics if user.get("metrics") is not None else []
    rest = [reg for reg in [*chosen.values(), *metrics, *diagnostics] if not any(reg is f for f in first)]
    set_layers = [(origin, parse_set(loaded.set_items)), ("--set", parse_set(set_items))]
    config.options = resolve_options(registry, [first, rest], option_layers, set_layers, sources, skip_missing)
    return Resolved(config, chosen, metrics, diagnostics, sources)


def chosen_metrics(
    registry: Registry, config: RunConfig, skip_missing: Callable[[str], None] | None
) -> list[Registration]:
    """The metrics ``config.metrics`` names; under ``skip_missing``, those not installed are left out."""
    names = config.metrics or []
    if skip_missing is not None:
        for name in [n for n in names if n not in registry.entries["metric"]]:
            skip_missing(f"metric {name!r} is not installed: left out")
        names = config.metrics = [n for n in names if n in registry.entries["metric"]]
    return [registry.get("metric", n) for n in names]


def checked_recommendation(reg: Registration, key: str, value: Any) -> Any:
    """A setting ``reg`` recommends, of the field's type and in its range, or an error naming the plugin."""
    what = f"{reg.kind} {reg.name!r} recommends {key}"
    try:
        value = check_type(key, value, what)
        if value is not None and key in FLAG_RANGES:
            FLAG_RANGES[key].check(value, what)
    except GancliError as exc:
        raise reg.error(str(exc)) from None
    return value


def recommendations(reg: Registration, dataset: str) -> list[dict[str, Any]]:
    """What ``reg`` recommends for every run, then what it recommends for ``dataset`` in particular (its
    ``recommends["per_dataset"][dataset]``: WGAN's step budget on the digits), which wins."""
    general = dict(reg.recommends)
    per_dataset = general.pop("per_dataset", {})
    if not isinstance(per_dataset, Mapping) or not all(isinstance(r, Mapping) for r in per_dataset.values()):
        raise reg.error(
            f"{reg.kind} {reg.name!r} recommends per_dataset={per_dataset!r}: it must map dataset names to "
            "dicts of settings"
        )
    if per_dataset and reg.kind == "dataset":
        raise reg.error(f"dataset {reg.name!r} recommends per_dataset, which only a plugin of a later kind may")
    return [general, dict(per_dataset.get(dataset, {}))]


def select(registry: Registry, kind: str, spec: str, provenance: Mapping[str, Mapping[str, str]]) -> Registration:
    """The registration for ``spec``; a plugin a saved run used but that is not installed says what to install."""
    try:
        return registry.select(kind, spec)
    except GancliError as exc:
        used = provenance.get(kind, {})
        if used.get("name") in registry.entries[kind] and used.get("name") != spec:
            # a saved run's path that is gone: the plugin that opened it (which names the path if asked to again)
            return registry.get(kind, used["name"])
        if used.get("name") == spec and used.get("package") and not registry.find(spec):
            package = used["package"]
            raise GancliError(
                f"{kind} {spec!r} came from plugin {used.get('plugin')!r} of package {package} "
                f"{used.get('version', '')}, which is not installed: gancli plugins install {package}"
            ) from None
        if kind == "dataset":
            raise GancliError(f"--data: {exc}, and no file or folder of that name") from None
        raise


def flag_name(name: str) -> str:
    """The ``gancli train`` flag of a RunConfig field: ``batch_size`` → ``--batch-size``."""
    return "--" + name.replace("_", "-")


def check_background(text: str) -> None:
    """Refuse a ``--background`` that is no colour, naming the flag."""
    try:
        parse_colour(text)
    except ValueError as exc:
        raise GancliError(f"--background: {exc}") from None


def check_values(config: RunConfig) -> None:
    """Refuse values no run can use, naming the flag: outside the field's declared range (NaN and infinity
    included), then the combinations no single range can say."""
    for name, values in FLAG_RANGES.items():
        value = getattr(config, name)
        if value is not None:
            values.check(value, flag_name(name))
    check_background(config.background)
    if config.batch_size % config.pack:
        raise GancliError(f"--batch-size {config.batch_size} is not a multiple of --pack {config.pack}")
    if config.conditional and config.pack > 1:
        raise GancliError(
            f"--conditional and --pack {config.pack}: a packed D would judge samples of several classes at once"
        )
    if config.aux_classifier and not config.conditional:
        raise GancliError(
            f"--aux-classifier {config.aux_classifier:g} trains D to tell each image's class: it needs --conditional "
            "(and a labelled dataset)"
        )
    policy = diffaugment_policy(config.diffaugment)
    if config.ada and not policy:
        raise GancliError(
            "--ada tunes how often the --diffaugment transforms apply: name them, e.g. "
            "--diffaugment translation,color,cutout"
        )
    if config.device not in ("auto", "cpu") and not config.device.startswith("cuda"):
        raise GancliError(f"--device must be auto, cpu or cuda[:N], got {config.device!r}")
    if config.tensorboard and not importlib.util.find_spec("tensorboard"):
        raise GancliError("--tensorboard needs the tensorboard package: pip install 'gancli[tensorboard]'")


def diffaugment_policy(text: str) -> tuple[str, ...]:
    """The transforms ``--diffaugment TEXT`` names, in the order they apply; a name that is not one of them, or
    one given twice, is refused naming the flag."""
    names = [name.strip() for name in text.split(",") if name.strip()]
    for name in names:
        if name not in DIFFAUGMENT:
            raise GancliError(f"--diffaugment {text!r}: {unknown_message('transform', name, DIFFAUGMENT)}")
        if names.count(name) > 1:
            raise GancliError(f"--diffaugment {text!r}: {name} is named twice")
    return tuple(name for name in DIFFAUGMENT if name in names)


def resolve_options(
    registry: Registry,
    tiers: list[list[Registration]],
    layers: list[tuple[str, Mapping[str, Mapping[str, Any]]]],
    set_layers: list[tuple[str, list[tuple[str | None, str, str]]]],
    sources: dict[str, str],
    skip_missing: Callable[[str], None] | None = None,
) -> dict[str, dict[str, Any]]:
    """Every option of every selected plugin, typed and in its range: declared defaults < the ``layers`` of
    values (the recommendations, the file's tables) < the ``set_layers`` (the file's ``set``, then ``--set``),
    each layer named by where it came from, which ``sources`` records as ``PLUGIN.OPTION``. ``tiers`` are the
    run's plugins, those a bare ``--set NAME`` looks in first (the trainers and what the user named) before the
    rest (the observers). Under ``skip_missing`` (a saved run read), options of a plugin that is not installed are
    left out, saying so: a plugin the run chose by kind was found already, so it can only be an observer."""
    plugins = [reg for tier in tiers for reg in tier]
    by_name = {reg.name: reg for reg in plugins}
    resolved = {reg.name: reg.defaults() for reg in plugins if reg.options}
    sources.update({f"{plugin}.{name}": DEFAULT for plugin, values in resolved.items() for name in values})
    for origin, given in layers:
        for plugin_name, values in given.items():
            reg = by_name.get(plugin_name)
            if reg is None:
                if not registry.find(plugin_name):
                    if skip_missing is None:
                        raise GancliError(f"options for {unknown_message('plugin', plugin_name, by_name)}")
                    skip_missing(f"plugin {plugin_name!r} is not installed: its saved options are left out")
                continue  # options of a plugin this run does not use (a recommendation for another optimizer)
            if not isinstance(values, Mapping):
                raise GancliError(f"options for {reg.name!r} must be a table of NAME = VALUE, got {values!r}")
            for name, value in values.items():
                option = reg.option(name)
                if option is None:
                    raise GancliError(f"{reg.kind} {reg.name!r}: {unknown_message('option', name, reg.defaults())}")
                label = f"option {reg.name}.{name}"
                resolved[reg.name][name] = checked_value(option, option.coerce, value, label, label)
                sources[f"{reg.name}.{name}"] = origin
    for origin, set_items in set_layers:
        for plugin_name, name, text in set_items:
            reg, option = find_option_owner(tiers, plugin_name, name, text)
            label = f"--set {reg.name}.{name}"
            resolved[reg.name][name] = checked_value(option, option.parse, text, f"{label}={text}", label)
            sources[f"{reg.name}.{name}"] = origin
    return resolved


def checked_value(option: Option, convert: Callable[[Any], Any], given: Any, parse_label: str, range_label: str) -> Any:
    """``convert(given)``, what a file or ``--set`` gave made a value within ``option``'s range, or a one-line
    error under the label."""
    try:
        value = convert(given)
    except (TypeError, ValueError) as exc:
        raise GancliError(f"{parse_label}: {exc}") from None
    option.range.check(value, range_label)
    return value


def find_option_owner(
    tiers: list[list[Registration]], plugin_name: str | None, name: str, text: str
) -> tuple[Registration, Option]:
    """The plugin and option ``--set [PLUGIN.]NAME=TEXT`` means. A bare name is looked up tier by tier, so an
    observer's option never takes a name from a trainer; within a tier, two owners make it ambiguous. A bare
    name that is a ``gancli train`` flag is refused with the spelling of each meaning."""
    flag_text = f"--set {plugin_name + '.' if plugin_name else ''}{name}"
    plugins = [reg for tier in tiers for reg in tier]
    if plugin_name is None and name.replace("-", "_") in FLAG_RANGES:
        owners = [f"--set {r.name}.{name}={text}" for r in plugins if r.option(name)]
        flag_spelling = f"{flag_name(name.replace('-', '_'))} {text}"
        if not owners:
            raise GancliError(
                f"{flag_text}={text}: {name} is a gancli train flag, not a plugin option: {flag_spelling}"
            )
        raise GancliError(
            f"{flag_text}={text}: {name} is both a gancli train flag and a plugin option; say which: "
            f"{flag_spelling} (the run's) or {' or '.join(owners)}"
        )
    for tier in tiers if plugin_name is None else [plugins]:
        candidates = [
            (r, option) for r in tier if (plugin_name is None or r.name == plugin_name) and (option := r.option(name))
        ]
        if len(candidates) == 1:
            return candidates[0]
        if candidates:
            owners = ", ".join(f"{r.name}.{name}" for r, _ in candidates)
            raise GancliError(f"{flag_text}: ambiguous, say which: {owners}")
    owned = [r for r in plugins if plugin_name is None or r.name == plugin_name]
    if not owned:
        used = ", ".join(sorted({r.name for r in plugins}))
        raise GancliError(f"{flag_text}: plugin {plugin_name!r} is not used by this run (it uses {used})")
    available = [f"{r.name}.{o.name}" for r in owned for o in r.options]
    raise GancliError(f"{flag_text}: {unknown_message('option', name, available)}")

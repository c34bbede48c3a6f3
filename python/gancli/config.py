"""The run configuration: one typed dataclass, resolved once, printed and saved with the run.

Precedence, lowest first: the defaults below < the dataset plugin's recommendations (``mlp`` for 2-D
points, a step budget) < the loss plugin's (WGAN: RMSProp, 5e-5, 5 critic steps) < ``--config FILE`` <
command-line flags. Plugin options (``--set NAME=VALUE``) follow the same order, on top of each plugin's
declared defaults. A saved ``config.json`` holds every resolved value, so ``--config RUN/config.json``
re-runs the experiment as it was.
"""

from __future__ import annotations

import dataclasses
import json
import tomllib
import types
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, get_args, get_origin, get_type_hints

from gancli.data.base import dataset_registration
from gancli.errors import GancliError
from gancli.plugins.registry import Registration, Registry, unknown_message


@dataclass
class RunConfig:
    data: str = "digits"
    arch: str = "dcgan"
    loss: str = "nonsaturating"
    optimizer: str = "adam"
    update: str = "alternating"
    steps: int = 3000
    batch_size: int = 64
    lr: float = 2e-4
    lr_g: float | None = None  # defaults to lr
    lr_d: float | None = None  # defaults to lr
    d_steps: int = 1
    latent_dim: int = 64
    seed: int = 0
    device: str = "auto"
    image_size: int | None = None  # None: the dataset's own size
    channels: int | None = None  # None: the dataset's own channels
    augment: str = ""
    skip_bad: bool = False
    pack: int = 1
    r1: float = 0.0
    diversity: float = 0.0
    spectral_norm: bool = False
    minibatch_std: bool = False
    ema: float = 0.0
    amp: bool = False
    compile: bool = False
    metrics: list[str] | None = None  # None: every metric that applies to the data
    log_every: int = 10
    sample_every: int = 500
    checkpoint_every: int = 1000
    eval_every: int = 1000
    options: dict[str, dict[str, Any]] = field(default_factory=dict)

    @property
    def lr_generator(self) -> float:
        return self.lr if self.lr_g is None else self.lr_g

    @property
    def lr_discriminator(self) -> float:
        return self.lr if self.lr_d is None else self.lr_d

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


FIELD_TYPES: dict[str, Any] = get_type_hints(RunConfig)
FIELD_NAMES = [f.name for f in fields(RunConfig)]


def load_file(path: Path) -> dict[str, Any]:
    """Read a TOML or JSON configuration (a saved run's config.json included)."""
    try:
        text = path.read_text()
    except OSError as exc:
        raise GancliError(f"--config {path}: {exc.strerror or exc}") from None
    try:
        values = json.loads(text) if path.suffix == ".json" else tomllib.loads(text)
    except (json.JSONDecodeError, tomllib.TOMLDecodeError) as exc:
        raise GancliError(f"--config {path}: not valid {path.suffix.lstrip('.') or 'TOML'}: {exc}") from None
    values = {k.replace("-", "_"): v for k, v in values.items()}
    for key in values:
        if key not in FIELD_NAMES and key != "set":
            raise GancliError(f"--config {path}: {unknown_message('key', key, FIELD_NAMES)}")
    return values


def check_type(name: str, value: Any, origin: str) -> Any:
    """Check a value read from a file against the field's annotation (ints are accepted for floats)."""
    hint = FIELD_TYPES[name]
    allowed = get_args(hint) if isinstance(hint, types.UnionType) else (hint,)
    allowed = tuple(get_origin(t) or t for t in allowed)
    if value is None and type(None) in allowed:
        return None
    if float in allowed and type(value) is int:
        return float(value)
    if isinstance(value, allowed) and not (isinstance(value, bool) and bool not in allowed):
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


def resolve(
    registry: Registry,
    flags: Mapping[str, Any],
    config_file: Path | None = None,
    set_items: Iterable[str] = (),
) -> RunConfig:
    """Merge defaults, the dataset's and the loss's recommendations, the file and the flags into one
    checked RunConfig."""
    file_values = load_file(config_file) if config_file else {}
    set_items = [*file_values.pop("set", []), *set_items]
    origin = f"--config {config_file}"
    user = {k: check_type(k, v, origin) for k, v in file_values.items()}
    user.update({k: v for k, v in flags.items() if v is not None})

    dataset = dataset_registration(registry, user.get("data", RunConfig.data))
    loss = registry.get("loss", user.get("loss", RunConfig.loss))
    recommended = {**dataset.recommends, **loss.recommends}
    options = merge_options(
        dataset.recommends.get("options", {}), loss.recommends.get("options", {}), user.pop("options", {})
    )
    recommended.pop("options", None)
    config = RunConfig(**{**recommended, **user})
    check_values(config)
    config.options = resolve_options(registry, config, options, parse_set(set_items))
    return config


def merge_options(*layers: Mapping[str, Mapping[str, Any]]) -> dict[str, dict[str, Any]]:
    merged: dict[str, dict[str, Any]] = {}
    for layer in layers:
        for plugin, values in layer.items():
            merged.setdefault(plugin, {}).update(values)
    return merged


def check_values(config: RunConfig) -> None:
    positive = ["steps", "batch_size", "d_steps", "latent_dim", "pack", "log_every", "sample_every"]
    positive += ["checkpoint_every", "eval_every"]
    for name in positive:
        if getattr(config, name) < 1:
            raise GancliError(f"--{name.replace('_', '-')} must be at least 1, got {getattr(config, name)}")
    for name in ("lr", "lr_g", "lr_d"):
        value = getattr(config, name)
        if value is not None and value <= 0:
            raise GancliError(f"--{name.replace('_', '-')} must be positive, got {value}")
    if config.batch_size % config.pack:
        raise GancliError(f"--batch-size {config.batch_size} is not a multiple of --pack {config.pack}")
    if not 0 <= config.ema < 1:
        raise GancliError(f"--ema must be in [0, 1), got {config.ema}")
    if config.channels not in (None, 1, 3):
        raise GancliError(f"--channels must be 1 or 3, got {config.channels}")
    if config.device not in ("auto", "cpu") and not config.device.startswith("cuda"):
        raise GancliError(f"--device must be auto, cpu or cuda[:N], got {config.device!r}")


def selected_plugins(registry: Registry, config: RunConfig) -> list[Registration]:
    """The plugins a run uses; their options are the ones ``--set`` may name."""
    chosen = [
        registry.get("loss", config.loss),
        registry.get("optimizer", config.optimizer),
        registry.get("update", config.update),
        registry.get("architecture", config.arch),
        dataset_registration(registry, config.data),
    ]
    if config.metrics is None:
        chosen += registry.all("metric")
    else:
        chosen += [registry.get("metric", name) for name in config.metrics]
    return chosen


def resolve_options(
    registry: Registry,
    config: RunConfig,
    given: Mapping[str, Mapping[str, Any]],
    set_items: list[tuple[str | None, str, str]],
) -> dict[str, dict[str, Any]]:
    """Every option of every selected plugin, checked: declared defaults < given values < ``--set``."""
    plugins = selected_plugins(registry, config)
    by_name = {reg.name: reg for reg in plugins}
    resolved = {reg.name: reg.defaults() for reg in plugins if reg.options}
    for plugin_name, values in given.items():
        reg = by_name.get(plugin_name)
        if reg is None:
            if not registry.find(plugin_name):
                raise GancliError(f"options for {unknown_message('plugin', plugin_name, by_name)}")
            continue  # options of a plugin this run does not use (a recommendation for another optimizer)
        for name, value in values.items():
            option = reg.option(name)
            if option is None:
                raise GancliError(f"{reg.kind} {reg.name!r}: {unknown_message('option', name, reg.defaults())}")
            try:
                resolved[reg.name][name] = option.coerce(value)
            except (TypeError, ValueError) as exc:
                raise GancliError(f"option {reg.name}.{name}: {exc}") from None
    for plugin_name, name, text in set_items:
        reg = find_option_owner(plugins, plugin_name, name)
        try:
            resolved[reg.name][name] = reg.option(name).parse(text)  # type: ignore[union-attr]
        except (TypeError, ValueError) as exc:
            raise GancliError(f"--set {reg.name}.{name}={text}: {exc}") from None
    return resolved


def find_option_owner(plugins: list[Registration], plugin_name: str | None, name: str) -> Registration:
    flag = f"--set {plugin_name + '.' if plugin_name else ''}{name}"
    candidates = [r for r in plugins if (plugin_name is None or r.name == plugin_name) and r.option(name)]
    if len(candidates) == 1:
        return candidates[0]
    if candidates:
        owners = ", ".join(f"{r.name}.{name}" for r in candidates)
        raise GancliError(f"{flag}: ambiguous, say which: {owners}")
    owners = [r for r in plugins if plugin_name is None or r.name == plugin_name]
    if not owners:
        used = ", ".join(sorted({r.name for r in plugins}))
        raise GancliError(f"{flag}: plugin {plugin_name!r} is not used by this run (it uses {used})")
    available = [f"{r.name}.{o.name}" for r in owners for o in r.options]
    raise GancliError(f"{flag}: {unknown_message('option', name, available)}")

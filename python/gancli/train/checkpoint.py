"""Checkpoints: tensors in safetensors, everything else in JSON, never pickle, each file written atomically.

A checkpoint is ``step-NNNNNNNN.safetensors`` plus ``step-NNNNNNNN.json``; the JSON is written last and
names its tensor file with its size and XXH3-64 checksum, so a checkpoint whose JSON exists is complete and
one damaged since (a flipped bit, a truncated copy, a hand-edited JSON) is refused on load, never half-loaded
or trained from. Nothing in the JSON is trusted: its step must match its name, its tensor file must be the
one beside it, and every field is checked before use.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load as load_tensors
from safetensors.torch import save as save_tensors

from gancli import __version__, kernels
from gancli.errors import GancliError
from gancli.io import atomic_write_bytes, atomic_write_json, read_document
from gancli.nets.spec import factors_fit

if TYPE_CHECKING:
    from gancli.train.session import Session

FORMAT = 2
NAME = re.compile(r"^step-(\d+)\.json$")
STEP = re.compile(r"^step-(\d+)\.")
MAX_JSON_BYTES = 16 << 20  # optimizer settings and RNG states: kilobytes; more is not a checkpoint of ours


class NonFiniteError(GancliError):
    """A state about to be checkpointed holds NaN or infinity: it is never written."""


def checkpoint_name(step: int) -> str:
    return f"step-{step:08d}"


def step_of(path: Path) -> int | None:
    """The step in a ``step-NNNNNNNN.*`` file name; None for any other name."""
    match = STEP.match(path.name)
    return int(match.group(1)) if match else None


def digest(data: bytes) -> str:
    return f"xxh3:{kernels.checksum(data):016x}"


def non_finite(tensors: dict[str, torch.Tensor]) -> list[str]:
    """The names of the floating-point tensors holding a NaN or an infinity."""
    return [k for k, v in tensors.items() if v.is_floating_point() and not bool(torch.isfinite(v).all())]


def flatten_optimizer(prefix: str, state: dict[str, Any], tensors: dict[str, torch.Tensor]) -> dict[str, Any]:
    """Move an optimizer's tensors into ``tensors``; return the JSON-able rest."""
    rest: dict[str, Any] = {"param_groups": state["param_groups"], "state": {}}
    for index, values in state["state"].items():
        rest["state"][str(index)] = {}
        for key, value in values.items():
            if isinstance(value, torch.Tensor):
                tensors[f"{prefix}/{index}/{key}"] = value
            else:
                rest["state"][str(index)][key] = value
    return rest


def lay_out_like_params(optimizer: torch.optim.Optimizer) -> None:
    """Give each state tensor of a parameter's shape (Adam's moments) that parameter's memory layout. Tensors
    come back from a checkpoint contiguous, and torch's fused Adam walks a channels-last weight and its
    moments as if they shared one layout: with them apart it pairs the wrong elements (torch 2.15, CPU)."""
    for param, state in optimizer.state.items():
        for key, value in state.items():
            if isinstance(value, torch.Tensor) and value.shape == param.shape and value.stride() != param.stride():
                state[key] = torch.empty_like(param).copy_(value)


def unflatten_optimizer(prefix: str, rest: dict[str, Any], tensors: dict[str, torch.Tensor]) -> dict[str, Any]:
    state: dict[int, dict[str, Any]] = {int(i): dict(v) for i, v in rest["state"].items()}
    for key, value in tensors.items():
        if key.startswith(prefix + "/"):
            index, name = key[len(prefix) + 1 :].split("/", 1)
            state.setdefault(int(index), {})[name] = value
    return {"state": state, "param_groups": rest["param_groups"]}


TENSOR_LIST = "tensor_list"  # marks, in the JSON, a value that was a list of tensors


def flatten_rule(state: dict[str, Any], tensors: dict[str, torch.Tensor]) -> dict[str, Any]:
    """Move an update rule's tensors (and lists of tensors, such as a previous gradient field) into
    ``tensors``; return the JSON-able rest."""
    rest: dict[str, Any] = {}
    for key, value in state.items():
        if isinstance(value, torch.Tensor):
            tensors[f"rule/{key}"] = value
            rest[key] = {TENSOR_LIST: None}
        elif isinstance(value, list | tuple) and value and all(isinstance(v, torch.Tensor) for v in value):
            tensors.update({f"rule/{key}/{i}": v for i, v in enumerate(value)})
            rest[key] = {TENSOR_LIST: len(value)}
        else:
            rest[key] = value
    return rest


def unflatten_rule(rest: dict[str, Any], tensors: dict[str, torch.Tensor]) -> dict[str, Any]:
    state = {}
    for key, value in rest.items():
        if isinstance(value, dict) and set(value) == {TENSOR_LIST}:
            count = value[TENSOR_LIST]
            state[key] = tensors[f"rule/{key}"] if count is None else [tensors[f"rule/{key}/{i}"] for i in range(count)]
        else:
            state[key] = value
    return state


def write(directory: Path, step: int, tensors: dict[str, torch.Tensor], meta: dict[str, Any]) -> Path:
    """Write one checkpoint's files; returns the path of its JSON file."""
    bad = non_finite(tensors)
    if bad:
        raise NonFiniteError(f"step {step}: {', '.join(bad[:3])} hold NaN or infinity; not checkpointed")
    name = checkpoint_name(step)
    cpu = {k: v.detach().to("cpu").contiguous().clone() for k, v in tensors.items()}
    data = save_tensors(cpu)
    atomic_write_bytes(directory / f"{name}.safetensors", data)
    json_path = directory / f"{name}.json"
    tensor_file = {"tensors": f"{name}.safetensors", "tensor_bytes": len(data), "checksum": digest(data)}
    atomic_write_json(json_path, {**meta, "format": FORMAT, "step": step, **tensor_file})
    return json_path


def listing(directory: Path) -> list[tuple[int, Path]]:
    """Every checkpoint JSON in ``directory`` by step, oldest first (intact or not)."""
    if not directory.is_dir():
        return []
    return sorted((int(m.group(1)), p) for p in directory.glob("step-*.json") if (m := NAME.match(p.name)))


def remove(json_path: Path) -> None:
    """Delete a checkpoint, its JSON first: a half-deleted checkpoint is never mistaken for a complete one."""
    json_path.unlink(missing_ok=True)
    json_path.with_suffix(".safetensors").unlink(missing_ok=True)


def prune(directory: Path, keep: int, also: int | None = None) -> list[Path]:
    """Delete all but the ``keep`` newest checkpoints and the one of step ``also`` (the best); returns the JSONs of
    those deleted."""
    old = [path for step, path in listing(directory)[:-keep] if step != also]
    for path in old:
        remove(path)
    return old


def read(json_path: Path) -> tuple[dict[str, Any], dict[str, torch.Tensor]]:
    """Read a checkpoint's JSON and tensors, checking everything first; a damaged one is reported by path,
    never half-loaded."""
    try:
        meta = read_document(json_path, limit=MAX_JSON_BYTES)
        tensor_path = checked_tensor_file(json_path, meta)
        data = tensor_path.read_bytes()
        if len(data) != meta["tensor_bytes"] or digest(data) != meta["checksum"]:
            raise ValueError(f"{tensor_path.name} does not match its checksum (the file was altered or is corrupt)")
        tensors = load_tensors(data)
    except FileNotFoundError as exc:
        raise GancliError(f"checkpoint {json_path}: missing file {exc.filename}") from None
    except (OSError, ValueError, SafetensorError) as exc:
        raise GancliError(f"checkpoint {json_path} is damaged: {exc}") from None
    return meta, tensors


def checked_tensor_file(json_path: Path, meta: Any) -> Path:
    """The tensor file a checkpoint's JSON names, once the JSON has proved to be one of ours for this file name."""
    if not isinstance(meta, dict):
        raise ValueError("the JSON is not an object")
    if meta.get("format") != FORMAT:
        raise ValueError(f"format {meta.get('format')!r}, this gancli reads format {FORMAT}")
    expected = NAME.match(json_path.name)
    step = meta.get("step")
    if expected is None or type(step) is not int or step != int(expected.group(1)):
        raise ValueError(f"step {step!r} does not match the file name")
    if meta.get("tensors") != f"{checkpoint_name(step)}.safetensors":
        raise ValueError(f"tensors {meta.get('tensors')!r} is not the tensor file beside it")
    size, checksum = meta.get("tensor_bytes"), meta.get("checksum")
    if type(size) is not int or size < 0 or not isinstance(checksum, str):
        raise ValueError("tensor_bytes and checksum are missing or malformed")
    path = json_path.parent / meta["tensors"]
    if not path.is_file() or path.is_symlink():
        raise FileNotFoundError(2, "missing", str(path))
    if path.stat().st_size != size:
        raise ValueError(f"{path.name} holds {path.stat().st_size} bytes, the JSON says {size}")
    return path


def newest_intact(directory: Path, warn: Callable[[str], None]) -> tuple[Path, dict[str, Any], dict[str, torch.Tensor]]:
    """The newest checkpoint that reads back intact; each damaged newer one is skipped with a warning."""
    found = listing(directory)
    damaged: list[str] = []
    for _, json_path in reversed(found):
        try:
            meta, tensors = read(json_path)
        except GancliError as exc:
            damaged.append(str(exc))
            continue
        for text in damaged:
            warn(f"{text}; using {json_path.name} instead")
        return json_path, meta, tensors
    if damaged:
        raise GancliError(f"no intact checkpoint in {directory}; the newest: {damaged[0]}")
    raise GancliError(f"{directory.parent}: the run has no checkpoint yet")


def module_tensors(prefix: str, module: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {f"{prefix}/{k}": v for k, v in module.state_dict().items()}


def load_module(prefix: str, module: torch.nn.Module, tensors: dict[str, torch.Tensor], origin: Path) -> None:
    state = {k[len(prefix) + 1 :]: v for k, v in tensors.items() if k.startswith(prefix + "/")}
    try:
        module.load_state_dict(state)
    except RuntimeError as exc:
        first = str(exc).strip().splitlines()[0]
        raise GancliError(f"checkpoint {origin}: {prefix} does not fit the configured network: {first}") from None


def data_fingerprint(session: Session) -> dict[str, Any]:
    """What a resumed run checks it trains on the same data: how many examples, of which shape, and a digest
    of their content where the dataset gives one (images do: 32 of 64 images replaced keep the count and the
    shape)."""
    record: dict[str, Any] = {"examples": len(session.data), "shape": list(session.data.shape)}
    content = session.data.fingerprint()
    if content is not None:
        record["content"] = content
    return record


def recorded_classes(meta: dict[str, Any], origin: Any) -> tuple[str, ...] | None:
    """The class names a checkpoint's run was conditioned on (None for an unconditional run)."""
    classes = meta.get("classes")
    if classes is None:
        return None
    if not (isinstance(classes, list) and classes and all(isinstance(name, str) for name in classes)):
        raise GancliError(f"checkpoint {origin} is damaged: its classes entry {classes!r}")
    return tuple(classes)


def recorded_class_factors(meta: dict[str, Any], origin: Any) -> tuple[int, ...] | None:
    """The factors a checkpoint's conditional networks embed the classes by: () for one table of classes, as
    every conditional run before factors were recorded; None for an unconditional run."""
    if meta.get("classes") is None:
        return None
    factors = meta.get("class_factors", [])
    if not (isinstance(factors, list) and (not factors or factors_fit(factors, len(meta["classes"])))):
        raise GancliError(f"checkpoint {origin} is damaged: its class_factors entry {factors!r}")
    return tuple(factors)


def classes_text(classes: tuple[str, ...] | None) -> str:
    """``10 classes (0, 1, …, 9)``: class names as the messages about them say them."""
    if classes is None:
        return "no classes"
    shown = ", ".join(classes) if len(classes) <= 6 else f"{', '.join(classes[:3])}, …, {classes[-1]}"
    return f"{len(classes)} classes ({shown})"


def check_classes(session: Session, json_path: Path, meta: dict[str, Any]) -> None:
    """Refuse data whose classes differ from those the checkpoint's run was conditioned on, naming both: G and D
    learned an embedding for each class, by its index."""
    then, now = recorded_classes(meta, json_path), session.classes
    if then != now:
        raise GancliError(
            f"checkpoint {json_path}: the run was conditioned on {classes_text(then)}, but --data "
            f"{session.config.data} now has {classes_text(now)}; a conditional run goes on with the classes it learned"
        )


def check_data(session: Session, json_path: Path, meta: dict[str, Any], allow_change: bool) -> str | None:
    """Refuse to resume from ``json_path`` on data other than what it trained on, naming the data and both
    fingerprints; with ``allow_change`` (``--allow-data-change``) other examples of the same shape are taken,
    and the difference is returned for a warning. A checkpoint from before content digests compares count
    and shape only. Other classes than a conditional run's are refused whatever the flag (``check_classes``)."""
    recorded, now = meta.get("data"), data_fingerprint(session)
    if not isinstance(recorded, dict):
        raise GancliError(f"checkpoint {json_path} is damaged: its data record is {recorded!r}")
    data = session.config.data
    check_classes(session, json_path, meta)
    if recorded.get("shape") != now["shape"]:
        shape = recorded.get("shape")
        then = tuple(shape) if isinstance(shape, list) else shape
        raise GancliError(
            f"checkpoint {json_path}: the run trained on examples of shape {then}, but --data {data} now holds "
            f"{now['examples']} of shape {tuple(now['shape'])}; it is not the same dataset"
        )
    if all(recorded.get(key) == now.get(key) for key in ("examples", "content") if key in recorded):
        return None
    difference = f"--data {data} changed since checkpoint {json_path}: {data_text(recorded)} then, {data_text(now)} now"
    if not allow_change:
        raise GancliError(f"{difference}; resume with --allow-data-change to train on it anyway")
    return difference


def data_text(record: dict[str, Any]) -> str:
    """``64 examples (content xxh3:…)``: a data record as the messages about it say it."""
    content = f" (content {record['content']})" if "content" in record else ""
    return f"{record.get('examples')} examples{content}"


def save(session: Session, directory: Path) -> Path:
    """Checkpoint everything a resumed run needs to continue exactly: networks, optimizers, every generator
    (--diffaugment's with its p)."""
    if session.loader is not None:
        session.loader.pause()  # the data generator's state must be that of the next batch the step takes
    game = session.game
    tensors = {
        **module_tensors("G", session.generator),
        **module_tensors("D", session.discriminator),
        "rng/torch": torch.get_rng_state(),
        "rng/latent": session.latent_generator.get_state(),
    }
    if game.G_ema is not None:
        tensors.update(module_tensors("G_ema", game.G_ema))
    if game.augment is not None:
        tensors.update({f"augment/{k}": v for k, v in game.augment.state_dict().items()})
    # the last step's statistics, in their order: a lazy penalty (R1, R2) is logged as its latest value between
    # the steps that take it, so the records of a resumed run need them to equal those of a run never stopped (a
    # non-finite one, of a diverged step, is left out: the weights checkpointed are finite)
    stats = {name: value.detach().reshape(()).cpu() for name, value in game.stats.items() if torch.isfinite(value)}
    tensors.update({f"stats/{name}": value for name, value in stats.items()})
    meta = {
        "gancli": __version__,
        "config": session.config.to_dict(),
        "plugins": session.resolved.provenance(),
        "d_updates": game.d_updates,
        "g_updates": game.g_updates,
        "rng_data": session.rng.bit_generator.state,
        "data": data_fingerprint(session),
        **({"classes": list(session.classes), "class_factors": list(session.class_factors)} if session.classes else {}),
        "stats": list(stats),
        "opt_g": flatten_optimizer("opt_g", game.opt_g.state_dict(), tensors),
        "opt_d": flatten_optimizer("opt_d", game.opt_d.state_dict(), tensors),
    }
    for name, scaler in (("scaler_d", game.scaler_d), ("scaler_g", game.scaler_g)):
        if scaler is not None:
            meta[name] = scaler.state_dict()
    if callable(getattr(session.rule, "state_dict", None)):  # a rule with memory, e.g. the previous gradients
        meta["rule"] = flatten_rule(session.rule.state_dict(), tensors)
    if session.device.type == "cuda":
        tensors["rng/cuda"] = torch.cuda.get_rng_state(session.device)
    return write(directory, session.step, tensors, meta)


def restore(session: Session, json_path: Path, training: bool = True) -> dict[str, Any]:
    """Load networks (and, for training, optimizers and every random generator) from a checkpoint; returns
    its JSON."""
    meta, tensors = read(json_path)
    load(session, json_path, meta, tensors, training)
    return meta


def load(
    session: Session, json_path: Path, meta: dict[str, Any], tensors: dict[str, torch.Tensor], training: bool = True
) -> None:
    """Put a checkpoint read by :func:`read` into ``session``; a JSON field of the wrong shape is reported as
    damage by path."""
    if session.loader is not None:
        session.loader.pause()  # batches drawn ahead belong to the state being replaced
    game = session.game
    load_module("G", session.generator, tensors, json_path)
    load_module("D", session.discriminator, tensors, json_path)
    if game.G_ema is not None:
        load_module("G_ema", game.G_ema, tensors, json_path)
        game.ema_moved = True
    session.step = meta["step"]
    if not training:
        return
    try:
        d_updates, g_updates = meta["d_updates"], meta["g_updates"]
        if not all(type(n) is int and n >= 0 for n in (d_updates, g_updates)):
            raise ValueError("d_updates and g_updates must be counts")
        for name, optimizer in (("opt_g", game.opt_g), ("opt_d", game.opt_d)):
            optimizer.load_state_dict(unflatten_optimizer(name, meta[name], tensors))
            lay_out_like_params(optimizer)
        session.rng.bit_generator.state = meta["rng_data"]
        torch.set_rng_state(tensors["rng/torch"])
        session.latent_generator.set_state(tensors["rng/latent"])
        if "rng/cuda" in tensors and session.device.type == "cuda":
            torch.cuda.set_rng_state(tensors["rng/cuda"], session.device)
        for name, scaler in (("scaler_d", game.scaler_d), ("scaler_g", game.scaler_g)):
            if scaler is not None and name in meta:
                scaler.load_state_dict(meta[name])
        if game.augment is not None:
            state = {k.split("/", 1)[1]: v for k, v in tensors.items() if k.startswith("augment/")}
            game.augment.load_state_dict(state)
        game.stats = {name: tensors[f"stats/{name}"].to(session.device) for name in meta.get("stats", [])}
        if "rule" in meta and callable(getattr(session.rule, "load_state_dict", None)):
            session.rule.load_state_dict(unflatten_rule(meta["rule"], tensors))
    except (KeyError, TypeError, ValueError, AttributeError, IndexError, RuntimeError) as exc:
        raise GancliError(f"checkpoint {json_path} is damaged: {type(exc).__name__} {exc}") from None
    game.d_updates, game.g_updates = d_updates, g_updates

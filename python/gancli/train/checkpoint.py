"""Checkpoints: tensors in safetensors, everything else in JSON, never pickle, each file written atomically.

A checkpoint is ``step-NNNNNNNN.safetensors`` plus ``step-NNNNNNNN.json``; the JSON is written last and
names its tensor file, so a checkpoint whose JSON exists is complete, whatever happened after.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load as load_tensors
from safetensors.torch import save as save_tensors

from gancli import __version__
from gancli.errors import GancliError
from gancli.io import atomic_write_bytes, atomic_write_json

if TYPE_CHECKING:
    from gancli.train.session import Session

FORMAT = 1
NAME = re.compile(r"^step-(\d+)\.json$")


def checkpoint_name(step: int) -> str:
    return f"step-{step:08d}"


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


def unflatten_optimizer(prefix: str, rest: dict[str, Any], tensors: dict[str, torch.Tensor]) -> dict[str, Any]:
    state: dict[int, dict[str, Any]] = {int(i): dict(v) for i, v in rest["state"].items()}
    for key, value in tensors.items():
        if key.startswith(prefix + "/"):
            index, name = key[len(prefix) + 1 :].split("/", 1)
            state.setdefault(int(index), {})[name] = value
    return {"state": state, "param_groups": rest["param_groups"]}


def write(directory: Path, step: int, tensors: dict[str, torch.Tensor], meta: dict[str, Any]) -> Path:
    """Write one checkpoint's files; returns the path of its JSON file."""
    name = checkpoint_name(step)
    cpu = {k: v.detach().to("cpu").contiguous().clone() for k, v in tensors.items()}
    atomic_write_bytes(directory / f"{name}.safetensors", save_tensors(cpu))
    json_path = directory / f"{name}.json"
    atomic_write_json(json_path, {**meta, "format": FORMAT, "step": step, "tensors": f"{name}.safetensors"})
    return json_path


def latest(directory: Path) -> Path | None:
    """The newest complete checkpoint's JSON in ``directory``, if any."""
    found = [(int(m.group(1)), p) for p in directory.glob("step-*.json") if (m := NAME.match(p.name))]
    return max(found)[1] if found else None


def read(json_path: Path) -> tuple[dict[str, Any], dict[str, torch.Tensor]]:
    """Read a checkpoint's JSON and tensors; a damaged one is reported by path, never half-loaded."""
    try:
        meta = json.loads(json_path.read_text())
        tensors = load_tensors((json_path.parent / meta["tensors"]).read_bytes())
    except FileNotFoundError as exc:
        raise GancliError(f"checkpoint {json_path}: missing file {exc.filename}") from None
    except (OSError, ValueError, KeyError, SafetensorError) as exc:
        raise GancliError(f"checkpoint {json_path} is damaged: {exc}") from None
    if meta.get("format") != FORMAT:
        raise GancliError(f"checkpoint {json_path}: unknown format {meta.get('format')!r}")
    return meta, tensors


def module_tensors(prefix: str, module: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {f"{prefix}/{k}": v for k, v in module.state_dict().items()}


def load_module(prefix: str, module: torch.nn.Module, tensors: dict[str, torch.Tensor], origin: Path) -> None:
    state = {k[len(prefix) + 1 :]: v for k, v in tensors.items() if k.startswith(prefix + "/")}
    try:
        module.load_state_dict(state)
    except RuntimeError as exc:
        first = str(exc).strip().splitlines()[0]
        raise GancliError(f"checkpoint {origin}: {prefix} does not fit the configured network: {first}") from None


def save(session: Session, directory: Path) -> Path:
    """Checkpoint everything a resumed run needs to continue exactly: networks, optimizers, every generator."""
    game = session.game
    tensors = {
        **module_tensors("G", session.generator),
        **module_tensors("D", session.discriminator),
        "rng/torch": torch.get_rng_state(),
        "rng/latent": session.latent_generator.get_state(),
    }
    if game.G_ema is not None:
        tensors.update(module_tensors("G_ema", game.G_ema))
    meta = {
        "gancli": __version__,
        "config": session.config.to_dict(),
        "plugins": session.resolved.provenance(),
        "d_updates": game.d_updates,
        "g_updates": game.g_updates,
        "rng_data": session.rng.bit_generator.state,
        "opt_g": flatten_optimizer("opt_g", game.opt_g.state_dict(), tensors),
        "opt_d": flatten_optimizer("opt_d", game.opt_d.state_dict(), tensors),
    }
    if session.device.type == "cuda":
        tensors["rng/cuda"] = torch.cuda.get_rng_state(session.device)
    return write(directory, session.step, tensors, meta)


def restore(session: Session, json_path: Path, training: bool = True) -> None:
    """Load networks (and, for training, optimizers and every random generator) from a checkpoint."""
    meta, tensors = read(json_path)
    game = session.game
    load_module("G", session.generator, tensors, json_path)
    load_module("D", session.discriminator, tensors, json_path)
    if game.G_ema is not None:
        load_module("G_ema", game.G_ema, tensors, json_path)
    session.step = meta["step"]
    if not training:
        return
    game.opt_g.load_state_dict(unflatten_optimizer("opt_g", meta["opt_g"], tensors))
    game.opt_d.load_state_dict(unflatten_optimizer("opt_d", meta["opt_d"], tensors))
    game.d_updates, game.g_updates = meta["d_updates"], meta["g_updates"]
    session.rng.bit_generator.state = meta["rng_data"]
    torch.set_rng_state(tensors["rng/torch"])
    session.latent_generator.set_state(tensors["rng/latent"])
    if "rng/cuda" in tensors and session.device.type == "cuda":
        torch.cuda.set_rng_state(tensors["rng/cuda"], session.device)

"""Checkpoints: tensors in safetensors, everything else in JSON, never pickle, each file written atomically.

A checkpoint is ``step-NNNNNNNN.safetensors`` plus ``step-NNNNNNNN.json``; the JSON is written last and
names its tensor file, so a checkpoint whose JSON exists is complete, whatever happened after.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load as load_tensors
from safetensors.torch import save as save_tensors

from gancli.errors import GancliError
from gancli.io import atomic_write_bytes, atomic_write_json

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


def save(directory: Path, step: int, tensors: dict[str, torch.Tensor], meta: dict[str, Any]) -> Path:
    """Write one checkpoint; returns the path of its JSON file."""
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


def load(json_path: Path) -> tuple[dict[str, Any], dict[str, torch.Tensor]]:
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

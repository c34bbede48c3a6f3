"""A training session: every object a run needs, built from a RunConfig through the plugins.

``Session.build`` is where each plugin kind is called, in order: dataset → loss → architecture →
optimizers → update rule (→ metrics at evaluation). ``gancli grid``/``sample``/``eval`` build the same
session from a run's saved config and load a checkpoint into it, so they never disagree with training.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from gancli import __version__
from gancli.config import RunConfig
from gancli.data.base import DataRequest, DataSource, dataset_registration
from gancli.errors import GancliError, PluginError
from gancli.losses import Loss
from gancli.metrics.base import Metric
from gancli.nets.common import MINIBATCH_STD, ArchSpec, apply_spectral_norm
from gancli.plugins.manager import Plugins
from gancli.plugins.registry import Registration
from gancli.train import checkpoint
from gancli.train.game import Game, GameSettings


def pick_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise GancliError(f"--device {name}: CUDA is not available on this machine (use --device cpu)")
    return torch.device(name)


@dataclass
class Session:
    config: RunConfig
    device: torch.device
    data: DataSource
    loss: Loss
    generator: nn.Module
    discriminator: nn.Module
    game: Game
    rule: Any
    rng: np.random.Generator
    latent_generator: torch.Generator
    plugins_used: dict[str, dict[str, str]]
    step: int = 0

    @classmethod
    def build(cls, config: RunConfig, plugins: Plugins) -> Session:
        registry = plugins.registry
        device = pick_device(config.device)
        torch.manual_seed(config.seed)
        rng = np.random.default_rng(config.seed)
        latent_generator = torch.Generator().manual_seed(config.seed + 1)

        def create(reg: Registration, *args: Any) -> Any:
            return reg.create(*args, options=config.options.get(reg.name, {}))

        data_reg = dataset_registration(registry, config.data)
        request = DataRequest(config.image_size, config.channels, config.augment, config.skip_bad)
        data: DataSource = create(data_reg, config.data, request)
        loss_reg = registry.get("loss", config.loss)
        loss: Loss = create(loss_reg)

        requirements = set(loss.requirements)
        if config.minibatch_std:
            requirements.add(MINIBATCH_STD)
        shape = tuple(data.shape)
        spec = ArchSpec(
            data_shape=shape,
            latent_dim=config.latent_dim,
            d_input_shape=(shape[0] * config.pack, *shape[1:]),
            requirements=frozenset(requirements),
        )
        arch_reg = registry.get("architecture", config.arch)
        generator, discriminator = create(arch_reg, spec)
        check_shapes(arch_reg, spec, generator, discriminator)
        if config.spectral_norm:
            apply_spectral_norm(discriminator)
        generator.to(device)
        discriminator.to(device)

        opt_reg = registry.get("optimizer", config.optimizer)
        opt_g = create(opt_reg, generator.parameters(), config.lr_generator)
        opt_d = create(opt_reg, discriminator.parameters(), config.lr_discriminator)
        rule_reg = registry.get("update", config.update)
        rule = create(rule_reg)

        def sample_real() -> torch.Tensor:
            return data.batch(config.batch_size, rng).to(device, non_blocking=True)

        def sample_latent() -> torch.Tensor:
            return torch.randn(config.batch_size, config.latent_dim, generator=latent_generator).to(device)

        settings = GameSettings(config.d_steps, config.pack, config.r1, config.diversity, config.ema)
        game = Game(generator, discriminator, loss, opt_g, opt_d, sample_real, sample_latent, settings)
        if config.compile:
            game.G, game.D = torch.compile(generator), torch.compile(discriminator)
        used = {
            reg.kind: {"name": reg.name, "plugin": reg.plugin, "package": reg.package}
            for reg in (data_reg, loss_reg, arch_reg, opt_reg, rule_reg)
        }
        return cls(config, device, data, loss, generator, discriminator, game, rule, rng, latent_generator, used)

    # --- sampling -----------------------------------------------------------------------------------------

    @property
    def sampler(self) -> nn.Module:
        """The generator to sample from: its moving average when --ema is on."""
        return self.game.G_ema if self.game.G_ema is not None else self.generator

    @torch.no_grad()
    def generate(self, n: int, seed: int, batch: int = 1024) -> torch.Tensor:
        """``n`` samples from fixed noise (same seed → same samples), in eval mode, on the CPU."""
        noise = torch.randn(n, self.config.latent_dim, generator=torch.Generator().manual_seed(seed))
        model = self.sampler
        was_training = model.training
        model.eval()
        try:
            out = [model(chunk.to(self.device)).float().cpu() for chunk in noise.split(batch)]
        finally:
            model.train(was_training)
        return torch.cat(out)

    def metrics(self, plugins: Plugins) -> list[tuple[str, Metric]]:
        names = self.config.metrics
        regs = plugins.registry.all("metric") if names is None else [plugins.registry.get("metric", n) for n in names]
        chosen = []
        for reg in regs:
            metric: Metric = reg.create(options=self.config.options.get(reg.name, {}))
            if names is not None or metric.applies_to(self.data):
                chosen.append((reg.name, metric))
        return chosen

    def evaluate(self, plugins: Plugins, seed: int) -> dict[str, float]:
        results: dict[str, float] = {}
        for name, metric in self.metrics(plugins):
            samples = self.generate(metric.samples_needed, seed)
            try:
                results.update(metric.compute(samples, self.data))
            except Exception as exc:
                reg = plugins.registry.get("metric", name)
                raise PluginError(reg.plugin, reg.package, f"metric {name!r} failed: {exc}") from exc
        return results

    # --- checkpoints --------------------------------------------------------------------------------------

    def save(self, directory: Path) -> Path:
        tensors = {
            **checkpoint.module_tensors("G", self.generator),
            **checkpoint.module_tensors("D", self.discriminator),
            "rng/torch": torch.get_rng_state(),
            "rng/latent": self.latent_generator.get_state(),
        }
        if self.game.G_ema is not None:
            tensors.update(checkpoint.module_tensors("G_ema", self.game.G_ema))
        meta = {
            "gancli": __version__,
            "config": self.config.to_dict(),
            "plugins": self.plugins_used,
            "d_updates": self.game.d_updates,
            "g_updates": self.game.g_updates,
            "rng_data": self.rng.bit_generator.state,
            "opt_g": checkpoint.flatten_optimizer("opt_g", self.game.opt_g.state_dict(), tensors),
            "opt_d": checkpoint.flatten_optimizer("opt_d", self.game.opt_d.state_dict(), tensors),
        }
        if self.device.type == "cuda":
            tensors["rng/cuda"] = torch.cuda.get_rng_state(self.device)
        return checkpoint.save(directory, self.step, tensors, meta)

    def load(self, json_path: Path, training: bool = True) -> None:
        """Restore networks (and, for training, optimizers and every random generator) from a checkpoint."""
        meta, tensors = checkpoint.load(json_path)
        checkpoint.load_module("G", self.generator, tensors, json_path)
        checkpoint.load_module("D", self.discriminator, tensors, json_path)
        if self.game.G_ema is not None:
            checkpoint.load_module("G_ema", self.game.G_ema, tensors, json_path)
        self.step = meta["step"]
        if not training:
            return
        self.game.opt_g.load_state_dict(checkpoint.unflatten_optimizer("opt_g", meta["opt_g"], tensors))
        self.game.opt_d.load_state_dict(checkpoint.unflatten_optimizer("opt_d", meta["opt_d"], tensors))
        self.game.d_updates, self.game.g_updates = meta["d_updates"], meta["g_updates"]
        self.rng.bit_generator.state = meta["rng_data"]
        torch.set_rng_state(tensors["rng/torch"])
        self.latent_generator.set_state(tensors["rng/latent"])
        if "rng/cuda" in tensors and self.device.type == "cuda":
            torch.cuda.set_rng_state(tensors["rng/cuda"], self.device)


def check_shapes(reg: Registration, spec: ArchSpec, generator: nn.Module, discriminator: nn.Module) -> None:
    """Fail early, naming the architecture plugin, when its networks do not fit the data."""
    z = torch.zeros(2 * max(1, spec.d_input_shape[0] // spec.data_shape[0]), spec.latent_dim)
    try:
        with torch.no_grad():
            generator.eval()
            discriminator.eval()
            fake = generator(z)
            packed = fake.reshape(-1, *spec.d_input_shape)
            scores = discriminator(packed)
    except Exception as exc:
        raise PluginError(reg.plugin, reg.package, f"architecture {reg.name!r} failed on {spec}: {exc}") from exc
    finally:
        generator.train()
        discriminator.train()
    if tuple(fake.shape[1:]) != spec.data_shape:
        raise PluginError(
            reg.plugin,
            reg.package,
            f"architecture {reg.name!r}: G makes {tuple(fake.shape[1:])}, the data is {spec.data_shape}",
        )
    if scores.numel() != packed.shape[0]:
        raise PluginError(reg.plugin, reg.package, f"architecture {reg.name!r}: D must give one score per sample")

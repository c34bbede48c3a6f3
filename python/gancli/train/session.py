"""A training session: every object a run needs, built from a resolved configuration through the plugins.

``Session.build`` is where each plugin kind is created, in order: dataset → loss → architecture → optimizers
→ update rule (metrics are created by ``train.evaluation`` when a run is first evaluated). ``gancli
grid``/``sample``/``eval`` build the same session from a run's saved config and load a checkpoint into it
(``train.checkpoint.restore``), so they never disagree with training.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import nn

from gancli.config import Resolved, RunConfig
from gancli.data.base import (
    DataRequest,
    DataSource,
    ImageSource,
    check_data,
    check_labelled_data,
    first_empty_class,
)
from gancli.errors import GancliError
from gancli.losses.base import Loss, check_loss
from gancli.nets.common import apply_spectral_norm, check_networks
from gancli.nets.spec import AUX_CLASSIFIER, CHANNELS, CONDITIONAL, MINIBATCH_STD, ArchSpec, factors_fit
from gancli.train.checkpoint import recorded_classes
from gancli.train.diffaugment import Augmenter
from gancli.train.distributed import SINGLE, Ranks, local_device
from gancli.train.game import Game, GameSettings, standing_statistics
from gancli.train.inputs import Latents, RealBatches, fake_classes, real_batch_labels
from gancli.train.prefetch import Prefetcher

#: where an unset image size or channel count came from (``record_shape``)
FILLED_BY_DATA = "the data's own"


def pick_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise GancliError(f"--device {name}: CUDA is not available on this machine (use --device cpu)")
    return torch.device(name)


@dataclass
class Session:
    resolved: Resolved
    device: torch.device
    data: DataSource
    loss: Loss
    generator: nn.Module
    discriminator: nn.Module
    game: Game
    rule: Any
    rng: np.random.Generator
    latent_generator: torch.Generator
    ranks: Ranks = SINGLE
    #: the background loader of real batches (--prefetch), paused whenever the data generator's state is read
    loader: Prefetcher | None = None
    step: int = 0
    #: the factors G and D embed the classes by (``ArchSpec.class_factors``), recorded in checkpoints
    class_factors: tuple[int, ...] = ()

    @property
    def config(self) -> RunConfig:
        return self.resolved.config

    @classmethod
    def build(
        cls,
        resolved: Resolved,
        ranks: Ranks = SINGLE,
        data: DataSource | None = None,
        class_factors: tuple[int, ...] | None = None,
    ) -> Session:
        """The run's objects; on several processes (``ranks``), each rank's share of every global batch. ``data``
        stands in for the dataset plugin's (a command that only samples does not open the data); ``class_factors``
        for the data's, as a checkpoint's networks were built (``recorded_class_factors``)."""
        config, chosen = resolved.config, resolved.plugins
        device = local_device(pick_device(config.device))
        if config.batch_size % (ranks.world * config.pack):
            raise GancliError(
                f"--batch-size {config.batch_size} must split evenly over {ranks.world} processes "
                f"in groups of --pack {config.pack}"
            )
        torch.manual_seed(config.seed)
        rng = np.random.default_rng(config.seed)
        latent_generator = torch.Generator().manual_seed(config.seed + 1)

        def create(kind: str, *args: Any) -> Any:
            reg = chosen[kind]
            return reg.create(*args, options=config.options.get(reg.name, {}))

        if data is None:
            data, classes = open_data(resolved)
        else:
            classes = len(data.classes or ()) if config.conditional else 0
            record_shape(resolved, data)
        loss: Loss = create("loss")

        requirements = set(loss.requirements)
        if config.minibatch_std:
            requirements.add(MINIBATCH_STD)
        if classes:
            requirements.add(CONDITIONAL)
        if config.aux_classifier:
            if not loss.admits_aux_classifier:
                raise GancliError(
                    f"--aux-classifier: --loss {config.loss} does not admit ACGAN's classifier (its D gives no logits "
                    "for a cross-entropy to weigh against): use a logit or hinge loss (nonsaturating, minimax, hinge, "
                    "rpgan)"
                )
            requirements.add(AUX_CLASSIFIER)
        shape = tuple(data.shape)
        if class_factors is None or (class_factors and not factors_fit(class_factors, classes)):
            class_factors = data.class_factors or ()  # other classes than recorded: check_classes names both
        spec = ArchSpec(
            data_shape=shape,
            latent_dim=config.latent_dim,
            d_input_shape=(shape[0] * config.pack, *shape[1:]),
            requirements=frozenset(requirements),
            classes=classes,
            class_factors=class_factors if classes else (),
        )
        generator, discriminator = create("architecture", spec)
        scores = check_networks(chosen["architecture"], spec, generator, discriminator)
        check_loss(chosen["loss"], loss, scores)
        if config.spectral_norm:
            apply_spectral_norm(discriminator)
        if config.sync_bn and ranks.is_distributed:
            if device.type != "cuda":
                raise GancliError("--sync-bn needs CUDA: torch's SyncBatchNorm runs on GPUs only")
            generator = nn.SyncBatchNorm.convert_sync_batchnorm(generator)
            discriminator = nn.SyncBatchNorm.convert_sync_batchnorm(discriminator)
        # under --compile, inductor lays out the convolutions itself; handing it channels-last modules failed
        # convolution_backward's stride check on an H200 (torch 2.11, bf16)
        channels_last = config.channels_last and spec.is_image and not config.compile
        memory = torch.channels_last if channels_last else torch.contiguous_format
        generator.to(device, memory_format=memory)
        discriminator.to(device, memory_format=memory)

        opt_g = create("optimizer", generator.parameters(), config.lr_generator)
        opt_d = create("optimizer", discriminator.parameters(), config.lr_discriminator)
        rule = create("update")

        sample_real = RealBatches(data, config, device, rng, ranks, memory, labelled=bool(classes))
        sample_latent = Latents(config, data, device, latent_generator, ranks, classes)

        scalers = (None, None)
        if config.autocast_dtype == "float16":
            scalers = (torch.amp.GradScaler(device.type), torch.amp.GradScaler(device.type))
        settings = GameSettings(
            d_steps=config.d_steps,
            pack=config.pack,
            r1=config.r1,
            diversity=config.diversity,
            ema=config.ema,
            r1_every=config.r1_every,
            r2=config.r2,
            aux_classifier=config.aux_classifier,
        )
        game = Game(
            generator,
            discriminator,
            loss,
            opt_g,
            opt_d,
            sample_real,
            sample_latent,
            settings,
            ranks.average if ranks.is_distributed else None,
            scalers,
            Augmenter.of(config, loss, data, device, ranks),
            conditional=bool(classes),
        )
        if config.compile:
            game.compile(config.compile_mode)
        return cls(
            resolved,
            device,
            data,
            loss,
            generator,
            discriminator,
            game,
            rule,
            rng,
            latent_generator,
            ranks,
            sample_real.loader,
            class_factors=spec.class_factors,
        )

    # --- sampling -----------------------------------------------------------------------------------------

    @property
    def classes(self) -> tuple[str, ...] | None:
        """The class names G is conditioned on; None for an unconditional run."""
        return self.data.classes if self.config.conditional else None

    def class_inputs(self, count: int, labels: torch.Tensor | None = None) -> tuple[torch.Tensor, ...]:
        """What G takes beside the noise for ``count`` samples: the classes asked for (``labels``, by default every
        class in turn: sample i asks for class i mod K) in a conditional run, nothing otherwise."""
        if self.classes is None:
            return ()
        return (torch.arange(count) % len(self.classes) if labels is None else labels,)

    def training_classes(self, count: int) -> tuple[torch.Tensor, ...]:
        """Classes for ``count`` samples drawn as training draws its fakes' (from a fixed generator), nothing in an
        unconditional run: what G's batch statistics are measured on."""
        if self.classes is None:
            return ()
        drawn = real_batch_labels(self.config, self.data)
        return (fake_classes(drawn, len(self.classes), count, torch.Generator().manual_seed(0)),)

    def class_index(self, text: str) -> int:
        """The class ``--class TEXT`` asks for: the class so named, else the class of that index; refused naming
        the flag for an unconditional run and for a class the run does not have."""
        classes = self.classes
        if classes is None:
            raise GancliError(
                f"--class {text}: this run ({self.config.data}) was trained without --conditional; it draws no "
                "class on request"
            )
        if text in classes:
            return classes.index(text)
        if text.isdigit() and int(text) < len(classes):
            return int(text)
        shown = ", ".join(classes) if len(classes) <= 12 else f"{', '.join(classes[:6])}, …, {classes[-1]}"
        raise GancliError(f"--class {text}: not a class of this run; its {len(classes)} classes: {shown}")

    @property
    def sampler(self) -> nn.Module:
        """The generator to sample from: its moving average when --ema is on, with BatchNorm statistics of its
        own (measured when it is sampled after a G update, on fixed noise, so sampling stays deterministic and
        draws nothing from the training's random streams)."""
        average = self.game.G_ema
        if average is None:
            return self.generator
        if self.game.ema_moved:
            # one training batch of fixed latents: the size of batch whose statistics the live G trains with
            noise = torch.randn(
                self.config.batch_size, self.config.latent_dim, generator=torch.Generator().manual_seed(0)
            )
            inputs = (noise, *self.training_classes(len(noise)))
            standing_statistics(average, *(t.to(self.device) for t in inputs))
            self.game.ema_moved = False
        return average

    def generate(self, n: int, seed: int, batch: int = 1024, labels: torch.Tensor | None = None) -> torch.Tensor:
        """``n`` samples from fixed noise (same seed → same samples), in eval mode, on the CPU; in a conditional
        run of the classes ``labels`` (by default every class in turn, ``class_inputs``)."""
        noise = torch.randn(n, self.config.latent_dim, generator=torch.Generator().manual_seed(seed))
        return self.generate_from(noise, batch, labels)

    @torch.no_grad()
    def generate_from(self, noise: torch.Tensor, batch: int = 1024, labels: torch.Tensor | None = None) -> torch.Tensor:
        """The samples of ``noise`` (n, latent_dim), in eval mode, on the CPU; in a conditional run of the classes
        ``labels`` (by default every class in turn)."""
        inputs = (noise, *self.class_inputs(len(noise), labels))
        model = self.sampler
        was_training = model.training
        model.eval()
        try:
            chunks = zip(*(t.split(batch) for t in inputs), strict=True)
            out = [model(*(t.to(self.device) for t in chunk)).float().cpu() for chunk in chunks]
        finally:
            model.train(was_training)
        return torch.cat(out)


class RecordedData(DataSource):
    """The data of a run as its checkpoint recorded it (how many examples, of which shape), for commands that
    sample from the networks without needing the data itself, which may be gone or slow to open."""

    def __init__(
        self, name: str, examples: int, shape: tuple[int, ...], classes: tuple[str, ...] | None = None
    ) -> None:
        self.name, self.examples, self.shape, self.classes = name, examples, shape, classes
        self.is_image = len(shape) == 3

    @classmethod
    def of(cls, name: str, meta: dict[str, Any], origin: Any) -> RecordedData:
        recorded = meta.get("data")
        try:
            examples, shape = int(recorded["examples"]), tuple(int(n) for n in recorded["shape"])
        except (TypeError, KeyError, ValueError):
            raise GancliError(f"checkpoint {origin} is damaged: its data entry {recorded!r}") from None
        return cls(name, examples, shape, recorded_classes(meta, origin))

    def __len__(self) -> int:
        return self.examples

    def batch(self, size: int, rng: np.random.Generator) -> torch.Tensor:
        raise GancliError(f"--data {self.name}: this command does not open the run's data")


def open_data(resolved: Resolved) -> tuple[DataSource, int]:
    """The run's data from its dataset plugin, checked against the contract, with ``--holdout``'s images kept out
    and an unset size recorded; and the number of classes a ``--conditional`` run is given (0 otherwise).
    ``train --dry-run`` calls it too, so a dry run catches what opening the data would."""
    config, reg = resolved.config, resolved.plugins["dataset"]
    labels = config.conditional or config.balance_classes
    request = DataRequest(
        config.image_size, config.channels, config.augment, config.skip_bad, config.background, labels
    )
    data = reg.create(config.data, request, options=config.options.get(reg.name, {}))
    check_data(reg, data)
    hold_out(config, data)
    classes = check_labelled_data(reg, data) if config.conditional else 0
    if classes:
        keep_every_class(config, data)
    if config.balance_classes:
        balance_classes(config, data)
    record_shape(resolved, data)
    return data, classes


def balance_classes(config: RunConfig, data: DataSource) -> None:
    """``--balance-classes``: batches drawn class by class; refused, naming the flag and the dataset, for data
    without class labels or a dataset that draws its own batches (not held as labelled images)."""
    if not isinstance(data, ImageSource) or data.targets is None:
        raise GancliError(
            f"--balance-classes: dataset {config.data!r} has no class labels to balance (labelled images: class "
            "subfolders, dataset.json, an .npz with y, digits)"
        )
    data.balance_classes()


def hold_out(config: RunConfig, data: DataSource) -> None:
    """Keep ``--holdout`` images out of training; refused, naming the flag, for data that holds no images and for
    a count that would leave none to train on."""
    count = config.holdout
    if not count:
        return
    if not isinstance(data, ImageSource):
        raise GancliError(f"--holdout {count}: dataset {config.data!r} holds no images to keep out of training")
    if count >= len(data.images):
        raise GancliError(
            f"--holdout {count}: dataset {config.data!r} holds {len(data.images):,} images; at least one must be left "
            "to train on"
        )
    data.hold_out(count)


def keep_every_class(config: RunConfig, data: DataSource) -> None:
    """A ``--conditional`` run asks G for every class, so ``--holdout`` must leave each class a training image;
    refused naming the flag and the first class it would empty."""
    targets = getattr(data, "targets", None)
    if not config.holdout or not isinstance(data, ImageSource) or targets is None:
        return
    empty = first_empty_class(targets[data.training_indices], len(data.classes or ()))
    if empty is not None:
        held = int((targets == empty).sum())
        raise GancliError(
            f"--holdout {config.holdout}: class {data.classes[empty]!r} would keep no training image (all {held:,} "
            "of its images held out); a --conditional run needs every class: hold out fewer"
        )


def record_shape(resolved: Resolved, data: DataSource) -> None:
    """Fill an unset ``--image-size`` and ``--channels`` with what the data turned out to be (a folder's own size,
    the digits' 32), so the printed configuration (its source "the data's own") and RUN/config.json say what the run
    trained on, and a resumed or re-run experiment asks for the same."""
    config = resolved.config
    if not data.is_image or len(data.shape) != 3:
        return
    channels, height, width = data.shape
    if config.image_size is None and height == width:
        config.image_size = height
        resolved.sources["image_size"] = FILLED_BY_DATA
    if config.channels is None and channels in CHANNELS:
        config.channels = channels
        resolved.sources["channels"] = FILLED_BY_DATA

"""The two-player game an update rule plays: both players, their optimizers, and their losses on a batch.

Update rules (``gancli.optim.rules`` and plugins) only call the methods here, so alternating, simultaneous,
consensus and extragradient updates all go through the same loss code, penalties and bookkeeping, and the
training loop never special-cases a rule.

In a ``--conditional`` run the batches, latents and fakes are ``Labelled`` (samples with their classes): the
classes travel with them from ``sample_real``/``sample_latent`` through ``G`` to every pass of D, so an update
rule handles them as it handles tensors, unchanged.
"""

from __future__ import annotations

import contextlib
import copy
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import cast

import torch
import torch.nn.functional as F
from torch import nn

from gancli.data.base import Labelled
from gancli.errors import GancliError
from gancli.losses import Loss
from gancli.losses.base import input_gradient_norms
from gancli.train.diffaugment import ADA_INTERVAL, Augmenter

Grads = Sequence[torch.Tensor]
#: what the Game's samples are: tensors, or in a conditional run samples with their classes
Batch = torch.Tensor | Labelled


def samples_of(batch: Batch) -> torch.Tensor:
    """The samples of a batch, without their classes."""
    return batch.x if isinstance(batch, Labelled) else batch


class LabelledGenerator(nn.Module):
    """A conditional G as the Game runs it: a Labelled latent (noise, classes) in, the samples with the same
    classes out, so that the fakes carry their classes to D."""

    def __init__(self, generator: nn.Module) -> None:
        super().__init__()
        self.generator = generator

    def forward(self, z: Labelled) -> Labelled:
        return Labelled(self.generator(z.x, z.y), z.y)


@dataclass(frozen=True)
class GameSettings:
    """The loss-independent knobs of the game."""

    d_steps: int = 1
    pack: int = 1  # PacGAN: D judges `pack` samples at once
    r1: float = 0.0  # γ of the R1 penalty γ/2·E‖∇D(x)‖² on real data
    diversity: float = 0.0  # λ of the mode-seeking penalty on G
    ema: float = 0.0  # decay of the generator's moving average (0 = off)
    #: R1 (and R2) on every N-th D step only, weighted N×: the same penalty on average at 1/N of its double backward
    #: pass (lazy regularisation, Karras et al. 2020, StyleGAN2 §B)
    r1_every: int = 1
    r2: float = 0.0  # γ of the R2 penalty γ/2·E‖∇D(x̃)‖² on generated images (R3GAN, Huang et al. 2024)
    #: w of ACGAN's auxiliary classifier (``Game.classification``); D then returns (scores, class logits)
    aux_classifier: float = 0.0


class Game:
    def __init__(
        self,
        generator: nn.Module,
        discriminator: nn.Module,
        loss: Loss,
        opt_g: torch.optim.Optimizer,
        opt_d: torch.optim.Optimizer,
        sample_real: Callable[[], Batch],
        sample_latent: Callable[[], Batch],
        settings: GameSettings = GameSettings(),
        average: Callable[[Grads], list[torch.Tensor]] | None = None,
        scalers: tuple[torch.amp.GradScaler | None, torch.amp.GradScaler | None] = (None, None),
        augment: Augmenter | None = None,
        conditional: bool = False,
    ) -> None:
        """``conditional``: ``generator`` and ``discriminator`` take the class (G(z, y), D(x, y)), and
        ``sample_real``/``sample_latent`` give ``Labelled`` batches."""
        self.G = LabelledGenerator(generator) if conditional else generator
        self.D, self.loss = discriminator, loss
        #: --diffaugment: what every batch goes through before D sees it
        self.augment = augment
        #: the networks as built: what ``G``/``D`` run after ``compile`` wherever a pass is differentiated twice
        self.eager = (self.G, discriminator)
        self._average = average  # the mean over the processes of a distributed run; None on one process
        #: D's and G's loss scalers under --precision fp16 (small gradients survive in half precision)
        self.scaler_d, self.scaler_g = scalers
        self.opt_g, self.opt_d = opt_g, opt_d
        self.sample_real, self.sample_latent = sample_real, sample_latent
        self.settings = settings
        self.g_params = [p for p in generator.parameters() if p.requires_grad]
        self.d_params = [p for p in discriminator.parameters() if p.requires_grad]
        self.G_ema = copy.deepcopy(generator).requires_grad_(False) if settings.ema > 0 else None
        #: whether G_ema's weights changed since its BatchNorm statistics were measured (``standing_statistics``)
        self.ema_moved = True
        self.d_updates = 0
        self.g_updates = 0
        #: detached scalar tensors of the latest step, read by the training loop when it logs
        self.stats: dict[str, torch.Tensor] = {}
        #: whether this step's statistics will be logged (the loop says so before each step): the readouts and
        #: gradient norms are a pass each over D's scores and both players' gradients, paid only on those steps
        self.recording = True
        #: whether G and D run as CUDA graphs (``compile("reduce-overhead")``)
        self.graphed = False

    def compile(self, mode: str = "default") -> None:
        """torch.compile G and D for every pass differentiated once; under "reduce-overhead" each pass is a CUDA
        graph whose outputs the next replay overwrites, so the loop marks where each step begins."""
        self.G, self.D = torch.compile(self.eager[0], mode=mode), torch.compile(self.eager[1], mode=mode)
        self.graphed = mode == "reduce-overhead"

    @contextlib.contextmanager
    def twice_differentiable(self) -> Iterator[None]:
        """G and D run eagerly inside: R1, a loss's gradient penalty and consensus's field differentiate a
        backward pass, which a compiled one (aot_autograd) cannot be; the parameters are the same."""
        compiled = self.G, self.D
        self.G, self.D = self.eager
        try:
            yield
        finally:
            self.G, self.D = compiled

    @property
    def d_steps(self) -> int:
        return self.settings.d_steps

    # --- the losses -------------------------------------------------------------------------------------

    def discriminate(self, x: Batch) -> torch.Tensor:
        """D's scores (see ``scores_and_classes``)."""
        return self.scores_and_classes(x)[0]

    @torch.no_grad()
    def readout_of(self, x: Batch) -> float:
        """D's readout of ``x`` (the scale of ``d_real``) for an observer between steps, leaving the run as it was:
        D in eval mode (BatchNorm's running statistics unmoved, no dropout drawing from torch's generator), without
        --diffaugment (its draws are the run's), through the network as built (a compiled one would compile again
        for eval mode)."""
        discriminator = self.eager[1]
        was_training = discriminator.training
        discriminator.eval()
        try:
            with self.twice_differentiable():  # the eager networks
                scores = self.scores_and_classes(x, augmented=False)[0]
        finally:
            discriminator.train(was_training)
        return float(self.loss.readout(scores))

    def scores_and_classes(self, x: Batch, augmented: bool = True) -> tuple[torch.Tensor, torch.Tensor | None]:
        """D's scores, with ``pack`` samples stacked along the channel axis (PacGAN, Lin et al. 2018), and under
        ``--aux-classifier`` the class logits (B, classes) of the same pass (None otherwise). Every pass of D goes
        through here, so ``--diffaugment`` reaches them all: real and fake, G's step, R1's and a loss penalty's
        inputs, under every update rule; samples with classes are scored for their classes. ``augmented`` False
        (``readout_of``) leaves the augmentation and its draws out."""
        samples = samples_of(x)
        if self.augment is not None and augmented:
            samples = self.augment(samples)
        if isinstance(x, Labelled):
            judged = self.D(samples, x.y)
            scores, class_logits = judged if self.settings.aux_classifier else (judged, None)
            return scores.reshape(-1), class_logits
        m = self.settings.pack
        if m > 1:
            samples = samples.reshape(samples.shape[0] // m, m * samples.shape[1], *samples.shape[2:])
        return self.D(samples).reshape(-1), None

    def judged(self, x: Batch, penalised: bool) -> tuple[Batch, torch.Tensor, torch.Tensor | None]:
        """``x``, D's scores of it and its class logits (``scores_and_classes``); for a gradient penalty at ``x``,
        ``x`` a leaf that requires grad of its own (classes kept)."""
        if penalised:
            x = requiring_grad(x)
        return x, *self.scores_and_classes(x)

    def classification(self, class_logits: torch.Tensor | None, batch: Batch, name: str) -> torch.Tensor | None:
        """ACGAN's auxiliary classifier term (Odena et al. 2017), w·CE(logits, classes): None without
        ``--aux-classifier``. The cross-entropy (unweighted) is logged as ``aux_loss_NAME`` and, on logged steps, the
        share of the batch the classifier puts in its class as ``aux_acc_NAME``.

        D's term is taken on real data only, G's on its samples for the class each was asked for. The paper trains D's
        classifier on the fakes too; a classifier that learns G's samples as evidence of their class rewards G for
        samples easy to classify rather than real, a bias that pulls the classes apart and away from the data (Gong
        et al. 2019, TAC-GAN). Trained on real data alone, the classifier is one of the data, and its accuracy on
        real batches says how well D knows the classes: the common fix, taken here."""
        if class_logits is None:
            return None
        labels = cast(Labelled, batch).y
        cross_entropy = F.cross_entropy(class_logits.float(), labels)
        self.stats[f"aux_loss_{name}"] = cross_entropy.detach()
        if self.recording:
            self.stats[f"aux_acc_{name}"] = (class_logits.detach().argmax(dim=1) == labels).float().mean()
        return self.settings.aux_classifier * cross_entropy

    def d_loss(self, real: Batch, fake: Batch) -> torch.Tensor:
        """D's loss on a real and a fake batch, with the loss's own penalty, ACGAN's classifier term and the R1 and R2
        penalties.

        On a step that takes R1 (R2), D's pass over the real (fake) batch serves both the loss and the penalty
        (its gradient at the inputs, as StyleGAN2's regularisation takes it when not lazy): one forward pass of D
        less than a second pass for the penalty, and the same penalty.
        """
        every = self.settings.r1_every
        lazy_now = self.d_updates % every == 0
        r1_now, r2_now = self.settings.r1 > 0 and lazy_now, self.settings.r2 > 0 and lazy_now
        # a fake still in G's graph (a joint rule's) keeps it for the loss; R2 then takes a pass of its own
        shared = r2_now and not samples_of(fake).requires_grad
        # a step that takes a penalty runs both passes eagerly: a compiled pass moving BatchNorm's running
        # statistics in place between the other pass and its gradient made that gradient fail (seen with
        # --compile --precision bf16 and R1)
        with self.twice_differentiable() if r1_now or r2_now else contextlib.nullcontext():
            real, d_real, real_classes = self.judged(real, r1_now)
            penalised, d_fake, _ = self.judged(fake, shared)
        total = self.loss.d_loss(d_real, d_fake)
        self.stats["loss_d"] = total.detach()
        if self.augment is not None:
            self.augment.observe(d_real)
        with self.twice_differentiable():
            penalty = self.loss.penalty(*self.penalty_inputs(real, fake))
        if penalty is not None:
            self.stats["penalty"] = penalty.detach()
            total = total + penalty
        classification = self.classification(real_classes, real, "real")
        if classification is not None:
            total = total + classification
        lazy: dict[str, torch.Tensor] = {}  # the lazy penalties taken on this step, for their statistics
        if r1_now:
            r1 = 0.5 * self.settings.r1 * every * (input_gradient_norms(d_real, samples_of(real)) ** 2).mean()
            lazy["r1"] = r1.detach()
            total = total + r1
        if r2_now:
            if not shared:  # its own eager pass over a fake still in G's graph
                with self.twice_differentiable():
                    penalised, d_penalised, _ = self.judged(fake, True)
            else:
                d_penalised = d_fake
            r2 = 0.5 * self.settings.r2 * every * (input_gradient_norms(d_penalised, samples_of(penalised)) ** 2).mean()
            lazy["r2"] = r2.detach()
            total = total + r2
        # logged as their latest value until the next step that takes them, and a checkpoint keeps rank 0's
        # statistics only: averaged over the processes here, every rank holds the global batch's, resumed too
        if lazy:
            self.stats.update(zip(lazy, self.average(list(lazy.values())), strict=True))
        if self.recording:
            self.stats["d_real"] = self.loss.readout(d_real)
            self.stats["d_fake"] = self.loss.readout(d_fake)
            if self.loss.boundary is not None:  # r = E[sign D(x)] (Karras et al. 2020): near 1, D memorises
                self.stats["sign_real"] = torch.sign(d_real.detach().float() - self.loss.boundary).mean()
            if self.augment is not None and self.augment.ada is not None:
                self.stats["ada_p"], self.stats["ada_r"] = self.augment.p, self.augment.r
        return scaled(total, self.scaler_d)

    def penalty_inputs(
        self, real: Batch, fake: Batch
    ) -> tuple[Callable[[torch.Tensor], torch.Tensor], torch.Tensor, torch.Tensor]:
        """What a loss's penalty takes: D as a function of samples, real and fake samples. With classes, D scores
        every input for the real batch's classes (a gradient penalty's interpolates lie between a real sample and
        a fake, and are judged as the real one's class)."""
        if isinstance(real, Labelled):
            return (lambda x: self.discriminate(Labelled(x, real.y))), real.x, samples_of(fake)
        return self.discriminate, real, samples_of(fake)

    def g_loss(self, fake: Batch, real: Batch, z: Batch | None = None) -> torch.Tensor:
        """G's loss on a fake batch, with the diversity term and ACGAN's classifier term.

        D scores ``real`` only for a loss that declares ``g_loss_needs_real`` (the relativistic ones): for
        any other that pass is wasted, and with BatchNorm in train mode it would move D's running statistics
        during G's step.
        """
        d_fake, fake_classes = self.scores_and_classes(fake)
        d_real = None
        if self.loss.g_loss_needs_real:
            with torch.no_grad():
                d_real = self.discriminate(real)
        total = self.loss.g_loss(d_fake, d_real)
        self.stats["loss_g"] = total.detach()
        if self.recording:
            self.stats["d_fake_g"] = self.loss.readout(d_fake)
        classification = self.classification(fake_classes, fake, "fake")
        if classification is not None:
            total = total + classification
        if self.settings.diversity > 0 and z is not None:
            total = total + self.settings.diversity * mode_seeking_penalty(samples_of(fake), samples_of(z))
        return scaled(total, self.scaler_g)

    def generate(self, z: Batch | None = None) -> Batch:
        return self.G(self.sample_latent() if z is None else z)

    # --- the updates -------------------------------------------------------------------------------------

    def zero_grad(self) -> None:
        self.opt_d.zero_grad(set_to_none=True)
        self.opt_g.zero_grad(set_to_none=True)

    def average(self, tensors: Grads) -> list[torch.Tensor]:
        """The mean of each tensor over the processes of a distributed run (on one process, the tensors)."""
        return list(tensors) if self._average is None else self._average(tensors)

    def average_grads(self, params: Sequence[torch.Tensor]) -> None:
        """Replace each gradient by its mean over the processes, so every rank applies the same step (nothing to
        do, and no work on the training step, on one process)."""
        if self._average is None:
            return
        with_grads = [p for p in params if p.grad is not None]
        for p, mean in zip(with_grads, self.average([p.grad for p in with_grads]), strict=True):
            p.grad = mean

    def step_d(self) -> None:
        """Apply D's gradients (averaged over the processes), then the loss's post-step hook (e.g. clipping)."""
        self.average_grads(self.d_params)
        apply(self.opt_d, self.d_params, self.scaler_d, self.stats if self.recording else None, "grad_norm_d")
        self.loss.after_d_step(self.D)
        self.d_updates += 1
        if self.augment is not None and self.d_updates % ADA_INTERVAL == 0:
            self.augment.adjust(self.average)

    def step_g(self) -> None:
        """Apply G's gradients (averaged over the processes) and move the generator's moving average."""
        self.average_grads(self.g_params)
        apply(self.opt_g, self.g_params, self.scaler_g, self.stats if self.recording else None, "grad_norm_g")
        self.g_updates += 1
        if self.G_ema is not None:
            update_ema(self.G_ema, self.G, self.settings.ema)
            self.ema_moved = True

    def gradient_field(
        self, real: Batch, z: Batch, create_graph: bool = False
    ) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
        """The simultaneous gradient field v = (∇_D L_D, ∇_G L_G) at one batch, for joint update rules.

        On several processes this is the field of this process's shard: ``step_d``/``step_g`` average what they
        apply, and a rule that uses the field itself first (a look-ahead step) averages it with ``average``."""
        if self.scaler_d is not None:
            raise GancliError(
                "--precision fp16 scales the losses for backward(); this update rule takes gradients itself: "
                "use --precision bf16, or --update alternating"
            )
        with self.twice_differentiable() if create_graph else contextlib.nullcontext():
            fake = self.G(z)
            d_grads = grads_of(self.d_loss(real, fake), self.d_params, create_graph)
            g_grads = grads_of(self.g_loss(fake, real, z), self.g_params, create_graph)
        return d_grads, g_grads

    def set_grads(self, d_grads: Grads, g_grads: Grads) -> None:
        for p, g in zip(self.d_params + self.g_params, [*d_grads, *g_grads], strict=True):
            p.grad = g.detach()


def requiring_grad(batch: Batch) -> Batch:
    """The batch's samples as a leaf that requires grad (for a penalty on D's gradient at them), classes kept."""
    if isinstance(batch, Labelled):
        return Labelled(batch.x.detach().requires_grad_(True), batch.y)
    return batch.detach().requires_grad_(True)


def scaled(loss: torch.Tensor, scaler: torch.amp.GradScaler | None) -> torch.Tensor:
    return loss if scaler is None else scaler.scale(loss)


def apply(
    optimizer: torch.optim.Optimizer,
    params: Sequence[torch.Tensor],
    scaler: torch.amp.GradScaler | None,
    stats: dict[str, torch.Tensor] | None,
    norm_name: str,
) -> None:
    """One optimizer step on the gradients, recording their norm in ``stats`` (unless None); with a loss scaler
    the gradients are unscaled first, and a step whose gradients overflowed is skipped while the scale backs off
    (the scaler's search for its scale, not a divergence: the norm logged is then the last finite one)."""
    if scaler is None:
        if stats is not None:
            stats[norm_name] = total_norm(params)
        optimizer.step()
        return
    scaler.unscale_(optimizer)
    if stats is not None:
        norm = total_norm(params)
        stats[norm_name] = torch.where(torch.isfinite(norm), norm, stats.get(norm_name, torch.zeros_like(norm)))
    scaler.step(optimizer)
    scaler.update()


def grads_of(loss: torch.Tensor, params: Sequence[torch.Tensor], create_graph: bool) -> list[torch.Tensor]:
    """∂loss/∂params, with zeros for parameters the loss does not use."""
    grads = torch.autograd.grad(loss, params, create_graph=create_graph, allow_unused=True)
    return [torch.zeros_like(p) if g is None else g for p, g in zip(params, grads, strict=True)]


def total_norm(params: Sequence[torch.Tensor]) -> torch.Tensor:
    grads = [p.grad.detach() for p in params if p.grad is not None]
    if not grads:
        return torch.zeros(())
    return torch.linalg.vector_norm(torch.stack(torch._foreach_norm(grads)))


def mode_seeking_penalty(fake: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
    """1 / (mean|G(z1) − G(z2)| / mean|z1 − z2|): small when distinct latents give distinct samples (MSGAN,
    Mao et al. 2019), so minimising it fights mode collapse."""
    half = fake.shape[0] // 2
    ratio = (fake[:half] - fake[half : 2 * half]).abs().mean() / (z[:half] - z[half : 2 * half]).abs().mean()
    return 1.0 / (ratio + 1e-5)


@torch.no_grad()
def update_ema(average: nn.Module, model: nn.Module, decay: float) -> None:
    """average ← decay·average + (1 − decay)·model for parameters. BatchNorm statistics are not averaged:
    they belong to the averaged weights, and ``standing_statistics`` measures them before sampling."""
    avg_params = list(average.parameters())
    torch._foreach_lerp_(avg_params, [p.detach() for p in model.parameters()], 1.0 - decay)


@torch.no_grad()
def standing_statistics(model: nn.Module, *inputs: torch.Tensor) -> None:
    """Set each BatchNorm's running statistics to those of ``model`` itself on one batch of ``inputs`` (BigGAN's
    "standing statistics"). The moving average of G is a network no step trained: the live G's statistics, measured on
    other weights, put its samples off the data (FD 2,117 against 58 for the live G on the digits)."""
    norms = [m for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    if not norms:
        return
    momenta = [m.momentum for m in norms]
    was_training = model.training
    for m in norms:
        m.reset_running_stats()
        m.momentum = None  # the statistics of this batch alone, no blend with the old ones
    model.train()
    try:
        model(*inputs)
    finally:
        for m, momentum in zip(norms, momenta, strict=True):
            m.momentum = momentum
        model.train(was_training)

"""The layers several architectures share; the spec and requirement names (``gancli.nets.spec``) are re-exported
here, where plugins have imported them from."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import torch
from torch import nn

from gancli.errors import GancliError
from gancli.nets.spec import (  # noqa: F401  (documented import path for plugins)
    AUTOENCODER,
    AUX_CLASSIFIER,
    CONDITIONAL,
    MINIBATCH_STD,
    NO_BATCHNORM,
    REQUIRED_BY,
    ArchSpec,
    check_requirements,
    numel,
)

if TYPE_CHECKING:
    from gancli.plugins.registry import Registration


def is_network_pair(obj: Any) -> bool:
    """What an architecture's factory must return: (generator, discriminator)."""
    return isinstance(obj, tuple | list) and len(obj) == 2 and all(isinstance(o, nn.Module) for o in obj)


def check_networks(reg: Registration, spec: ArchSpec, generator: nn.Module, discriminator: nn.Module) -> torch.Tensor:
    """The architecture's contract, checked once as a run is built, on a dry batch of zero latents in eval mode:
    G makes samples of the data's shape, D gives one score per (packed) sample. Returns D's scores, on which the
    loss is checked in turn; a failure names the plugin."""
    z = torch.zeros(2 * max(1, spec.d_input_shape[0] // spec.data_shape[0]), spec.latent_dim)
    labels = (torch.arange(len(z)) % spec.classes,) if spec.classes else ()
    try:
        with torch.no_grad():
            generator.eval()
            discriminator.eval()
            fake = generator(z, *labels)
            packed = fake.reshape(-1, *spec.d_input_shape)
            scores = discriminator(packed, *labels)
    except Exception as exc:
        called = " (a --conditional run calls G(z, labels) and D(x, labels))" if spec.classes else ""
        raise reg.error(f"architecture {reg.name!r} failed on {spec}{called}: {exc}") from exc
    finally:
        generator.train()
        discriminator.train()
    if tuple(fake.shape[1:]) != spec.data_shape:
        raise reg.error(f"architecture {reg.name!r}: G makes {tuple(fake.shape[1:])}, the data is {spec.data_shape}")
    if AUX_CLASSIFIER in spec.requirements:
        logits_shape = (packed.shape[0], spec.classes)
        if not (isinstance(scores, tuple | list) and len(scores) == 2 and tuple(scores[1].shape) == logits_shape):
            raise reg.error(
                f"architecture {reg.name!r}: with --aux-classifier D must return (scores, class logits of shape "
                f"{logits_shape})"
            )
        scores = scores[0]
    if scores.numel() != packed.shape[0]:
        raise reg.error(f"architecture {reg.name!r}: D must give one score per sample")
    return scores.reshape(-1)


class MinibatchStd(nn.Module):
    """Appends the average standard deviation across the batch as one more feature (channel), so that D can
    tell a batch of near-identical fakes from a varied real one (ProGAN, Karras et al. 2018)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        std = x.float().std(dim=0, unbiased=False).mean().to(x.dtype)
        extra = std.expand(x.shape[0], 1, *x.shape[2:])
        return torch.cat([x, extra], dim=1)


class ReconstructionEnergy(nn.Module):
    """EBGAN's cost network: the per-sample mean squared error of an auto-encoder."""

    def __init__(self, autoencoder: nn.Module) -> None:
        super().__init__()
        self.autoencoder = autoencoder

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return ((self.autoencoder(x) - x) ** 2).flatten(1).mean(dim=1)


def refuse_conditional_energy(arch: str, spec: ArchSpec) -> None:
    """An EBGAN cost network scores a reconstruction, with no place for the class: refused, naming both."""
    if spec.classes and AUTOENCODER in spec.requirements:
        raise GancliError(f"architecture {arch!r}: --conditional and an auto-encoder cost network (ebgan) don't mix")


# --- class-conditional layers (--conditional) ---------------------------------------------------------------


class ClassConditional(nn.Module):
    """A layer that reads the class: ``forward(x, labels)``; ``ClassSequential`` hands the labels to it."""


def class_layout(classes: int | tuple[int, ...]) -> tuple[int, ...]:
    """The factors of the classes a conditional layer is given: a number of classes is one factor."""
    return (classes,) if isinstance(classes, int) else tuple(classes)


def factor_values(labels: torch.Tensor, layout: tuple[int, ...]) -> list[torch.Tensor]:
    """Each factor's value of each label, the label read as a mixed-radix number with ``layout``'s radices, the
    first factor most significant: 372 in (10, 10, 10) is [3, 7, 2]; in (1000,), [372]."""
    if len(layout) == 1:  # the label itself, with no kernel spent on it
        return [labels]
    places = [math.prod(layout[k + 1 :]) for k in range(len(layout))]
    return [labels // place % radix for radix, place in zip(layout, places, strict=True)]


class ClassEmbedding(nn.Embedding):
    """A learned vector per class. For classes made of independent factors (``classes`` (10, 10, 10): stacked
    digits' R, G and B digits), the mean of one vector per factor's value, so that each vector learns from every
    class that shares the value: 30 vectors for 1,000 classes, each used by about 6 samples of a batch of 64
    where a class is in one batch of 16. With one factor, a plain lookup (the state of an ``nn.Embedding``).
    ``weight`` holds every factor's rows, so initialising it sets the mean's start: ones give ones."""

    def __init__(self, classes: int | tuple[int, ...], dim: int) -> None:
        layout = class_layout(classes)
        super().__init__(sum(layout), dim)
        self.layout = layout
        self.offsets = [sum(layout[:k]) for k in range(len(layout))]

    def forward(self, labels: torch.Tensor) -> torch.Tensor:
        if len(self.layout) == 1:
            return super().forward(labels)
        rows = [value + offset for value, offset in zip(factor_values(labels, self.layout), self.offsets, strict=True)]
        return super().forward(torch.stack(rows, dim=-1)).mean(dim=-2)


class ClassLogits(nn.Linear):
    """ACGAN's classifier head (``--aux-classifier``): class logits from D's features, a linear layer. For classes
    made of factors, one logit per factor's value, the class's logit their sum: its softmax is then the product of
    each factor's own (a classifier per digit of stacked digits, 30 outputs, not 1,000 learned apart), and the
    cross-entropy of a class the sum of its factors'. The (B, classes) logits are those of any classifier."""

    def __init__(self, features: int, classes: int | tuple[int, ...]) -> None:
        layout = class_layout(classes)
        super().__init__(features, sum(layout))
        self.layout = layout

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        first, *others = super().forward(features).split(self.layout, dim=1)
        joint = first
        for part in others:  # the class a·10 + b takes a's logit plus b's: the first factor most significant
            joint = (joint[:, :, None] + part[:, None, :]).flatten(1)
        return joint


class ConditionalBatchNorm(ClassConditional):
    """BatchNorm whose scale and shift are learned per class (conditional BatchNorm: de Vries et al. 2017; the
    class-conditional G of Miyato & Koyama 2018 and BigGAN): statistics shared, γ_y and β_y looked up by the
    label (per factor, ``ClassEmbedding``), starting at 1 and 0 so the layer starts as plain BatchNorm."""

    def __init__(self, channels: int, classes: int | tuple[int, ...], dims: int = 2) -> None:
        super().__init__()
        self.norm = (nn.BatchNorm2d if dims == 2 else nn.BatchNorm1d)(channels, affine=False)
        self.scale = ClassEmbedding(classes, channels)
        self.shift = ClassEmbedding(classes, channels)
        nn.init.ones_(self.scale.weight)
        nn.init.zeros_(self.shift.weight)

    def forward(self, x: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        extra = (1,) * (x.dim() - 2)
        scale = self.scale(labels).reshape(*labels.shape, -1, *extra)
        shift = self.shift(labels).reshape(*labels.shape, -1, *extra)
        return self.norm(x) * scale + shift


class ClassSequential(nn.Sequential):
    """A Sequential that passes the labels to each class-conditional layer in it."""

    def forward(self, x: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:  # type: ignore[override]
        for layer in self:
            x = layer(x, labels) if isinstance(layer, ClassConditional) else layer(x)
        return x


def batchnorm(channels: int, classes: int | tuple[int, ...]) -> nn.Module:
    """A 2-D BatchNorm, conditional on the class when there are ``classes`` (a number, or ``ArchSpec.class_layout``)."""
    return ConditionalBatchNorm(channels, classes) if classes else nn.BatchNorm2d(channels)


class Projection(nn.Module):
    """The projection discriminator (Miyato & Koyama 2018): D(x, y) = ψ(φ(x)) + ⟨e_y, φ(x)⟩, the unconditional
    score ``head`` gives on the body's output plus the inner product of a learned embedding of the class with the
    features φ, that output summed over its spatial positions (the paper's global sum pooling) when it has any;
    the embedding is per factor (``ClassEmbedding``) for ``classes`` given as factors.

    ``classify`` (``--aux-classifier``) adds ACGAN's auxiliary classifier (Odena et al. 2017), a linear layer on
    the same pooled features, and D then returns (scores, class logits)."""

    def __init__(
        self, body: nn.Module, head: nn.Module, features: int, classes: int | tuple[int, ...], classify: bool = False
    ) -> None:
        super().__init__()
        self.body, self.head = body, head
        self.embed = ClassEmbedding(classes, features)
        nn.init.normal_(self.embed.weight, 0.0, 0.02)
        self.classifier = ClassLogits(features, classes) if classify else None

    def forward(self, x: torch.Tensor, labels: torch.Tensor) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
        h = self.body(x)
        pooled = h.sum(dim=tuple(range(2, h.dim()))) if h.dim() > 2 else h
        scores = self.head(h).reshape(-1) + (self.embed(labels) * pooled).sum(dim=1)
        return scores if self.classifier is None else (scores, self.classifier(pooled))


class OneHotInput(nn.Module):
    """A network that reads its input with the class appended as a one-hot vector (the conditional GAN of Mirza &
    Osindero 2014): for fully connected G and D, whose first layer then learns an embedding of the class; for
    ``classes`` given as factors, one one-hot vector per factor (30 inputs for 1,000 classes)."""

    def __init__(self, net: nn.Module, classes: int | tuple[int, ...]) -> None:
        super().__init__()
        self.net, self.layout = net, class_layout(classes)

    def forward(self, x: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        values = factor_values(labels, self.layout)
        one_hots = [nn.functional.one_hot(v, radix).to(x.dtype) for v, radix in zip(values, self.layout, strict=True)]
        return self.net(torch.cat([x.flatten(1), *one_hots], dim=1))


def dcgan_init(module: nn.Module) -> None:
    """The DCGAN initialisation (Radford et al. 2016): weights N(0, 0.02), BatchNorm scales N(1, 0.02)."""
    for m in module.modules():
        if isinstance(m, nn.Conv2d | nn.ConvTranspose2d | nn.Linear):
            nn.init.normal_(m.weight, 0.0, 0.02)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.BatchNorm2d | nn.BatchNorm1d) and m.affine:  # a conditional one's scales start at 1
            nn.init.normal_(m.weight, 1.0, 0.02)
            nn.init.zeros_(m.bias)


def apply_spectral_norm(module: nn.Module) -> nn.Module:
    """Spectral normalisation (Miyato et al. 2018) on every linear and convolutional layer of ``module``."""
    for m in list(module.modules()):
        if isinstance(m, nn.Conv2d | nn.ConvTranspose2d | nn.Linear):
            nn.utils.parametrizations.spectral_norm(m)
    return module


def parameter_count(module: nn.Module) -> int:
    """The number of trainable scalars in ``module``: what a user compares two architectures by."""
    return sum(p.numel() for p in module.parameters() if p.requires_grad)

"""The convolutional architectures: shapes for every size, channel count, packing and requirement; the
seed's layer types and initialisation; clear errors for what they cannot build."""

from __future__ import annotations

import itertools

import pytest
import torch
from gancli.errors import GancliError
from gancli.nets import dcgan, resnet
from gancli.nets.common import AUTOENCODER, MINIBATCH_STD, NO_BATCHNORM, ArchSpec, MinibatchStd
from torch import nn

TINY = {"g_width": 4, "d_width": 4}
LATENT = 8
REQUIREMENTS = [frozenset(), {NO_BATCHNORM}, {AUTOENCODER}, {MINIBATCH_STD}, {AUTOENCODER, MINIBATCH_STD}]
ARCHS = {"dcgan": dcgan.build, "resnet": resnet.build}


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    """Networks this small run fastest on one thread, and do not stall when other work loads the cores."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def spec_for(size: int, channels: int = 1, pack: int = 1, requirements=frozenset()) -> ArchSpec:
    return ArchSpec((channels, size, size), LATENT, (channels * pack, size, size), frozenset(requirements))


def out_channels(module: nn.Module, kind: type[nn.Module]) -> list[int]:
    return [m.out_channels for m in module.modules() if isinstance(m, kind)]


@pytest.mark.parametrize(
    ("arch", "size", "channels", "pack", "requirements"),
    list(itertools.product(ARCHS, (16, 32, 48, 64), (1, 3), (1, 2), REQUIREMENTS)),
)
def test_shapes(arch: str, size: int, channels: int, pack: int, requirements: frozenset[str]) -> None:
    torch.manual_seed(0)
    generator, discriminator = ARCHS[arch](spec_for(size, channels, pack, requirements), TINY)
    fake = generator(torch.randn(4, LATENT))
    assert fake.shape == (4, channels, size, size)
    assert fake.abs().max() <= 1.0  # Tanh
    scores = discriminator(fake.reshape(4 // pack, channels * pack, size, size))
    assert scores.shape == (4 // pack,)
    if AUTOENCODER in requirements:
        assert (scores >= 0).all()  # a reconstruction error
    has_mbstd = any(isinstance(m, MinibatchStd) for m in discriminator.modules())
    assert has_mbstd == (MINIBATCH_STD in requirements)


def test_autoencoder_returns_each_samples_reconstruction_error() -> None:
    _, discriminator = dcgan.build(spec_for(16, requirements={AUTOENCODER}), TINY)
    x = torch.rand(3, 1, 16, 16) * 2 - 1
    discriminator.eval()
    expected = ((discriminator.autoencoder(x) - x) ** 2).mean(dim=(1, 2, 3))
    assert torch.allclose(discriminator(x), expected)


@pytest.mark.parametrize("arch", ARCHS)
@pytest.mark.parametrize("requirements", [{NO_BATCHNORM}, {NO_BATCHNORM, AUTOENCODER}])
def test_no_batchnorm_in_d(arch: str, requirements: set[str]) -> None:
    generator, discriminator = ARCHS[arch](spec_for(32, requirements=requirements), TINY)
    assert not any(isinstance(m, nn.BatchNorm2d) for m in discriminator.modules())
    assert any(isinstance(m, nn.BatchNorm2d) for m in generator.modules())
    x = torch.randn(3, 1, 32, 32)
    discriminator.train()  # without BatchNorm a sample's score does not depend on the rest of the batch
    assert torch.allclose(discriminator(x)[:1], discriminator(x[:1]), atol=1e-6)


def test_dcgan_uses_batchnorm_in_d_by_default() -> None:
    _, discriminator = dcgan.build(spec_for(32), TINY)
    first_conv = next(m for m in discriminator.modules() if isinstance(m, nn.Conv2d))
    assert first_conv.in_channels == 1
    assert sum(isinstance(m, nn.BatchNorm2d) for m in discriminator.modules()) == 2  # all but the first layer


def test_dcgan_layers_are_the_seeds() -> None:
    generator, discriminator = dcgan.build(spec_for(64, channels=3), {"g_width": 64, "d_width": 64})
    g_types = {type(m) for m in generator.modules()} - {nn.Sequential, nn.Unflatten}
    d_types = {type(m) for m in discriminator.modules()} - {nn.Sequential, nn.Flatten}
    assert g_types == {nn.ConvTranspose2d, nn.BatchNorm2d, nn.ReLU, nn.Tanh}
    assert d_types == {nn.Conv2d, nn.BatchNorm2d, nn.LeakyReLU}
    assert isinstance(list(generator)[-1], nn.Tanh)
    assert all(m.negative_slope == 0.2 for m in discriminator.modules() if isinstance(m, nn.LeakyReLU))
    # the seed's 64×64 widths: ngf·8, ·4, ·2, ·1 in G, ndf·1, ·2, ·4, ·8 in D
    assert [m.out_channels for m in generator.modules() if isinstance(m, nn.ConvTranspose2d)] == [
        512,
        256,
        128,
        64,
        3,
    ]
    assert [m.out_channels for m in discriminator.modules() if isinstance(m, nn.Conv2d)] == [
        64,
        128,
        256,
        512,
        1,
    ]


def test_dcgan_init() -> None:
    torch.manual_seed(0)
    generator, discriminator = dcgan.build(spec_for(32), {"g_width": 32, "d_width": 32})
    for module in (generator, discriminator):
        weights = torch.cat(
            [m.weight.flatten() for m in module.modules() if isinstance(m, nn.Conv2d | nn.ConvTranspose2d)]
        )
        assert abs(weights.std().item() - 0.02) < 0.002
        assert abs(weights.mean().item()) < 0.002
        scales = torch.cat([m.weight for m in module.modules() if isinstance(m, nn.BatchNorm2d)])
        assert abs(scales.mean().item() - 1.0) < 0.01


def test_widths_double_up_to_eight_times_the_base() -> None:
    generator, discriminator = resnet.build(spec_for(256), TINY)
    d_convs = [m.out_channels for m in discriminator.modules() if isinstance(m, nn.Conv2d) and m.kernel_size == (3, 3)]
    assert max(d_convs) == 32
    assert generator[0].out_features == 32 * 16  # 4×4 × 8·g_width


def test_resnet_d_sums_over_positions_then_scores() -> None:
    _, discriminator = resnet.build(spec_for(16), TINY)
    assert isinstance(discriminator.score, nn.Linear)
    assert not any(isinstance(m, nn.BatchNorm2d) for m in discriminator.modules())


@pytest.mark.parametrize("arch", ARCHS)
@pytest.mark.parametrize("size", [8, 20, 28, 40, 512])
def test_bad_sizes_are_refused(arch: str, size: int) -> None:
    with pytest.raises(GancliError, match=rf"{arch}.*{size}×{size}"):
        ARCHS[arch](spec_for(size), TINY)


@pytest.mark.parametrize("arch", ARCHS)
def test_non_square_and_point_data_are_refused(arch: str) -> None:
    with pytest.raises(GancliError, match=r"32×16"):
        ARCHS[arch](ArchSpec((1, 32, 16), LATENT, (1, 32, 16)), TINY)
    with pytest.raises(GancliError, match=rf"{arch}.*image data"):
        ARCHS[arch](ArchSpec((2,), LATENT, (2,)), TINY)


@pytest.mark.parametrize("arch", ARCHS)
def test_unknown_requirement_and_bad_width_are_refused(arch: str) -> None:
    with pytest.raises(GancliError, match="cannot provide"):
        ARCHS[arch](spec_for(16, requirements={"something_else"}), TINY)
    from gancli.plugins.manager import Plugins

    registration = Plugins(entry_point_group=None).registry.get("architecture", arch)
    with pytest.raises(GancliError, match=rf"^option {arch}.d_width must be between 1 and 1024, got 0$"):
        registration.create(spec_for(16), options={"g_width": 4, "d_width": 0})


@pytest.mark.parametrize("arch", ARCHS)
def test_registered_through_the_plugin_manager(arch: str) -> None:
    from gancli.plugins.manager import Plugins

    registration = Plugins(entry_point_group=None).registry.get("architecture", arch)
    assert {o.name for o in registration.options} == {"g_width", "d_width"}
    generator, _ = registration.create(spec_for(32), options=TINY)
    assert generator(torch.randn(2, LATENT)).shape == (2, 1, 32, 32)

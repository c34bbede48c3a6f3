"""Each built-in loss against a hand computation on fixed scores."""

import math

import pytest
import torch
from gancli.losses.classic import Hinge, LeastSquares, Minimax, NonSaturating, RelativisticPairing
from gancli.losses.energy import EnergyBased
from gancli.losses.wasserstein import GradientPenalty, WeightClipping
from torch import nn

REAL = torch.tensor([0.0, 2.0])
FAKE = torch.tensor([-1.0, 1.0])


def sigmoid(x: float) -> float:
    return 1 / (1 + math.exp(-x))


def mean(values):
    values = list(values)
    return sum(values) / len(values)


def test_minimax_is_the_bce_game():
    expected_d = -mean(math.log(sigmoid(r)) for r in REAL.tolist()) - mean(
        math.log(1 - sigmoid(f)) for f in FAKE.tolist()
    )
    expected_g = mean(math.log(1 - sigmoid(f)) for f in FAKE.tolist())
    loss = Minimax()
    assert loss.d_loss(REAL, FAKE).item() == pytest.approx(expected_d, rel=1e-6)
    assert loss.g_loss(FAKE, REAL).item() == pytest.approx(expected_g, rel=1e-6)


def test_nonsaturating_generator_maximises_log_d():
    expected_g = -mean(math.log(sigmoid(f)) for f in FAKE.tolist())
    loss = NonSaturating()
    assert loss.g_loss(FAKE, REAL).item() == pytest.approx(expected_g, rel=1e-6)
    assert loss.d_loss(REAL, FAKE).item() == pytest.approx(Minimax().d_loss(REAL, FAKE).item())


def test_saturating_generator_gradient_vanishes_when_d_is_confident():
    """The pitfall the log-D trick fixes: with D(G(z)) ≈ 0, ∂/∂l log(1 − σ(l)) ≈ 0 but −log σ(l) is steep."""
    confident = torch.tensor([-10.0], requires_grad=True)
    (saturating,) = torch.autograd.grad(Minimax().g_loss(confident, REAL), confident)
    (trick,) = torch.autograd.grad(NonSaturating().g_loss(confident, REAL), confident)
    assert abs(saturating.item()) < 1e-4
    assert abs(trick.item()) > 0.99


def test_logit_losses_are_finite_at_extreme_logits():
    extreme = torch.tensor([-200.0, 200.0])
    for loss in (Minimax(), NonSaturating()):
        assert torch.isfinite(loss.d_loss(extreme, extreme))
        assert torch.isfinite(loss.g_loss(extreme, extreme))


def test_readout_reports_probabilities_for_logit_losses():
    assert Minimax().readout(torch.tensor([0.0, 0.0])).item() == pytest.approx(0.5)
    assert WeightClipping(0.01).readout(torch.tensor([1.0, 3.0])).item() == pytest.approx(2.0)


def test_least_squares():
    loss = LeastSquares()
    expected_d = 0.5 * mean((r - 1) ** 2 for r in REAL.tolist()) + 0.5 * mean(f**2 for f in FAKE.tolist())
    assert loss.d_loss(REAL, FAKE).item() == pytest.approx(expected_d)
    assert loss.g_loss(FAKE, REAL).item() == pytest.approx(0.5 * mean((f - 1) ** 2 for f in FAKE.tolist()))


def test_hinge():
    loss = Hinge()
    expected_d = mean(max(0, 1 - r) for r in REAL.tolist()) + mean(max(0, 1 + f) for f in FAKE.tolist())
    assert loss.d_loss(REAL, FAKE).item() == pytest.approx(expected_d)
    assert loss.g_loss(FAKE, REAL).item() == pytest.approx(-mean(FAKE.tolist()))


def test_relativistic_pairing_scores_each_real_against_its_paired_fake():
    # pairs (0, -1) and (2, 1): D's gaps f - r are -1 and -1, so L_D = softplus(-1) = log(1 + e^-1) for both;
    # G's gaps r - f are 1 and 1: L_G = log(1 + e)
    loss = RelativisticPairing()
    assert loss.d_loss(REAL, FAKE).item() == pytest.approx(math.log(1 + math.exp(-1)))
    assert loss.g_loss(FAKE, REAL).item() == pytest.approx(math.log(1 + math.e))
    swapped = torch.tensor([1.0, -1.0])  # pairs (0, 1) and (2, -1): gaps 1 and -3
    assert loss.d_loss(REAL, swapped).item() == pytest.approx(mean([math.log(1 + math.e), math.log(1 + math.exp(-3))]))
    assert loss.boundary is None and loss.g_loss_needs_real
    assert loss.d_loss(REAL + 5, FAKE + 5).item() == pytest.approx(loss.d_loss(REAL, FAKE).item())  # level is free


def test_wasserstein_critic_and_generator():
    loss = WeightClipping(0.01)
    assert loss.d_loss(REAL, FAKE).item() == pytest.approx(mean(FAKE.tolist()) - mean(REAL.tolist()))
    assert loss.g_loss(FAKE, REAL).item() == pytest.approx(-mean(FAKE.tolist()))


def test_weight_clipping_bounds_every_critic_parameter():
    critic = nn.Sequential(nn.Linear(2, 16), nn.LeakyReLU(0.2), nn.Linear(16, 1))
    with torch.no_grad():
        for p in critic.parameters():
            p.normal_(0, 1)
    WeightClipping(0.05).after_d_step(critic)
    values = torch.cat([p.flatten() for p in critic.parameters()])
    assert values.abs().max().item() == pytest.approx(0.05)
    assert (values.abs() <= 0.05).all()


def test_gradient_penalty_on_a_linear_critic_with_known_gradient_norm():
    critic = nn.Linear(3, 1, bias=False)
    with torch.no_grad():
        critic.weight.copy_(torch.tensor([[0.0, 1.2, 1.6]]))  # ‖∇D‖ = 2 everywhere
    real, fake = torch.randn(8, 3), torch.randn(8, 3)
    penalty = GradientPenalty(10.0).penalty(critic, real, fake)
    assert penalty.item() == pytest.approx(10.0 * (2.0 - 1.0) ** 2, rel=1e-5)
    (grad,) = torch.autograd.grad(penalty, critic.weight)
    assert grad.abs().sum() > 0  # the penalty trains the critic


def test_ebgan_hinge_is_zero_once_fakes_cost_the_margin():
    loss = EnergyBased(margin=2.0)
    real_energy = torch.tensor([0.1, 0.3])
    low = torch.tensor([0.5, 1.0], requires_grad=True)
    assert loss.d_loss(real_energy, low).item() == pytest.approx(0.2 + mean([1.5, 1.0]))
    high = torch.tensor([2.0, 5.0], requires_grad=True)
    d_loss = loss.d_loss(real_energy, high)
    assert d_loss.item() == pytest.approx(0.2)
    (grad,) = torch.autograd.grad(d_loss, high)
    assert (grad == 0).all()
    assert loss.g_loss(high, real_energy).item() == pytest.approx(3.5)


@pytest.mark.parametrize("bad", [0.0, -1.0])
def test_bad_hyper_parameters_are_refused(bad):
    with pytest.raises(ValueError):
        WeightClipping(bad)
    with pytest.raises(ValueError):
        EnergyBased(bad)

"""The game's mathematics: the optimal discriminator, the Dirac-GAN dynamics, k critic steps, EMA, packing;
and the work a step does: D runs on real data in G's step only for a loss that reads the real scores."""

import copy
import importlib.util
import math
from pathlib import Path

import numpy as np
import pytest
import torch
from gancli.analysis.dynamics import trajectory
from gancli.losses.classic import Minimax, NonSaturating
from gancli.losses.wasserstein import WeightClipping
from gancli.optim.rules import Alternating, Consensus, Extragradient, Simultaneous
from gancli.train.game import Game, GameSettings, mode_seeking_penalty, standing_statistics, update_ema
from torch import nn

SQRT2 = math.sqrt(2)


def distance_after(rule, steps: int = 500) -> float:
    """Distance to the equilibrium of the Dirac-GAN (gancli dynamics' game) after ``steps`` of ``rule``."""
    return float(np.hypot(*trajectory(rule, Minimax(), steps, lr=0.1)[-1]))


def test_simultaneous_gradient_descent_spirals_away_on_the_dirac_gan():
    assert distance_after(Simultaneous()) > 1.2 * SQRT2


def test_alternating_gradient_descent_circles_without_converging():
    assert distance_after(Alternating()) > 0.9 * SQRT2


def test_consensus_optimization_converges_to_the_equilibrium():
    assert distance_after(Consensus(gamma=1.0)) < 1e-3


def test_extragradient_moves_towards_the_equilibrium():
    assert distance_after(Extragradient()) < 0.7 * SQRT2


def test_minimax_discriminator_converges_to_the_optimal_d_star():
    """On four discrete points D learns D*(x) = p_r(x) / (p_r(x) + p_g(x)) (Goodfellow et al. 2014, Prop. 1)."""
    p_real = torch.tensor([0.4, 0.3, 0.2, 0.1])
    p_fake = torch.tensor([0.1, 0.2, 0.3, 0.4])
    points = torch.eye(4)
    real = points.repeat_interleave((p_real * 10).long(), dim=0)  # a batch with exactly these frequencies
    fake = points.repeat_interleave((p_fake * 10).long(), dim=0)
    discriminator = nn.Linear(4, 1)
    optimizer = torch.optim.Adam(discriminator.parameters(), lr=0.05)
    loss = Minimax()
    for _ in range(2000):
        optimizer.zero_grad()
        loss.d_loss(discriminator(real).squeeze(1), discriminator(fake).squeeze(1)).backward()
        optimizer.step()
    learned = torch.sigmoid(discriminator(points).squeeze(1))
    assert torch.allclose(learned, p_real / (p_real + p_fake), atol=1e-3)


def counting_game(d_steps: int) -> tuple[Game, list[str]]:
    calls: list[str] = []
    generator = nn.Linear(2, 2)
    discriminator = nn.Linear(2, 1)

    def real() -> torch.Tensor:
        calls.append("real")
        return torch.randn(8, 2)

    game = Game(
        generator,
        discriminator,
        WeightClipping(0.01),
        torch.optim.RMSprop(generator.parameters(), lr=1e-3),
        torch.optim.RMSprop(discriminator.parameters(), lr=1e-3),
        sample_real=real,
        sample_latent=lambda: torch.randn(8, 2),
        settings=GameSettings(d_steps=d_steps),
    )
    return game, calls


@pytest.mark.parametrize("k", [1, 5])
def test_alternating_runs_exactly_k_critic_updates_per_generator_update(k):
    game, calls = counting_game(k)
    rule = Alternating()
    for _ in range(3):
        rule.step(game)
    assert (game.d_updates, game.g_updates) == (3 * k, 3)
    assert len(calls) == 3 * k  # each critic step sees a fresh real batch
    clipped = torch.cat([p.flatten() for p in game.D.parameters()])
    assert clipped.abs().max() <= 0.01 + 1e-7  # clipping ran after the critic steps


def test_generator_moving_average_arithmetic():
    average, model = nn.Linear(2, 1), nn.Linear(2, 1)
    with torch.no_grad():
        average.weight.fill_(1.0)
        model.weight.fill_(3.0)
    update_ema(average, model, decay=0.9)
    assert torch.allclose(average.weight, torch.full_like(average.weight, 0.9 * 1.0 + 0.1 * 3.0))


def test_standing_statistics_are_the_averaged_generators_own():
    """The moving average's BatchNorm statistics are measured on the averaged weights: in eval mode it then
    draws what it draws in train mode on the same batch."""
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 5), nn.BatchNorm1d(5, momentum=0.1), nn.ReLU(), nn.Linear(5, 2))
    model[1].running_mean.fill_(7.0)  # statistics of some other network, as the live G's would be
    noise = torch.randn(256, 3)
    with torch.no_grad():
        in_train_mode = copy.deepcopy(model).train()(noise)
    standing_statistics(model.eval(), noise)
    assert not model.training and model[1].momentum == 0.1  # left as found
    with torch.no_grad():
        # (eval mode divides by the unbiased variance: 256/255 of the batch's, a 0.2 % difference)
        assert torch.allclose(model(noise), in_train_mode, rtol=5e-3, atol=1e-3)
        other = torch.randn(64, 3) + 1.0
        standing_statistics(model, other)  # measured again: this batch's statistics, nothing left of the last
        first_layer = model[0](other)
    assert torch.allclose(model[1].running_mean, first_layer.mean(0), atol=1e-6)
    assert torch.allclose(model[1].running_var, first_layer.var(0), atol=1e-5)


def test_packing_stacks_m_samples_for_the_discriminator():
    seen = []

    class Recorder(nn.Module):
        def forward(self, x):
            seen.append(tuple(x.shape))
            return x.flatten(1).sum(1)

    game = Game(
        nn.Identity(),
        Recorder(),
        Minimax(),
        torch.optim.SGD([nn.Parameter(torch.zeros(1))], lr=0.1),
        torch.optim.SGD([nn.Parameter(torch.zeros(1))], lr=0.1),
        sample_real=lambda: torch.zeros(8, 3, 4, 4),
        sample_latent=lambda: torch.zeros(8, 3, 4, 4),
        settings=GameSettings(pack=4),
    )
    images = torch.arange(8 * 3 * 4 * 4, dtype=torch.float32).reshape(8, 3, 4, 4)
    scores = game.discriminate(images)
    assert seen == [(2, 12, 4, 4)]
    assert scores.shape == (2,)
    assert scores[0] == images[:4].sum()  # the first packed input holds exactly the first four samples


def linear_critic_game(settings: GameSettings) -> Game:
    critic = nn.Linear(2, 1, bias=False)
    with torch.no_grad():
        critic.weight.copy_(torch.tensor([[3.0, 4.0]]))  # ‖∇D‖² = 25
    return Game(
        nn.Identity(),
        critic,
        WeightClipping(1.0),
        torch.optim.SGD([nn.Parameter(torch.zeros(1))], lr=0.1),
        torch.optim.SGD(critic.parameters(), lr=0.1),
        sample_real=lambda: torch.zeros(4, 2),
        sample_latent=lambda: torch.zeros(4, 2),
        settings=settings,
    )


def test_r1_penalty_on_a_linear_critic():
    game = linear_critic_game(GameSettings(r1=2.0))
    real, fake = torch.randn(4, 2), torch.randn(4, 2)
    total = game.d_loss(real, fake)
    assert game.stats["r1"].item() == pytest.approx(0.5 * 2.0 * 25.0)
    assert total.item() == pytest.approx(game.stats["loss_d"].item() + 25.0)


def test_r1_reuses_ds_pass_over_the_real_batch():
    """The penalty's gradient comes from the pass that scores the real batch for the loss: two passes of D
    (real, fake) on an R1 step, where a separate pass for the penalty made three; and it still trains D."""
    game = linear_critic_game(GameSettings(r1=2.0))
    passes = []
    game.D.register_forward_hook(lambda module, inputs, output: passes.append(inputs[0].shape))
    real, fake = torch.randn(4, 2), torch.randn(4, 2)
    game.d_loss(real, fake).backward()
    assert len(passes) == 2
    # WGAN's loss E[D(fake)] − E[D(real)] with D(x) = w·x, plus γ/2·‖w‖²: the gradient is mean(fake − real) + γ·w
    w = torch.tensor([3.0, 4.0])
    assert torch.allclose(game.D.weight.grad[0], (fake - real).mean(0) + 2.0 * w, atol=1e-5)


def test_lazy_r1_is_every_nth_d_step_weighted_n_times():
    game = linear_critic_game(GameSettings(r1=2.0, r1_every=4))
    real, fake = torch.randn(4, 2), torch.randn(4, 2)
    added = []
    for updates in range(8):
        game.d_updates = updates
        added.append(game.d_loss(real, fake).item() - game.stats["loss_d"].item())
    assert added == pytest.approx([4 * 25.0, 0, 0, 0, 4 * 25.0, 0, 0, 0])  # on average the same 25 per step


def test_r2_penalty_on_generated_images_lazily_beside_r1():
    """γ/2·‖∇D‖² at the fakes (25 for D(x) = (3, 4)·x), on R1's lazy steps, weighted as R1 is; and D's gradient
    gains γ·w from it, as from R1."""
    game = linear_critic_game(GameSettings(r1=2.0, r2=6.0, r1_every=2))
    real, fake = torch.randn(4, 2), torch.randn(4, 2)
    total = game.d_loss(real, fake)
    assert game.stats["r2"].item() == pytest.approx(0.5 * 6.0 * 2 * 25.0)
    assert total.item() == pytest.approx(game.stats["loss_d"].item() + 2 * 25.0 + 6 * 25.0)
    total.backward()
    w = torch.tensor([3.0, 4.0])
    assert torch.allclose(game.D.weight.grad[0], (fake - real).mean(0) + 2 * (2.0 + 6.0) * w, atol=1e-4)
    game.d_updates, game.stats = 1, {}
    game.d_loss(real, fake)
    assert "r2" not in game.stats and "r1" not in game.stats
    game.d_updates = 0  # a fake in G's graph (joint rules) keeps it for the loss: the penalty takes its own pass
    in_graph = fake.clone().requires_grad_(True)
    game.d_loss(real, in_graph * 1.0).backward()
    assert game.stats["r2"].item() == pytest.approx(0.5 * 6.0 * 2 * 25.0)
    assert torch.allclose(in_graph.grad, torch.tensor([3.0, 4.0]).expand(4, 2) / 4)  # WGAN's E[D(fake)] reaches G


def test_mode_seeking_penalty_rewards_distinct_samples_for_distinct_latents():
    z = torch.tensor([[0.0], [1.0]])
    collapsed = torch.tensor([[0.5], [0.5]])
    spread = torch.tensor([[0.0], [2.0]])
    assert mode_seeking_penalty(spread, z).item() == pytest.approx(1 / (2.0 + 1e-5))
    assert mode_seeking_penalty(collapsed, z) > 1e4


def batchnorm_game(loss) -> Game:
    generator = nn.Linear(2, 3)
    discriminator = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4), nn.LeakyReLU(0.2), nn.Linear(4, 1))
    return Game(
        generator,
        discriminator,
        loss,
        torch.optim.Adam(generator.parameters(), lr=1e-3),
        torch.optim.Adam(discriminator.parameters(), lr=1e-3),
        sample_real=lambda: torch.randn(8, 3) + 2.0,
        sample_latent=lambda: torch.randn(8, 2),
    )


def test_a_generator_step_neither_runs_d_on_real_data_nor_computes_d_gradients():
    """With an ordinary loss G's step is one pass of D, on the fakes (each pass in train mode moves D's
    BatchNorm statistics once), and D's weights get no gradient that nothing would read."""
    game = batchnorm_game(NonSaturating())
    passes = game.D[1].num_batches_tracked
    game.g_loss(game.generate(), game.sample_real())
    assert passes.item() == 1
    rule = Alternating()
    for _ in range(3):
        rule.step(game)
    assert passes.item() == 1 + 3 * 3  # per step: real and fake in D's step, fake in G's
    assert all(p.grad is None for p in game.d_params)
    assert all(p.grad is not None for p in game.g_params)


def relativistic_average_loss():
    """The RaGAN loss of the example plugin package, read from its file (the one loss whose G reads D(x))."""
    package = Path(__file__).resolve().parents[1] / "examples" / "gancli-relativistic" / "gancli_relativistic"
    spec = importlib.util.spec_from_file_location("example_ragan", package / "ragan.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.RelativisticAverage(), module.relativistic


def test_a_relativistic_loss_still_receives_the_real_scores():
    loss, relativistic = relativistic_average_loss()
    game = batchnorm_game(loss)
    game.D.eval()  # fixed statistics, so D scores the batches below the same way twice
    fake, real = game.generate(), game.sample_real()
    expected = relativistic(game.discriminate(fake), game.discriminate(real))
    assert game.g_loss(fake, real).item() == pytest.approx(expected.item(), rel=1e-6)
    assert game.g_loss(fake, real).item() != pytest.approx(relativistic(game.discriminate(fake), torch.zeros(8)).item())

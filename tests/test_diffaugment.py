"""--diffaugment and --ada: one random family of transforms on every batch D judges, real and generated, that G's
gradient passes through; p moved by D's confidence on real images; deterministic under --seed and resumed bit for
bit; and the warning for real-only augmentations that leak into G's samples."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from cli_helpers import ok, one_line_error
from gancli.config import DIFFAUGMENT
from gancli.losses.classic import LeastSquares, NonSaturating
from gancli.losses.wasserstein import GradientPenalty
from gancli.optim.rules import Alternating, Consensus, Extragradient, Simultaneous
from gancli.train.diffaugment import ADA_INTERVAL, Ada, Augmenter, Uniform, augment
from gancli.train.game import Game, GameSettings
from gancli.train.loop import progress_line
from safetensors.numpy import load_file
from torch import nn

SHAPE = (3, 8, 8)
BATCH, LATENT = 8, 4
RULES = [Alternating(), Simultaneous(), Consensus(1.0), Extragradient()]

IMAGES = ["--data", "digits", "--set", "source=sklearn", "--image-size", "8", "--channels", "3", "--arch", "mlp"]
IMAGES += ["--set", "mlp.hidden=16", "--latent-dim", "4", "--batch-size", "8", "--device", "cpu", "--quiet"]
IMAGES += ["--config", "no-metrics.toml", "--eval-every", "1000", "--log-every", "1", "--r1-every", "2"]


def draws(seed: int, n: int) -> Uniform:
    """``uniform(k)`` of ``augment`` from a fresh generator: the same draws at every call."""
    generator = torch.Generator().manual_seed(seed)
    return lambda k: torch.rand(n, k, generator=generator)


class Recorder(nn.Module):
    """A small D that keeps a copy of every batch it is shown."""

    def __init__(self) -> None:
        super().__init__()
        self.net = nn.Sequential(nn.Flatten(), nn.Linear(int(np.prod(SHAPE)), 4), nn.Tanh(), nn.Linear(4, 1))
        self.seen: list[torch.Tensor] = []

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.seen.append(x.detach().clone())
        return self.net(x)


class Sure(nn.Module):
    """A hand-built D that gives every image the score ``value``, whatever it is shown."""

    def __init__(self, value: float) -> None:
        super().__init__()
        self.value = nn.Parameter(torch.tensor(value))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.value + 0 * x.flatten(1).sum(1)


def game_of(discriminator: nn.Module, loss, augmenter: Augmenter | None, r1: float = 0.0, lr: float = 0.01) -> Game:
    """A Game on all-ones real images and a linear G, on the CPU."""
    torch.manual_seed(0)
    generator = nn.Sequential(nn.Linear(LATENT, int(np.prod(SHAPE))), nn.Unflatten(1, SHAPE))
    optimizers = [torch.optim.SGD(m.parameters(), lr=lr) for m in (generator, discriminator)]
    return Game(
        generator,
        discriminator,
        loss,
        *optimizers,
        lambda: torch.ones(BATCH, *SHAPE),
        lambda: torch.randn(BATCH, LATENT),
        GameSettings(r1=r1),
        augment=augmenter,
    )


def cutout_holes(batch: torch.Tensor) -> list[tuple[int, int] | None]:
    """For each image, the sides of the rectangle where every channel is 0 (None when there is none or the zeros
    are not one rectangle)."""
    holes = []
    for zero in (batch == 0).all(dim=1):
        rows, cols = zero.any(1).nonzero().flatten(), zero.any(0).nonzero().flatten()
        if len(rows) == 0:
            holes.append(None)
            continue
        box = zero[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]
        holes.append((len(rows), len(cols)) if bool(box.all()) and int(zero.sum()) == box.numel() else None)
    return holes


def is_cutout(hole: tuple[int, int] | None) -> bool:
    """Whether a zeroed rectangle is cutout's square of half the side (4 px at 8 px), clipped at the border (to no
    less than 2 px: its centre lies inside the image)."""
    return hole is not None and min(hole) >= 2 and max(hole) <= 4


# --- the transforms ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("p", [1.0, 0.5])
def test_the_augmentation_passes_gradients_of_first_and_second_order(p: float) -> None:
    """gradcheck against finite differences, and gradgradcheck: R1 and consensus differentiate D's input
    gradient, which now runs through the augmentation."""
    x = torch.randn(2, *SHAPE, dtype=torch.float64, requires_grad=True)

    def augmented(x: torch.Tensor) -> torch.Tensor:
        return augment(x, DIFFAUGMENT, torch.tensor(p), draws(0, 2))

    assert not torch.equal(augmented(x), x)
    assert torch.autograd.gradcheck(augmented, (x,))
    assert torch.autograd.gradgradcheck(augmented, (x,))


def test_p_0_changes_nothing_and_p_never_changes_the_draws() -> None:
    x = torch.randn(BATCH, *SHAPE)
    assert torch.equal(augment(x, DIFFAUGMENT, torch.tensor(0.0), draws(1, BATCH)), x)
    taken = []

    def counting(k: int) -> torch.Tensor:
        taken.append(k)
        return torch.rand(BATCH, k)

    augment(x, DIFFAUGMENT, torch.tensor(0.0), counting)
    at_zero = list(taken)
    taken.clear()
    augment(x, DIFFAUGMENT, torch.tensor(1.0), counting)
    assert taken == at_zero == [6, 3, 3]


def test_each_transform_does_what_the_paper_says() -> None:
    """Translation: a whole-pixel shift of at most 1/8 of the side (1 px at 8 px) with zeros coming in; cutout: a
    square of half the side (4 px), clipped at the border; colour: brightness, saturation and contrast."""
    ones = torch.ones(64, *SHAPE)
    one = torch.tensor(1.0)
    moved = augment(ones, ("translation",), one, draws(2, 64))
    zero_rows = (moved == 0).all(dim=(1, 3)).sum(1)
    zero_cols = (moved == 0).all(dim=(1, 2)).sum(1)
    assert set(zero_rows.tolist()) == set(zero_cols.tolist()) == {0, 1}
    assert set(torch.unique(moved).tolist()) == {0.0, 1.0}
    holes = cutout_holes(augment(ones, ("cutout",), one, draws(3, 64)))
    assert all(is_cutout(hole) for hole in holes)
    assert (4, 4) in holes
    gray = torch.linspace(-1, 1, 64).reshape(1, 1, 8, 8).expand(64, 3, 8, 8)
    colored = augment(gray, ("color",), one, draws(4, 64))
    shifts = colored.mean(dim=(1, 2, 3)) - gray.mean(dim=(1, 2, 3))  # brightness: contrast keeps the mean
    assert 0.3 < shifts.abs().max() <= 0.5 + 1e-6
    assert torch.allclose(colored[:, 0], colored[:, 1])  # saturation leaves a gray image gray


# --- every pass of D, under every rule ----------------------------------------------------------------------


@pytest.mark.parametrize("rule", RULES, ids=lambda rule: type(rule).__name__)
@pytest.mark.parametrize("loss, r1", [(NonSaturating(), 1.0), (GradientPenalty(10.0), 0.0)], ids=["r1", "wgan-gp"])
def test_every_batch_d_sees_real_or_generated_is_augmented_under_every_rule(rule, loss, r1: float) -> None:
    """Cutout on all-ones real images and G's images: every image D is shown — the real batch (R1's pass), the
    generated one in D's and in G's step, the penalty's interpolates — has its zeroed square, and none has one
    without --diffaugment."""
    for augmenter in (Augmenter(("cutout",), torch.device("cpu"), 0), None):
        discriminator = Recorder()
        rule.step(game_of(discriminator, loss, augmenter, r1))
        holes = [hole for batch in discriminator.seen for hole in cutout_holes(batch)]
        assert len(discriminator.seen) >= 3
        if augmenter is None:
            assert holes == [None] * len(holes)
        else:
            assert all(is_cutout(hole) for hole in holes)


def test_the_generator_learns_through_the_augmentation_as_finite_differences_say() -> None:
    """G's gradient through D(augment(G(z))) is not zero, differs from the one without augmentation, and matches
    central differences of G's loss with the same draws."""
    torch.set_default_dtype(torch.float64)
    try:
        augmenter = Augmenter(DIFFAUGMENT, torch.device("cpu"), 7)
        game = game_of(Recorder(), NonSaturating(), augmenter)
        weight = game.G[0].weight
        z = torch.randn(BATCH, LATENT)
        state = augmenter.generator.get_state()

        def g_loss() -> torch.Tensor:
            augmenter.generator.set_state(state)
            return game.g_loss(game.G(z), None, z)

        (grad,) = torch.autograd.grad(g_loss(), weight)
        game.augment = None
        (plain,) = torch.autograd.grad(game.g_loss(game.G(z), None, z), weight)
        game.augment = augmenter
        assert grad.abs().sum() > 0 and not torch.allclose(grad, plain)
        for index in [(0, 0), (17, 2), (100, 3), (191, 1)]:
            values = []
            for step in (1e-6, -1e-6):
                with torch.no_grad():
                    weight[index] += step
                    values.append(float(g_loss()))
                    weight[index] -= step
            assert (values[0] - values[1]) / 2e-6 == pytest.approx(float(grad[index]), rel=1e-5, abs=1e-9)
    finally:
        torch.set_default_dtype(torch.float32)


# --- ADA --------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "score, loss, start, moves",
    [
        (2.0, NonSaturating(), 0.0, 1),  # sure of every real image: r = 1 > 0.6, p rises
        (-2.0, NonSaturating(), 0.5, -1),  # takes every real for fake: r = -1, p falls
        (0.7, LeastSquares(), 0.0, 1),  # LSGAN's boundary is 0.5: 0.7 is on the real side
        (0.3, LeastSquares(), 0.5, -1),
    ],
)
def test_ada_moves_p_by_ds_confidence_on_real_images(score: float, loss, start: float, moves: int) -> None:
    pace = 0.01
    augmenter = Augmenter(DIFFAUGMENT, torch.device("cpu"), 0, ada=Ada(0.6, loss.boundary, pace))
    augmenter.p = torch.tensor(start)
    game = game_of(Sure(score), loss, augmenter, lr=0.0)  # lr 0: D stays as built
    steps = 3 * ADA_INTERVAL + 1
    for _ in range(steps):
        Alternating().step(game)
    assert float(augmenter.p) == pytest.approx(start + moves * pace * 3)
    assert float(augmenter.r) == (1.0 if moves > 0 else -1.0)
    assert float(game.stats["ada_p"]) == pytest.approx(start + moves * pace * 3)


def test_p_stays_between_0_and_1() -> None:
    augmenter = Augmenter(DIFFAUGMENT, torch.device("cpu"), 0, ada=Ada(0.6, 0.0, 0.4))
    game = game_of(Sure(5.0), NonSaturating(), augmenter, lr=0.0)
    for _ in range(4 * ADA_INTERVAL):
        Alternating().step(game)
    assert float(augmenter.p) == 1.0


# --- runs -------------------------------------------------------------------------------------------------------


def test_a_diffaugment_run_with_ada_is_deterministic_and_resumes_bit_for_bit(gancli, tmp_path: Path) -> None:
    """8 steps in one go equal 8 again, and 6, a stop and --resume to 8 (networks, optimizers, every generator,
    p and the ADA interval under way: 2 D steps since p last moved); p moved, and metrics.jsonl logs it."""
    (tmp_path / "no-metrics.toml").write_text("metrics = []\n")
    args = [*IMAGES, "--diffaugment", "translation,color,cutout", "--ada", "--ada-kimg", "1", "--ada-target", "0.2"]
    args += ["--checkpoint-every", "4"]
    ok(gancli("train", *args, "--steps", "8", "--out", "whole"))
    ok(gancli("train", *args, "--steps", "8", "--out", "again"))
    ok(gancli("train", *args, "--steps", "6", "--out", "split"))
    ok(gancli("train", "--resume", "split", "--steps", "8", "--quiet"))
    name = "checkpoints/step-00000008.safetensors"
    whole, again, split = (load_file(tmp_path / run / name) for run in ("whole", "again", "split"))
    assert {"augment/generator", "augment/p", "augment/signs"} <= whole.keys()
    for other in (again, split):
        assert whole.keys() == other.keys()
        assert [k for k in whole if not np.array_equal(whole[k], other[k])] == []
    assert (tmp_path / "whole" / "metrics.jsonl").read_text() == (tmp_path / "split" / "metrics.jsonl").read_text()
    records = [json.loads(line) for line in (tmp_path / "whole" / "metrics.jsonl").read_text().splitlines()]
    assert records[0]["ada_p"] == 0.0 and records[-1]["ada_p"] != 0.0


def test_the_progress_line_shows_p_under_ada() -> None:
    record = {"loss_d": 1.0, "loss_g": 1.0, "d_real": 0.5, "d_fake": 0.5, "d_fake_g": 0.5}
    assert " p " not in progress_line(record)
    assert progress_line({**record, "ada_p": 0.25}).endswith("p 0.250")


@pytest.mark.parametrize(
    "args, needles",
    [
        (["--diffaugment", "translation,flip"], ["--diffaugment 'translation,flip'", "unknown transform 'flip'"]),
        (["--diffaugment", "color,color"], ["--diffaugment 'color,color'", "color is named twice"]),
        (["--ada"], ["--ada tunes", "--diffaugment translation,color,cutout"]),
        (["--ada-target", "1.5"], ["--ada-target"]),
        (["--diffaugment", "color", "--ada", "--loss", "wgan"], ["--ada reads E[sign D(x)]", "--loss wgan"]),
    ],
)
def test_bad_diffaugment_settings_are_one_line_naming_the_flag(gancli, tmp_path: Path, args, needles) -> None:
    (tmp_path / "no-metrics.toml").write_text("metrics = []\n")
    one_line_error(gancli("train", *IMAGES, "--steps", "1", *args, "--out", "run"), *needles)


def test_diffaugment_on_points_is_refused(gancli) -> None:
    args = ["--data", "ring8", "--steps", "1", "--diffaugment", "cutout", "--quiet"]
    one_line_error(gancli("train", *args), "--diffaugment transforms images; --data ring8 holds points")


def test_real_only_augmentations_that_leak_warn_once_with_the_remedy(gancli, tmp_path: Path) -> None:
    (tmp_path / "no-metrics.toml").write_text("metrics = []\n")
    result = gancli("train", *IMAGES, "--steps", "2", "--augment", "flip,cutout,brightness", "--out", "leaky")
    ok(result)
    warnings = [line for line in result.stderr.splitlines() if line.startswith("warning:")]
    assert len(warnings) == 1 and "--augment cutout,brightness" in warnings[0]
    assert "--diffaugment cutout,color instead" in warnings[0]
    result = gancli("train", *IMAGES, "--steps", "2", "--augment", "flip", "--out", "flipped")
    assert "warning" not in ok(result)
    help_text = " ".join(ok(gancli("train", "--help")).split())
    assert "--diffaugment" in help_text and "safe" in help_text

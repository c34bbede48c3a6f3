"""ACGAN's auxiliary classifier (issue 22 §2, ``--aux-classifier``): its terms against a hand computation, the
networks that give class logits beside their scores, every update rule stepping it, the refusals in one line, a
classifier that learns the classes of ring8, and a resume that continues the run bit for bit."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from cli_helpers import TINY, ok, one_line_error
from gancli.data.base import Labelled
from gancli.losses.classic import NonSaturating
from gancli.nets import dcgan, mlp, resnet
from gancli.nets.spec import AUX_CLASSIFIER, CONDITIONAL, ArchSpec
from gancli.optim.rules import Alternating, Consensus, Extragradient, Simultaneous
from gancli.train.game import Game, GameSettings
from safetensors.numpy import load_file
from torch import nn

ACGAN = GameSettings(aux_classifier=0.5)


class ReadOff(nn.Module):
    """A D whose score is the sample's first coordinate and whose class logits are the others: what the Game does
    with D's two outputs, checked on values chosen by hand."""

    def forward(self, x: torch.Tensor, labels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return x[:, 0], x[:, 1:]


def cross_entropy(logits: np.ndarray, labels: np.ndarray) -> float:
    """−log softmax(logits)[label], averaged, by hand."""
    log_sum = np.log(np.exp(logits).sum(axis=1))
    return float(np.mean(log_sum - logits[np.arange(len(labels)), labels]))


def softplus(x: np.ndarray) -> np.ndarray:
    return np.log1p(np.exp(x))


def test_the_classifier_terms_are_the_weighted_cross_entropy_of_real_data_for_d_and_of_the_fakes_for_g() -> None:
    real = np.array([[0.5, 2.0, 0.0, -1.0], [-1.0, 0.0, 3.0, 1.0], [2.0, 1.0, 1.0, 1.0]], dtype=np.float32)
    fake = np.array([[-0.5, 0.0, 0.0, 4.0], [1.5, -2.0, 1.0, 0.0]], dtype=np.float32)
    real_y, fake_y = np.array([0, 1, 1]), np.array([2, 0])
    w = ACGAN.aux_classifier
    game = Game(nn.Linear(1, 1), ReadOff(), NonSaturating(), None, None, None, None, ACGAN, conditional=True)
    batch = lambda x, y: Labelled(torch.from_numpy(x), torch.from_numpy(y))  # noqa: E731

    d_loss = game.d_loss(batch(real, real_y), batch(fake, fake_y))
    adversarial = softplus(-real[:, 0]).mean() + softplus(fake[:, 0]).mean()
    assert float(d_loss) == pytest.approx(adversarial + w * cross_entropy(real[:, 1:], real_y), rel=1e-6)
    assert float(game.stats["aux_loss_real"]) == pytest.approx(cross_entropy(real[:, 1:], real_y), rel=1e-6)
    assert float(game.stats["aux_acc_real"]) == pytest.approx(2 / 3)  # the third real point is a tie: class 0
    other_fakes = fake.copy()
    other_fakes[:, 1:] = 9.0  # D's classifier learns from real data alone: the fakes' logits change nothing
    assert float(game.d_loss(batch(real, real_y), batch(other_fakes, fake_y))) == pytest.approx(float(d_loss))

    g_loss = game.g_loss(batch(fake, fake_y), batch(real, real_y))
    expected = softplus(-fake[:, 0]).mean() + w * cross_entropy(fake[:, 1:], fake_y)
    assert float(g_loss) == pytest.approx(expected, rel=1e-6)
    assert float(game.stats["aux_acc_fake"]) == 0.5  # asked for 2 and 0, classified 2 and 1
    assert float(game.stats["aux_loss_fake"]) == pytest.approx(cross_entropy(fake[:, 1:], fake_y), rel=1e-6)


@pytest.mark.parametrize(
    ("build", "shape", "options"),
    [
        (dcgan.build, (1, 16, 16), {"g_width": 8, "d_width": 8}),
        (resnet.build, (3, 16, 16), {"g_width": 8, "d_width": 8}),
        (mlp.build, (2,), {"hidden": 16, "d_hidden": 0, "layers": 2, "batchnorm": False}),
    ],
    ids=["dcgan", "resnet", "mlp"],
)
def test_the_built_in_discriminators_give_class_logits_beside_the_projection_scores(build, shape, options) -> None:
    torch.manual_seed(0)
    labels = torch.arange(6) % 3
    plain = build(ArchSpec(shape, 4, shape, frozenset({CONDITIONAL}), classes=3), options)[1]
    acgan = build(ArchSpec(shape, 4, shape, frozenset({CONDITIONAL, AUX_CLASSIFIER}), classes=3), options)[1]
    missing = acgan.load_state_dict(plain.state_dict(), strict=False).missing_keys
    assert sorted(missing) == ["classifier.bias", "classifier.weight"]  # the head is all it adds
    x = torch.randn(6, *shape)
    with torch.no_grad():
        scores, logits = acgan(x, labels)
        assert scores.shape == (6,) and logits.shape == (6, 3)
        # the projection discriminator's weights score as they did without the head
        assert torch.equal(scores, plain(x, labels))
        assert torch.equal(logits, acgan(x, (labels + 1) % 3)[1])  # it reads the image, not the class asked


def test_a_discriminator_that_claims_the_classifier_but_gives_no_logits_is_refused_naming_the_plugin() -> None:
    from gancli.errors import PluginError
    from gancli.nets.common import check_networks
    from gancli.plugins.registry import Registration

    spec = ArchSpec((2,), 4, (2,), frozenset({CONDITIONAL}), classes=3)
    generator, discriminator = mlp.build(spec, {"hidden": 8, "d_hidden": 0, "layers": 1, "batchnorm": False})
    reg = Registration("architecture", "liar", "x:y", "", (), "liar-plugin", "liar-package")
    claimed = ArchSpec((2,), 4, (2,), frozenset({CONDITIONAL, AUX_CLASSIFIER}), classes=3)
    with pytest.raises(PluginError, match=r"'liar': with --aux-classifier D must return \(scores, class logits"):
        check_networks(reg, claimed, generator, discriminator)  # D built without the head: scores alone


@pytest.mark.parametrize(
    "rule",
    [Alternating(), Simultaneous(), Consensus(gamma=1.0), Extragradient()],
    ids=["alternating", "simultaneous", "consensus", "extragradient"],
)
def test_every_update_rule_trains_the_classifier(rule) -> None:
    torch.manual_seed(0)
    spec = ArchSpec((2,), 2, (2,), frozenset({CONDITIONAL, AUX_CLASSIFIER}), classes=4)
    generator, discriminator = mlp.build(spec, {"hidden": 8, "d_hidden": 0, "layers": 1, "batchnorm": False})
    before = discriminator.classifier.weight.detach().clone()
    labelled = lambda: Labelled(torch.randn(8, 2), torch.randint(4, (8,)))  # noqa: E731
    game = Game(
        generator,
        discriminator,
        NonSaturating(),
        torch.optim.Adam(generator.parameters(), lr=1e-3),
        torch.optim.Adam(discriminator.parameters(), lr=1e-3),
        sample_real=labelled,
        sample_latent=labelled,
        settings=ACGAN,
        conditional=True,
    )
    rule.step(game)
    assert {"aux_loss_real", "aux_acc_real", "aux_loss_fake", "aux_acc_fake"} <= game.stats.keys()
    assert all(bool(torch.isfinite(value).all()) for value in game.stats.values())
    assert not torch.equal(discriminator.classifier.weight, before)


RING = ["--data", "ring8", "--set", "mlp.hidden=32", "--batch-size", "32", "--steps", "1", "-q"]


@pytest.mark.parametrize(
    ("args", "needles"),
    [
        ([], ("--aux-classifier 1", "--conditional")),
        (["--conditional", "--loss", "wgan"], ("--aux-classifier", "--loss wgan", "logit")),
        (["--conditional", "--loss", "wgan-gp"], ("--aux-classifier", "--loss wgan-gp")),
        (["--conditional", "--loss", "lsgan"], ("--aux-classifier", "--loss lsgan")),
        (["--conditional", "--loss", "ebgan"], ("--aux-classifier", "--loss ebgan")),
    ],
    ids=["unconditional", "wgan", "wgan-gp", "lsgan", "ebgan"],
)
def test_aux_classifier_is_refused_in_one_line_without_classes_or_logits(gancli, tmp_path, args, needles) -> None:
    one_line_error(gancli("train", *RING, "--aux-classifier", "1", *args, "--out", "run"), *needles)
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize("loss", ["minimax", "hinge", "rpgan"])
def test_the_other_losses_that_admit_the_classifier_train_with_it(gancli, tmp_path: Path, loss: str) -> None:
    ok(gancli("train", *RING, "--conditional", "--loss", loss, "--aux-classifier", "1", "--out", "run"))
    assert aux_accuracy(tmp_path / "run", "fake")


def test_an_architecture_that_gives_no_class_logits_is_refused_by_name(gancli, monkeypatch) -> None:
    """examples/gancli-conditional's moons-net takes the class but declares no auxiliary classifier."""
    from cli_helpers import entry_point
    from gancli.plugins import manager

    monkeypatch.syspath_prepend(str(Path(__file__).resolve().parents[1] / "examples" / "gancli-conditional"))
    plugin = entry_point("conditional", "gancli_conditional", "gancli-conditional")
    monkeypatch.setattr(manager, "entry_points", lambda group: [plugin])
    manager.get_plugins.cache_clear()
    try:
        result = gancli("train", "--data", "moons", "--conditional", "--aux-classifier", "1", "--steps", "1", "-q")
        one_line_error(result, "moons-net", "aux_classifier", "--aux-classifier")
    finally:
        manager.get_plugins.cache_clear()


def aux_accuracy(run: Path, batch: str) -> list[float]:
    """The logged accuracy of the auxiliary classifier on the real batches or G's samples (``batch``)."""
    records = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    return [r[f"aux_acc_{batch}"] for r in records if f"aux_acc_{batch}" in r]


@pytest.mark.parametrize("seed", [0, 1])
def test_the_classifier_learns_the_classes_of_ring8_and_g_draws_them_as_asked(gancli, tmp_path: Path, seed) -> None:
    """ring8, each point labelled with its mode (chance: 1/8): at step 10 D's classifier is right about 27–34 % of
    a real batch and G's samples are classified as asked 12–26 % of the time (seeds 0–2); from step 50 on both are
    ≥ 0.98, and 1.0 over steps 110–150 in every seed."""
    (tmp_path / "quiet.toml").write_text("metrics = []\n")
    budget = ["--steps", "150", "--batch-size", "128", "--lr", "1e-3", "--lr-schedule", "constant"]
    small = ["--set", "mlp.hidden=64", "--eval-every", "150", "--config", "quiet.toml", "--seed", str(seed), "-q"]
    ok(gancli("train", "--data", "ring8", "--conditional", "--aux-classifier", "1", *budget, *small, "--out", "r"))
    real, fake = aux_accuracy(tmp_path / "r", "real"), aux_accuracy(tmp_path / "r", "fake")
    assert real[0] < 0.5 and fake[0] < 0.5, (real, fake)
    assert np.mean(real[-5:]) >= 0.95 and np.mean(fake[-5:]) >= 0.9, (real, fake)


def test_an_acgan_run_resumes_bit_for_bit_with_its_classifier(gancli, tmp_path: Path) -> None:
    """20 steps in one go equal 10, a stop and --resume to 20: the classifier head is D's, saved and restored."""
    acgan = ["--conditional", "--aux-classifier", "1"]
    ok(gancli("train", *TINY, *acgan, "--out", "whole"))
    halfway = [a if a != "20" else "10" for a in TINY]
    ok(gancli("train", *halfway, *acgan, "--out", "split"))
    ok(gancli("train", "--resume", "split", "--steps", "20", "--quiet"))
    name = "checkpoints/step-00000020.safetensors"
    whole, split = load_file(tmp_path / "whole" / name), load_file(tmp_path / "split" / name)
    assert "D/classifier.weight" in whole and whole.keys() == split.keys()
    assert [k for k in whole if not np.array_equal(whole[k], split[k])] == []
    assert (tmp_path / "whole" / "metrics.jsonl").read_text() == (tmp_path / "split" / "metrics.jsonl").read_text()
    assert aux_accuracy(tmp_path / "whole", "real")  # logged with the other statistics

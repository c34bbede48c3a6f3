"""Class-conditional GANs (issue 22): labels from every source on real files, bad labels refused in one line,
conditional networks that read the class, a conditional run that learns under two update rules, asking for a class
through the command line, class fidelity checked by hand, and resume refusing other classes."""

from __future__ import annotations

import json
import struct
from pathlib import Path

import numpy as np
import pytest
import torch
from cli_helpers import ok, one_line_error
from gancli import kernels
from gancli.config import resolve
from gancli.data import packed
from gancli.data.base import DataRequest, ImageSource, Labelled
from gancli.data.digits import DIGIT_CLASSES, open_digits
from gancli.data.images import open_images
from gancli.data.mixtures import GaussianMixture, ring
from gancli.data.stacked import MODES, open_stacked
from gancli.errors import GancliError
from gancli.features.base import FeatureExtractor
from gancli.features.space import FeatureSpace
from gancli.losses.classic import NonSaturating
from gancli.losses.wasserstein import GradientPenalty, WeightClipping
from gancli.metrics.fidelity import ClassFidelity
from gancli.nets import dcgan, mlp, resnet
from gancli.nets.common import ClassEmbedding, ClassLogits, ConditionalBatchNorm, OneHotInput, Projection
from gancli.nets.spec import AUTOENCODER, AUX_CLASSIFIER, CONDITIONAL, ArchSpec
from gancli.optim.rules import Alternating, Consensus, Extragradient, Simultaneous
from gancli.plugins.manager import get_plugins
from gancli.train import checkpoint
from gancli.train.game import Game, GameSettings
from gancli.train.rundir import RunDir
from gancli.train.session import Session, open_data
from torch import nn

LABELS = DataRequest(labels=True)
R1 = GameSettings(r1=1.0)
OPTIONS = {"fit": "crop", "array": ""}


def write_png(path: Path, value: int, side: int = 8) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(kernels.encode_png(np.full((side, side, 3), value, dtype=np.uint8)))


def class_folder(root: Path) -> Path:
    """Two classes as subfolders: cats (two images, dark) and dogs (one, light)."""
    write_png(root / "cats" / "a.png", 10)
    write_png(root / "cats" / "b.png", 20)
    write_png(root / "dogs" / "c.png", 200)
    return root


def open_labelled(path: Path) -> ImageSource:
    return open_images(str(path), LABELS, OPTIONS)


# --- label sources ---------------------------------------------------------------------------------------------


def test_the_digits_are_labelled_and_a_labelled_batch_draws_the_images_of_a_plain_one() -> None:
    data = open_digits("digits", DataRequest(image_size=16), {"source": "sklearn"})
    assert data.classes == DIGIT_CLASSES and np.array_equal(data.targets, data.labels)
    x, y = data.labelled_batch(32, np.random.default_rng(5))
    indices = data.draw_indices(32, np.random.default_rng(5))
    assert torch.equal(y, torch.from_numpy(data.labels[indices]))
    assert torch.equal(x, data.batch(32, np.random.default_rng(5)))  # the same images, conditional or not


def test_stacked_digits_have_the_1000_modes_as_classes() -> None:
    request = DataRequest(image_size=16, labels=True)
    data = open_stacked("stacked-digits", request, {"examples": 20000, "seed": 0})
    assert len(data.classes) == MODES and data.classes[372] == "372"
    assert np.array_equal(data.targets, data.mode_labels)
    _, y = data.labelled_batch(4, np.random.default_rng(0))
    assert all(data.classes[k] == "".join(map(str, data.digits[data.mode_labels == k][0])) for k in y.tolist())


def test_a_mixture_labels_each_point_with_its_mode() -> None:
    data = GaussianMixture("ring8", ring(8, 1.0), 0.01)
    x, y = data.labelled_batch(64, np.random.default_rng(0))
    nearest = torch.cdist(x.double(), torch.from_numpy(data.modes)).argmin(dim=1)
    assert torch.equal(nearest, y) and len(data.classes) == 8


def test_class_subfolders_label_a_folder_as_imagefolder_does(tmp_path: Path) -> None:
    data = open_labelled(class_folder(tmp_path / "pets"))
    assert data.classes == ("cats", "dogs")
    order = np.argsort(data.images[:, 0, 0, 0])  # by brightness: a, b (cats), c (dogs)
    assert data.targets[order].tolist() == [0, 0, 1]


def test_a_folder_opens_unlabelled_without_conditional_whatever_its_layout(tmp_path: Path) -> None:
    root = class_folder(tmp_path / "pets")
    write_png(root / "loose.png", 99)
    data = open_images(str(root), DataRequest(), OPTIONS)
    assert len(data) == 4 and data.classes is None and data.targets is None


@pytest.mark.parametrize(
    ("arrange", "needles"),
    [
        (lambda root: write_png(root / "loose.png", 99), ("loose.png lies beside the class subfolders",)),
        (lambda root: (root / "birds").mkdir(), ("class 'birds'", "has no image")),
    ],
    ids=["loose image", "empty class"],
)
def test_a_folder_that_breaks_the_subfolder_rule_is_refused_naming_the_culprit(tmp_path, arrange, needles) -> None:
    root = class_folder(tmp_path / "pets")
    arrange(root)
    with pytest.raises(GancliError, match=needles[0]) as caught:
        open_labelled(root)
    assert all(needle in str(caught.value) for needle in needles)


def test_a_dataset_json_labels_the_images_and_wins_over_subfolders(tmp_path: Path) -> None:
    root = class_folder(tmp_path / "pets")
    listing = {"labels": [["cats/a.png", 2], ["cats/b.png", 0], ["dogs/c.png", 1]]}
    (root / "dataset.json").write_text(json.dumps(listing))
    data = open_labelled(root)
    order = np.argsort(data.images[:, 0, 0, 0])
    assert data.classes == ("0", "1", "2") and data.targets[order].tolist() == [2, 0, 1]


@pytest.mark.parametrize(
    ("labels", "needle"),
    [
        ([["cats/a.png", 0], ["cats/b.png", 1]], "no label for dogs/c.png"),
        ([["cats/a.png", 0], ["cats/b.png", -1], ["dogs/c.png", 1]], "entry 1 ['cats/b.png', -1]"),
        ([["cats/a.png", 0], ["cats/b.png", 1.5], ["dogs/c.png", 1]], "entry 1 ['cats/b.png', 1.5]"),
        ([["cats/a.png", 0], ["cats/b.png", "1"], ["dogs/c.png", 1]], "entry 1 ['cats/b.png', '1']"),
        ([["cats/a.png", 0], ["cats/b.png", 1], ["dogs/c.png", 1], ["gone.png", 0]], "entry 3 ['gone.png', 0]"),
        ([["cats/a.png", 0], ["cats/b.png", 2], ["dogs/c.png", 2]], "class 1 has no image"),
    ],
    ids=["missing", "negative", "fraction", "text", "no such image", "empty class"],
)
def test_a_bad_dataset_json_is_one_line_naming_the_file_and_the_entry(tmp_path: Path, labels, needle) -> None:
    root = class_folder(tmp_path / "pets")
    (root / "dataset.json").write_text(json.dumps({"labels": labels}))
    with pytest.raises(GancliError) as caught:
        open_labelled(root)
    message = str(caught.value)
    assert "\n" not in message and str(root / "dataset.json") in message and needle in message


def test_an_npz_with_x_and_y_is_labelled_with_its_class_names(tmp_path: Path) -> None:
    images = np.arange(4 * 8 * 8, dtype=np.uint8).reshape(4, 8, 8)
    np.savez(tmp_path / "set.npz", x=images, y=np.array([1, 0, 1, 1]), classes=np.array(["even", "odd"]))
    data = open_labelled(tmp_path / "set.npz")
    assert data.classes == ("even", "odd") and data.targets.tolist() == [1, 0, 1, 1]
    assert open_images(str(tmp_path / "set.npz"), DataRequest(), OPTIONS).targets is None  # x, read alone


@pytest.mark.parametrize(
    ("labels", "needle"),
    [
        (np.array([0, 1, 1]), "3 labels for 4 images"),
        (np.array([0, 1, -1, 1]), "entry 2: label -1"),
        (np.array([0, 1, 0.5, 1]), "entry 2: label 0.5"),
        (np.array([0, 2, 2, 0]), "class 1 has no image"),
    ],
    ids=["count", "negative", "fraction", "empty class"],
)
def test_bad_labels_in_an_npz_are_one_line_naming_the_array_and_the_entry(tmp_path: Path, labels, needle) -> None:
    np.savez(tmp_path / "set.npz", x=np.zeros((4, 8, 8), np.uint8), y=labels)
    with pytest.raises(GancliError) as caught:
        open_labelled(tmp_path / "set.npz")
    assert f"{tmp_path / 'set.npz'}:y" in str(caught.value) and needle in str(caught.value)


def write_version_1(path: Path, images: np.ndarray) -> None:
    """A packed file as gancli wrote them before labels (format version 1)."""
    fixed = struct.Struct("<8sIIQIIIQQI")
    text = b"old"
    n, c, h, w = images.shape
    head = fixed.pack(packed.MAGIC, 1, 4096, n, c, h, w, n, kernels.checksum(images), len(text)) + text
    head += struct.pack("<Q", kernels.checksum(head))
    path.write_bytes(head + bytes(4096 - len(head)) + images.tobytes())


def test_a_packed_file_keeps_labels_and_class_names_and_an_old_one_still_reads(gancli, tmp_path: Path) -> None:
    class_folder(tmp_path / "pets")
    output = ok(gancli("data", "prepare", "pets", "pets.ganpack", "--channels", "1"))
    assert "labelled in 2 classes" in output
    stored = packed.read_packed(tmp_path / "pets.ganpack")
    assert stored.classes == ("cats", "dogs") and sorted(stored.labels.tolist()) == [0, 0, 1]
    data = open_labelled(tmp_path / "pets.ganpack")
    assert data.classes == ("cats", "dogs") and np.array_equal(data.targets, stored.labels)
    images = np.arange(2 * 64, dtype=np.uint8).reshape(2, 1, 8, 8)
    write_version_1(tmp_path / "old.ganpack", images)
    old = packed.read_packed(tmp_path / "old.ganpack")
    assert np.array_equal(old.images, images) and old.classes is None
    with pytest.raises(GancliError, match="this packed file holds none"):
        open_labelled(tmp_path / "old.ganpack")


def test_conditional_training_on_unlabelled_data_names_the_data(gancli, tmp_path: Path) -> None:
    np.save(tmp_path / "faces.npy", np.zeros((8, 16, 16), np.uint8))
    one_line_error(gancli("train", "--data", "faces.npy", "--conditional", "--steps", "1"), "faces.npy", "labels")
    write_png(tmp_path / "flat" / "a.png", 1)
    result = gancli("train", "--data", "flat", "--conditional", "--steps", "1")
    one_line_error(result, "flat", "one subfolder per class")


# --- drawing classes evenly (--balance-classes) -----------------------------------------------------------


def drawn_classes(data: ImageSource, draws: int = 20_000) -> np.ndarray:
    rng = np.random.default_rng(0)
    return np.concatenate([data.targets[data.draw_indices(100, rng)] for _ in range(draws // 100)])


def test_balanced_draws_pick_each_class_equally_often_and_every_image_of_a_rare_one() -> None:
    """2 images of class 0 against 98 of class 1: about 2 % of plain draws, half of balanced ones (binomial
    s.d. 0.35 % on 20,000 draws), each of the two images about half of those."""
    targets = np.array([0, 0] + [1] * 98)
    data = ImageSource("uneven", np.arange(100, dtype=np.uint8).reshape(100, 1, 1, 1), targets=targets)
    assert 0.01 <= (drawn_classes(data) == 0).mean() <= 0.03
    data.balance_classes()
    classes = drawn_classes(data)
    assert 0.48 <= (classes == 0).mean() <= 0.52
    rng = np.random.default_rng(1)
    rare = np.concatenate([data.draw_indices(64, rng) for _ in range(200)])
    rare = rare[rare < 2]
    assert 0.4 <= (rare == 0).mean() <= 0.6


def test_balanced_draws_skip_the_held_out_images_and_a_class_left_without_any() -> None:
    targets = np.repeat([0, 1, 2], [30, 30, 4])
    data = ImageSource("three", np.zeros((64, 1, 2, 2), np.uint8), targets=targets)
    data.hold_out(40)
    held = set(data.held_out_indices.tolist())
    data.balance_classes()
    present = np.unique(targets[data.training_indices])
    rng = np.random.default_rng(0)
    drawn = np.concatenate([data.draw_indices(64, rng) for _ in range(100)])
    assert not held & set(drawn.tolist())
    shares = np.bincount(targets[drawn], minlength=3)[present] / len(drawn)
    assert np.all(np.abs(shares - 1 / len(present)) <= 0.05), shares


def test_balance_classes_reaches_the_run_s_data_and_is_refused_without_labels(gancli, tmp_path: Path) -> None:
    root = class_folder(tmp_path / "pets")
    for k in range(20):  # dogs: 21 light images against 2 dark cats
        write_png(root / "dogs" / f"more{k}.png", 200 + k)
    resolved = resolve(get_plugins().registry, {"data": "pets", "balance_classes": True, "device": "cpu"})
    data, classes = open_data(resolved)
    assert classes == 0 and data.classes == ("cats", "dogs")  # labels read for an unconditional run too
    assert 0.45 <= (drawn_classes(data, 4_000) == 0).mean() <= 0.55
    shown = ok(gancli("train", "--data", "pets", "--balance-classes", "--dry-run"))
    assert "each of its 2 classes drawn equally often" in " ".join(shown.split())
    one_line_error(
        gancli("train", "--data", "ring8", "--balance-classes", "--steps", "1"), "--balance-classes", "ring8"
    )
    write_png(tmp_path / "flat" / "a.png", 1)
    result = gancli("train", "--data", "flat", "--balance-classes", "--steps", "1")
    one_line_error(result, "flat", "one subfolder per class")


@pytest.mark.parametrize("balanced", [False, True], ids=["plain", "balanced"])
def test_fakes_ask_for_each_class_as_often_as_the_real_batches_hold_it(tmp_path: Path, balanced: bool) -> None:
    """Classes held 9 to 1, 40 images held out: the fakes' classes follow the real batches', a tenth light ones in
    plain draws (was every class alike: a half), a half under --balance-classes (binomial s.d. of a share on 6,400
    draws: at most 0.6 %)."""
    targets = (np.arange(400) % 10 == 9).astype(np.int64)
    np.savez(tmp_path / "set.npz", x=np.zeros((400, 16, 16), np.uint8), y=targets, classes=np.array(["a", "b"]))
    flags = {"data": str(tmp_path / "set.npz"), "conditional": True, "balance_classes": balanced, "holdout": 40}
    session = Session.build(resolve(get_plugins().registry, {**flags, "device": "cpu", "batch_size": 64}))
    real = torch.cat([session.game.sample_real().y for _ in range(100)]).float().mean()
    fake = torch.cat([session.game.sample_latent().y for _ in range(100)]).float().mean()
    expected = 0.5 if balanced else float(targets[session.data.training_indices].mean())
    assert abs(real - expected) < 0.025 and abs(fake - expected) < 0.025, (real, fake)
    (measured,) = session.training_classes(6400)  # the moving average's batch statistics are measured so too
    assert abs(measured.float().mean() - expected) < 0.025


# --- networks ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("build", "shape", "options"),
    [
        (dcgan.build, (1, 32, 32), {"g_width": 8, "d_width": 8}),
        (resnet.build, (3, 16, 16), {"g_width": 8, "d_width": 8}),
        (mlp.build, (2,), {"hidden": 16, "d_hidden": 0, "layers": 2, "batchnorm": True}),
    ],
    ids=["dcgan", "resnet", "mlp"],
)
def test_conditional_networks_take_the_class_and_their_outputs_depend_on_it(build, shape, options) -> None:
    torch.manual_seed(0)
    spec = ArchSpec(shape, 4, shape, frozenset({CONDITIONAL}), classes=3)
    generator, discriminator = build(spec, options)
    z = torch.randn(6, 4)
    with torch.no_grad():
        for module in (generator, discriminator):  # embeddings start neutral: move them as training would
            for embedding in (m for m in module.modules() if isinstance(m, nn.Embedding)):
                embedding.weight.normal_(0, 1)
        generator.eval()
        a, b = generator(z, torch.zeros(6, dtype=torch.long)), generator(z, torch.ones(6, dtype=torch.long))
        assert a.shape == (6, *shape) and not torch.allclose(a, b)
        scores = discriminator(a, torch.arange(6) % 3)
        assert scores.shape == (6,) and not torch.allclose(scores, discriminator(a, (torch.arange(6) + 1) % 3))
    with pytest.raises(GancliError, match="ebgan"):
        build(ArchSpec(shape, 4, shape, frozenset({CONDITIONAL, AUTOENCODER}), classes=3), options)


def test_conditional_batchnorm_scales_and_shifts_by_the_class_by_hand() -> None:
    norm = ConditionalBatchNorm(2, classes=3)
    with torch.no_grad():
        norm.scale.weight.copy_(torch.tensor([[1.0, 1.0], [2.0, 3.0], [1.0, 1.0]]))
        norm.shift.weight.copy_(torch.tensor([[0.0, 0.0], [0.5, -1.0], [0.0, 0.0]]))
    x = torch.tensor([[1.0, 2.0], [3.0, 6.0]]).reshape(2, 2, 1, 1)
    out = norm(x, torch.tensor([1, 0]))
    standard = torch.tensor([[-1.0, -1.0], [1.0, 1.0]]) * (1 / (1 + 1e-5 / 1) ** 0.5)  # (x − mean) / std per channel
    expected = torch.stack([standard[0] * torch.tensor([2.0, 3.0]) + torch.tensor([0.5, -1.0]), standard[1]])
    assert torch.allclose(out.reshape(2, 2), expected, atol=1e-4)


def test_the_projection_head_adds_the_class_embedding_times_the_features_by_hand() -> None:
    head = nn.Linear(2, 1)
    projection = Projection(nn.Identity(), head, features=2, classes=2)
    with torch.no_grad():
        head.weight.copy_(torch.tensor([[1.0, -1.0]]))
        head.bias.fill_(0.5)
        projection.embed.weight.copy_(torch.tensor([[2.0, 0.0], [0.0, 3.0]]))
    features = torch.tensor([[1.0, 2.0], [4.0, 1.0]])
    # ψ(φ) = φ₀ − φ₁ + 0.5; ⟨e_y, φ⟩: class 1 → 3·φ₁, class 0 → 2·φ₀
    assert projection(features, torch.tensor([1, 0])).tolist() == [-0.5 + 6.0, 3.5 + 8.0]


def test_a_class_of_factors_is_embedded_as_the_mean_of_its_factors_rows_by_hand() -> None:
    table = torch.arange(60, dtype=torch.float32).reshape(30, 2)
    embedding = ClassEmbedding((10, 10, 10), 2)
    with torch.no_grad():
        embedding.weight.copy_(table)
    # 372 is R 3 (row 3), G 7 (row 10 + 7), B 2 (row 20 + 2); 9 is 0, 0, 9 (rows 0, 10, 29)
    expected = torch.stack([(table[3] + table[17] + table[22]) / 3, (table[0] + table[10] + table[29]) / 3])
    assert torch.equal(embedding(torch.tensor([372, 9])), expected)
    one_hots = OneHotInput(nn.Identity(), (10, 10, 10))(torch.tensor([[0.5]]), torch.tensor([372]))
    assert one_hots.shape == (1, 31) and one_hots[0, 0] == 0.5
    assert one_hots[0, 1:].nonzero().flatten().tolist() == [3, 10 + 7, 20 + 2]
    plain = ClassEmbedding(5, 2)  # one factor: an nn.Embedding, state and lookup
    assert list(plain.state_dict()) == ["weight"] and torch.equal(plain(torch.tensor([4])), plain.weight[4:])
    norm = ConditionalBatchNorm(3, (10, 10, 10))  # the mean of ones: it starts as plain BatchNorm
    assert torch.equal(norm.scale(torch.tensor([372])), torch.ones(1, 3))


def test_acgan_s_logits_for_classes_of_factors_are_the_sums_of_a_classifier_per_factor_by_hand() -> None:
    head = ClassLogits(2, (10, 10, 10))
    with torch.no_grad():
        head.weight.copy_(torch.arange(60, dtype=torch.float32).reshape(30, 2) / 30)
        head.bias.zero_()
    features = torch.tensor([[1.0, -2.0], [0.5, 0.5]])
    per_digit = features @ head.weight.T  # 30 logits: R's digits, then G's, then B's
    logits = head(features)
    assert logits.shape == (2, 1000)
    assert torch.allclose(logits[:, 372], per_digit[:, 3] + per_digit[:, 17] + per_digit[:, 22])
    # a class's cross-entropy is the sum of its three digits' own
    asked = torch.tensor([372, 9])
    digits = [per_digit[:, 10 * k : 10 * (k + 1)] for k in range(3)]
    targets = [torch.tensor([3, 0]), torch.tensor([7, 0]), torch.tensor([2, 9])]
    by_digit = sum(nn.functional.cross_entropy(d, t) for d, t in zip(digits, targets, strict=True))
    assert torch.allclose(nn.functional.cross_entropy(logits, asked), by_digit)


@pytest.mark.parametrize(
    ("build", "options"),
    [
        (dcgan.build, {"g_width": 8, "d_width": 8}),
        (resnet.build, {"g_width": 8, "d_width": 8}),
        (mlp.build, {"hidden": 16, "d_hidden": 0, "layers": 2, "batchnorm": True}),
    ],
    ids=["dcgan", "resnet", "mlp"],
)
def test_the_built_in_networks_embed_classes_of_factors_one_factor_at_a_time(build, options) -> None:
    torch.manual_seed(0)
    shape = (3, 16, 16)
    spec = ArchSpec(shape, 4, shape, frozenset({CONDITIONAL, AUX_CLASSIFIER}), classes=1000, class_factors=(10,) * 3)
    generator, discriminator = build(spec, options)
    embeddings = [m for net in (generator, discriminator) for m in net.modules() if isinstance(m, nn.Embedding)]
    assert all(m.weight.shape[0] == 30 for m in embeddings) and (embeddings or build is mlp.build)
    z = torch.randn(4, 4)
    with torch.no_grad():
        for embedding in embeddings:
            embedding.weight.normal_(0, 1)
        generator.eval()
        a, b = generator(z, torch.full((4,), 372)), generator(z, torch.full((4,), 379))  # the B digit alone differs
        assert a.shape == (4, *shape) and not torch.allclose(a, b)
        scores, logits = discriminator(a, torch.full((4,), 372))
        assert logits.shape == (4, 1000) and not torch.allclose(scores, discriminator(a, torch.full((4,), 972))[0])


@pytest.mark.parametrize(
    "rule",
    [Alternating(), Simultaneous(), Consensus(gamma=1.0), Extragradient()],
    ids=["alternating", "simultaneous", "consensus", "extragradient"],
)
@pytest.mark.parametrize(
    ("loss", "settings"),
    [(WeightClipping(0.01), GameSettings()), (GradientPenalty(10.0), GameSettings()), (NonSaturating(), R1)],
    ids=["wgan", "wgan-gp", "nonsaturating-r1"],
)
def test_every_rule_and_penalty_steps_a_conditional_game(rule, loss, settings) -> None:
    """Labelled batches go through every update rule unchanged; WGAN's clipping reaches the class embedding, and
    the gradient penalties (WGAN-GP's, R1) are taken with the classes."""
    torch.manual_seed(0)
    spec = ArchSpec((2,), 2, (2,), frozenset({CONDITIONAL}), classes=4)
    generator, critic = mlp.build(spec, {"hidden": 8, "d_hidden": 0, "layers": 1, "batchnorm": False})
    with torch.no_grad():
        critic.embed.weight.fill_(1.0)
    labelled = lambda: Labelled(torch.randn(8, 2), torch.randint(4, (8,)))  # noqa: E731
    game = Game(
        generator,
        critic,
        loss,
        torch.optim.RMSprop(generator.parameters(), lr=1e-3),
        torch.optim.RMSprop(critic.parameters(), lr=1e-3),
        sample_real=labelled,
        sample_latent=labelled,
        settings=settings,
        conditional=True,
    )
    rule.step(game)
    assert game.d_updates == 1 and game.g_updates == 1
    assert all(bool(torch.isfinite(value).all()) for value in game.stats.values())
    assert ("penalty" in game.stats) == isinstance(loss, GradientPenalty) and ("r1" in game.stats) == (settings == R1)
    if isinstance(loss, WeightClipping):
        assert all(float(p.detach().abs().max()) <= 0.01 for p in critic.parameters())


# --- learning, and asking for a class ---------------------------------------------------------------------------


@pytest.mark.parametrize("rule", ["alternating", "extragradient"])
def test_a_conditional_ring_draws_the_mode_it_is_asked_for(gancli, tmp_path: Path, rule: str) -> None:
    """ring8, each point labelled with its mode: 400 steps put the samples asked for mode k nearest mode k.
    Seeds 0–2, both rules: every one of 800 samples (chance: 1/8); 200 steps gave 0.56–0.87."""
    budget = ["--steps", "400", "--batch-size", "256", "--lr", "1e-3", "--lr-schedule", "constant", "--ema", "0.99"]
    small = ["--set", "mlp.hidden=64", "--eval-every", "400", "--set", "modes.samples=200"]
    ok(gancli("train", "--data", "ring8", "--conditional", "--update", rule, *budget, *small, "-q", "--out", "run"))
    classes = [arg for k in range(8) for arg in ("--class", str(k))]
    ok(gancli("sample", "run", *classes, "--n", "800", "-o", "samples.npz"))
    samples = np.load(tmp_path / "samples.npz")
    assert samples["y"].tolist() == [k % 8 for k in range(800)] and list(samples["classes"]) == list("01234567")
    nearest = np.argmin(((samples["x"][:, None] - ring(8, 1.0)[None]) ** 2).sum(-1), axis=1)
    assert (nearest == samples["y"]).mean() >= 0.9


@pytest.fixture(scope="module")
def conditional_digits(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 2-step conditional run on the 8×8 digits at 16 px, for the commands that read a conditional run."""
    from gancli import cli
    from typer.testing import CliRunner

    path = tmp_path_factory.mktemp("conditional") / "run"
    config = path.parent / "config.toml"
    config.write_text('metrics = ["class-fidelity"]\n')  # its last step's evaluation: the one metric read here
    args = ["train", "--data", "digits", "--set", "source=sklearn", "--image-size", "16", "--conditional"]
    args += ["--steps", "2", "--batch-size", "16", "--eval-samples", "100", "--config", str(config)]
    args += ["-q", "--out", str(path)]
    result = CliRunner().invoke(cli.build_app(), args)
    assert result.exit_code == 0, result.output
    return path


def test_sample_and_grid_ask_for_classes_by_index_or_name(gancli, tmp_path: Path, conditional_digits) -> None:
    ok(gancli("sample", str(conditional_digits), "--class", "7", "--class", "2", "--n", "4", "-o", "s.npz"))
    samples = np.load(tmp_path / "s.npz")
    assert samples["x"].shape == (4, 1, 16, 16) and samples["y"].tolist() == [7, 2, 7, 2]
    one_line_error(gancli("sample", str(conditional_digits), "--class", "cat", "-o", "t.npz"), "--class cat")
    one_line_error(gancli("sample", str(conditional_digits), "-o", "t.npy"), "t.npy", ".npz")
    ok(gancli("grid", str(conditional_digits), "--by-class", "--nrow", "4", "-o", "rows.png"))
    picture = kernels.decode_image((tmp_path / "rows.png").read_bytes(), name="rows.png")
    assert picture.shape[0] >= 10 * 18  # ten rows of 16-px digits, padded
    ok(gancli("grid", str(conditional_digits), "--by-class", "--class", "3", "--nrow", "4", "-o", "three.png"))
    three = kernels.decode_image((tmp_path / "three.png").read_bytes(), name="three.png")
    assert three.shape[0] < 3 * 18
    # the run's own sample images are a labelled row per class, which --animate strings together
    frame = kernels.decode_image(next((conditional_digits / "samples").glob("*.png")).read_bytes(), name="frame")
    assert frame.shape == picture.shape[:1] + frame.shape[1:] and frame.shape[0] >= 10 * 18
    ok(gancli("grid", str(conditional_digits), "--by-class", "--animate", "-o", "progress.png"))
    one_line_error(gancli("grid", str(conditional_digits), "--animate", "--class", "3", "-o", "p.png"), "--class")


def test_a_by_class_grid_shares_each_column_s_noise_across_the_classes(conditional_digits) -> None:
    """Rows differ only by the class: a G that ignores the class draws the same image down each column, and one
    whose class embeddings differ draws different images per class from one column's noise."""
    from gancli.render import by_class_samples
    from gancli.train.lifecycle import open_run

    session, _ = open_run(conditional_digits, None, data=None)
    embeddings = [m for m in session.sampler.modules() if isinstance(m, nn.Embedding)]
    with torch.no_grad():
        for embedding in embeddings:  # every class as the first: the class no longer matters
            embedding.weight.copy_(embedding.weight[:1].expand_as(embedding.weight))
    samples = by_class_samples(session, [0, 3, 7], per_row=4, seed=5).reshape(3, 4, -1)
    assert torch.equal(samples[0], samples[1]) and torch.equal(samples[0], samples[2])
    assert all(not torch.allclose(samples[0, 0], samples[0, col]) for col in (1, 2, 3))  # a column's own noise
    with torch.no_grad():
        for embedding in embeddings:
            embedding.weight.normal_(0, 1, generator=torch.Generator().manual_seed(0))
    samples = by_class_samples(session, [0, 3, 7], per_row=4, seed=5).reshape(3, 4, -1)
    assert not torch.allclose(samples[0], samples[1]) and not torch.allclose(samples[1], samples[2])


def test_an_unconditional_run_refuses_class_requests(gancli, tiny_run: Path) -> None:
    one_line_error(gancli("sample", str(tiny_run), "--class", "1", "-o", "s.npy"), "--class 1", "--conditional")
    one_line_error(gancli("grid", str(tiny_run), "--by-class", "-o", "g.png"), "--by-class", "--conditional")
    one_line_error(gancli("grid", str(tiny_run), "--by-class", "--animate", "-o", "a.png"), "--by-class")


def test_resume_refuses_data_whose_classes_differ_naming_both(gancli, tmp_path: Path) -> None:
    images = np.random.default_rng(0).integers(0, 256, size=(16, 16, 16), dtype=np.uint8)
    labels = np.arange(16) % 2
    np.savez(tmp_path / "set.npz", x=images, y=labels, classes=np.array(["cat", "dog"]))
    tiny = ["--arch", "mlp", "--set", "mlp.hidden=16", "--batch-size", "8", "--eval-every", "100", "-q"]
    ok(gancli("train", "--data", "set.npz", "--conditional", "--steps", "2", *tiny, "--out", "run"))
    np.savez(tmp_path / "set.npz", x=images, y=labels, classes=np.array(["cat", "fox"]))
    result = gancli("train", "--resume", "run", "--steps", "4", "--allow-data-change")
    one_line_error(result, "2 classes (cat, dog)", "2 classes (cat, fox)")


def test_stacked_digits_train_on_factors_and_an_older_checkpoint_of_one_table_still_samples_and_resumes(
    gancli, tmp_path: Path
) -> None:
    (tmp_path / "config.toml").write_text("metrics = []\n")
    tiny = ["--data", "stacked-digits", "--conditional", "--arch", "mlp", "--set", "mlp.hidden=16", "--image-size", "8"]
    tiny += ["--batch-size", "8", "--config", "config.toml", "-q"]
    shown = " ".join(ok(gancli("train", *tiny, "--steps", "2", "--dry-run")).split())
    assert "conditioned on its 1,000 classes (10 × 10 × 10, embedded factor by factor)" in shown
    ok(gancli("train", *tiny, "--steps", "2", "--out", "run"))
    run = RunDir(tmp_path / "run")
    json_path = run.checkpoint("2")
    assert json.loads(json_path.read_text())["class_factors"] == [10, 10, 10]
    ok(gancli("sample", "run", "--class", "372", "--n", "2", "-o", "s.npz"))
    # the same run as gancli before class factors saved it: one table of 1,000 classes, no class_factors entry
    session = Session.build(resolve(get_plugins().registry, {}, run.config), class_factors=())
    session.step = 2
    checkpoint.save(session, run.checkpoints)
    meta = json.loads(json_path.read_text())
    assert meta.pop("class_factors") == []
    json_path.write_text(json.dumps(meta))
    ok(gancli("sample", "run", "--class", "372", "--n", "2", "-o", "older.npz"))
    ok(gancli("train", "--resume", "run", "--steps", "4"))
    resumed = json.loads(run.checkpoint("4").read_text())
    assert resumed["class_factors"] == [] and resumed["classes"][372] == "372"


# --- class fidelity ---------------------------------------------------------------------------------------------


class BrightnessClassifier(FeatureExtractor):
    """Calls an image class k when its mean pixel, mapped to 0..1, is nearest k/9: a classifier whose verdict is
    known in advance."""

    def embed(self, images: torch.Tensor) -> torch.Tensor:
        return images.flatten(1)

    def classify(self, images: torch.Tensor) -> torch.Tensor:
        level = ((images.mean(dim=(1, 2, 3)) + 1) / 2 * 9).round().long().clamp(0, 9)
        return nn.functional.one_hot(level, 10).float()[:, None]


def test_class_fidelity_is_the_share_of_samples_the_classifier_puts_in_the_class_asked_for() -> None:
    targets = np.arange(200) % 10
    images = np.repeat(np.round(targets / 9 * 255).astype(np.uint8), 16).reshape(200, 1, 4, 4)
    data = ImageSource("levels", images, targets=targets, classes=tuple(map(str, range(10))))
    space = FeatureSpace(BrightnessClassifier(), data, 50)
    asked = torch.arange(20) % 10
    samples = (asked.float() / 9 * 2 - 1).reshape(20, 1, 1, 1).expand(20, 1, 4, 4).clone()
    samples[asked == 3] = 1.0  # every 3 drawn as a 9
    figures = ClassFidelity().score(space, samples, asked)
    assert figures["class_fidelity"] == pytest.approx(0.9) and figures["class_fidelity_worst"] == 0.0
    assert figures["class_fidelity.3"] == 0.0 and figures["class_fidelity.9"] == 1.0
    assert figures["class_fidelity_real"] == 1.0  # the held-out real images are what they are labelled


def test_the_class_ignored_diagnostic_names_fidelity_near_chance_once_the_run_is_past_its_first_evaluation() -> None:
    from types import SimpleNamespace

    from gancli.diagnostics.classes import ClassIgnored

    diagnostic = ClassIgnored({"factor": 2.0, "share": 0.1, "evaluations": 2})
    assert not diagnostic.applies_to(SimpleNamespace(classes=None))  # an unconditional run
    assert diagnostic.applies_to(SimpleNamespace(classes=DIGIT_CLASSES))
    ignored = {"step": 2000, "class_fidelity": 0.12, "class_fidelity_real": 0.98}
    assert diagnostic.check([], [ignored]) is None  # a first evaluation may be noise
    finding = diagnostic.check([], [{**ignored, "step": 1000}, ignored])
    assert finding is not None and "G ignores the class" in finding.message
    assert "12.0% of the time (chance 10.0%" in finding.message
    assert "--arch dcgan or resnet" in finding.hint
    assert diagnostic.check([], [ignored, {**ignored, "class_fidelity": 0.9}]) is None
    assert diagnostic.check([], [ignored, {**ignored, "class_fidelity_real": 0.15}]) is None  # nor the classifier
    # 1,000 classes (stacked digits, step 2,000 of a conditional run): four times chance, a 235th of the real figure
    many = ClassIgnored({"factor": 2.0, "share": 0.1, "evaluations": 2})
    assert many.applies_to(SimpleNamespace(classes=tuple(f"{k:03d}" for k in range(1000))))
    ignored = {"step": 2000, "class_fidelity": 0.004, "class_fidelity_real": 0.939}
    finding = many.check([], [ignored, ignored])
    assert finding is not None and "0.4% of the time (chance 0.1%; held-out real images 94%)" in finding.message
    assert many.check([], [ignored, {**ignored, "class_fidelity": 0.2}]) is None  # learning the classes


# --- a third-party conditional plugin ---------------------------------------------------------------------------

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "gancli-conditional"


def moon_of(points: np.ndarray) -> np.ndarray:
    """The moon (0 upper, 1 lower) whose half circle passes nearer each point."""
    upper = np.abs(np.hypot(points[:, 0], points[:, 1]) - 1) + np.maximum(-points[:, 1], 0)
    lower = np.abs(np.hypot(points[:, 0] - 1, points[:, 1] - 0.5) - 1) + np.maximum(points[:, 1] - 0.5, 0)
    return (lower < upper).astype(int)


def test_the_example_conditional_plugin_trains_conditioned_through_its_entry_point(gancli, monkeypatch, tmp_path):
    """examples/gancli-conditional seen as an installed package (a fake entry point; the pip install is
    tests/test_example_plugin.py's kind of test): its labelled dataset and its own conditional architecture learn
    which moon is asked for. Seeds 0–2: 1.0, 0.995, 1.0 of 400 samples on the moon asked for (chance: 1/2)."""
    from cli_helpers import entry_point
    from gancli.plugins import manager

    monkeypatch.syspath_prepend(str(EXAMPLE))
    plugin = entry_point("conditional", "gancli_conditional", "gancli-conditional")
    monkeypatch.setattr(manager, "entry_points", lambda group: [plugin])
    manager.get_plugins.cache_clear()
    budget = ["--steps", "500", "--batch-size", "256", "--lr", "1e-3", "--eval-every", "1000", "-q"]
    one_line_error(gancli("train", "--data", "moons", *budget, "--out", "plain"), "moons-net", "--conditional")
    ok(gancli("train", "--data", "moons", "--conditional", *budget, "--out", "run"))
    assert json.loads((tmp_path / "run" / "config.json").read_text())["arch"] == "moons-net"
    ok(gancli("sample", "run", "--class", "upper", "--class", "lower", "--n", "400", "-o", "moons.npz"))
    samples = np.load(tmp_path / "moons.npz")
    assert (moon_of(samples["x"]) == samples["y"]).mean() >= 0.9
    manager.get_plugins.cache_clear()


def test_intra_class_figures_see_samples_of_another_class_and_a_narrow_class() -> None:
    """Where the space has no classifier, class-fd still tells: samples drawn like their class's real images
    score about the real floor; the same samples asked for the next class score far worse, with no precision;
    samples that each repeat a few images of the class asked for keep their precision and lose their recall."""
    from gancli.metrics.fidelity import IntraClass

    rng = np.random.default_rng(0)
    targets = np.arange(2000) % 4
    levels = (targets * 60 + 20)[:, None] + rng.normal(0, 8, size=(2000, 16))
    images = np.clip(levels, 0, 255).astype(np.uint8).reshape(2000, 1, 4, 4)
    data = ImageSource("levels", images, targets=targets, classes=("a", "b", "c", "d"))
    space = FeatureSpace(BrightnessClassifier(), data, 400)
    asked = torch.arange(400) % 4
    fresh = (asked[:, None] * 60 + 20) + torch.from_numpy(rng.normal(0, 8, size=(400, 16)))
    samples = (fresh.clamp(0, 255).round() / 127.5 - 1).float().reshape(400, 1, 4, 4)
    metric = IntraClass()
    right = metric.score(space, samples, asked)
    wrong = metric.score(space, samples, (asked + 1) % 4)
    narrow = metric.score(
        space, samples[asked.argsort()][torch.arange(400) // 100 * 100 + torch.arange(400) % 3], asked.sort().values
    )
    assert right["class_fd"] < 2 * right["class_fd_real"] + 0.01
    assert wrong["class_fd"] > 20 * right["class_fd"] and wrong["class_fd_real"] == right["class_fd_real"]
    assert (
        right["class_precision"] >= 0.8 * right["class_precision_real"]
        and right["class_recall"] >= 0.8 * right["class_recall_real"]
    )
    assert wrong["class_precision"] <= 0.05 and wrong["class_recall"] <= 0.05
    assert narrow["class_precision"] >= 0.8 * right["class_precision"] and narrow["class_recall"] <= 0.2
    # each class's own FD names the one class drawn too light, beside each class's own floor
    lighter = samples.clone()
    lighter[asked == 2] += 0.3  # about 38 gray levels, against the classes' 60 apart
    own = metric.score(space, lighter, asked)
    for name in "abd":
        assert own[f"class_fd.{name}"] < 2 * own[f"class_fd.{name}_real"] + 0.01
    assert own["class_fd.c"] > 10 * max(own[f"class_fd.{name}"] for name in "abd")
    assert own["class_fd.c_real"] == right["class_fd.c_real"] and own["class_fd.c"] > 10 * own["class_fd.c_real"]
    # a class named like another's floor gets no figure of its own, which would pass for that floor
    renamed = ImageSource("levels", images, targets=targets, classes=("a", "a_real", "c", "d"))
    figures = metric.score(FeatureSpace(BrightnessClassifier(), renamed, 400), lighter, asked)
    assert figures["class_fd.a_real"] == own["class_fd.a_real"] and "class_fd.a_real_real" not in figures


class LevelDrawer(nn.Module):
    """A conditional G that draws each class as the test's data does: the class's gray level plus noise."""

    def __init__(self, levels: torch.Tensor) -> None:
        super().__init__()
        self.levels, self.noise = levels, torch.Generator().manual_seed(1)

    def forward(self, z: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        pixels = self.levels[labels][:, None, None, None] + torch.randn(len(z), 1, 16, 16, generator=self.noise) * 20
        return (pixels.clamp(0, 255).round() / 127.5 - 1).float()


def test_the_overall_figures_of_a_conditional_run_draw_the_classes_as_often_as_the_data_holds_them(
    gancli, tmp_path: Path
) -> None:
    """Classes held 9 to 1: a G that draws each class exactly as the data does scores FD at the real floor (0.96×
    it), since the samples ask for the reference images' classes; asked for each class alike, as they were, half
    of them were light images against a tenth of the data (30× the floor). One class drawn wrong is still seen."""
    from gancli.api import open_run
    from gancli.train.evaluation import Evaluation

    rng = np.random.default_rng(0)
    targets = (np.arange(2000) % 10 == 9).astype(np.int64)
    levels = torch.tensor([60.0, 190.0])
    pixels = levels.numpy()[targets][:, None, None] + rng.normal(0, 20, size=(2000, 16, 16))
    images = np.clip(pixels, 0, 255).round().astype(np.uint8)
    np.savez(tmp_path / "set.npz", x=images, y=targets, classes=np.array(["dark", "light"]))
    args = ["--data", "set.npz", "--conditional", "--steps", "1", "--ema", "0", "--eval-samples", "500"]
    (tmp_path / "fd.toml").write_text('metrics = ["fd"]\n')
    ok(gancli("train", *args, "--config", "fd.toml", "-q", "--out", "run"))
    session, _ = open_run(tmp_path / "run")
    session.generator = LevelDrawer(levels)
    figures = Evaluation(session, strict=True)(0)
    assert figures["fd"] < 2 * figures["fd_real"]
    session.generator.levels = torch.tensor([60.0, 140.0])  # the light class drawn too dark: seen
    assert Evaluation(session, strict=True)(0)["fd"] > 3 * figures["fd_real"]  # 4.7×

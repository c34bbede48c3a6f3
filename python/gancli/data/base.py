"""The one interface of a dataset plugin, a DataSource that hands out batches (with their class labels, for a
dataset that declares classes), and the capabilities a data source may declare (labelled images, a known mixture)
for the metrics that need them."""

from __future__ import annotations

import numbers
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, NamedTuple, Protocol, runtime_checkable

import numpy as np
import torch

from gancli.errors import GancliError
from gancli.nets.spec import CHANNELS, factors_fit
from gancli.plugins.contracts import describe

if TYPE_CHECKING:
    from gancli.kernels import AugmentSpec
    from gancli.plugins.registry import Registration


@dataclass(frozen=True)
class DataRequest:
    """What the run asks of an image dataset; point datasets ignore it."""

    image_size: int | None = None
    channels: int | None = None
    augment: str = ""
    skip_bad: bool = False
    background: str = "black"  # under transparent pixels and around padded images: black, white or #rrggbb
    labels: bool = False  # --conditional or --balance-classes: read the class labels too (refused without them)


class Labelled(NamedTuple):
    """Samples with their class indices: what a conditional run's batches, latents and fakes are, so that the
    classes travel with them through the Game and no update rule needs to know."""

    x: torch.Tensor
    y: torch.Tensor  # int64 (B,), each in 0 … classes − 1


class DataSource(ABC):
    """Training data: a sample shape and seeded batches.

    Batches come from the run's numpy Generator only, so a seed fixes them and a resumed run, whose
    generator state was saved, continues with the very batches the uninterrupted run would have seen.

    A dataset whose examples carry classes declares ``classes`` (their names; a label is an index into it) and
    implements ``labelled_batch``, which ``--conditional`` runs draw instead of ``batch``; an unconditional run
    never calls it, so labels cost it nothing.
    """

    name: str
    shape: tuple[int, ...]
    #: points (2-D samples, drawn as a scatter) or images (C, H, W in [-1, 1], drawn as a grid)
    is_image: bool = False
    #: the class names, a label indexing them; None for data without classes
    classes: tuple[str, ...] | None = None
    #: classes made of independent factors, the label a mixed-radix number of their values, the first factor most
    #: significant (stacked digits: (10, 10, 10), the label 100·a + 10·b + c), so that a conditional architecture
    #: may learn each factor's values from every class sharing them; None: the classes as they are
    class_factors: tuple[int, ...] | None = None

    @abstractmethod
    def __len__(self) -> int:
        """How many distinct training examples there are (for information)."""

    @abstractmethod
    def batch(self, size: int, rng: np.random.Generator) -> torch.Tensor:
        """A float32 CPU tensor of ``size`` samples of ``shape``."""

    def labelled_batch(self, size: int, rng: np.random.Generator) -> Labelled:
        """``size`` samples as ``batch`` draws them, with each one's class index (int64); for ``--conditional``
        runs, on data that declares ``classes``."""
        raise GancliError(f"dataset {self.name!r} has no class labels")

    def fingerprint(self) -> str | None:
        """A digest of the examples' content, recorded in every checkpoint so that ``--resume`` notices data
        that changed under the run; None (the default) for data drawn from a formula, whose options the run's
        configuration already records."""
        return None


class ImageSource(DataSource):
    """Images held as one uint8 array (N, C, H, W), augmented by the native kernels on the way out.

    ``augment`` is the ``--augment`` spec; a bad one is refused here, naming the flag, so every image
    dataset (built-in or third-party) checks it the same way. ``targets`` (the class index of each image) and
    ``classes`` (their names, by default "0", "1", …) make the images labelled, as torchvision's ImageFolder
    names them; ``check_targets`` is how a loader refuses bad ones, naming its file.
    """

    is_image = True

    def __init__(
        self,
        name: str,
        images: np.ndarray,
        augment: str = "",
        targets: np.ndarray | None = None,
        classes: tuple[str, ...] | None = None,
    ) -> None:
        if images.ndim != 4 or images.dtype != np.uint8:
            raise ValueError(f"{name}: expected a uint8 array (N, C, H, W), got {images.dtype} {images.shape}")
        if len(images) == 0:
            raise ValueError(f"{name}: the dataset holds no images")
        self.name = name
        self.images = images
        self.shape = tuple(images.shape[1:])
        self.augment = self.parse_augment(augment)
        self._fingerprint: str | None = None
        self.targets = None if targets is None else check_targets(name, targets, len(images), classes)
        if self.targets is not None:
            self.classes = classes or tuple(str(k) for k in range(int(self.targets.max()) + 1))
        #: the images kept out of training (``hold_out``) and those batches are drawn from, each sorted
        self.held_out_indices = np.zeros(0, dtype=np.int64)
        self.training_indices = np.arange(len(images))
        #: ``--balance-classes``: the training indices grouped by class, and each class's first place and count
        self._by_class: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None

    @staticmethod
    def parse_augment(spec: str) -> AugmentSpec:
        """The parsed ``--augment`` spec, or a one-line GancliError naming the flag. A dataset that reads for
        long may call this first, so that a typo fails before the reading rather than after it."""
        from gancli import kernels

        try:
            return kernels.AugmentSpec.parse(spec)
        except ValueError as exc:
            raise GancliError(f"--augment {spec!r}: {exc}") from None

    def __len__(self) -> int:
        return len(self.images)

    def fingerprint(self) -> str:
        """XXH3-64 of the pixels, (N, C, H, W) in C order, once per session: the native kernel reads the array
        in place with the GIL released, memory-mapped files included (docs/kernels.md has its cost)."""
        if self._fingerprint is None:
            from gancli import kernels

            self._fingerprint = f"xxh3:{kernels.checksum(np.ascontiguousarray(self.images)):016x}"
        return self._fingerprint

    def hold_out(self, count: int) -> None:
        """Keep ``count`` images out of training (``--holdout``), so that D's scores on them and the real floors
        of ``gancli eval`` come from images the run never trained on. The choice is fixed whatever the run's seed
        (a permutation of seed 0), so every seed and a resumed run keep out the same images."""
        order = np.random.default_rng(0).permutation(len(self.images))
        self.held_out_indices, self.training_indices = np.sort(order[:count]), np.sort(order[count:])

    def balance_classes(self) -> None:
        """Draw each example of a batch from a class chosen uniformly (among those with a training image), then
        an image of that class uniformly (``--balance-classes``): a class of 2 images is seen as often as one of
        600, its images repeated. Call after ``hold_out``, on labelled images."""
        if self.targets is None:
            raise ValueError(f"{self.name}: the images have no class labels to balance")
        labels = self.targets[self.training_indices]
        grouped = self.training_indices[np.argsort(labels, kind="stable")]
        counts = np.bincount(labels, minlength=len(self.classes or ()))
        starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
        present = np.flatnonzero(counts)
        self._by_class = (grouped, starts[present], counts[present])

    def draw_indices(self, size: int, rng: np.random.Generator) -> np.ndarray:
        """The training examples of the next batch, sorted (the gather then reads memory forwards)."""
        if self._by_class is None:
            return np.sort(self.training_indices[rng.integers(0, len(self.training_indices), size=size)])
        grouped, starts, counts = self._by_class
        classes = rng.integers(0, len(counts), size=size)
        return np.sort(grouped[starts[classes] + rng.integers(0, counts[classes])])

    def batch(self, size: int, rng: np.random.Generator) -> torch.Tensor:
        return signed(self.stored_batch(size, rng))

    def labelled_batch(self, size: int, rng: np.random.Generator) -> Labelled:
        if self.targets is None:
            return super().labelled_batch(size, rng)
        images, classes = self.stored_labelled_batch(size, rng)
        return Labelled(signed(images), classes)

    def stored_batch(self, size: int, rng: np.random.Generator) -> torch.Tensor:
        """The batch ``batch`` draws, its images still uint8 as stored (augmented): what a training run carries to
        its device, a quarter of the bytes of floats, and turns into floats there (``signed``)."""
        return torch.from_numpy(self.augmented(self.draw_indices(size, rng), rng))

    def stored_labelled_batch(self, size: int, rng: np.random.Generator) -> Labelled:
        """The batch ``labelled_batch`` draws, its images uint8 as stored (see ``stored_batch``)."""
        assert self.targets is not None, "images without targets label their batches their own way"
        indices = self.draw_indices(size, rng)
        return Labelled(torch.from_numpy(self.augmented(indices, rng)), torch.from_numpy(self.targets[indices]))

    def augmented(self, indices: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """The uint8 images at ``indices``, augmented with a seed drawn from ``rng``."""
        images = self.images[indices]
        if self.augment:
            from gancli import kernels

            images = kernels.augment(images, self.augment, seed=int(rng.integers(0, 2**63 - 1)))
        return images

    def pixels(self, indices: np.ndarray) -> torch.Tensor:
        """The images at ``indices``, in that order, in [-1, 1] as stored (no ``--augment``): what the metrics and
        diagnostics compare with."""
        return signed(self.images[indices])


def signed(images: np.ndarray | torch.Tensor) -> torch.Tensor:
    """uint8 images as floats in [-1, 1], the range G draws in (on the tensor's device)."""
    return torch.as_tensor(images).float().div_(127.5).sub_(1.0)


def draws_as_stored(data: DataSource) -> bool:
    """Whether ``data`` draws its batches as ``ImageSource`` does (``stored_batch``: uint8 images, the kernels'
    augmentation, classes from ``targets``), so that they may travel as stored and be drawn on the device; a
    subclass that draws or labels its images its own way is drawn through its ``batch`` and ``labelled_batch``."""
    if not isinstance(data, ImageSource):
        return False
    kind = type(data)
    own_way = kind.batch is not ImageSource.batch or kind.labelled_batch is not ImageSource.labelled_batch
    return not own_way and (data.classes is None or data.targets is not None)


def check_targets(where: str, targets: Any, count: int, classes: tuple[str, ...] | None = None) -> np.ndarray:
    """The class index of each of ``count`` examples as int64, or a one-line GancliError naming ``where`` (the
    file) and the first bad entry: a count that differs, a value that is not a whole number, one out of range,
    or a class (of ``classes``, else of 0 … the largest label) that no example has."""
    values = np.asarray(targets)
    if values.ndim != 1 or len(values) != count:
        raise GancliError(f"{where}: {values.size} labels for {count} images; each image needs one")
    if not (np.issubdtype(values.dtype, np.integer) or np.issubdtype(values.dtype, np.floating)):
        raise GancliError(f"{where}: labels must be whole numbers, got {values.dtype}")
    whole = np.isfinite(values) & (values == np.round(values)) if values.dtype.kind == "f" else np.ones(count, bool)
    known = len(classes) if classes else None
    bad = ~whole | (values < 0) | (False if known is None else values >= known)
    if bad.any():
        entry = int(np.argmax(bad))
        allowed = f"0 … {known - 1}" if known else "a whole number ≥ 0"
        raise GancliError(f"{where}: entry {entry}: label {values[entry].item()!r} is not a class index ({allowed})")
    labels = values.astype(np.int64)
    empty = first_empty_class(labels, known or 0)
    if empty is not None:
        name = f" {classes[empty]!r}" if classes else ""
        raise GancliError(f"{where}: class {empty}{name} has no image; every class needs at least one")
    return labels


def first_empty_class(labels: np.ndarray, classes: int) -> int | None:
    """The first of ``classes`` (at least; up to the largest label) that no label names, or None."""
    counts = np.bincount(labels, minlength=classes)
    return int(np.argmin(counts)) if (counts == 0).any() else None


def is_data_source(obj: Any) -> bool:
    """What a dataset's factory must return."""
    return isinstance(obj, DataSource)


DRY_BATCH = 2


def check_data(reg: Registration, data: DataSource) -> None:
    """The dataset's contract, checked once as a run is built, naming the plugin: a shape of positive sizes,
    images (C, H, W) of 1 or 3 channels, and a batch of that shape as a float tensor, drawn from a generator of its
    own (the run's batches stay the ones it would draw without the check)."""
    declared = getattr(data, "shape", None)
    shape = tuple(declared) if isinstance(declared, tuple | list) else ()
    if not shape or not all(isinstance(n, numbers.Integral) and not isinstance(n, bool) and n > 0 for n in shape):
        raise reg.error(f"dataset {reg.name!r}: its shape must be a tuple of positive sizes, got {declared!r}")
    if data.is_image and (len(shape) != 3 or shape[0] not in CHANNELS):
        raise reg.error(
            f"dataset {reg.name!r}: images must be (C, H, W) with 1 (gray) or 3 (RGB) channels, got shape {shape}"
        )
    with reg.calling("batch"):
        batch = data.batch(DRY_BATCH, np.random.default_rng(0))
    if not (isinstance(batch, torch.Tensor) and batch.is_floating_point() and batch.shape == (DRY_BATCH, *shape)):
        got = f"shape {tuple(batch.shape)} of {batch.dtype}" if isinstance(batch, torch.Tensor) else describe(batch)
        raise reg.error(
            f"dataset {reg.name!r}: batch({DRY_BATCH}, rng) returned {got}, expected floats of shape "
            f"{(DRY_BATCH, *shape)}"
        )


def check_labelled_data(reg: Registration, data: DataSource) -> int:
    """For a ``--conditional`` run: the dataset declares classes and ``labelled_batch`` gives a batch of the data's
    shape with one class index per sample; returns the number of classes. A failure names the dataset."""
    classes = data.classes
    if not classes:
        raise GancliError(f"--conditional: dataset {data.name!r} has no class labels (its classes are not declared)")
    if not (isinstance(classes, tuple) and all(isinstance(name, str) for name in classes)):
        raise reg.error(f"dataset {reg.name!r}: classes must be a tuple of names, got {describe(classes)}")
    with reg.calling("labelled_batch"):
        batch = data.labelled_batch(DRY_BATCH, np.random.default_rng(0))
    x, y = batch if isinstance(batch, tuple) and len(batch) == 2 else (batch, None)
    shaped = isinstance(x, torch.Tensor) and x.is_floating_point() and tuple(x.shape) == (DRY_BATCH, *data.shape)
    if not (shaped and isinstance(y, torch.Tensor) and y.dtype == torch.int64 and tuple(y.shape) == (DRY_BATCH,)):
        raise reg.error(
            f"dataset {reg.name!r}: labelled_batch({DRY_BATCH}, rng) must return (samples, labels): floats of shape "
            f"{(DRY_BATCH, *data.shape)} and int64 of shape ({DRY_BATCH},), got {describe(batch)}"
        )
    if not bool(((y >= 0) & (y < len(classes))).all()):
        raise reg.error(f"dataset {reg.name!r}: labelled_batch gave labels {y.tolist()} outside 0 … {len(classes) - 1}")
    factors = data.class_factors
    if factors is not None and not (isinstance(factors, tuple) and factors_fit(factors, len(classes))):
        numbers = isinstance(factors, tuple) and all(type(radix) is int for radix in factors)
        raise reg.error(
            f"dataset {reg.name!r}: class_factors must be a tuple of whole numbers above 1 whose product is its "
            f"{len(classes)} classes, got {factors if numbers else describe(factors)}"
        )
    return len(classes)


@runtime_checkable
class LabelledImages(Protocol):
    """Images whose examples carry class labels; class-aware metrics (``recognition``) score such data.

    A third-party dataset gains those metrics by having both attributes."""

    images: np.ndarray  # uint8 (N, C, H, W)
    labels: np.ndarray  # integer class of each image, (N,)


@runtime_checkable
class KnownMixture(Protocol):
    """Points drawn from equal-weight isotropic Gaussians at known centres; mode-coverage metrics (``modes``)
    score such data."""

    modes: np.ndarray  # (K, D) centres
    std: float  # standard deviation of every mode

"""D overfitting its training images (Karras et al. 2020, Zhao et al. 2020): on a few hundred or thousand images D
soon tells each training image apart from anything else, its feedback to G stops generalising, and the samples
degrade or drift towards the training images.

Two signs, either enough, once the run is past its first ``after`` steps (while G still draws noise, any D is sure
of every real image). First the heuristic ADA steers by, r = E[sign(D(x) − boundary)] on each logged step's real
batch (``sign_real``, recorded by the Game on logging steps only): its mean over the window at or above ``r``
(0.99: fewer than 1 real image in 100 doubted). Measured at 16 px, batches of 64, the digits' recipe, records every
5 steps: D on 16 Oxygen icons scored every real image real in every record from step 10 on (mean r 1.000), where on
the 5,000 digits its mean over steps 50-300 was 0.92 (windows of 10 records: 0.78-0.99).

Second, where the run keeps images out of training (``--holdout``), the sign of the ADA paper's figure 1: D's
scores on held-out real images drift away from its scores on training images, towards its scores on generated
ones. At each logging point D (in eval mode, unaugmented: ``Game.readout_of``) scores a fixed choice of up to 128
held-out and 128 training images, logged as ``d_held_out`` and ``d_train`` on the scale of ``d_real``/``d_fake``;
drift = (d_train − d_held_out) / (d_train − d_fake), 0 where D scores held-out images as training images, 1 where
it scores them as generated ones, taken over the window as the ratio of the mean differences (a record in which D
hardly separates fakes would make its own ratio explode). Its value at or above ``drift`` (0.5: held-out images
scored nearer the fakes than the training images) fires. Measured at the settings above over seeds 0-2: 16 random
images with 16 others held out drifted 1.09-1.13 (D scores new images below its fakes), the digits with 500 held
out 0.000-0.004 (windows of 10 records: -0.03-0.05; eval mode kept the scale: d_train 0.62-0.64 beside the
records' d_real 0.63-0.66, taken in train mode). On 200 MNIST digits with 100 held out (16 px, the digits'
recipe, seed 0), r never passed 0.71 in a window of 50 records while the drift rose from 0.16 (steps 10-500) to
0.85 (510-1000) and 1.15 (1010-1500): the second sign sees a D that memorises without being sure of every image.
The digits' default recipe (32 px) with 500 of the 5,000 held out drifted 0.03, 0.08 and 0.19 over the same
windows (seed 0, stopped at step 1,807): D slowly learns its 4,500 images too, well below the threshold so far.
"""

from __future__ import annotations

import statistics
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from gancli.data.base import ImageSource, Labelled
from gancli.diagnostics.base import Diagnostic, Finding, Record

if TYPE_CHECKING:
    from gancli.train.game import Batch
    from gancli.train.session import Session

#: held-out and training images D scores at each logging point (fewer held-out ones where fewer are held out)
SCORED = 128


class Overfitting(Diagnostic):
    window = 50
    calm = 50

    def __init__(self, options: Mapping[str, Any]) -> None:
        self.r, self.after, self.drift = options["r"], options["after"], options["drift"]
        self.hint = ""
        self.held_out = 0
        #: the training and held-out images D scores, chosen at the first measure
        self.batches: tuple[Batch, Batch] | None = None

    def applies_to(self, session: Session) -> bool:
        config = session.config
        if not config.diffaugment:
            self.hint = (
                "--diffaugment translation,color,cutout (D sees every image, real and generated, transformed) "
                "or --ada with it (the transforms' probability rises as D overfits)"
            )
        elif not config.ada:
            self.hint = "--ada (the transforms' probability rises until r is back at --ada-target)"
        else:
            self.hint = "a smaller --ada-kimg (p rises faster) or more images"
        if isinstance(session.data, ImageSource) and len(session.data.held_out_indices) >= config.pack:
            self.held_out = len(session.data.held_out_indices)  # enough to fill a --pack group of D's
        return session.data.is_image and session.loss.boundary is not None

    def measure(self, session: Session) -> dict[str, float]:
        if not self.held_out:
            return {}
        if self.batches is None:
            self.batches = (self.chosen(session, "training_indices"), self.chosen(session, "held_out_indices"))
        training, held_out = self.batches
        return {"d_train": session.game.readout_of(training), "d_held_out": session.game.readout_of(held_out)}

    def chosen(self, session: Session, which: str) -> Batch:
        """A fixed choice of up to ``SCORED`` of the data's training or held-out images (a whole number of
        --pack groups), with their classes in a conditional run, on the run's device."""
        data = session.data
        assert isinstance(data, ImageSource)
        indices = getattr(data, which)
        size = min(SCORED, len(indices))
        size -= size % session.config.pack
        indices = np.sort(np.random.default_rng(0).choice(indices, size, replace=False))
        x = data.pixels(indices).to(session.device)
        if session.classes is None or data.targets is None:
            return x
        return Labelled(x, torch.from_numpy(data.targets[indices]).to(session.device))

    def check(self, records: Sequence[Record], evals: Sequence[Record]) -> Finding | None:
        judged = [r for r in records if r["step"] > self.after]
        return self.sure(judged) or self.drifting(judged)

    def sure(self, records: Sequence[Record]) -> Finding | None:
        values = [float(r["sign_real"]) for r in records if "sign_real" in r]
        if len(values) < self.window:
            return None
        r = statistics.fmean(values)
        if r < self.r:
            return None
        return Finding(
            f"r = E[sign D(x)] is {r:.3f} (mean over steps {records[0]['step']}-{records[-1]['step']}): D is sure "
            "of every training image, it memorises them and its verdicts stop teaching G",
            self.hint,
            {"sign_real": r},
        )

    def drifting(self, records: Sequence[Record]) -> Finding | None:
        scored = [r for r in records if "d_held_out" in r and "d_fake" in r]
        if len(scored) < self.window:
            return None
        apart = statistics.fmean(float(r["d_train"]) - float(r["d_held_out"]) for r in scored)
        separated = statistics.fmean(float(r["d_train"]) - float(r["d_fake"]) for r in scored)
        if separated <= 0:  # D does not tell training images from fakes: nothing to drift towards
            return None
        drift = apart / separated
        if drift < self.drift:
            return None
        return Finding(
            f"D scores the {self.held_out:,} held-out images like generated ones: drift {drift:.2f} (0: as training "
            f"images, 1: as generated ones; steps {scored[0]['step']}-{scored[-1]['step']}): it memorises its "
            "training images and its verdicts stop teaching G",
            self.hint,
            {"drift": drift},
        )

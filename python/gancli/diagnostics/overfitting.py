"""D overfitting its training images (Karras et al. 2020, Zhao et al. 2020): on a few hundred or thousand images D
soon tells each training image apart from anything else, its feedback to G stops generalising, and the samples
degrade or drift towards the training images.

Watched through the heuristic ADA steers by, r = E[sign(D(x) − boundary)] on each logged step's real batch
(``sign_real``, recorded by the Game on logging steps only): its mean over the window at or above ``r`` (0.99:
fewer than 1 real image in 100 doubted), once the run is past its first ``after`` steps (while G still draws noise,
any D is sure of every real image). Measured at 16 px, batches of 64, the digits' recipe, records every 5 steps:
D on 16 Oxygen icons scored every real image real in every record from step 10 on (mean r 1.000), where on the
5,000 digits its mean over steps 50-300 was 0.92 (windows of 10 records: 0.78-0.99). gancli trains on every
image, so the other sign (D's scores on images it never trained on falling away from its scores on training
images) has no held-out images to be read from.
"""

from __future__ import annotations

import statistics
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from gancli.diagnostics.base import Diagnostic, Finding, Record

if TYPE_CHECKING:
    from gancli.train.session import Session


class Overfitting(Diagnostic):
    window = 50
    calm = 50

    def __init__(self, options: Mapping[str, Any]) -> None:
        self.r, self.after = options["r"], options["after"]
        self.hint = ""

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
        return session.data.is_image and session.loss.boundary is not None

    def check(self, records: Sequence[Record], evals: Sequence[Record]) -> Finding | None:
        values = [float(r["sign_real"]) for r in records if r["step"] > self.after and "sign_real" in r]
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

"""Mode collapse: G maps many latents to few outputs (docs/pitfalls.md, pitfall 3).

Two signs, either enough: the spread of samples from fixed noise (their mean pairwise distance, relative to a
data batch's, logged as ``diversity`` at each logging point) falls far below the data's after it had come close
to it (a generator still growing out of its first blob, or contracting on the way, has not collapsed: the
recommended ring8 run dips from 0.5 to 0.16 near step 450 before it spreads over the ring);
or an evaluation's coverage (``modes_covered``, ``classes_covered``: any metric named ``*_covered``) drops well
below its best in the recent evaluations, which also catches a generator that hops between a few modes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from gancli.diagnostics.base import Diagnostic, Finding, Record, median

if TYPE_CHECKING:
    from gancli.train.session import Session

DIVERSITY_SEED_OFFSET = 4  # the fixed noise (and the data batch) the spread is measured on: seed + 4
RECENT = 3


def mean_distance(samples: torch.Tensor) -> float:
    """The mean Euclidean distance between two different samples of the batch."""
    return float(torch.pdist(samples.flatten(1).float()).mean())


class ModeCollapse(Diagnostic):
    window = 100
    eval_window = 4
    calm = 50  # a collapsed generator's spread wavers about the threshold for hundreds of steps

    def __init__(self, options: Mapping[str, Any]) -> None:
        self.batch, self.spread, self.reached = options["batch"], options["spread"], options["reached"]
        self.coverage_drop = options["coverage_drop"]
        self.reference: float | None = None
        self.hint = "--minibatch-std (D sees a batch's spread), --pack 2 (PacGAN) or --diversity 1 (mode seeking)"

    def applies_to(self, session: Session) -> bool:
        config = session.config
        remedies = [
            ("--minibatch-std (D sees a batch's spread)", config.minibatch_std),
            ("--pack 2 (PacGAN)", config.pack > 1),
            ("--diversity 1 (mode seeking)", config.diversity > 0),
        ]
        left = [remedy for remedy, on in remedies if not on] or ["a lower learning rate (--lr)"]
        self.hint = ", ".join(left[:-1]) + (" or " if len(left) > 1 else "") + left[-1]
        return self.batch >= 2

    def measure(self, session: Session) -> dict[str, float]:
        seed = session.config.seed + DIVERSITY_SEED_OFFSET
        if self.reference is None:
            real = session.data.batch(self.batch, np.random.default_rng(seed))
            self.reference = max(mean_distance(real), 1e-12)
        return {"diversity": mean_distance(session.generate(self.batch, seed)) / self.reference}

    def check(self, records: Sequence[Record], evals: Sequence[Record]) -> Finding | None:
        return self.collapsed(records) or self.lost_coverage(evals)

    def collapsed(self, records: Sequence[Record]) -> Finding | None:
        if len(records) < 2 * RECENT:
            return None
        now = median(records[-RECENT:], "diversity")
        peak = max((float(r["diversity"]) for r in records if "diversity" in r), default=None)
        if now is None or peak is None or peak < self.reached or now > self.spread:
            return None
        return Finding(
            f"samples from fixed noise spread {now:.2f}× as far as the data's (down from {peak:.2f}×): "
            "G maps different latents to the same few outputs",
            self.hint,
            {"diversity": now, "diversity_peak": peak},
        )

    def lost_coverage(self, evals: Sequence[Record]) -> Finding | None:
        if len(evals) < 2:
            return None
        latest = evals[-1]
        for name, value in latest.items():
            if not name.endswith("_covered") or not isinstance(value, int | float):
                continue
            best_record = max(evals, key=lambda e: e.get(name, float("-inf")))
            best = best_record[name]
            if best >= 2 and value <= (1 - self.coverage_drop) * best:
                return Finding(
                    f"{name} fell to {value:g} from {best:g} at step {best_record['step']}",
                    self.hint,
                    {name: value, f"{name}_best": best},
                )
        return None

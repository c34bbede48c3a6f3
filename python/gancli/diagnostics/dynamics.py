"""The game's dynamics going wrong (docs/pitfalls.md, pitfall 1): losses growing without bound, or D's loss
swinging in cycles around a level that does not move while the players chase each other.

Both read the window in thirds or halves, by medians, so that one odd step neither raises nor hides a finding.
"""

from __future__ import annotations

import itertools
import statistics
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from gancli.diagnostics.base import Diagnostic, Finding, Record, probabilities

if TYPE_CHECKING:
    from gancli.train.session import Session

#: what may grow without bound: the losses (not the gradient norms, which a healthy run's grow too: 6.6× within
#: 300 steps of the recommended ring8 run, as G spreads over the ring)
GROWING = ("loss_d", "loss_g")
#: a critic's G loss, -mean D(G(z)), carries the critic's free offset, which may drift harmlessly: only D's counts
CRITIC_GROWING = ("loss_d",)
#: a size below which growth is not divergence (0.001 → 0.05 is a loss leaving zero, not blowing up)
FLOOR = 1.0


def sizes(records: Sequence[Record], key: str) -> list[float]:
    """The median size |value| of ``key`` over each third of the records that have it (none: fewer than 3)."""
    values = [abs(float(r[key])) for r in records if isinstance(r.get(key), int | float)]
    third = len(values) // 3
    if third == 0:
        return []
    return [statistics.median(part) for part in (values[:third], values[third : 2 * third], values[2 * third :])]


def lag_one_correlation(values: Sequence[float]) -> float:
    """The correlation of each value with the one before, after the straight-line trend is taken out: near 1 for
    a cycle many records long, near 0 (or below) for noise, or for a cycle shorter than two records, which the
    logging interval cannot show (``--log-every`` must be a fraction of the cycle)."""
    n = len(values)
    mid, mean = (n - 1) / 2, statistics.fmean(values)
    slope = sum((i - mid) * (v - mean) for i, v in enumerate(values)) / sum((i - mid) ** 2 for i in range(n))
    residuals = [v - mean - slope * (i - mid) for i, v in enumerate(values)]
    power = sum(r * r for r in residuals)
    return sum(a * b for a, b in itertools.pairwise(residuals)) / power if power > 0 else 0.0


class Divergence(Diagnostic):
    window = 30

    def __init__(self, options: Mapping[str, Any]) -> None:
        self.growth = options["growth"]
        self.keys = GROWING

    def applies_to(self, session: Session) -> bool:
        self.keys = GROWING if probabilities(session) else CRITIC_GROWING
        return True

    def check(self, records: Sequence[Record], evals: Sequence[Record]) -> Finding | None:
        if len(records) < self.window:
            return None
        for key in self.keys:
            thirds = sizes(records, key)
            if not thirds:
                continue
            first, middle, last = thirds
            if last >= FLOOR and first <= middle <= last and last >= self.growth * first:
                return Finding(
                    f"{key} grew from {first:.3g} to {last:.3g} over steps {records[0]['step']}-{records[-1]['step']}",
                    "a smaller learning rate (--lr), --r1 10 (a gradient penalty on real data) or --spectral-norm; "
                    "--on-nan rollback recovers if it reaches NaN",
                    {f"{key}_from": first, f"{key}_to": last},
                )
        return None


class Oscillation(Diagnostic):
    window = 40
    calm = 40  # a whole window of calm: the swing comes and goes within one

    def __init__(self, options: Mapping[str, Any]) -> None:
        self.swing, self.cycles, self.persistence = options["swing"], options["cycles"], options["persistence"]

    def applies_to(self, session: Session) -> bool:
        return probabilities(session)  # a critic's loss sits near 0 with any sign: no scale to swing against

    def check(self, records: Sequence[Record], evals: Sequence[Record]) -> Finding | None:
        values = [float(r["loss_d"]) for r in records if "loss_d" in r]
        if len(values) < self.window:
            return None
        low, level, high = statistics.quantiles(values, n=4)
        spread = high - low
        half = len(values) // 2
        drift = abs(statistics.median(values[half:]) - statistics.median(values[:half]))
        if level <= 0 or spread < self.swing * level or drift > spread / 2:
            return None
        if lag_one_correlation(values) < self.persistence:
            return None  # the swing is batch noise (a healthy digits run's D loss: 0.5 ± 0.15, correlation -0.1)
        smooth = [sum(values[i : i + 3]) / 3 for i in range(len(values) - 2)]
        turns = sum((a - level) * (b - level) < 0 for a, b in itertools.pairwise(smooth))
        if turns < 2 * self.cycles:
            return None
        return Finding(
            f"D's loss swings by {spread:.3g} around {level:.3g} ({turns // 2} cycles in steps "
            f"{records[0]['step']}-{records[-1]['step']}) without settling: the players circle each other",
            "--update consensus (damps the rotation), --update extragradient, a smaller learning rate (--lr) "
            "or --r1 10",
            {"loss_d_spread": spread, "loss_d_median": level, "cycles": turns // 2},
        )

"""Vanishing gradients: D wins outright and G's gradient dies (docs/pitfalls.md, pitfall 2).

Judged only where D(x) and D(G(z)) are probabilities, the readout of losses whose D outputs logits
(``LogitLoss``): a Wasserstein critic's or a hinge D's scores are unbounded, and "D(x) near 1" means nothing there.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from gancli.diagnostics.base import Diagnostic, Finding, Record, median, probabilities

if TYPE_CHECKING:
    from gancli.train.session import Session

#: the newest records whose medians say where the run is now; the rest of the window is its recent past
RECENT = 5


class VanishingGradients(Diagnostic):
    window = 20

    def __init__(self, options: Mapping[str, Any]) -> None:
        self.d_real, self.d_fake, self.grad_drop = options["d_real"], options["d_fake"], options["grad_drop"]
        self.hint = "a Wasserstein loss (--loss wgan-gp), a lower D learning rate (--lr-d) or fewer --d-steps"

    def applies_to(self, session: Session) -> bool:
        if session.config.loss == "minimax":  # G's gradient is scaled by D(G(z)): the classic saturation
            self.hint = f"the non-saturating loss (--loss nonsaturating), {self.hint}"
        return probabilities(session)

    def check(self, records: Sequence[Record], evals: Sequence[Record]) -> Finding | None:
        if len(records) < 2 * RECENT:
            return None
        now = records[-RECENT:]
        d_real, d_fake, grad = median(now, "d_real"), median(now, "d_fake"), median(now, "grad_norm_g")
        peak = max((float(r["grad_norm_g"]) for r in records if "grad_norm_g" in r), default=None)
        if None in (d_real, d_fake, grad, peak) or not (d_real >= self.d_real and d_fake <= self.d_fake):
            return None
        if grad > self.grad_drop * peak:
            return None
        return Finding(
            f"D(x) {d_real:.3f} and D(G(z)) {d_fake:.3f}: D rejects every fake, and G's gradient norm fell to "
            f"{grad:.3g}, {grad / peak if peak > 0 else 0:.0%} of its recent largest ({peak:.3g})",
            self.hint,
            {"d_real": d_real, "d_fake": d_fake, "grad_norm_g": grad, "grad_norm_g_peak": peak},
        )

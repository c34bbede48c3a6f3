"""G ignores the class: a conditional run whose samples are of the class asked for about as often as chance.

The evaluations' ``class_fidelity`` (the share of samples the feature space's classifier puts in the class asked
for) is compared with chance, 1/K for K classes, and with held-out real images' own figure
(``class_fidelity_real``), once the run has been evaluated ``evaluations`` times (the first evaluations of any run
are noise, which a classifier also scatters over the classes at chance). It fires at most ``factor`` times chance
or at most ``share`` of the real figure, whichever is higher: with many classes a multiple of chance is still
almost never the class asked (0.4 % of stacked digits' 1,000 classes is four times chance). Where the classifier
cannot tell the classes apart (the real figure under the bound too), nothing is said.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from gancli.diagnostics.base import Diagnostic, Finding, Record

if TYPE_CHECKING:
    from gancli.train.session import Session

HINT = (
    "an architecture that conditions every layer of G and projects the class in D (--arch dcgan or resnet; a plugin "
    "G must use its labels argument), more steps, or --r1 1 so that D learns the classes rather than the noise"
)


class ClassIgnored(Diagnostic):
    window = 1
    calm = 1  # one evaluation above the threshold ends the episode

    def __init__(self, options: Mapping[str, Any]) -> None:
        self.factor, self.share, self.evaluations = options["factor"], options["share"], options["evaluations"]
        self.eval_window = self.evaluations
        self.chance = 0.0

    def applies_to(self, session: Session) -> bool:
        classes = session.classes
        if classes is None:
            return False
        self.chance = 1 / len(classes)
        return True

    def check(self, records: Sequence[Record], evals: Sequence[Record]) -> Finding | None:
        if len(evals) < self.evaluations:
            return None
        latest = evals[-1]
        fidelity, real = latest.get("class_fidelity"), latest.get("class_fidelity_real")
        if not isinstance(fidelity, int | float) or not isinstance(real, int | float):
            return None
        bound = max(self.factor * self.chance, self.share * real)
        if fidelity > bound or real <= self.factor * self.chance:
            return None
        return Finding(
            f"G ignores the class: samples are of the class asked for {fidelity:.1%} of the time (chance "
            f"{self.chance:.1%}; held-out real images {real:.0%})",
            HINT,
            {"class_fidelity": fidelity, "chance": self.chance},
        )

"""Live diagnostics: the built-in diagnostic plugin, and the interface every diagnostic implements.

Each built-in watches one pitfall of docs/pitfalls.md while a run trains and names it once per episode with a
remedy. Registered by reference, so listing them imports no torch; their thresholds are options
(``--set vanishing-gradients.d_real=0.99``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from gancli.lazy import lazy_attributes
from gancli.plugins import Option, hookimpl

if TYPE_CHECKING:
    from gancli.diagnostics.base import Diagnostic, Finding
    from gancli.diagnostics.watch import read_findings

__all__ = ["Diagnostic", "Finding", "read_findings"]

#: a threshold on a probability or a share, in [0, 1]
UNIT: dict[str, Any] = {"min": 0, "max": 1}
MAX_PAIRS_BATCH = 4096  # samples whose pairwise distances mode-collapse measures: 16 million pairs at most
__getattr__, __dir__ = lazy_attributes(
    globals(),
    {
        "Diagnostic": "gancli.diagnostics.base:Diagnostic",
        "Finding": "gancli.diagnostics.base:Finding",
        "read_findings": "gancli.diagnostics.watch:read_findings",
    },
)


@hookimpl
def register_diagnostics(register: Any) -> None:
    register(
        "vanishing-gradients",
        "gancli.diagnostics.gradients:VanishingGradients",
        "D(x) → 1 and D(G(z)) → 0 while G's gradient norm collapses (losses whose D outputs probabilities)",
        options=[
            Option("d_real", float, 0.9, "median D(x) at or above which D is sure of the real data", **UNIT),
            Option("d_fake", float, 0.1, "median D(G(z)) at or below which D rejects the fakes", **UNIT),
            Option(
                "grad_drop", float, 0.25, "G's gradient norm at or below this share of its window's largest", **UNIT
            ),
        ],
    )
    register(
        "mode-collapse",
        "gancli.diagnostics.collapse:ModeCollapse",
        "the spread of samples from fixed noise falls far below the data's, or mode/class coverage drops",
        options=[
            Option(
                "batch",
                int,
                128,
                "fixed-noise samples whose mean pairwise distance is logged as diversity",
                min=2,
                max=MAX_PAIRS_BATCH,
            ),
            Option(
                "spread", float, 0.3, "diversity (generated spread / the data's) below which samples collapsed", min=0
            ),
            Option("reached", float, 0.8, "…after it had reached this within the window (100 records)", min=0),
            Option(
                "coverage_drop",
                float,
                0.25,
                "share of the best modes/classes covered lost between evaluations",
                **UNIT,
            ),
        ],
    )
    register(
        "divergence",
        "gancli.diagnostics.dynamics:Divergence",
        "a loss growing without bound over the window",
        options=[
            Option(
                "growth", float, 5.0, "growth of a loss's median size from the window's first third to its last", min=1
            )
        ],
    )
    register(
        "oscillation",
        "gancli.diagnostics.dynamics:Oscillation",
        "D's loss swinging in cycles over the window without settling",
        options=[
            Option("swing", float, 0.25, "spread of D's loss (interquartile range) relative to its median", min=0),
            Option("cycles", int, 3, "turns of D's loss (crossings of its median, smoothed) in the window", min=1),
            Option(
                "persistence",
                float,
                0.3,
                "correlation of D's loss with its value one record before (trend removed): a cycle carries over "
                "from record to record, batch noise does not",
                min=-1,
                max=1,
            ),
        ],
    )
    register(
        "class-ignored",
        "gancli.diagnostics.classes:ClassIgnored",
        "conditional runs: samples of the class asked for about as often as chance, or a small share of real "
        "images' figure (G ignores the class)",
        options=[
            Option("factor", float, 2.0, "class fidelity at most this multiple of chance (1/classes)", min=1),
            Option("share", float, 0.1, "or at most this share of held-out real images' fidelity", min=0, max=1),
            Option("evaluations", int, 2, "evaluations before it judges (the first ones are noise)", min=1),
        ],
    )
    register(
        "d-overfitting",
        "gancli.diagnostics.overfitting:Overfitting",
        "D memorises the training images: r = E[sign D(x)] on real batches stays near 1, or (--holdout) D scores "
        "held-out images like generated ones (images; not Wasserstein)",
        options=[
            Option("r", float, 0.99, "mean r over the window (50 records) at or above which D overfits", **UNIT),
            Option("after", int, 500, "steps before which r and drift say nothing (G still draws noise)", min=0),
            Option(
                "drift",
                float,
                0.5,
                "with --holdout: mean drift over the window of D's scores on held-out images from its scores on "
                "training images towards generated ones' (0: alike, 1: as fakes) at or above which D overfits",
                min=0,
            ),
        ],
    )
    register(
        "plateau",
        "gancli.diagnostics.plateau:Plateau",
        "no evaluation metric improved for a window of evaluations (--stop-when-plateau ends the run there)",
        options=[
            Option("patience", int, 5, "evaluations without improvement", min=1),
            Option("tolerance", float, 0.01, "relative improvement on a metric's best that counts", min=0),
            Option("min_delta", float, 0.01, "absolute improvement that counts, whatever the tolerance", min=0),
        ],
    )

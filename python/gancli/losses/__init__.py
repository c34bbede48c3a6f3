"""GAN losses: the built-in loss plugin, and the interface every loss implements (``Loss``).

The losses are registered by reference ("module:attribute"), so listing them imports no torch; each family
lives in its own module: ``classic`` (minimax, non-saturating, least squares, hinge, relativistic pairing),
``wasserstein`` (clipping, gradient penalty) and ``energy`` (EBGAN).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from gancli.lazy import lazy_attributes
from gancli.plugins import Option, hookimpl, without_options

if TYPE_CHECKING:
    from gancli.losses.base import LogitLoss, Loss

__all__ = ["LogitLoss", "Loss"]
__getattr__, __dir__ = lazy_attributes(
    globals(), {"Loss": "gancli.losses.base:Loss", "LogitLoss": "gancli.losses.base:LogitLoss"}
)

# The DCGAN paper's Adam (β1 0.5). No learning rate: that is a matter of the data's scale (a dataset recommends
# one), where WGAN's belongs to the clipped game itself: 2e-4, four times the paper's 5e-5, which on the digits
# reaches in 1,500 generator steps what 5e-5 would need several times that for (FD 125 against 362, digits
# recognised 39 % against 32 %; docs/pitfalls.md), with the critic no less stable (no diagnostic raised).
DCGAN_SETTINGS = {"optimizer": "adam", "d_steps": 1, "options": {"adam": {"beta1": 0.5}}}


@hookimpl
def register_losses(register: Any) -> None:
    register(
        "minimax",
        without_options("gancli.losses.classic:Minimax"),
        "the original minimax game; G minimises log(1 − D(G(z))) (saturates)",
        recommends=DCGAN_SETTINGS,
    )
    register(
        "nonsaturating",
        without_options("gancli.losses.classic:NonSaturating"),
        "minimax D, G maximises log D(G(z)) (the log-D trick)",
        recommends=DCGAN_SETTINGS,
    )
    register(
        "lsgan",
        without_options("gancli.losses.classic:LeastSquares"),
        "least-squares GAN (Mao et al. 2017)",
        recommends=DCGAN_SETTINGS,
    )
    register(
        "rpgan",
        without_options("gancli.losses.classic:RelativisticPairing"),
        "relativistic pairing (Huang et al. 2024, R3GAN): softplus of the score gap of a real and a generated image; "
        "with --r1 and --r2",
        recommends=DCGAN_SETTINGS,
    )
    register(
        "hinge",
        without_options("gancli.losses.classic:Hinge"),
        "hinge loss (Lim & Ye 2017; SNGAN, BigGAN)",
        recommends={"optimizer": "adam", "options": {"adam": {"beta1": 0.0, "beta2": 0.9}}},
    )
    register(
        "wgan",
        "gancli.losses.wasserstein:weight_clipping",
        "Wasserstein GAN with weight clipping (Arjovsky et al. 2017)",
        options=[
            Option(
                "clip", float, 0.01, "critic weights are clipped to [-clip, clip] after each step", min=0, min_open=True
            ),
            Option("critic_batchnorm", bool, True, "BatchNorm in the critic's hidden layers, as in the paper"),
        ],
        # on the digits, within the 10-minute budget: 2 critic steps per G step and 4,000 G steps (8,000 critic
        # steps) ended at FD 82 where 5 and 2,000 ended at 147 (seed 0); the digits' R1 penalty bought this
        # critic nothing (FD 162 against 164 at step 1,000) and costs a double backward pass per critic step;
        # a 0.99 average (0.998 ended at FD 85 against 82; docs/pitfalls.md)
        recommends={
            "optimizer": "rmsprop",
            "lr": 2e-4,
            "d_steps": 5,
            "per_dataset": {"digits": {"steps": 4000, "d_steps": 2, "r1": 0.0, "ema": 0.99}},
        },
    )
    register(
        "wgan-gp",
        "gancli.losses.wasserstein:gradient_penalty",
        "Wasserstein GAN with gradient penalty (Gulrajani et al. 2017)",
        options=[Option("gp_weight", float, 10.0, "λ, the weight of (‖∇D(x̂)‖ − 1)²", min=0)],
        recommends={
            "optimizer": "adam",
            "lr": 1e-4,
            "d_steps": 5,
            "options": {"adam": {"beta1": 0.0, "beta2": 0.9}},
        },
    )
    register(
        "ebgan",
        "gancli.losses.energy:energy_based",
        "energy-based GAN: auto-encoder cost C(x) + [m − C(G(z))]⁺ (Zhao et al. 2017)",
        options=[
            Option("margin", float, 1.0, "m, the energy above which fakes stop being pushed up", min=0, min_open=True)
        ],
        recommends={"optimizer": "adam", "options": {"adam": {"beta1": 0.5}}},
    )

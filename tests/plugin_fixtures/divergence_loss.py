"""A third-party loss whose README says `--set k=1.5` (WGAN-div's k and p), while the built-in metric prdc has an
option k too."""

from gancli.api import Option, hookimpl


@hookimpl
def register_losses(register):
    register(
        "wgan-div",
        "gancli.losses.classic:Hinge",  # never built here: resolving a run's options imports no factory
        "Wasserstein divergence (Wu et al. 2018)",
        options=[Option("k", float, 2.0, "weight of the divergence term"), Option("p", float, 6.0, "its power")],
    )

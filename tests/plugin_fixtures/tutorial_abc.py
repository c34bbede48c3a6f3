"""docs/plugins.md's tutorial package, gancli-abc, as it registers its loss (its factory is never built here)."""

from gancli.api import Option, hookimpl


@hookimpl
def register_losses(register):
    register(
        "lsgan-abc",
        "gancli_abc.loss:build",
        "least-squares GAN, D targets a (fake) and b (real), G targets c (Mao et al. 2017)",
        options=[
            Option("a", float, -1.0, "D's target for fake samples"),
            Option("b", float, 1.0, "D's target for real samples"),
            Option("c", float, 0.0, "G's target for its samples"),
        ],
    )

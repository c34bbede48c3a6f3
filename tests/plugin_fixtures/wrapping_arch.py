"""An architecture that wraps a built-in one through ``gancli.api.build``, and a diagnostic that reads the
session's networks in ``measure``: what a wrapper plugin needs from the public API."""

from gancli.api import Diagnostic, Option, build, hookimpl


def half_dcgan(spec, options):
    """dcgan at one width for both players, G's images halved: a wrapper's own twist on another plugin."""
    import torch.nn as nn

    generator, discriminator = build("architecture", "dcgan", spec, g_width=options["width"], d_width=options["width"])

    class Halved(nn.Module):
        def __init__(self, inner):
            super().__init__()
            self.inner = inner

        def forward(self, z):
            return 0.5 * self.inner(z)

    return Halved(generator), discriminator


class WeightNorm(Diagnostic):
    def measure(self, session):
        return {"d_weight_norm": float(sum(p.detach().norm() ** 2 for p in session.discriminator.parameters()) ** 0.5)}

    def check(self, records, evals):
        return None


@hookimpl
def register_architectures(register):
    register(
        "half-dcgan", half_dcgan, "dcgan with halved images", options=[Option("width", int, 8, "both widths", min=1)]
    )


@hookimpl
def register_diagnostics(register):
    register("d-weight-norm", lambda options: WeightNorm(), "D's weight norm in the records")

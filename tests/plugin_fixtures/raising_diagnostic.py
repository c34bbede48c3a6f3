"""A diagnostic whose check raises: a run must report it with its plugin and package, drop it and go on."""

from gancli.api import Diagnostic, hookimpl


class Broken(Diagnostic):
    def check(self, records, evals):
        raise ZeroDivisionError("no records in the window")


@hookimpl
def register_diagnostics(register):
    register("broken-check", lambda options: Broken(), "a diagnostic with a bug")

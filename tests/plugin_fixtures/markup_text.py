"""A plugin whose texts hold what Rich would read as markup (a closing tag like gloo's source location, styles):
every one must reach the user as written."""

import typer
from gancli.api import GancliError, Metric, hookimpl

MARKUP = "[/__w/gloo/pair.cc:545] [bold]b[/bold] [red]r[/] [/x]"


class Failing(Metric):
    samples_needed = 16

    def compute(self, samples, data):
        raise ValueError(MARKUP)


@hookimpl
def register_metrics(register):
    register("markup-metric", lambda options: Failing(), MARKUP)


@hookimpl
def register_commands(app: typer.Typer) -> None:
    @app.command()
    def refuse() -> None:
        """Refuses, as a plugin command does with a GancliError."""
        raise GancliError(MARKUP)

    @app.command()
    def crash() -> None:
        """Fails with a bug."""
        raise RuntimeError(MARKUP)

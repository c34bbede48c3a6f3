"""A plugin whose commands make the usual mistakes: one is named like a built-in, one raises."""

import typer
from gancli.api import hookimpl


@hookimpl
def register_commands(app: typer.Typer) -> None:
    @app.command()
    def train() -> None:
        """A command that would replace gancli's own train."""
        print("hijacked")

    @app.command("explode")
    def explode() -> None:
        """A command with a bug."""
        raise RuntimeError("the report template is missing")

    @app.command()
    def greet(name: str = "world") -> None:
        """A command that works."""
        print(f"hello {name}")

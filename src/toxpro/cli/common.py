"""What every command shares: the typer app with its exit-2 error handling, the consoles, `fail`."""

from __future__ import annotations

import sqlite3

import typer
from rich.console import Console
from typer.core import TyperGroup

from ..core.errors import EXIT_USER_ERROR, UserError

DEFAULT_EXPERIMENT = "experiments/default"


class UserErrorsExit2(TyperGroup):
    """Every UserError raised by any command: one line per problem on stderr, exit 2, no traceback."""

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except UserError as exc:
            from ..store.secrets import redact

            for line in exc.lines:
                typer.echo(redact(line), err=True)
            raise typer.Exit(EXIT_USER_ERROR) from None
        except sqlite3.DatabaseError as exc:  # a store damaged past what opening it checks
            typer.echo(
                f"error: a run store could not be read ({exc}); it may be damaged. Nothing was changed", err=True
            )
            raise typer.Exit(EXIT_USER_ERROR) from None


app = typer.Typer(
    cls=UserErrorsExit2, add_completion=False, no_args_is_help=True, help="Diagnose Toxic Proactivity in LLM agents."
)
scenarios_app = typer.Typer(no_args_is_help=True, help="List, show and lint scenarios.")
app.add_typer(scenarios_app, name="scenarios")
console = Console()


def fail(message: str, code: int = 2) -> None:
    """Each line of `message` (secrets masked) on stderr, then exit with `code`."""
    from ..store.secrets import redact

    for line in str(message).splitlines():
        typer.echo(redact(line), err=True)
    raise typer.Exit(code)

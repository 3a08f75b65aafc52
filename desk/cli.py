"""`gopa` sub-commands of the desk package (being built)."""

import typer

app = typer.Typer(no_args_is_help=True)

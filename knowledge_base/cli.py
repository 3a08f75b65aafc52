"""`gopa` sub-commands of the knowledge_base package (being built)."""

import typer

app = typer.Typer(no_args_is_help=True)

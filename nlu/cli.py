"""`gopa` sub-commands of the nlu package (being built)."""

import typer

from nlu.rasa_cli import app as rasa_app

app = typer.Typer(no_args_is_help=True)
app.registered_commands.extend(rasa_app.registered_commands)

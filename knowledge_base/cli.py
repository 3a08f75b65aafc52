"""`gopa kb ...`: check the knowledge-base YAML."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from knowledge_base.loader import DEFAULT_DATA_DIR, KnowledgeBaseError, load_knowledge_base

app = typer.Typer(no_args_is_help=True)


@app.command()
def check(
    path: Annotated[Path, typer.Option("--path", help="directory of the knowledge-base YAML")] = DEFAULT_DATA_DIR,
) -> None:
    """Validate the knowledge base: counts when it is good, every error as file:line field otherwise."""
    try:
        kb = load_knowledge_base(path)
    except KnowledgeBaseError as exc:
        for problem in exc.problems:
            typer.echo(str(problem), err=True)
        typer.echo(f"{len(exc.problems)} error(s) in {path}", err=True)
        raise typer.Exit(1) from None
    schedules = sum(1 for p in kb.programs.values() if p.schedule is not None)
    typer.echo(
        f"ok: {len(kb.programs)} programs, {len(kb.teams)} teams, {len(kb.tables)} tables, "
        f"{schedules} schedules, {len(kb.faqs)} faqs, {len(kb.common_rules.process)} process steps ({path})"
    )

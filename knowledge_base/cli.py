"""`gopa kb ...`: check the knowledge-base YAML."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from knowledge_base.eligibility import RULES_FILE, load_regions, load_rules, unknown_programs
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
    try:
        rules = load_rules(path)
        load_regions(path)
    except KnowledgeBaseError as exc:
        for problem in exc.problems:
            typer.echo(str(problem), err=True)
        raise typer.Exit(1) from None
    unknown = unknown_programs(rules, kb)
    if unknown:
        typer.echo(f"{path / RULES_FILE}: unknown program ids: {', '.join(unknown)}", err=True)
        raise typer.Exit(1)
    schedules = sum(1 for p in kb.programs.values() if p.schedule is not None)
    typer.echo(
        f"ok: {len(kb.programs)} programs, {len(kb.teams)} teams, {len(kb.tables)} tables, "
        f"{schedules} schedules, {len(kb.faqs)} faqs, {len(kb.common_rules.process)} process steps, "
        f"eligibility rules for {len(rules.programs)} programs ({path})"
    )

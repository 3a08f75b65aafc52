"""`gopa nlu ...`: train the embedded model, evaluate a backend on the held-out split."""

from __future__ import annotations

import asyncio
import time

import typer

from nlu.rasa_cli import app as rasa_app
from nlu.service import EvalReport

app = typer.Typer(no_args_is_help=True)
app.registered_commands.extend(rasa_app.registered_commands)


@app.command()
def train() -> None:
    """Train the embedded model on all training data (or load it from the cache)."""
    from core.settings import get_settings
    from nlu.embedded import model_path
    from nlu.service import load_data
    from nlu.service import train as train_model

    settings = get_settings()
    started = time.perf_counter()
    backend = train_model(settings)
    elapsed = time.perf_counter() - started
    path = model_path(settings.var_dir, load_data(settings))
    state = "trained" if backend.trained else "loaded from cache"
    typer.echo(f"embedded NLU {state} in {elapsed:.2f}s: {path}")


@app.command()
def parse(text: str = typer.Argument(..., help="a question, as a user would type it")) -> None:
    """Show what the configured backend understands: intent, confidence, ranking, entities."""
    from core.settings import get_settings
    from nlu.service import build_backend

    result = asyncio.run(build_backend(get_settings()).parse(text))
    typer.echo(f"text       {result.text!r}")
    typer.echo(f"intent     {result.intent} ({result.confidence:.2f}, {result.backend})")
    typer.echo("ranking    " + ", ".join(f"{intent} {score:.2f}" for intent, score in result.ranking))
    for entity in result.entities:
        typer.echo(f"entity     {entity.entity}={entity.value} from {entity.text!r} ({entity.score:.2f})")


def print_report(report: EvalReport, *, weakest: int = 5, confusions: int = 8, errors: int = 0) -> None:
    typer.echo(f"backend {report.backend}: {report.total} held-out examples")
    typer.echo(f"accuracy  {report.accuracy:.3f}")
    typer.echo(f"macro-F1  {report.macro_f1:.3f}")
    typer.echo("per intent (precision recall F1 support):")
    for score in report.per_intent:
        typer.echo(
            f"  {score.intent:18s} {score.precision:5.2f} {score.recall:5.2f} {score.f1:5.2f} {score.support:4d}"
        )
    typer.echo("weakest: " + ", ".join(f"{s.intent} {s.f1:.2f}" for s in report.weakest(weakest)))
    typer.echo("most confused (expected -> predicted):")
    for expected, predicted, count in report.confusions[:confusions]:
        typer.echo(f"  {expected} -> {predicted}: {count}")
    for text, expected, predicted, confidence in report.errors[:errors]:
        typer.echo(f"  ✗ {text!r}: {expected} -> {predicted} ({confidence:.2f})")
    latency = report.latency_ms
    typer.echo(f"parse latency ms: p50 {latency['p50']:.3f}  p99 {latency['p99']:.3f}  mean {latency['mean']:.3f}")


@app.command("eval")
def evaluate_command(
    backend: str = typer.Option("embedded", help="backend to evaluate: embedded, rasa or both"),
    show_errors: int = typer.Option(0, "--errors", help="also list this many misclassified examples"),
) -> None:
    """Train on the training split, evaluate on the held-out split (20 %, by example hash)."""
    from core.settings import get_settings
    from nlu.service import evaluate, load_data, train_on_split

    if backend not in ("embedded", "rasa", "both"):
        raise typer.BadParameter(f"unknown backend {backend!r}", param_hint="--backend")
    settings = get_settings()
    data = load_data(settings)
    _, heldout = data.split()
    reports = []
    if backend in ("embedded", "both"):
        started = time.perf_counter()
        model = train_on_split(data)
        typer.echo(f"trained on the training split in {time.perf_counter() - started:.2f}s")
        reports.append(asyncio.run(evaluate(model, heldout)))
        print_report(reports[-1], errors=show_errors)
    if backend in ("rasa", "both"):
        from nlu.rasa_cli import evaluate_rasa_command

        reports.append(evaluate_rasa_command(settings, data))
        print_report(reports[-1], errors=show_errors)
    if len(reports) > 1:
        from nlu.rasa_eval import side_by_side

        typer.echo("side by side (same held-out examples):")
        for line in side_by_side(reports):
            typer.echo(f"  {line}")

"""`gopa nlu rasa-setup` and `gopa nlu rasa-serve`: the Rasa server from the project's data."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from core.settings import Settings, get_settings
from nlu.entities import EntityExtractor
from nlu.rasa_setup import RasaEnv, RasaSetupError, rasa_home, running_server, train_for, write_training_yaml
from nlu.service import EvalReport
from nlu.training_data import TrainingData, load_training_data

app = typer.Typer()


def _env() -> RasaEnv:
    return RasaEnv(rasa_home(get_settings().rasa_home))


@app.command("rasa-setup")
def rasa_setup(
    python: Annotated[
        str | None, typer.Option(help="a Python 3.8-3.10 for Rasa's venv (default: RASA_PYTHON, PATH, pyenv)")
    ] = None,
    train: Annotated[bool, typer.Option(help="train the model after installing")] = True,
) -> None:
    """Create Rasa's virtual environment (reused when present), install rasa==3.6.21 and train
    the model on nlu/data (retrained only when the data or the pipeline changed)."""
    settings = get_settings()
    env = RasaEnv(rasa_home(settings.rasa_home))
    try:
        installed = env.ensure(python or settings.rasa_python or None, log=typer.echo)
        typer.echo(f"Rasa environment: {env.venv} ({'installed' if installed else 'reused'})")
        if train:
            model, seconds = train_for(env, load_training_data(settings.nlu_data_dir), log=typer.echo)
            typer.echo(f"model: {model} ({f'trained in {seconds:.0f} s' if seconds is not None else 'up to date'})")
    except RasaSetupError as exc:
        typer.echo(f"rasa-setup failed: {exc}", err=True)
        raise typer.Exit(1) from exc


@app.command("rasa-export")
def rasa_export(out: Annotated[Path, typer.Option(help="directory to write nlu.yml into")]) -> None:
    """Write the Rasa training data generated from nlu/data (normalised, names masked) for a
    Rasa outside this machine's cache, e.g. the `rasa` service of docker-compose.yml."""
    data = load_training_data(get_settings().nlu_data_dir)
    path = write_training_yaml(data.examples, out, EntityExtractor(data.entity_dictionary))
    typer.echo(f"{len(data.examples)} examples -> {path}")


@app.command("rasa-serve")
def rasa_serve(
    port: Annotated[int, typer.Option(help="port on 127.0.0.1")] = 5005,
    model: Annotated[
        Path | None, typer.Option(help="a model archive (default: the one for nlu/data, trained if missing)")
    ] = None,
) -> None:
    """Serve the model with `rasa run --enable-api` on loopback (run rasa-setup first), in the
    foreground until Ctrl-C; says when Rasa is ready to answer."""
    settings = get_settings()
    env = _env()
    if not env.rasa.exists():
        typer.echo(f"no Rasa environment in {env.venv}: run `gopa nlu rasa-setup` first", err=True)
        raise typer.Exit(1)
    try:
        archive = model or train_for(env, load_training_data(settings.nlu_data_dir), log=typer.echo)[0]
        typer.echo(f"starting Rasa with {archive.name} on http://127.0.0.1:{port} (takes 10-60 s)")
        # Ready means the first parse is done: it takes seconds, longer than the bot's time-out.
        with running_server(env, archive, port, to_terminal=True) as server:
            typer.echo(
                f"Rasa ready after {server.start_s:.0f} s; in another terminal: "
                f"NLU_BACKEND=rasa RASA_URL={server.url} gopa ask ..."
            )
            code = server.process.wait()
        if code:
            typer.echo(f"Rasa exited with code {code}", err=True)
            raise typer.Exit(code)
    except RasaSetupError as exc:
        typer.echo(f"rasa-serve failed: {exc}", err=True)
        raise typer.Exit(1) from exc
    except KeyboardInterrupt:
        typer.echo("Rasa stopped")


def evaluate_rasa_command(settings: Settings, data: TrainingData) -> EvalReport:
    """`gopa nlu eval --backend rasa`: Rasa trained on the training split, served and scored."""
    from nlu.rasa_eval import evaluate_rasa

    try:
        result = evaluate_rasa(settings, data, log=typer.echo)
    except RasaSetupError as exc:
        typer.echo(f"Rasa evaluation failed: {exc}", err=True)
        raise typer.Exit(1) from exc
    trained = f"trained in {result.train_s:.0f} s" if result.train_s is not None else "model from the cache"
    typer.echo(f"Rasa: {trained}, server ready in {result.start_s:.1f} s, peak RSS {result.peak_rss_mb:.0f} MB")
    return result.report

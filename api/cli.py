"""`gopa`: the command line. Each package contributes its own sub-commands."""

from __future__ import annotations

import typer

from api.telegram_cli import app as telegram_app
from desk.cli import app as staff_app
from knowledge_base.cli import app as kb_app
from nlu.cli import app as nlu_app
from notifier.cli import app as notifier_app

app = typer.Typer(help="gopa-desk: 김포산업진흥원 현장데스크 챗봇과 기업지원사업알리미", no_args_is_help=True)
app.add_typer(kb_app, name="kb", help="knowledge base: check the YAML data")
app.add_typer(nlu_app, name="nlu", help="NLU: train, evaluate, Rasa setup and serving")
app.add_typer(staff_app, name="staff", help="staff accounts")
app.add_typer(telegram_app, name="telegram", help="Telegram bot: set the webhook, or poll locally")
# The notifier contributes top-level commands (announce, ingest, worker, subscribers).
app.registered_commands.extend(notifier_app.registered_commands)
app.registered_groups.extend(notifier_app.registered_groups)


@app.command()
def serve(
    host: str = typer.Option(None, help="bind address (default: settings HOST)"),
    port: int = typer.Option(None, help="port (default: settings PORT)"),
    workers: int = typer.Option(1, help="uvicorn worker processes"),
) -> None:
    """Run the web service: Kakao skill, Telegram webhook, web chat, staff console and API."""
    import uvicorn

    from core.settings import get_settings

    settings = get_settings()
    uvicorn.run(
        "api.asgi:app",
        host=host or settings.host,
        port=port or settings.port,
        workers=workers,
        log_level=settings.log_level.lower(),
    )


def main() -> None:
    app()


if __name__ == "__main__":
    main()

"""`gopa telegram ...`: point Telegram at the webhook, or poll for local use."""

from __future__ import annotations

import asyncio
import re
import signal

import typer

from api.container import build_services, build_telegram
from bot.telegram_bot import set_webhook as set_bot_webhook
from core.settings import Settings, get_settings

app = typer.Typer(no_args_is_help=True)

_SECRET_CHARS = re.compile(r"^[A-Za-z0-9_-]{1,256}$")


def _token(settings: Settings) -> str:
    if settings.telegram_bot_token is None or not settings.telegram_bot_token.get_secret_value():
        typer.echo("TELEGRAM_BOT_TOKEN is not set.", err=True)
        raise typer.Exit(2)
    return settings.telegram_bot_token.get_secret_value()


@app.command("set-webhook")
def set_webhook(
    url: str = typer.Argument(None, help="public HTTPS URL of /telegram/webhook (default: PUBLIC_BASE_URL)"),
) -> None:
    """Register the webhook with Telegram, with TELEGRAM_WEBHOOK_SECRET as its secret token."""
    settings = get_settings()
    token = _token(settings)
    secret = settings.telegram_webhook_secret.get_secret_value() if settings.telegram_webhook_secret else ""
    if not _SECRET_CHARS.match(secret):
        typer.echo("TELEGRAM_WEBHOOK_SECRET must be set (1-256 of A-Z a-z 0-9 _ -).", err=True)
        raise typer.Exit(2)
    url = url or settings.public_base_url.rstrip("/") + "/telegram/webhook"
    if not url.startswith("https://"):
        typer.echo("Telegram only calls HTTPS webhooks: give an https:// URL.", err=True)
        raise typer.Exit(2)
    ok = asyncio.run(set_bot_webhook(token=token, base_url=settings.telegram_base_url, url=url, secret=secret))
    typer.echo(f"webhook set: {url}" if ok else "Telegram did not accept the webhook")
    raise typer.Exit(0 if ok else 1)


async def _poll(settings: Settings) -> None:
    services = await build_services(settings)
    try:
        bot = build_telegram(services, polling=True)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        typer.echo("polling Telegram (webhook removed); Ctrl+C stops")
        await bot.poll(stop)
    finally:
        await services.close()


@app.command()
def poll() -> None:
    """Answer Telegram messages by long polling (local use; removes the webhook first)."""
    settings = get_settings()
    _token(settings)
    asyncio.run(_poll(settings))

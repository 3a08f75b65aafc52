"""`gopa`: the command line. Each package contributes its own sub-commands."""

from __future__ import annotations

import asyncio
import os
import sys
import uuid

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

    # The app reads its settings in the server process: what was given here must reach it
    # (links in mails are built from HOST/PORT when PUBLIC_BASE_URL is unset).
    if host:
        os.environ["HOST"] = host
    if port:
        os.environ["PORT"] = str(port)
    get_settings.cache_clear()
    settings = get_settings()
    uvicorn.run(
        "api.asgi:app",
        host=host or settings.host,
        port=port or settings.port,
        workers=workers,
        log_level=settings.log_level.lower(),
        access_log=settings.access_log,
    )


EXIT_WORDS = frozenset({"종료", "exit", "quit"})
SESSION_PREFIX = "cli-session-"


def _user_key(session: str | None) -> str:
    """A fresh dialogue user per run, so a new run never resumes an old flow; a named session may."""
    return f"{SESSION_PREFIX}{session}" if session else f"cli-{uuid.uuid4().hex}"


async def _conversation(questions: list[str] | None, user_key: str) -> None:
    """Answer the given questions, or read stdin lines until EOF or 종료 (works when piped)."""
    from api.container import build_services
    from bot.render.text import render
    from bot.reply import Message
    from core.settings import get_settings

    services = await build_services(get_settings())
    try:
        if services.dialogue is None:
            typer.echo("대화 기능이 아직 설정되지 않았습니다 (지식베이스·NLU).", err=True)
            raise typer.Exit(1)
        interactive = questions is None and sys.stdin.isatty()
        if interactive:
            typer.echo("김포산업진흥원 기업지원 챗봇입니다. 번호로 빠른 답장을 고를 수 있어요. 끝내려면 '종료'.")
        quick = ()
        lines = iter(questions) if questions is not None else sys.stdin
        while True:
            if interactive:
                typer.echo("> ", nl=False)
            line = next(lines, None)
            if line is None:
                break
            text = line.strip()
            if text in EXIT_WORDS:
                break
            extra = None
            if text.isdigit() and 0 < int(text) <= len(quick):
                picked = quick[int(text) - 1]
                text, extra = picked.message, picked.extra
            reply = await services.dialogue.respond(Message(channel="cli", user_key=user_key, text=text, extra=extra))
            quick = reply.quick_replies
            typer.echo(render(reply))
            if questions is None:
                typer.echo("")
    finally:
        await services.close()


@app.command()
def ask(question: str = typer.Argument(..., help="질문 (예: 시험분석비 지원사업 예산이 얼마예요?)")) -> None:
    """Answer one question and print the reply (text, cards, quick replies)."""
    asyncio.run(_conversation([question], _user_key(None)))


@app.command()
def chat(
    session: str = typer.Option(None, help="이 이름의 대화를 이어서 (없으면 매번 새 대화)"),
) -> None:
    """Chat in the terminal; reads lines from stdin until EOF or '종료'."""
    from bot.context import MAX_USER_KEY

    user_key = _user_key(session)
    if len(user_key) > MAX_USER_KEY:
        room = MAX_USER_KEY - len(SESSION_PREFIX)
        raise typer.BadParameter(f"세션 이름은 {room}자 이내로 적어 주세요.", param_hint="--session")
    asyncio.run(_conversation(None, user_key))


def main() -> None:
    app()


if __name__ == "__main__":
    main()

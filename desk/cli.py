"""`gopa staff ...`: staff accounts and API tokens."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Awaitable, Callable
from typing import TypeVar

import typer

from core.clock import SystemClock
from core.db import Database
from core.settings import get_settings
from desk.errors import DeskError
from desk.service import DeskService

app = typer.Typer(no_args_is_help=True)

T = TypeVar("T")


def _run(action: Callable[[DeskService], Awaitable[T]]) -> T:
    async def main() -> T:
        settings = get_settings()
        db = Database(settings)
        try:
            await db.create_all()
            return await action(DeskService(db, SystemClock()))
        finally:
            await db.dispose()

    try:
        return asyncio.run(main())
    except DeskError as exc:
        typer.echo(f"오류: {exc}", err=True)
        raise typer.Exit(1) from exc


@app.command()
def create(
    username: str = typer.Argument(..., help="로그인 이름"),
    name: str = typer.Option("", "--name", help="화면에 보일 이름 (기본: 로그인 이름)"),
    role: str = typer.Option("staff", "--role", help="staff 또는 admin"),
    password_stdin: bool = typer.Option(False, "--password-stdin", help="비밀번호를 표준 입력 첫 줄에서 읽음"),
) -> None:
    """Create a staff account (the password is prompted for, or read from stdin)."""
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = typer.prompt("비밀번호", hide_input=True, confirmation_prompt=True)
    staff = _run(lambda desk: desk.create_staff(username, name or username, password, role))
    typer.echo(f"직원 계정을 만들었습니다: {staff.username} ({staff.role})")


@app.command()
def token(
    username: str = typer.Argument(..., help="로그인 이름"),
    label: str = typer.Option("", "--label", help="어디에 쓰는 토큰인지 (예: 노트북)"),
) -> None:
    """Issue an API token; it is printed once and stored only as a hash."""
    value = _run(lambda desk: desk.issue_token(username, label))
    typer.echo(value)

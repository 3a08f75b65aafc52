"""Alembic environment: every table of every package, on the database the settings name."""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine, pool

import bot.context
import bot.telegram_keys
import desk.models
import notifier.models
from core.db import Base, install_sqlite_pragmas
from core.settings import get_settings

# Imported for their tables; the list grows with each package that owns one.
MODEL_MODULES = (bot.context, bot.telegram_keys, desk.models, notifier.models)

config = context.config
target_metadata = Base.metadata


def database_url() -> str:
    return config.attributes.get("url") or get_settings().sync_database_url


def run_offline() -> None:
    context.configure(
        url=database_url(),
        target_metadata=target_metadata,
        literal_binds=True,
        render_as_batch=True,
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    engine = create_engine(database_url(), poolclass=pool.NullPool)
    install_sqlite_pragmas(engine)
    with engine.connect() as connection:
        _run(connection)
    engine.dispose()


def _run(connection) -> None:  # type: ignore[no-untyped-def]
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        # SQLite cannot ALTER most things in place; batch mode copies the table instead.
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    run_offline()
else:
    run_online()

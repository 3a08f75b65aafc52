"""subscription consent record and e-mail double opt-in requests

Revision ID: c4d5e6f7a8b9
Revises: b3c1d2e4f5a6
Create Date: 2026-12-03 19:20:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import core.db

revision: str = "c4d5e6f7a8b9"
down_revision: str | None = "b3c1d2e4f5a6"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("notifier_subscribers") as batch:
        batch.add_column(sa.Column("consent_channel", sa.String(length=12), nullable=True))
        batch.add_column(sa.Column("consent_text", sa.Text(), nullable=True))
        batch.add_column(sa.Column("confirmed_at", core.db.UtcDateTime(timezone=True), nullable=True))
    op.create_table(
        "notifier_optin_requests",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(length=12), nullable=False),
        sa.Column("address", sa.String(length=500), nullable=False),
        sa.Column("topics", sa.JSON(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("consent_channel", sa.String(length=12), nullable=False),
        sa.Column("consent_text", sa.Text(), nullable=False),
        sa.Column("created_at", core.db.UtcDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", core.db.UtcDateTime(timezone=True), nullable=False),
        sa.Column("last_sent_at", core.db.UtcDateTime(timezone=True), nullable=True),
        sa.Column("sends", sa.Integer(), nullable=False),
        sa.Column("confirmed_at", core.db.UtcDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("token_hash"),
    )
    op.create_index(op.f("ix_notifier_optin_requests_address"), "notifier_optin_requests", ["address"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_notifier_optin_requests_address"), table_name="notifier_optin_requests")
    op.drop_table("notifier_optin_requests")
    with op.batch_alter_table("notifier_subscribers") as batch:
        batch.drop_column("confirmed_at")
        batch.drop_column("consent_text")
        batch.drop_column("consent_channel")

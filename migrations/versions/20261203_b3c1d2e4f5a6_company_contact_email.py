"""company contact e-mail

Revision ID: b3c1d2e4f5a6
Revises: 'e6871fc409fb'
Create Date: 2026-12-03 17:55:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "b3c1d2e4f5a6"
down_revision: str | None = "e6871fc409fb"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("companies", sa.Column("contact_email", sa.String(length=254), nullable=True))


def downgrade() -> None:
    op.drop_column("companies", "contact_email")

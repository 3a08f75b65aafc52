"""one pending e-mail opt-in request per address

Revision ID: d7e8f9a0b1c2
Revises: c4d5e6f7a8b9
Create Date: 2026-12-03 20:10:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "d7e8f9a0b1c2"
down_revision: str | None = "c4d5e6f7a8b9"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

PENDING = sa.text("confirmed_at IS NULL")


def upgrade() -> None:
    # Two requests at once could each have created a pending row: keep the latest of each address.
    op.execute(
        "DELETE FROM notifier_optin_requests WHERE confirmed_at IS NULL AND id NOT IN "
        "(SELECT max(id) FROM notifier_optin_requests WHERE confirmed_at IS NULL GROUP BY address)"
    )
    op.create_index(
        "uq_notifier_optin_requests_pending_address",
        "notifier_optin_requests",
        ["address"],
        unique=True,
        sqlite_where=PENDING,
        postgresql_where=PENDING,
    )


def downgrade() -> None:
    op.drop_index("uq_notifier_optin_requests_pending_address", table_name="notifier_optin_requests")

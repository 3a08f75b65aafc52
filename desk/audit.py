"""The audit trail: who changed what, with personal data masked in the stored diff."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from core.clock import Clock
from core.privacy import mask_pii
from desk.auth import Staff
from desk.models import AuditEntry

# Fields whose values identify a person: the diff says they changed, not what they became.
_MASKED = {"contact_phone", "contact_email", "contact_name", "brn"}


def _plain(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, str):
        return mask_pii(value)
    return value


def _masked(field: str, value: Any) -> Any:
    if field in _MASKED and value:
        text = str(value)
        return text[:1] + "*" * max(len(text) - 1, 1)
    return _plain(value)


def diff(before: dict[str, Any], after: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """{field: {"before": old, "after": new}} for the fields that changed."""
    changes: dict[str, dict[str, Any]] = {}
    for field in sorted(set(before) | set(after)):
        old, new = before.get(field), after.get(field)
        if old != new:
            changes[field] = {"before": _masked(field, old), "after": _masked(field, new)}
    return changes


def record(
    session: AsyncSession,
    clock: Clock,
    actor: Staff | str,
    action: str,
    entity: str,
    entity_id: int | str,
    changes: dict[str, Any],
) -> None:
    session.add(
        AuditEntry(
            at=clock.now(),
            actor_id=actor.id if isinstance(actor, Staff) else None,
            actor=actor.username if isinstance(actor, Staff) else actor,
            action=action,
            entity=entity,
            entity_id=str(entity_id),
            changes=changes,
        )
    )

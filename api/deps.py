"""Request dependencies shared by routers: the composed services and staff authentication.

Staff authenticate with an API token (`Authorization: Bearer gopa_...`, stored hashed) or,
in the console, with the signed session cookie set at login. Public channel endpoints
(Kakao, Telegram, web chat) use none of this: they verify their own secrets.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, HTTPException, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from api.container import Services
from desk.auth import Staff

SESSION_STAFF_KEY = "staff_id"

_bearer = HTTPBearer(auto_error=False, description="API token from `gopa staff token`")


def get_services(request: Request) -> Services:
    return request.app.state.services


ServicesDep = Annotated[Services, Depends(get_services)]


async def current_staff(
    request: Request,
    services: ServicesDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Staff | None:
    """The staff member behind this request, or None (no token, bad token, no session)."""
    if credentials is not None:
        return await services.desk.staff_for_token(credentials.credentials)
    session = request.scope.get("session")
    staff_id = session.get(SESSION_STAFF_KEY) if session is not None else None
    if isinstance(staff_id, int):
        return await services.desk.staff_by_id(staff_id)
    return None


async def require_staff(staff: Annotated[Staff | None, Depends(current_staff)]) -> Staff:
    if staff is None:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            detail="직원 인증이 필요합니다",
            headers={"WWW-Authenticate": "Bearer"},
        )
    return staff


async def require_admin(staff: Annotated[Staff, Depends(require_staff)]) -> Staff:
    if not staff.is_admin:
        raise HTTPException(status.HTTP_403_FORBIDDEN, detail="관리자 권한이 필요합니다")
    return staff


StaffDep = Annotated[Staff, Depends(require_staff)]
AdminDep = Annotated[Staff, Depends(require_admin)]

# For `responses=` on protected routes, so the OpenAPI spec documents the auth failures.
AUTH_RESPONSES: dict[int | str, dict[str, str]] = {
    401: {"description": "직원 인증 필요 (토큰 없음·잘못됨)"},
    403: {"description": "권한 없음"},
}

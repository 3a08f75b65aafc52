import json
from base64 import b64encode

import pytest
from itsdangerous import TimestampSigner, URLSafeTimedSerializer

from api.deps import SESSION_STAFF_KEY
from api.routers.webchat import COOKIE
from core.settings import Settings
from tests.desk.helpers import STAFF_PASSWORD, client_for, running_app

pytestmark = [pytest.mark.db, pytest.mark.usefixtures("db")]

OLD_PUBLIC_DEFAULT = "dev-only-change-me"


def _console_cookie(secret: str, session: dict[str, object]) -> str:
    """What Starlette's SessionMiddleware would set when signing with `secret`."""
    data = b64encode(json.dumps(session).encode())
    return TimestampSigner(secret).sign(data).decode()


async def test_a_console_cookie_signed_with_the_old_default_key_is_rejected(settings: Settings) -> None:
    async with running_app(settings) as (app, services):
        staff = await services.desk.create_staff("desk1", "현장데스크", STAFF_PASSWORD)
        forged = _console_cookie(OLD_PUBLIC_DEFAULT, {SESSION_STAFF_KEY: staff.id})
        async with client_for(app) as client:
            client.cookies.set("gopa_console", forged)
            response = await client.get("/console/inbox")
            assert response.status_code in (303, 401, 403)
            assert response.status_code != 303 or response.headers["location"].startswith("/console/login")


async def test_a_console_cookie_signed_with_the_service_key_is_accepted(settings: Settings) -> None:
    async with running_app(settings) as (app, services):
        staff = await services.desk.create_staff("desk1", "현장데스크", STAFF_PASSWORD)
        key = (settings.var_dir / "secret_key").read_text(encoding="ascii")
        async with client_for(app) as client:
            client.cookies.set("gopa_console", _console_cookie(key, {SESSION_STAFF_KEY: staff.id}))
            assert (await client.get("/console/inbox")).status_code == 200


async def test_a_web_chat_cookie_signed_with_the_old_default_key_is_not_trusted(settings: Settings) -> None:
    async with running_app(settings) as (app, _services):
        forged = URLSafeTimedSerializer(OLD_PUBLIC_DEFAULT, salt="gopa-webchat-session").dumps("a" * 32)
        async with client_for(app) as client:
            client.cookies.set(COOKIE, forged)
            response = await client.post("/webchat/message", json={"text": "안녕하세요"})
            assert response.status_code == 200
            # An untrusted cookie counts as no session: the page gets a fresh one.
            assert f"{COOKIE}=" in response.headers.get("set-cookie", "")

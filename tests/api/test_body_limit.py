"""The body cap (settings.max_body_bytes) holds for every route, declared or chunked."""

from collections.abc import AsyncIterator

import pytest

from core.settings import Settings
from tests.desk.helpers import client_for, running_app, staff_token

pytestmark = [pytest.mark.db, pytest.mark.usefixtures("db")]

CHUNK = b"a" * 16 * 1024
TWO_MB_CHUNKS = 2 * 1024 * 1024 // len(CHUNK)


async def test_a_chunked_2mb_body_to_a_staff_endpoint_is_cut_with_413(settings: Settings) -> None:
    sent = 0

    async def chunked() -> AsyncIterator[bytes]:
        nonlocal sent
        yield b'{"name": "'
        for _ in range(TWO_MB_CHUNKS):
            sent += len(CHUNK)
            yield CHUNK
        yield b'"}'

    async with running_app(settings) as (app, services):
        token = await staff_token(services)
        async with client_for(app, token) as client:
            response = await client.post(
                "/api/v1/companies", content=chunked(), headers={"content-type": "application/json"}
            )
            assert "content-length" not in response.request.headers
            assert response.status_code == 413, response.text
            assert "너무 큽니다" in response.json()["detail"]
            # Reading stopped at the cap instead of taking the whole 2 MB.
            assert sent <= settings.max_body_bytes + len(CHUNK)
            created = await client.post("/api/v1/companies", json={"name": "김포정밀", "brn": "1248100998"})
            assert created.status_code == 201, created.text


@pytest.mark.parametrize("path", ["/api/v1/companies", "/console/login", "/api/v1/subscribers"])
async def test_a_declared_oversized_body_is_refused_at_once_on_any_route(settings: Settings, path: str) -> None:
    async with running_app(settings) as (app, services):
        token = await staff_token(services)
        async with client_for(app, token) as client:
            response = await client.post(
                path, content=b"x" * (settings.max_body_bytes + 1), headers={"content-type": "application/json"}
            )
            assert response.status_code == 413
            assert response.json()["detail"] == response.json()["error"]
            assert (await client.get("/api/v1/staff/me")).status_code == 200

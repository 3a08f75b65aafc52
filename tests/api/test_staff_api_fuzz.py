"""Schemathesis against the staff API's OpenAPI spec, on the real app served by uvicorn.

Generated requests (valid and invalid) must never get a 5xx, and every response must match
what the spec declares (status codes, content types, headers, bodies).
"""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import Iterator

import pytest
import schemathesis
import uvicorn
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from api.app import create_app
from core.clock import SystemClock
from core.db import Database
from core.settings import Settings
from desk.schemas import CompanyCreate, ConsultationCreate
from desk.service import DeskService
from tests.desk.helpers import STAFF_PASSWORD

pytestmark = pytest.mark.db

EXAMPLES = 25
SUPPRESSED = list(HealthCheck)

# Not negative_data_rejection: unknown query parameters are ignored, as HTTP APIs usually do;
# invalid values still have to get a documented 4xx through status_code_conformance.
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]


async def _seed(settings: Settings) -> str:
    """A staff token and a few records, so generated ids sometimes hit real rows."""
    db = Database(settings)
    try:
        await db.create_all()
        desk = DeskService(db, SystemClock())
        staff = await desk.create_staff("fuzz", "fuzz", STAFF_PASSWORD)
        company = await desk.create_company(staff, CompanyCreate(name="김포정밀", brn="124-81-00998"))
        await desk.create_consultation(staff, ConsultationCreate(company_id=company.id, categories=["금융"]))
        return await desk.issue_token("fuzz")
    finally:
        await db.dispose()


@pytest.fixture
def live_api(settings: Settings) -> Iterator[tuple[str, str]]:
    """The app on uvicorn in a thread of its own (the generated requests are blocking calls)."""
    live_settings = settings
    token = asyncio.run(_seed(live_settings))
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(create_app(live_settings), log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    for _ in range(500):
        if server.started or not thread.is_alive():
            break
        threading.Event().wait(0.02)
    assert server.started, "uvicorn did not start"
    yield f"http://127.0.0.1:{port}", token
    server.should_exit = True
    thread.join(timeout=10)


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE], ids=["valid", "invalid"])
def test_staff_api_keeps_to_its_spec(live_api: tuple[str, str], mode: GenerationMode) -> None:
    base_url, token = live_api
    schema = schemathesis.openapi.from_url(f"{base_url}/openapi.json").include(tag="staff")
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 12, "every staff operation is in the spec"
    headers = {"Authorization": f"Bearer {token}"}
    for operation in operations:

        @given(case=operation.as_strategy(generation_mode=mode))
        @hypothesis_settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=SUPPRESSED, database=None)
        def check(case: schemathesis.Case) -> None:
            case.call_and_validate(headers=headers, checks=CHECKS)

        check()

"""Personal data searched for in the console or API must not reach uvicorn's access log."""

import logging

import pytest

from core.privacy import configure_logging


def test_uvicorn_access_log_masks_phone_and_business_numbers(caplog: pytest.LogCaptureFixture) -> None:
    configure_logging("INFO")
    access = logging.getLogger("uvicorn.access")
    with caplog.at_level(logging.INFO, logger="uvicorn.access"):
        access.info(
            '%s - "%s %s HTTP/%s" %d',
            "127.0.0.1:5000",
            "GET",
            "/api/v1/companies?q=124-81-00998&phone=010-1234-5678",
            "1.1",
            200,
        )
    text = caplog.text
    assert "124-81-00998" not in text and "010-1234-5678" not in text
    assert "/api/v1/companies?q=124-**-*****" in text

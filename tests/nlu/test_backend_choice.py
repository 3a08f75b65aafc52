"""The backend the settings choose is said once at start, so an operator can tell from the log."""

from __future__ import annotations

import logging

import pytest

from core.settings import Settings
from nlu.rasa_backend import RasaBackend
from nlu.service import build_backend


def said(caplog: pytest.LogCaptureFixture) -> str:
    return "\n".join(r.getMessage() for r in caplog.records if r.name == "nlu.service")


async def test_the_embedded_backend_is_named_in_the_log(settings: Settings, caplog) -> None:
    with caplog.at_level(logging.INFO, logger="nlu.service"):
        backend = build_backend(settings)
    assert backend.name == "embedded"
    assert said(caplog) == "NLU: embedded backend"


async def test_the_rasa_backend_is_named_with_its_url_and_fallback(settings: Settings, caplog) -> None:
    settings = settings.model_copy(update={"nlu_backend": "rasa", "rasa_url": "http://127.0.0.1:5999"})
    with caplog.at_level(logging.INFO, logger="nlu.service"):
        backend = build_backend(settings)
    assert isinstance(backend, RasaBackend)
    try:
        assert said(caplog) == (
            "NLU: Rasa at http://127.0.0.1:5999 (time-out 0.8 s); "
            "the embedded backend answers what Rasa cannot (3 failures in a row: Rasa left alone for 30 s)"
        )
    finally:
        await backend.aclose()

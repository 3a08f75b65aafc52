"""`gopa serve --port N` on a machine with no PUBLIC_BASE_URL: links the service mails (alert
confirmations, unsubscribe) must point at the port it really listens on."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from typer.testing import CliRunner

from api.cli import app
from core.settings import Settings, get_settings


@pytest.fixture
def no_address_settings(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for name in ("HOST", "PORT", "PUBLIC_BASE_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir("/")  # no .env
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def test_links_follow_the_port_given_to_serve(no_address_settings: None, monkeypatch: pytest.MonkeyPatch) -> None:
    served: dict[str, Any] = {}
    monkeypatch.setattr("uvicorn.run", lambda app_path, **options: served.update(options))
    result = CliRunner().invoke(app, ["serve", "--port", "8731"])
    assert result.exit_code == 0, result.output
    assert served["port"] == 8731
    # What the app process reads when it builds its services:
    get_settings.cache_clear()
    assert get_settings().public_base_url == "http://127.0.0.1:8731"


def test_public_base_url_defaults_to_the_listening_address() -> None:
    assert Settings(port=8731, _env_file=None).public_base_url == "http://127.0.0.1:8731"  # type: ignore[call-arg]
    wildcard = Settings(host="0.0.0.0", port=9000, _env_file=None)  # type: ignore[call-arg]
    assert wildcard.public_base_url == "http://127.0.0.1:9000"
    given = Settings(port=8731, public_base_url="https://alimi.example.kr", _env_file=None)  # type: ignore[call-arg]
    assert given.public_base_url == "https://alimi.example.kr"

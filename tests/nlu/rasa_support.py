"""What the rasa-marked tests share: the server scripts/provision/rasa.sh started."""

from __future__ import annotations

import os

import pytest


def require_rasa_url() -> str:
    """RASA_URL of the running Rasa server. Missing is a failure, not a skip: CI must not go
    green without ever asking Rasa."""
    url = os.environ.get("RASA_URL", "")
    if not url:
        pytest.fail("RASA_URL is not set: start Rasa (scripts/provision/rasa.sh does it for scripts/test)")
    return url

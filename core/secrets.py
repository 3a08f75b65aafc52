"""The key that signs session cookies: SECRET_KEY, or a random one kept under `var_dir`."""

from __future__ import annotations

import contextlib
import os
import secrets
from functools import lru_cache
from pathlib import Path

from core.settings import Settings

SECRET_FILE = "secret_key"


def session_secret(settings: Settings) -> str:
    """SECRET_KEY when set; otherwise the key in `var_dir/secret_key`, created on first use.

    There is no public default: a known key would let anyone forge a staff console login.
    """
    if settings.secret_key is not None:
        value = settings.secret_key.get_secret_value()
        if value:
            return value
    return _stored_secret(settings.var_dir.resolve())


@lru_cache(maxsize=8)
def _stored_secret(var_dir: Path) -> str:
    path = var_dir / SECRET_FILE
    if not path.exists():
        var_dir.mkdir(parents=True, exist_ok=True)
        # Written whole to a private temp file, then linked into place only if absent: processes
        # starting together cannot see a half-written key, and every one reads back the winner.
        fd, tmp = _private_temp(var_dir)
        try:
            with os.fdopen(fd, "w", encoding="ascii") as handle:
                handle.write(secrets.token_urlsafe(48))
            with contextlib.suppress(FileExistsError):
                os.link(tmp, path)
        finally:
            os.unlink(tmp)
    value = path.read_text(encoding="ascii").strip()
    if not value:
        raise RuntimeError(f"{path} is empty; delete it or set SECRET_KEY")
    return value


def _private_temp(var_dir: Path) -> tuple[int, str]:
    name = str(var_dir / f".{SECRET_FILE}.{os.getpid()}.{secrets.token_hex(4)}")
    return os.open(name, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), name

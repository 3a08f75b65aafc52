"""Password hashing, API tokens and the login rate limiter."""

from __future__ import annotations

import hashlib
import secrets
from collections import defaultdict, deque
from dataclasses import dataclass
from datetime import timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from core.clock import Clock

_hasher = PasswordHasher()

MIN_PASSWORD_CHARS = 10
TOKEN_PREFIX = "gopa_"


@dataclass(frozen=True)
class Staff:
    """The authenticated staff member a request acts as."""

    id: int
    username: str
    display_name: str
    role: str

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    return _hasher.check_needs_rehash(password_hash)


def new_token() -> tuple[str, str]:
    """A fresh API token and the hash that is stored; the token itself is shown once."""
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    return token, token_hash(token)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


class LoginRateLimiter:
    """At most `limit_per_min` failed-or-not attempts per (IP, username) in any 60 s window."""

    def __init__(self, clock: Clock, limit_per_min: int) -> None:
        self._clock = clock
        self._limit = limit_per_min
        self._attempts: defaultdict[tuple[str, str], deque] = defaultdict(deque)

    def allow(self, ip: str, username: str) -> bool:
        """Record an attempt; False when this one is over the limit."""
        now = self._clock.now()
        window = self._attempts[(ip, username.casefold())]
        while window and now - window[0] >= timedelta(minutes=1):
            window.popleft()
        if len(window) >= self._limit:
            return False
        window.append(now)
        return True

    def reset(self, ip: str, username: str) -> None:
        self._attempts.pop((ip, username.casefold()), None)

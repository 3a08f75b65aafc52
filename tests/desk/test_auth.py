from datetime import UTC, datetime

from core.clock import FixedClock
from desk.auth import LoginRateLimiter, hash_password, new_token, token_hash, verify_password


def test_password_hash_is_argon2_and_verifies() -> None:
    hashed = hash_password("비밀번호는길게-2026")
    assert hashed.startswith("$argon2id$")
    assert verify_password(hashed, "비밀번호는길게-2026")
    assert not verify_password(hashed, "비밀번호는길게-2025")
    assert not verify_password("not a hash", "x")


def test_tokens_are_stored_as_sha256() -> None:
    token, stored = new_token()
    assert token.startswith("gopa_") and len(token) > 40
    assert stored == token_hash(token) and len(stored) == 64 and token not in stored


def test_rate_limit_per_ip_and_user_with_a_sliding_minute() -> None:
    clock = FixedClock(datetime(2026, 11, 16, 1, 0, tzinfo=UTC))
    limiter = LoginRateLimiter(clock, limit_per_min=3)
    assert [limiter.allow("10.0.0.1", "desk1") for _ in range(4)] == [True, True, True, False]
    assert limiter.allow("10.0.0.2", "desk1"), "another IP has its own budget"
    assert limiter.allow("10.0.0.1", "desk2"), "another user name has its own budget"
    assert not limiter.allow("10.0.0.1", "DESK1"), "user names compare case-insensitively"
    clock.advance(seconds=59)
    assert not limiter.allow("10.0.0.1", "desk1")
    clock.advance(seconds=1)
    assert limiter.allow("10.0.0.1", "desk1")

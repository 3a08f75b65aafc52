"""Checks for Korean business identifiers and contact data."""

from __future__ import annotations

import re

_BRN_WEIGHTS = (1, 3, 7, 1, 3, 7, 1, 3, 5)
_NON_DIGITS = re.compile(r"[\s\-.]")
_PHONE = re.compile(r"^0\d{1,2}\d{3,4}\d{4}$")


def brn_digits(value: str) -> str:
    """'124-81-00998' -> '1248100998'; separators people type are dropped."""
    return _NON_DIGITS.sub("", value)


def is_valid_brn(value: str) -> bool:
    """사업자등록번호 check digit (국세청 검증 방식).

    The first nine digits are weighted 1,3,7,1,3,7,1,3,5; the ninth digit's product is
    also carried (its tens digit is added); the tenth digit makes the total a multiple of 10.
    """
    digits = brn_digits(value)
    if len(digits) != 10 or not digits.isascii() or not digits.isdigit():
        return False
    numbers = [int(ch) for ch in digits]
    total = sum(n * w for n, w in zip(numbers[:9], _BRN_WEIGHTS, strict=True))
    total += numbers[8] * 5 // 10
    return (10 - total % 10) % 10 == numbers[9]


def format_brn(digits: str) -> str:
    return f"{digits[:3]}-{digits[3:5]}-{digits[5:]}"


def normalize_phone(value: str) -> str | None:
    """Korean phone number as 010-1234-5678 (or 031-123-4567, 02-123-4567); None if not one."""
    digits = _NON_DIGITS.sub("", value)
    if not digits.isascii() or not _PHONE.match(digits):
        return None
    if digits.startswith("02"):
        return f"02-{digits[2:-4]}-{digits[-4:]}"
    return f"{digits[:3]}-{digits[3:-4]}-{digits[-4:]}"

"""Masking of personal data (phone numbers, 사업자등록번호, e-mail) before anything is logged."""

from __future__ import annotations

import logging
import re
import time

_PHONE = re.compile(r"(?<!\d)(0\d{1,2})[-. ]?(\d{3,4})[-. ]?(\d{4})(?!\d)")
_BRN = re.compile(r"(?<!\d)(\d{3})-?(\d{2})-?(\d{5})(?!\d)")
_EMAIL = re.compile(r"([A-Za-z0-9._%+-])[A-Za-z0-9._%+-]*@([A-Za-z0-9.-]+\.[A-Za-z]{2,})")


def mask_pii(text: str) -> str:
    """Keep enough to recognise a record, not enough to identify a person."""
    text = _BRN.sub(lambda m: f"{m.group(1)}-**-*****", text)
    text = _PHONE.sub(lambda m: f"{m.group(1)}-****-{m.group(3)[-2:].rjust(4, '*')}", text)
    return _EMAIL.sub(lambda m: f"{m.group(1)}***@{m.group(2)}", text)


class PiiMaskingFilter(logging.Filter):
    """Rewrites every record's message so no handler ever sees raw personal data."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        masked = mask_pii(message)
        if masked != message:
            record.msg = masked
            record.args = None
        return True


class UtcFormatter(logging.Formatter):
    """Log times in UTC, marked as such (2026-12-03T20:14:05.123Z): the host's zone is often UTC
    while messages quote Asia/Seoul times, and an unmarked time reads as either."""

    converter = time.gmtime
    default_time_format = "%Y-%m-%dT%H:%M:%S"
    default_msec_format = "%s.%03dZ"


_OWN_HANDLER_LOGGERS = ("uvicorn.access", "uvicorn.error")


def configure_logging(level: str = "INFO") -> None:
    root = logging.getLogger()
    if not any(isinstance(f, PiiMaskingFilter) for h in root.handlers for f in h.filters):
        handler = logging.StreamHandler()
        handler.setFormatter(UtcFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        handler.addFilter(PiiMaskingFilter())
        root.addHandler(handler)
    root.setLevel(level)
    # uvicorn's loggers write through their own handlers (no propagation to root), and the
    # access log carries query strings such as a searched 사업자등록번호: mask at the logger.
    for name in _OWN_HANDLER_LOGGERS:
        logger = logging.getLogger(name)
        if not any(isinstance(f, PiiMaskingFilter) for f in logger.filters):
            logger.addFilter(PiiMaskingFilter())


class SecretRedactingFilter(logging.Filter):
    """Replaces a secret (e.g. the Telegram bot token, which is part of every Bot API URL that
    httpx logs at INFO) with a placeholder in every record the logger emits."""

    def __init__(self, secret: str, placeholder: str) -> None:
        super().__init__()
        self.secret = secret
        self.placeholder = placeholder

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if self.secret in message:
            record.msg = message.replace(self.secret, self.placeholder)
            record.args = None
        return True


def redact_in_logs(secret: str, placeholder: str = "<secret>", loggers: tuple[str, ...] = ("httpx",)) -> None:
    """Keep `secret` out of what the named loggers and their existing children emit; safe to call
    more than once. Children count because a logger's filters never see its children's records."""
    if not secret:
        return
    names = set(loggers)
    names.update(
        existing
        for existing in list(logging.Logger.manager.loggerDict)
        if any(existing.startswith(f"{name}.") for name in loggers)
    )
    for name in sorted(names):
        logger = logging.getLogger(name)
        if not any(isinstance(f, SecretRedactingFilter) and f.secret == secret for f in logger.filters):
            logger.addFilter(SecretRedactingFilter(secret, placeholder))

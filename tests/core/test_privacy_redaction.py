import logging

import pytest

from core.privacy import UtcFormatter, redact_in_logs


def test_a_secret_is_redacted_in_child_loggers_too(caplog: pytest.LogCaptureFixture) -> None:
    # A filter on a logger does not see records of its children (python-telegram-bot logs the
    # token-bearing base URL through "telegram.Bot", a child of "telegram").
    child = logging.getLogger("gopa_redaction_parent.Bot")
    redact_in_logs("123456:SECRET", "<token>", ("gopa_redaction_parent",))
    caplog.set_level(logging.DEBUG)
    child.debug("base url https://api.telegram.org/bot123456:SECRET/")
    logging.getLogger("gopa_redaction_parent").info("again 123456:SECRET")
    assert "123456:SECRET" not in caplog.text
    assert caplog.text.count("<token>") == 2


def test_log_times_are_utc_and_say_so() -> None:
    record = logging.LogRecord("gopa", logging.INFO, __file__, 1, "알림 발송 09:00 KST", None, None)
    record.created = 1_764_790_445.5  # 2025-12-03 19:34:05.5 UTC
    record.msecs = 500.0
    line = UtcFormatter("%(asctime)s %(message)s").format(record)
    assert line == "2025-12-03T19:34:05.500Z 알림 발송 09:00 KST"

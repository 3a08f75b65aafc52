"""The alert consent text every channel shows, and the confirmation e-mail's wording.

Kept in `data/alert_consent.yaml` (user-facing text is data, not code); the bot shows it before a
first subscription and the notifier stores the exact text shown with the subscriber.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from knowledge_base.loader import DEFAULT_DATA_DIR, load_yaml_model

CONSENT_FILE = "alert_consent.yaml"


class AlertConsent(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    version: str = Field(min_length=1)
    service: str = Field(min_length=1)
    sender: str = Field(min_length=1)
    agree_label: str = Field(min_length=1, max_length=14)  # a Kakao quick-reply label
    text: str = Field(min_length=1)
    prompt: str = Field(min_length=1)
    mail_subject: str = Field(min_length=1)
    mail_body: str = Field(min_length=1)

    def consent(self, quiet_start: int, quiet_end: int) -> str:
        """The text a user agrees to; stored as is with the subscription."""
        return self.text.format(quiet_start=quiet_start, quiet_end=quiet_end)

    def ask(self, topics: list[str] | tuple[str, ...], consent: str) -> str:
        return self.prompt.format(topics=", ".join(topics), consent=consent, agree_label=self.agree_label)

    def mail(self, topics: list[str] | tuple[str, ...], consent: str, link: str, expires: str) -> tuple[str, str]:
        """(subject, body) of the e-mail that asks the owner of an address to confirm."""
        body = self.mail_body.format(topics=", ".join(topics), consent=consent, link=link, expires=expires)
        return self.mail_subject, body


@lru_cache(maxsize=4)
def load_alert_consent(directory: Path | None = None) -> AlertConsent:
    return load_yaml_model((directory or DEFAULT_DATA_DIR) / CONSENT_FILE, AlertConsent, "alert_consent").value

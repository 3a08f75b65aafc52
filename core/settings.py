"""One settings class for the whole service, read from the environment (and `.env`)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

PACKAGE_ROOT = Path(__file__).resolve().parent.parent


class Settings(BaseSettings):
    """Every knob of gopa-desk. Secrets are `SecretStr` so they never print by accident."""

    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    # --- storage -----------------------------------------------------------------
    var_dir: Path = Path("var")
    database_url: str = ""  # empty: SQLite file under var_dir
    sql_echo: bool = False

    # --- knowledge base and NLU --------------------------------------------------
    kb_dir: Path = PACKAGE_ROOT / "knowledge_base" / "data"
    nlu_data_dir: Path = PACKAGE_ROOT / "nlu" / "data"
    nlu_backend: Literal["embedded", "rasa"] = "embedded"
    nlu_confidence_threshold: float = 0.45
    rasa_url: str = "http://127.0.0.1:5005"
    rasa_timeout_s: float = 0.8
    rasa_breaker_failures: int = 3
    rasa_breaker_reset_s: float = 30.0
    rasa_home: Path | None = None  # Rasa's venv and models; None: /var/cache/gopa-desk/rasa
    rasa_python: str = ""  # a Python 3.8-3.10 for Rasa's venv; empty: found on PATH or pyenv

    # --- dialogue ------------------------------------------------------------------
    dialogue_context_ttl_s: int = 1800
    # "hybrid": an in-memory LRU that writes flow states (eligibility, hand-off form) behind the
    # answer to the dialogue_states table, so they survive restarts and are shared by processes;
    # plain Q&A context stays in memory. "memory": the LRU alone (tests, benchmarks). "db": every
    # state written through to the table.
    dialogue_context_store: Literal["hybrid", "memory", "db"] = "hybrid"
    # Hybrid store: seconds a round of flow-state writes gathers before its one commit; what a
    # crash of the process can lose (see bot.context.HybridContextStore).
    dialogue_context_flush_s: float = Field(default=0.1, gt=0, le=5)

    # --- HTTP service ----------------------------------------------------------------
    host: str = "127.0.0.1"
    port: int = 8000
    # Where users reach this service (links in mails, webhooks). Unset: http://HOST:PORT, so a
    # service started on another port still mails links that work on this machine.
    public_base_url: str = ""
    max_body_bytes: int = 64 * 1024
    # Signs the console and web chat cookies; unset: a random key kept in var_dir/secret_key.
    secret_key: SecretStr | None = None
    log_level: str = "INFO"
    access_log: bool = True  # uvicorn's per-request log line; off for benchmarks

    # --- Kakao ---------------------------------------------------------------------
    kakao_skill_secret: SecretStr | None = None
    kakao_skill_secret_header: str = "X-Gopa-Skill-Secret"
    kakao_rest_api_key: SecretStr | None = None
    kakao_bot_id: str = ""
    kakao_event_api_url: str = "https://bot-api.kakao.com"

    # --- Telegram ------------------------------------------------------------------
    telegram_bot_token: SecretStr | None = None
    telegram_base_url: str = "https://api.telegram.org/bot"
    telegram_webhook_secret: SecretStr | None = None
    telegram_rate_overall_per_s: float = 30.0
    telegram_rate_per_chat_per_s: float = 1.0

    # --- e-mail and webhook delivery ---------------------------------------------
    smtp_host: str = "127.0.0.1"
    smtp_port: int = 25
    smtp_username: str = ""
    smtp_password: SecretStr | None = None
    smtp_starttls: bool = False
    mail_from: str = "김포시 기업지원사업알리미 <noreply@gopa.example.kr>"
    webhook_signing_secret: SecretStr | None = None

    # --- notifier --------------------------------------------------------------------
    timezone: str = "Asia/Seoul"
    quiet_hours_start: int = 21
    quiet_hours_end: int = 8
    reminder_hour: int = 9
    reminder_days_before: list[int] = Field(default_factory=lambda: [7, 3, 1, 0])
    # E-mail double opt-in: the confirmation link's life, and how often one address is mailed.
    optin_token_ttl_h: int = Field(48, ge=1, le=24 * 14)
    optin_resend_after_s: int = Field(600, ge=0)
    optin_max_mails: int = Field(5, ge=1)
    delivery_max_attempts: int = 6
    delivery_backoff_base_s: float = 30.0
    delivery_batch_size: int = 200
    delivery_concurrency: int = 16  # sends in flight per worker (16 measured best in bench/notifier_bench.py)
    delivery_claim_lease_s: float = 120.0  # a claim older than this is retaken (its worker died)
    worker_poll_interval_s: float = 2.0
    scheduler_lease_s: float = 60.0
    run_scheduler: bool = True
    ingest_url: str = ""
    ingest_interval_min: int = 60
    ingest_regions: list[str] = Field(default_factory=lambda: ["경기", "김포"])

    # --- staff desk --------------------------------------------------------------------
    login_rate_limit_per_min: int = 5
    session_max_age_s: int = 8 * 3600
    business_hours: str = "평일 09:00~18:00"

    @model_validator(mode="after")
    def _public_base_url_from_the_listening_address(self) -> Settings:
        if not self.public_base_url:
            # A wildcard bind address is no address a browser can open.
            host = "127.0.0.1" if self.host in ("0.0.0.0", "::", "") else self.host
            self.public_base_url = f"http://{host}:{self.port}"
        return self

    @property
    def effective_database_url(self) -> str:
        """The async SQLAlchemy URL; SQLite under `var_dir` when none is set."""
        if self.database_url:
            return self.database_url
        return f"sqlite+aiosqlite:///{(self.var_dir / 'gopa.db').as_posix()}"

    @property
    def sync_database_url(self) -> str:
        """The same database for sync users (Alembic, APScheduler's job store)."""
        url = self.effective_database_url
        return url.replace("sqlite+aiosqlite", "sqlite").replace("postgresql+asyncpg", "postgresql+psycopg")


@lru_cache
def get_settings() -> Settings:
    return Settings()

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner

from api.cli import app
from core.db import Database
from core.settings import Settings, get_settings
from notifier.models import Subscriber, SubscriberTopic
from tests.conftest import SHARED_DIR

pytestmark = pytest.mark.db


@pytest.fixture
def cli_env(settings: Settings, db: Database, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    # `db` empties the tables first when the suite runs on PostgreSQL.
    monkeypatch.chdir(tmp_path)  # no stray .env
    monkeypatch.setenv("DATABASE_URL", settings.effective_database_url)
    monkeypatch.setenv("VAR_DIR", str(settings.var_dir))
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def test_announce_and_ingest_commands(cli_env: None, tmp_path: Path) -> None:
    runner = CliRunner()
    created = runner.invoke(
        app, ["announce", "create", "--title", "스마트물류 지원", "-t", "스마트물류", "--deadline", "2030-01-31"]
    )
    assert created.exit_code == 0, created.output
    assert "created announcement 1 (draft)" in created.output
    typo = runner.invoke(app, ["announce", "create", "--title", "t", "--program", "smart_factry", "--publish"])
    assert typo.exit_code != 0 and "없는 지원사업이에요: smart_factry" in typo.output
    no_scheme = runner.invoke(app, ["announce", "create", "--title", "t", "--url", "www.gimpo.go.kr", "--publish"])
    assert no_scheme.exit_code != 0 and "http:// 또는 https://" in no_scheme.output
    opening = runner.invoke(
        app, ["announce", "create", "--title", "12월 접수", "--starts", "2030-12-21", "--deadline", "2030-12-31"]
    )
    assert opening.exit_code == 0, opening.output
    published = runner.invoke(app, ["announce", "publish", "1"])
    assert published.exit_code == 0 and "0 new deliveries" in published.output
    listed = runner.invoke(app, ["announce", "list"])
    assert '"status": "published"' in listed.output and '"ends_at": "2030-01-31T14:59:59+00:00"' in listed.output
    # A bare start date opens at 00:00 in Korea (15:00 UTC the day before), a deadline closes at 23:59:59.
    assert '"starts_at": "2030-12-20T15:00:00+00:00"' in listed.output
    assert '"ends_at": "2030-12-31T14:59:59+00:00"' in listed.output
    assert runner.invoke(app, ["announce", "publish", "99"]).exit_code == 1

    feed = SHARED_DIR / "data" / "real" / "bizinfo_api_sample_2026-09-23_redacted.json"
    imported = runner.invoke(app, ["ingest", "bizinfo", str(feed)])
    assert imported.exit_code == 0, imported.output
    assert "4 items: 3 new" in imported.output  # the 경북 item is outside the regions
    broken = tmp_path / "broken.json"
    broken.write_text('{"reqErr": "인증키 오류"}', encoding="utf-8")
    failed = runner.invoke(app, ["ingest", "bizinfo", str(broken)])
    assert failed.exit_code == 1 and "인증키 오류" in failed.output


def test_subscribers_count_on_an_empty_database_says_zero(cli_env: None) -> None:
    counted = CliRunner().invoke(app, ["subscribers", "count"])
    assert counted.exit_code == 0, counted.output
    assert counted.output.splitlines() == ["구독자 0명 (구독 중 0명, 해지 0명)"]


@pytest.fixture
async def three_subscribers(db: Database) -> None:
    moment = datetime(2026, 3, 2, tzinfo=UTC)
    rows = [("email", "a@example.kr", True, "스마트물류"), ("email", "b@example.kr", False, "스마트물류")]
    rows.append(("telegram", "42", True, "*"))
    async with db.session() as session:
        for channel, address, active, key in rows:
            sub = Subscriber(channel=channel, address=address, active=active, created_at=moment, updated_at=moment)
            session.add(sub)
            await session.flush()
            session.add(SubscriberTopic(subscriber_id=sub.id, topic_key=key))
        await session.commit()


def test_subscribers_count_totals_then_channels_then_topics(cli_env: None, three_subscribers: None) -> None:
    counted = CliRunner().invoke(app, ["subscribers", "count"])
    assert counted.exit_code == 0, counted.output
    assert counted.output.splitlines() == [
        "구독자 3명 (구독 중 2명, 해지 1명)",
        "email\t구독 중 1명\t해지 1명",
        "telegram\t구독 중 1명\t해지 0명",
        "관심 분야별 (구독 중)",
        "전체 분야\t1명",
        "스마트물류\t1명",
    ]

"""Against the real Rasa server (RASA_URL, started by scripts/provision/rasa.sh)."""

from __future__ import annotations

import httpx
import pytest

from core.settings import Settings
from nlu.service import build_backend, build_embedded
from tests.nlu.rasa_support import require_rasa_url

pytestmark = pytest.mark.rasa


async def test_rasa_serves_a_model_trained_on_the_project_data() -> None:
    url = require_rasa_url()
    async with httpx.AsyncClient() as client:
        status = (await client.get(f"{url}/status")).json()
        assert status["model_file"].startswith("nlu-")
        version = (await client.get(f"{url}/version")).json()
        assert version["version"] == "3.6.21"


async def test_the_configured_backend_parses_through_rasa(settings: Settings) -> None:
    settings = settings.model_copy(update={"nlu_backend": "rasa", "rasa_url": require_rasa_url()})
    backend = build_backend(settings)
    try:
        result = await backend.parse("인증획득 지원사업 접수 기간")
    finally:
        await backend.aclose()  # type: ignore[attr-defined]
    assert result.backend == "rasa"
    assert result.intent == "program_schedule"
    assert result.values("program") == ["certification"]


@pytest.mark.parametrize(
    "text",
    [
        "시험분석비 지원사업 예산이 얼마예요?",
        "스마트팩토리 지원 대상",
        "콤프레샤 에너지 절감 사업 신청은 어떻게 해요",
        "전기자동차 부품 기업 지원",
        "오늘 점심 뭐 먹지",
    ],
)
async def test_both_backends_name_the_same_programs(settings: Settings, text: str) -> None:
    settings = settings.model_copy(update={"nlu_backend": "rasa", "rasa_url": require_rasa_url()})
    embedded = build_embedded(settings)
    rasa = build_backend(settings)
    try:
        through_rasa = await rasa.parse(text)
    finally:
        await rasa.aclose()  # type: ignore[attr-defined]
    assert through_rasa.backend == "rasa"
    assert through_rasa.values("program") == (await embedded.parse(text)).values("program")

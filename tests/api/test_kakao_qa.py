"""The question-answer suite (tests/bot/qa_cases.yaml) through POST /kakao/skill, against the real
knowledge base and the real embedded NLU, with Kakao's limits checked on every reply."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
import pytest_asyncio
import yaml
from asgi_lifespan import LifespanManager

from api.app import create_app
from api.container import Services
from bot.context import HybridContextStore
from core.settings import Settings
from tests.bot.kakao_limits import assert_kakao_limits

CASES: list[dict[str, Any]] = yaml.safe_load((Path(__file__).parents[1] / "bot" / "qa_cases.yaml").read_text("utf-8"))

pytestmark = pytest.mark.db


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def served(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[tuple[httpx.AsyncClient, Services]]:
    settings = Settings(
        var_dir=tmp_path_factory.mktemp("qa-var"),
        database_url=os.environ.get("GOPA_TEST_DATABASE_URL", ""),
        run_scheduler=False,
        _env_file=None,  # type: ignore[call-arg]
    )
    app = create_app(settings)
    async with (
        LifespanManager(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://qa") as http,
    ):
        yield http, app.state.services


@pytest_asyncio.fixture(loop_scope="module")
async def client(served: tuple[httpx.AsyncClient, Services]) -> AsyncIterator[httpx.AsyncClient]:
    http, services = served
    yield http
    # The app runs on the module's event loop, which stands still between tests while the next
    # test's PostgreSQL isolation truncates every table: a round of the dialogue state writer
    # left half done there would hold its transaction open and the TRUNCATE would wait forever.
    assert isinstance(services.context, HybridContextStore)
    await services.context.flush()


def visible_text(response: dict[str, Any]) -> str:
    """Everything the user sees: bubbles, card titles/descriptions/buttons, quick-reply labels."""
    parts: list[str] = []
    template = response["template"]
    for output in template["outputs"]:
        if "simpleText" in output:
            parts.append(output["simpleText"]["text"])
        cards = [output["textCard"]] if "textCard" in output else output.get("carousel", {}).get("items", [])
        for card in cards:
            parts += [card["title"], card.get("description", "")]
            parts += [b["label"] for b in card.get("buttons", [])]
    parts += [q["label"] for q in template.get("quickReplies", [])]
    return "\n".join(parts)


async def ask(client: httpx.AsyncClient, user: str, text: str) -> dict[str, Any]:
    body = {"userRequest": {"utterance": text, "lang": "ko", "user": {"id": user, "properties": {}}}, "action": {}}
    response = await client.post("/kakao/skill", content=orjson.dumps(body))
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/json; charset=utf-8"
    data = response.json()
    assert_kakao_limits(data)
    return data


def test_the_suite_is_large_enough() -> None:
    assert len([c for c in CASES if "nlu_miss" not in c]) >= 150
    assert len({c["q"] + "|".join(c.get("before", [])) for c in CASES}) == len(CASES)


def _param(index: int, case: dict[str, Any]) -> Any:
    marks = [pytest.mark.xfail(reason=f"NLU: {case['nlu_miss']}", strict=True)] if "nlu_miss" in case else []
    return pytest.param(case, id=f"{index:03d}-{case['q'][:20]}", marks=marks)


@pytest.mark.asyncio(loop_scope="module")
@pytest.mark.parametrize("case", [_param(i, c) for i, c in enumerate(CASES)])
async def test_question_answer(client: httpx.AsyncClient, case: dict[str, Any], request: pytest.FixtureRequest) -> None:
    user = f"qa-{request.node.callspec.id}"
    for earlier in case.get("before", []):
        await ask(client, user, earlier)
    text = visible_text(await ask(client, user, case["q"]))
    missing = [fact for fact in case.get("has", []) if fact not in text]
    unwanted = [fact for fact in case.get("not", []) if fact in text]
    assert not missing and not unwanted, f"missing {missing}, unwanted {unwanted} in:\n{text}"

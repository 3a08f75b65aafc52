"""Router: `POST /api/v1/eligibility`: company facts in, per-program outcome with cited reasons out.

Public on purpose (companies, the web chat and the staff console's consultation form call it):
it reads rules only, stores nothing and has no side effects. The body is read with the size cap
and validated here, so an oversized body stops at the cap instead of being parsed whole.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException, Request
from pydantic import ConfigDict, Field, ValidationError

from api.body import BodyError, read_json_body
from knowledge_base.eligibility import (
    CompanyFacts,
    EligibilityResult,
    UnknownFactValue,
    evaluate,
    load_regions,
    load_rules,
)
from knowledge_base.loader import load_knowledge_base

router = APIRouter(tags=["eligibility"])

EXAMPLE = {
    "sigungu": "김포시",
    "eupmyeondong": "양촌읍",
    "is_manufacturer": True,
    "industry": "금속가공",
    "employees": 6,
    "representative_industry": "해당 없음",
}


class EligibilityRequest(CompanyFacts):
    model_config = ConfigDict(**CompanyFacts.model_config, json_schema_extra={"examples": [EXAMPLE]})

    programs: list[str] | None = Field(
        None, max_length=50, description="판정할 사업 id (생략하면 전체). 예: compressor_replacement"
    )


def _request_schema() -> dict[str, Any]:
    return {
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": EligibilityRequest.model_json_schema()}},
        }
    }


@router.post(
    "/eligibility",
    response_model=EligibilityResult,
    summary="지원사업 신청 자격 판정",
    description=(
        "회사 정보(모르는 항목은 생략)를 받아 사업별로 신청 가능 / 불가 / 확인 필요와 그 근거(계획서 인용)를 "
        "돌려줍니다. 모르는 정보가 필요한 사업은 확인 필요와 missing_facts로 알려 줍니다. "
        "저장하지 않으며 부작용이 없습니다 (공개 API)."
    ),
    openapi_extra=_request_schema(),
    responses={
        400: {"description": "JSON이 아닌 본문"},
        413: {"description": "본문이 너무 큼"},
        422: {"description": "잘못된 입력 (알 수 없는 항목·값·사업 id, 잘못된 형식)"},
    },
)
async def check_eligibility(request: Request) -> EligibilityResult:
    settings = request.app.state.services.settings
    try:
        raw = await read_json_body(request, settings.max_body_bytes)
    except BodyError as exc:
        raise HTTPException(status_code=exc.status, detail=exc.detail) from None
    try:
        body = EligibilityRequest.model_validate(raw)
    except ValidationError as exc:
        detail = exc.errors(include_url=False, include_context=False, include_input=False)
        raise HTTPException(status_code=422, detail=detail) from None
    rules = load_rules(settings.kb_dir)
    if body.programs is not None:
        unknown = sorted(set(body.programs) - {p.program for p in rules.programs})
        if unknown:
            raise HTTPException(status_code=422, detail=f"unknown program ids: {', '.join(unknown)}")
    facts = CompanyFacts.model_validate(body.model_dump(exclude={"programs"}))
    try:
        return evaluate(
            facts, rules, load_regions(settings.kb_dir), body.programs, load_knowledge_base(settings.kb_dir)
        )
    except UnknownFactValue as exc:
        raise HTTPException(status_code=422, detail=str(exc)) from None

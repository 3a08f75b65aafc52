"""Router: `POST /api/v1/eligibility`: company facts in, per-program outcome with cited reasons out.

Public on purpose (companies, the web chat and the staff console's consultation form call it):
it reads rules only, stores nothing and has no side effects.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, HTTPException, Request
from pydantic import ConfigDict, Field

from knowledge_base.eligibility import (
    CompanyFacts,
    EligibilityResult,
    UnknownFactValue,
    evaluate,
    load_regions,
    load_rules,
)

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


@router.post(
    "/eligibility",
    response_model=EligibilityResult,
    summary="지원사업 신청 자격 판정",
    description=(
        "회사 정보(모르는 항목은 생략)를 받아 사업별로 신청 가능 / 불가 / 확인 필요와 그 근거(계획서 인용)를 "
        "돌려줍니다. 저장하지 않으며 부작용이 없습니다. 모르는 정보가 필요한 사업은 확인 필요와 missing_facts로 "
        "알려 줍니다."
    ),
    responses={422: {"description": "잘못된 입력 (알 수 없는 항목·값·사업 id)"}},
)
async def check_eligibility(request: Request, body: EligibilityRequest) -> EligibilityResult:
    kb_dir: Path = request.app.state.services.settings.kb_dir
    rules = load_rules(kb_dir)
    regions = load_regions(kb_dir)
    if body.programs is not None:
        unknown = sorted(set(body.programs) - {p.program for p in rules.programs})
        if unknown:
            raise HTTPException(status_code=422, detail=f"unknown program ids: {', '.join(unknown)}")
    facts = CompanyFacts.model_validate(body.model_dump(exclude={"programs"}))
    try:
        return evaluate(facts, rules, regions, body.programs)
    except UnknownFactValue as exc:
        raise HTTPException(status_code=422, detail=str(exc)) from None

"""Company facts from free Korean answers: "직원 7명이에요", "김포 양촌읍", "금속가공 제조업",
"작년에 전기차 사업 했어요", "인천이에요", or all of them in one message.

`extract` returns only what the text says; the flow merges it over earlier answers, so a later
"아 직원 12명이에요" replaces an earlier count. `expecting` names the question just asked, so a
bare "네" / "아니요" / "잘 모르겠어요" answers it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from core.text import normalize_utterance
from knowledge_base.eligibility import NOT_REPRESENTATIVE, SOGONGIN_WORKERS_BELOW, Regions

NATIVE_NUMBERS = {
    "한": 1, "하나": 1, "두": 2, "둘": 2, "세": 3, "셋": 3, "네": 4, "넷": 4, "다섯": 5, "여섯": 6,
    "일곱": 7, "여덟": 8, "아홉": 9, "열": 10, "스무": 20, "스물": 20,
}  # fmt: skip
_NATIVE = "|".join(sorted(NATIVE_NUMBERS, key=len, reverse=True))
# "직원 7명", "상시근로자 12인", "열두 명", "10인 미만", "5명 이하"; not "2021년", "5대".
_COUNT = re.compile(
    rf"(?P<num>\d{{1,7}}|(?:열|스물)?(?:{_NATIVE})?)\s*(?:명|인)(?!증|정|터|턴|가|데)"
    r"\s*(?P<bound>미만|이하|이상|초과|넘|안\s*되|밑)?"
)
_WORKFORCE_WORDS = re.compile(r"직원|근로자|종업원|인원|사원|식구|명|인\s*(미만|이하|이상|기업|사업장)")
_ALONE = re.compile(r"혼자|1인\s*(기업|사업|회사)|나\s*혼자")

YES_NO_FACTS = frozenset(
    {"in_gimpo", "is_manufacturer", "is_sme", "prior_ev_2021", "mss_smart_factory_selected", "consortium"}
)
_NEGATION = r"(아니|아뇨|아녜|아님|않|안\s*(해|했|하|됐|되|돼)|없|못|미선정|탈락|떨어)"
_YES = re.compile(r"^(네|예|응|맞아요?|맞습니다|그렇습니다|그래요|있어요|했어요|참여했어요|됐어요|선정됐어요|ㅇㅇ|yes)")
_NO = re.compile(r"^(아니요|아뇨|아니오|아니|아니에요|없어요|없습니다|안\s*했어요|못\s*했어요|no)")
_DONE = re.compile(r"(했어|했습니다|됐어|됐습니다|있어요|있습니다|맞아|맞습니다|그래요)")
_DONT_KNOW = re.compile(r"(모르|몰라|글쎄|확실하지|잘\s*모)")

_MANUFACTURING = re.compile(r"(?:(?P<what>[가-힣a-z0-9]{1,12})\s*)?제조")
_FILLERS = frozenset({"업종", "저희", "우리", "회사", "직원", "그냥", "일반", "저흰", "우린"})
_ENDINGS = ("데", "고", "며", "요", "다", "서", "명", "인", "은", "는", "이", "가", "도")
_NOT_MANUFACTURING = re.compile(r"제조\S*\s*(업)?\s*(은|이|는)?\s*" + _NEGATION)
# Manufacturing work named without the word 제조, read only as the answer to "어떤 업종인가요?".
_MAKING = re.compile(r"(사출|가공|금형|주조|주물|도금|용접|프레스|열처리|도장|생산|공장|성형|절삭|조립)")
_OTHER_INDUSTRY = re.compile(
    r"(서비스업|도소매|도매|소매|유통업|음식점|요식업|숙박업|운수업|운송업|물류업|건설업|소프트웨어|it\s*기업"
    r"|무역업|쇼핑몰|컨설팅업)"
)
_SME = re.compile(r"(중소|소)기업\s*(이에요|예요|입니다|이고|인데|이며|이라|이야|임|맞|확인서|이요|이구요|이거든|$)")
_NOT_SME = re.compile(
    r"(중견|대)기업\s*(이에요|예요|입니다|이고|인데|이며|이라|이야|임|맞|이요|$)|중소기업\S*\s*" + _NEGATION
)
_SOGONGIN = re.compile(r"소공인")
_PRIOR_EV = re.compile(r"(작년|지난해|2021|21년|'21|전년).{0,20}(전기차|전기자동차|ev|가능화)")
_PRIOR_EV_ALT = re.compile(r"(전기차|전기자동차|가능화).{0,12}(사업|지원).{0,8}(참여|했|받았|수행|선정)")
_PRIOR_DONE = re.compile(r"(참여|했|받았|수행|선정|해\s*봤)")
_SELECTED = re.compile(r"(중기부|중소벤처기업부|보급\s*·?\s*확산|스마트\s*공장).{0,20}(선정|뽑|됐)")
_CONSORTIUM = re.compile(r"컨소시엄")
_EV_INDUSTRY = re.compile(
    r"(전기차|전기자동차|ev)\s*(부품)?\s*(만들|생산해|생산하|제조해|제조하|업체|회사|기업이|분야|쪽)"
)
# Program names that contain a 대표산업's name without saying anything about the company.
_PROGRAM_WORDS = ("부품생산", "가능화", "지원사업", "사업", "혁신")
_NONE_INDUSTRY = re.compile(r"(해당\s*(사항)?\s*(없|안|아니)|대표산업\s*(아니|아님|없))")
_NOT_GIMPO = re.compile(r"김포\s*(시)?\s*(외|밖|아니|아닌|아녜|말고)")


@dataclass
class Extracted:
    """What one message says. `values` uses CompanyFacts' field names."""

    values: dict[str, Any] = field(default_factory=dict)
    declined: set[str] = field(default_factory=set)  # asked, and the user does not know

    def __bool__(self) -> bool:
        return bool(self.values or self.declined)


def _native(word: str) -> int | None:
    if not word:
        return None
    if word.isdigit():
        return int(word)
    total = 0
    for prefix, tens in (("스물", 20), ("스무", 20), ("열", 10)):
        if word.startswith(prefix) and word != prefix:
            total, word = tens, word[len(prefix) :]
            break
    unit = NATIVE_NUMBERS.get(word)
    return total + unit if unit is not None else None


def _workforce(text: str, out: Extracted) -> None:
    if _ALONE.search(text):
        out.values["employees"] = 1
        return
    for match in _COUNT.finditer(text):
        number = _native(match.group("num"))
        if number is None or not _WORKFORCE_WORDS.search(text):
            continue
        bound = (match.group("bound") or "").replace(" ", "")
        if not bound:
            out.values["employees"] = number
        elif bound in ("미만", "안되", "밑"):
            if number <= SOGONGIN_WORKERS_BELOW:
                out.values["small_workforce"] = True
        elif bound == "이하":
            if number < SOGONGIN_WORKERS_BELOW:
                out.values["small_workforce"] = True
        elif number >= SOGONGIN_WORKERS_BELOW:  # 이상, 초과, 넘
            out.values["small_workforce"] = False
        return


def _location(text: str, regions: Regions, out: Extracted) -> None:
    if _NOT_GIMPO.search(text):
        out.values["in_gimpo"] = False
        return
    found: list[tuple[int, str, str | None]] = []  # position, 시군구, 읍면동
    for place in regions.eupmyeondong:
        for name in (place.name, *place.aliases):
            position = text.find(name)
            if position >= 0:
                found.append((position, regions.city, place.name))
    for alias in (*regions.city_aliases, *regions.industrial_complexes):
        position = text.find(alias.lower())
        if position >= 0:
            found.append((position, regions.city, None))
    for name in regions.elsewhere:
        position = text.find(name)
        if position >= 0:
            found.append((position, name, None))
    if not found:
        return
    # "인천에서 김포 양촌으로 옮겼어요": the place named last is where the company is now.
    city = max(found)[1]
    if city == regions.city:
        out.values.update(in_gimpo=True, sigungu=regions.city)
        dong = next((d for _, _, d in sorted(found, reverse=True) if d), None)
        if dong:
            out.values["eupmyeondong"] = dong
    else:
        out.values.update(in_gimpo=False, sigungu=city, eupmyeondong=None)


def _industry_word(word: str | None, regions: Regions) -> str | None:
    """The word before 제조 when it names a trade ("금속가공"), not a filler or a place."""
    if not word or any(c.isdigit() for c in word) or word in _FILLERS or word.endswith(_ENDINGS):
        return None
    if any(word.startswith(p.name) or word.startswith(a) for p in regions.eupmyeondong for a in p.aliases):
        return None
    return None if any(alias in word for alias in regions.city_aliases) else word


def _industry(text: str, regions: Regions, out: Extracted) -> None:
    if "소공인" in text:
        out.values["is_manufacturer"] = True
    match = _MANUFACTURING.search(text)
    if match:
        if _NOT_MANUFACTURING.search(text):
            out.values["is_manufacturer"] = False
            return
        out.values["is_manufacturer"] = True
        word = _industry_word(match.group("what"), regions)
        if word:
            out.values["industry"] = word
        return
    other = _OTHER_INDUSTRY.search(text)
    if other:
        out.values["is_manufacturer"] = False
        out.values["industry"] = other.group(1)


def _negated(text: str, start: int) -> bool:
    """A negation in the clause that starts at `start` (up to the next comma or full stop)."""
    clause = re.split(r"[,.!?]|그리고|하고\s", text[start:], maxsplit=1)[0]
    return re.search(_NEGATION, clause) is not None


def _yes_no(text: str) -> bool | None:
    if _NO.search(text) or re.search(_NEGATION, text):
        return False
    if _YES.search(text) or _DONE.search(text):
        return True
    return None


def extract(raw: str, regions: Regions, industries: list[str], expecting: str | None = None) -> Extracted:
    """The facts `raw` states. `industries` are the 5 대표산업 names (from the rules file)."""
    text = normalize_utterance(raw)
    out = Extracted()
    if not text:
        return out
    _location(text, regions, out)
    _industry(text, regions, out)
    _workforce(text, out)
    if _SOGONGIN.search(text) and "employees" not in out.values and "small_workforce" not in out.values:
        out.values["small_workforce"] = True
    if _NOT_SME.search(text):
        out.values["is_sme"] = False
    elif _SME.search(text) or _SOGONGIN.search(text):
        out.values["is_sme"] = True

    compact_text = text.replace(" ", "")
    named = [
        name
        for name in industries
        if (at := compact_text.find(name)) >= 0 and not compact_text[at + len(name) :].startswith(_PROGRAM_WORDS)
    ]
    if named:
        out.values["representative_industry"] = named[0]
    elif _NONE_INDUSTRY.search(text) and (expecting == "representative_industry" or "대표산업" in text):
        out.values["representative_industry"] = NOT_REPRESENTATIVE
    elif _EV_INDUSTRY.search(text) and "전기자동차" in industries and not _PRIOR_EV.search(text):
        out.values["representative_industry"] = "전기자동차"

    prior = _PRIOR_EV.search(text) or _PRIOR_EV_ALT.search(text)
    if prior:
        negated = _negated(text, prior.start())
        if negated or _PRIOR_DONE.search(text, prior.start()) or expecting == "prior_ev_2021":
            out.values["prior_ev_2021"] = not negated
    selected = _SELECTED.search(text)
    if selected:
        out.values["mss_smart_factory_selected"] = not (_negated(text, selected.start()) or "아직" in text)
    consortium = _CONSORTIUM.search(text)
    if consortium:
        out.values["consortium"] = not (_negated(text, consortium.start()) or "단독" in text)

    if expecting == "is_manufacturer" and "is_manufacturer" not in out.values and _MAKING.search(text):
        out.values["is_manufacturer"] = True
        out.values["industry"] = text[:40]
    if expecting and expecting not in out.values and not (expecting == "small_workforce" and "employees" in out.values):
        _answer_expected(text, expecting, out)
    return out


def _answer_expected(text: str, expecting: str, out: Extracted) -> None:
    """A bare answer to the question just asked: 네 / 아니요 / 잘 모르겠어요."""
    if _DONT_KNOW.search(text):
        out.declined.add(expecting)
        return
    answer = _yes_no(text)
    if answer is None:
        return
    if expecting == "representative_industry":
        if answer is False:
            out.values[expecting] = NOT_REPRESENTATIVE
    elif expecting in YES_NO_FACTS:
        out.values[expecting] = answer

import pytest
from pydantic import ValidationError

from desk.schemas import CompanyCreate, ConsultationCreate
from desk.validation import is_valid_brn, normalize_phone


@pytest.mark.parametrize("number", ["124-81-00998", "1248100998", "220-81-62517", "123-45-67891"])
def test_valid_business_numbers(number: str) -> None:
    assert is_valid_brn(number)


@pytest.mark.parametrize(
    "number",
    [
        "124-81-00997",
        "220-81-62518",
        "1234567890",
        "124810099",
        "12481009981",
        "abc-de-fghij",
        "",
        "１２４８１００９９８",
    ],
)
def test_invalid_business_numbers(number: str) -> None:
    assert not is_valid_brn(number)


def test_ninth_digit_carry_counts() -> None:
    # 9th digit 9 -> 9*5 = 45 adds 4 beyond the weighted sum; without the carry 123-45-67895 would pass.
    assert is_valid_brn("123-45-67891")
    assert not is_valid_brn("123-45-67895")


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("01012345678", "010-1234-5678"),
        ("010-1234-5678", "010-1234-5678"),
        ("02 123 4567", "02-123-4567"),
        ("031-987-6543", "031-987-6543"),
        ("12345", None),
        ("010-1234-567a", None),
    ],
)
def test_phone_normalisation(raw: str, expected: str | None) -> None:
    assert normalize_phone(raw) == expected


def test_company_stores_digits_and_refuses_contact_without_consent() -> None:
    company = CompanyCreate(name="  김포 정밀\u3000공업 ", brn="124-81-00998")
    assert company.name == "김포 정밀 공업"
    assert company.brn == "1248100998"
    with pytest.raises(ValidationError, match="동의"):
        CompanyCreate(name="김포정밀", contact_phone="010-1234-5678")
    with pytest.raises(ValidationError, match="사업자등록번호"):
        CompanyCreate(name="김포정밀", brn="124-81-00997")


def test_korean_length_is_counted_in_nfc_characters() -> None:
    import unicodedata

    name = "가" * 100
    decomposed = unicodedata.normalize("NFD", name)
    assert len(decomposed) == 200
    assert CompanyCreate(name=decomposed).name == name
    with pytest.raises(ValidationError, match="100자 이하"):
        CompanyCreate(name="가" * 101)


def test_consultation_needs_a_category_and_rejects_naive_times() -> None:
    with pytest.raises(ValidationError):
        ConsultationCreate(company_id=1, categories=[])
    with pytest.raises(ValidationError):
        ConsultationCreate(company_id=1, categories=["금융"], occurred_at="2026-11-16T10:00:00")
    made = ConsultationCreate(company_id=1, categories=["금융", "금융", "수출"], notes="a\x00b")
    assert made.categories == ["금융", "수출"]
    assert made.notes == "ab"

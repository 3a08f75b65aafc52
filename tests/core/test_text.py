from core.privacy import mask_pii
from core.text import char_length, compact, normalize_utterance


def test_dots_fullwidth_and_spaces_fold_together() -> None:
    assert normalize_utterance("  ＳＭＡＲＴ　공장ㆍ물류・센터‧ ") == "smart 공장·물류·센터·"
    assert compact("스마트 공장") == compact("스마트공장")


def test_emoji_only_and_empty_and_huge_inputs_are_safe() -> None:
    assert normalize_utterance("😀🎉👍") == ""
    assert normalize_utterance(None) == ""
    assert len(normalize_utterance("가" * 100_000)) == 1000


def test_korean_length_counts_nfc_characters() -> None:
    decomposed = "\u1100\u1161"  # 가 as two jamo
    assert char_length(decomposed) == 1


def test_phone_and_business_number_are_masked() -> None:
    masked = mask_pii("연락처 010-1234-5678, 사업자 123-45-67890, a.b@corp.kr")
    assert "1234-5678" not in masked and "67890" not in masked and "a.b@" not in masked

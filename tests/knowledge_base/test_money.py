from __future__ import annotations

import pytest

from knowledge_base.money import budget_text, million_won, parts_text, spoken_won, with_spoken
from knowledge_base.schema import Budget, BudgetPart


@pytest.mark.parametrize(
    ("amount", "spoken"),
    [
        (25, "2,500만원"),
        (100, "1억원"),
        (1720, "17억 2,000만원"),
        (13.2, "1,320만원"),
        (0.5, "50만원"),
        (9.1, "910만원"),
        (8147, "81억 4,700만원"),
        (2500, "25억원"),
        (10000, "100억원"),
        (0.005, "5,000원"),
        (0.0155, "1만 5,500원"),
        (0, "0원"),
        (-3, "-300만원"),
    ],
)
def test_spoken_won(amount, spoken):
    assert spoken_won(amount) == spoken


def test_float_noise_does_not_leak():
    assert spoken_won(0.1 + 0.2) == "30만원"
    assert million_won(13.2) == "13.2백만원"


def test_with_spoken():
    assert with_spoken(25) == "25백만원 (2,500만원)"
    assert with_spoken(1720) == "1,720백만원 (17억 2,000만원)"


def test_budget_text_and_parts():
    assert budget_text(Budget(note="비예산")) == "비예산"
    assert budget_text(Budget(amount=200, note="이월예산")) == "200백만원 (2억원), 이월예산"
    budget = Budget(
        amount=500,
        total=2500,
        parts=[BudgetPart(label="국비", amount=1250, percent=50), BudgetPart(label="자부담", amount=750, percent=30)],
    )
    assert parts_text(budget) == "국비 1,250백만원(50%), 자부담 750백만원(30%)"

"""Amounts in 백만원 (the plan's unit) said the way people say them: 1720 -> '17억 2,000만원'."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

from knowledge_base.schema import Budget

_WON_PER_MILLION = 1_000_000
_WON_PER_MAN = 10_000
_WON_PER_EOK = 100_000_000


def _plain(value: Decimal) -> str:
    """'2,500', '0.5': thousands separators, no trailing zeros."""
    if value == value.to_integral_value():
        return f"{int(value):,}"
    return f"{value:,.6f}".rstrip("0").rstrip(".")


def spoken_won(million_won: float | int | Decimal) -> str:
    """25 -> '2,500만원', 100 -> '1억원', 1720 -> '17억 2,000만원', 13.2 -> '1,320만원', 0.5 -> '50만원'.

    Rounded to whole 원; 0.0155 -> '1만 5,500원'; negative amounts keep the sign."""
    amount = Decimal(str(million_won))
    won = int((abs(amount) * _WON_PER_MILLION).quantize(Decimal(1), rounding=ROUND_HALF_UP))
    if won == 0:
        return "0원"
    eok, rest = divmod(won, _WON_PER_EOK)
    man, won_rest = divmod(rest, _WON_PER_MAN)
    parts = [f"{eok:,}억" if eok else "", f"{man:,}만" if man else "", f"{won_rest:,}" if won_rest else ""]
    return ("-" if amount < 0 else "") + " ".join(p for p in parts if p) + "원"


def million_won(million_won: float | int | Decimal) -> str:
    """25 -> '25백만원', 1720 -> '1,720백만원', 9.1 -> '9.1백만원' (as the plan writes them)."""
    return f"{_plain(Decimal(str(million_won)))}백만원"


def with_spoken(million_won_amount: float | int | Decimal) -> str:
    """25 -> '25백만원 (2,500만원)', 1720 -> '1,720백만원 (17억 2,000만원)'."""
    return f"{million_won(million_won_amount)} ({spoken_won(million_won_amount)})"


def budget_text(budget: Budget) -> str:
    """'25백만원 (2,500만원)', '200백만원 (2억원), 이월예산', '비예산'."""
    if budget.amount is None:
        return budget.note or ""
    text = with_spoken(budget.amount)
    return f"{text}, {budget.note}" if budget.note else text


def parts_text(budget: Budget) -> str:
    """'국비 1,250백만원(50%), 시비 500백만원(20%), 자부담 750백만원(30%)'."""
    items = []
    for part in budget.parts:
        item = part.label
        if part.amount is not None:
            item += f" {million_won(part.amount)}"
        if part.percent is not None:
            item += f"({_plain(Decimal(str(part.percent)))}%)"
        items.append(item)
    return ", ".join(items)

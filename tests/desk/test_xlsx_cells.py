"""Excel export of text staff or companies typed: characters a worksheet cannot hold are dropped,
not a 500 (found by the staff API fuzz test: a control character in a consultation note)."""

from __future__ import annotations

import io

from openpyxl import load_workbook

from desk.exports import to_xlsx


def test_control_characters_are_dropped_and_the_rest_kept() -> None:
    body = to_xlsx("상담기록", ["기업", "내용"], [["새한\x1b정밀", "메모\x00 끝 😍"], ["=SUM(A1)", "정상"]])
    rows = list(load_workbook(io.BytesIO(body)).active.iter_rows(values_only=True))
    assert rows == [("기업", "내용"), ("새한정밀", "메모 끝 😍"), ("'=SUM(A1)", "정상")]

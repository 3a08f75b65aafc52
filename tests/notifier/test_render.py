from __future__ import annotations

import html
import re

from hypothesis import given, settings
from hypothesis import strategies as st

from core.text import utf16_length
from notifier.render import TELEGRAM_LIMIT, split_telegram_html

_TAG = re.compile(r"<(/?)(\w+)[^>]*>")


def _balanced(piece: str) -> bool:
    stack: list[str] = []
    for closing, name in _TAG.findall(piece):
        if closing:
            if not stack or stack.pop() != name:
                return False
        else:
            stack.append(name)
    return not stack


def _visible_text(markup: str) -> str:
    return re.sub(r"\s+", "", html.unescape(re.sub(r"<[^>]*>", "", markup)))


# Korean, ASCII, markup-significant characters, emoji (two UTF-16 units) and line breaks.
_ALPHABET = st.sampled_from([*list("가나다라 김포물류abc<>&\"'"), "😀", "🚚", "\n", "\n\n", "𠀀"])
_TEXT = st.lists(_ALPHABET, max_size=400).map("".join)


@st.composite
def _markup(draw: st.DrawFn) -> str:
    parts = []
    for text in draw(st.lists(_TEXT, min_size=1, max_size=8)):
        escaped = html.escape(text)
        tag = draw(st.sampled_from([None, "b", "i", "a"]))
        if tag == "a":
            parts.append(f'<a href="https://example.kr/?a=1&amp;b=2">{escaped}</a>')
        elif tag:
            parts.append(f"<{tag}>{escaped}</{tag}>")
        else:
            parts.append(escaped)
    return "".join(parts)


@settings(max_examples=200, deadline=None)
@given(markup=_markup(), limit=st.integers(min_value=60, max_value=300))
def test_pieces_fit_keep_tags_balanced_and_lose_no_text(markup: str, limit: int) -> None:
    pieces = split_telegram_html(markup, limit)
    for piece in pieces:
        assert utf16_length(piece) <= limit
        assert _balanced(piece)
        assert not re.search(r"&[#\w]*$", re.sub(r"<[^>]*>", "", piece))  # no entity cut in half
        assert "\ufffd" not in piece.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")
    assert "".join(_visible_text(p) for p in pieces) == _visible_text(markup)


def test_cuts_prefer_paragraphs_then_lines() -> None:
    paragraph = "가" * 2000
    text = "\n\n".join([paragraph, paragraph, paragraph])
    pieces = split_telegram_html(text)
    assert pieces == [paragraph + "\n\n" + paragraph, paragraph]
    lines = "\n".join(["나" * 1500] * 3)
    assert split_telegram_html(lines) == ["나" * 1500 + "\n" + "나" * 1500, "나" * 1500]


def test_counts_utf16_units_not_characters() -> None:
    emoji = "😀" * 3000  # 3000 characters, 6000 UTF-16 units
    pieces = split_telegram_html(emoji)
    assert len(pieces) == 2 and all(utf16_length(p) <= TELEGRAM_LIMIT for p in pieces)
    assert "".join(pieces) == emoji


def test_an_open_tag_is_closed_and_reopened() -> None:
    pieces = split_telegram_html("<b>" + "다 " * 100 + "</b>", 80)
    assert all(p.startswith("<b>") and p.endswith("</b>") for p in pieces)


def test_an_unbroken_run_is_cut_when_a_long_tag_leaves_little_room() -> None:
    # Found by the property test: 43 units of <a href> + 4 of </a> left 13 for a 15-unit run.
    markup = '<a href="https://example.kr/?a=1&amp;b=2">가가가가가가가가가가가😀😀</a>'
    pieces = split_telegram_html(markup, 60)
    assert all(utf16_length(p) <= 60 and _balanced(p) for p in pieces)
    assert "".join(_visible_text(p) for p in pieces) == _visible_text(markup)

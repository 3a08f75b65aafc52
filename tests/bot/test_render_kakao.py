from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.render import kakao
from bot.reply import Button, Card, QuickReply, Reply
from core.text import char_length
from tests.bot.kakao_limits import assert_kakao_limits

korean = st.text(
    alphabet=st.sampled_from("가나다라마바사아자차카타파하 김포산업진흥원\n·0123456789ab😀"), min_size=1, max_size=3000
)
short = st.text(alphabet=st.sampled_from("가나다 시험분석비예산abc"), min_size=1, max_size=80)
buttons = st.builds(Button, label=short, action=st.sampled_from(["message", "phone", "webLink"]), value=short)
cards = st.builds(Card, title=short, description=korean, buttons=st.lists(buttons, max_size=6).map(tuple))
quick = st.builds(QuickReply, label=short, message=short, extra=st.none() | st.just({"intent": "help"}))


@settings(max_examples=150, deadline=None)
@given(
    texts=st.lists(korean, min_size=0, max_size=6).map(tuple),
    cards=st.lists(cards, max_size=14).map(tuple),
    quick=st.lists(quick, max_size=15).map(tuple),
)
def test_any_reply_renders_within_kakao_limits(texts, cards, quick) -> None:
    assert_kakao_limits(kakao.render(Reply(texts=texts, cards=cards, quick_replies=quick)))


@settings(max_examples=100, deadline=None)
@given(text=korean)
def test_split_keeps_every_character_of_a_long_text(text: str) -> None:
    pieces = kakao.split_text(text)
    assert all(char_length(p) <= 1000 for p in pieces)
    assert "".join("".join(p.split()) for p in pieces) == "".join(text.split())


def test_long_answer_splits_at_line_ends_into_several_bubbles() -> None:
    lines = [f"{i}번째 줄: 김포산업진흥원 기업지원사업 안내 문장입니다." for i in range(60)]
    rendered = kakao.render(Reply(texts=("\n".join(lines),)))
    outputs = rendered["template"]["outputs"]
    assert len(outputs) == 2
    first = outputs[0]["simpleText"]["text"]
    assert first.endswith("안내 문장입니다.")  # cut at a line end, not inside a word
    assert_kakao_limits(rendered)


def test_text_past_three_bubbles_is_clipped_with_an_ellipsis() -> None:
    rendered = kakao.render(Reply(texts=("가" * 5000,)))
    outputs = rendered["template"]["outputs"]
    assert len(outputs) == 3
    assert outputs[-1]["simpleText"]["text"].endswith("…")


def test_cards_become_a_carousel_of_at_most_ten_with_short_descriptions() -> None:
    many = tuple(Card(title=f"사업 {i}", description="설명" * 100) for i in range(12))
    rendered = kakao.render(Reply(texts=("목록",), cards=many))
    carousel = rendered["template"]["outputs"][1]["carousel"]
    assert len(carousel["items"]) == 10
    assert all(char_length(item["description"]) <= 128 for item in carousel["items"])


def test_single_card_keeps_the_longer_description_and_maps_button_actions() -> None:
    card = Card(
        title="전화 연결",
        description="설명" * 150,
        buttons=(Button("전화하기", "phone", "070-4269-4084"), Button("홈페이지", "webLink", "https://example.kr")),
    )
    rendered = kakao.render(Reply(texts=(), cards=(card,)))
    text_card = rendered["template"]["outputs"][0]["textCard"]
    assert char_length(text_card["description"]) == 300
    assert text_card["buttons"][0] == {"label": "전화하기", "action": "phone", "phoneNumber": "070-4269-4084"}
    assert text_card["buttons"][1]["webLinkUrl"] == "https://example.kr"


def test_quick_reply_extra_is_passed_through() -> None:
    rendered = kakao.render(
        Reply(texts=("a",), quick_replies=(QuickReply("더보기", "더보기", {"action": "more", "page": "1"}),))
    )
    assert rendered["template"]["quickReplies"] == [
        {"label": "더보기", "action": "message", "messageText": "더보기", "extra": {"action": "more", "page": "1"}}
    ]


def test_empty_reply_still_has_one_output() -> None:
    assert_kakao_limits(kakao.render(Reply(texts=())))

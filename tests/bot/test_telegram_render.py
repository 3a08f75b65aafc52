from __future__ import annotations

from bot.render.telegram import MAX_CALLBACK_BYTES, CallbackKeys, render_telegram
from bot.reply import Button, Card, QuickReply, Reply
from core.text import split_utf16, utf16_length


def test_split_counts_utf16_units_and_never_cuts_a_surrogate_pair() -> None:
    text = "가" * 4000 + "😀" * 100  # 4000 + 200 units
    pieces = split_utf16(text, 4096)
    assert "".join(pieces) == text
    assert all(utf16_length(p) <= 4096 for p in pieces)
    assert len(pieces) == 2
    assert utf16_length(pieces[0]) in (4095, 4096)


def test_split_prefers_line_breaks() -> None:
    lines = [f"{i}번째 줄 내용입니다." for i in range(600)]
    pieces = split_utf16("\n".join(lines), 4096)
    assert len(pieces) > 1
    for piece in pieces:
        assert utf16_length(piece) <= 4096
        assert piece.split("\n")[-1] in lines  # every piece ends on a whole line
    assert "\n".join(pieces).split("\n") == lines


def test_texts_are_escaped_and_long_texts_split_before_escaping() -> None:
    long = "<b>&" * 3000  # 12000 characters, 4 per unit pattern
    messages = render_telegram(Reply(texts=("a < b & c", long)), CallbackKeys())
    assert messages[0].text == "a &lt; b &amp; c"
    rest = messages[1:]
    assert len(rest) == 3
    assert "".join(m.text for m in rest) == ("&lt;b&gt;&amp;" * 3000)
    assert all(m.parse_mode == "HTML" for m in messages)


def test_cards_become_bold_titled_html_with_url_buttons_and_phone_lines() -> None:
    card = Card(
        title="스마트공장 <지원>",
        description="총사업비 & 조건",
        buttons=(
            Button("공고 보기", "webLink", "https://example.org/a?b=1&c=2"),
            Button("위험", "webLink", "javascript:alert(1)"),
            Button("전화", "phone", "070-0000-0000"),
            Button("자세히", "message", "스마트공장 자세히"),
        ),
    )
    [message] = render_telegram(Reply(texts=(), cards=(card,)), CallbackKeys())
    assert message.text == "<b>스마트공장 &lt;지원&gt;</b>\n총사업비 &amp; 조건\n☎ 전화: 070-0000-0000"
    assert message.reply_markup is not None
    buttons = [b for row in message.reply_markup.inline_keyboard for b in row]
    assert [b.text for b in buttons] == ["공고 보기", "자세히"]
    assert buttons[0].url == "https://example.org/a?b=1&c=2"
    assert buttons[1].callback_data == "m:스마트공장 자세히"


def test_quick_replies_ride_on_the_last_message_with_short_callback_data() -> None:
    keys = CallbackKeys()
    long_message = "스마트공장 구축 지원사업의 신청 자격과 자부담 비율을 자세히 알려 주세요"
    reply = Reply(
        texts=("첫째", "둘째"),
        quick_replies=(
            QuickReply("짧게", "네"),
            QuickReply("길게", long_message),
            QuickReply("흐름", "예", extra={"flow": "eligibility", "answer": "yes"}),
        ),
    )
    messages = render_telegram(reply, keys)
    assert messages[0].reply_markup is None
    markup = messages[1].reply_markup
    assert markup is not None
    buttons = [b for row in markup.inline_keyboard for b in row]
    assert [b.text for b in buttons] == ["짧게", "길게", "흐름"]
    for button in buttons:
        assert isinstance(button.callback_data, str)
        assert len(button.callback_data.encode()) <= MAX_CALLBACK_BYTES
    assert keys.resolve(buttons[0].callback_data).message == "네"
    assert keys.resolve(buttons[1].callback_data).message == long_message
    flow = keys.resolve(buttons[2].callback_data)
    assert (flow.message, flow.extra) == ("예", {"flow": "eligibility", "answer": "yes"})


def test_unknown_or_evicted_keys_do_not_resolve() -> None:
    keys = CallbackKeys(max_entries=1)
    first = keys.data_for("가" * 30)
    keys.data_for("나" * 30)
    assert keys.resolve(first) is None
    assert keys.resolve("k:forged") is None
    assert keys.resolve(None) is None


def test_quick_replies_alone_get_a_prompt_text() -> None:
    [message] = render_telegram(Reply(texts=(), quick_replies=(QuickReply("네", "네"),)), CallbackKeys())
    assert message.text
    assert message.reply_markup is not None


def test_several_cards_become_one_numbered_message_with_numbered_buttons() -> None:
    cards = tuple(
        Card(title=f"사업 {i} <&>", description=f"설명 {i}", buttons=(Button("자세히", "message", f"사업 {i} 알려줘"),))
        for i in range(1, 4)
    )
    keys = CallbackKeys()
    [message] = render_telegram(Reply(texts=(), cards=cards), keys)
    assert message.text == "\n\n".join(f"<b>{i}. 사업 {i} &lt;&amp;&gt;</b>\n설명 {i}" for i in range(1, 4))
    assert message.reply_markup is not None
    rows = message.reply_markup.inline_keyboard
    assert [row[0].text for row in rows] == ["1. 자세히", "2. 자세히", "3. 자세히"]
    assert keys.resolve(rows[1][0].callback_data).message == "사업 2 알려줘"


def test_cards_too_long_for_one_message_are_sent_one_by_one() -> None:
    cards = tuple(Card(title=f"사업 {i}", description="가" * 1500) for i in range(3))
    messages = render_telegram(Reply(texts=(), cards=cards), CallbackKeys())
    assert len(messages) == 3
    assert all(utf16_length(m.text) <= 4096 + len("<b></b>") for m in messages)

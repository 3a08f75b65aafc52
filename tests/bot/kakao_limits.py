"""The documented SkillResponse 2.0 limits, checked on every reply the tests see."""

from __future__ import annotations

from typing import Any

from core.text import char_length


def assert_kakao_limits(response: dict[str, Any]) -> None:
    assert response["version"] == "2.0"
    template = response["template"]
    outputs = template["outputs"]
    assert 1 <= len(outputs) <= 3, f"{len(outputs)} outputs"
    for output in outputs:
        assert len(output) == 1
        kind, body = next(iter(output.items()))
        if kind == "simpleText":
            assert 0 < char_length(body["text"]) <= 1000
        elif kind == "textCard":
            _check_card(body, 400)
        elif kind == "carousel":
            assert body["type"] == "textCard"
            assert 1 <= len(body["items"]) <= 10
            for item in body["items"]:
                _check_card(item, 128)
        else:
            raise AssertionError(f"unexpected output type {kind}")
    quick = template.get("quickReplies", [])
    assert len(quick) <= 10
    for reply in quick:
        assert 0 < char_length(reply["label"]) <= 14
        assert reply["action"] in ("message", "block")
        assert reply["messageText"]
        if "extra" in reply:
            assert isinstance(reply["extra"], dict)


def _check_card(card: dict[str, Any], description_limit: int) -> None:
    assert 0 < char_length(card["title"]) <= 50
    assert char_length(card.get("description", "")) <= description_limit
    buttons = card.get("buttons", [])
    assert len(buttons) <= 3
    for button in buttons:
        assert 0 < char_length(button["label"]) <= 14
        assert button["action"] in ("webLink", "message", "phone", "block", "share", "operator")
        if button["action"] == "phone":
            assert button["phoneNumber"]
        if button["action"] == "message":
            assert button["messageText"]

import xml.etree.ElementTree as ET

from desk.charts import bars, stacked_bars

SVG = "{http://www.w3.org/2000/svg}"


def test_stacked_bars_heights_follow_the_counts() -> None:
    svg = stacked_bars("월별 상담", {"2026-10": {"금융": 2, "수출": 1}, "2026-11": {"금융": 4}}, ["금융", "수출"])
    root = ET.fromstring(svg)
    assert root.find(f"{SVG}title").text == "월별 상담"
    bars_ = [r for r in root.iter(f"{SVG}rect") if r.find(f"{SVG}title") is not None]
    heights = {r.find(f"{SVG}title").text: float(r.get("height")) for r in bars_}
    assert heights["2026-11 금융 4건"] == 2 * heights["2026-10 금융 2건"] == 4 * heights["2026-10 수출 1건"]
    assert "2026-10: 금융 2, 수출 1" in root.find(f"{SVG}desc").text


def test_empty_and_hostile_labels_still_make_valid_svg() -> None:
    root = ET.fromstring(bars("<script>", {"<b>": 0}, "챗봇 & 기타"))
    assert root.find(f"{SVG}title").text == "<script>"

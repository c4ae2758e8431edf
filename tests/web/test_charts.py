"""web/charts.py: the SVG is well-formed, titled, free of script and inline style, and says
what it was given; the committed charts.css is what pygal makes for the chart style."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from web.charts import Chart, _ticks, bar_chart, chart_css

NS = "{http://www.w3.org/2000/svg}"


def _chart(lang: str = "ru") -> Chart:
    return bar_chart(
        "Деньги по территориям",
        "Обязательства и выплаты по территориям, в сомах.",
        ["Ош", "Баткен", "Аламудунский район"],
        [("Обязательства", [150_000_00, 90_000_00, None]), ("Выплачено", [50_000_00, 0, 1_200_00])],
        "KGS",
        lang,
        chart_id="money-territory",
        total_label="Итого",
    )


def _tree(chart: Chart) -> ET.Element:
    return ET.fromstring(str(chart.svg))  # noqa: S314 - our own output


def test_chart_svg_is_well_formed_and_labelled() -> None:
    chart = _chart()
    root = _tree(chart)
    assert root.tag == f"{NS}svg"
    assert root.get("role") == "img"
    assert root.get("id") == "money-territory"
    assert root.get("aria-labelledby") == "money-territory-title money-territory-desc"
    title, desc = root[0], root[1]
    assert (title.tag, title.get("id"), title.text) == (
        f"{NS}title",
        "money-territory-title",
        "Деньги по территориям",
    )
    assert (desc.tag, desc.get("id"), desc.text) == (
        f"{NS}desc",
        "money-territory-desc",
        "Обязательства и выплаты по территориям, в сомах.",
    )


def test_chart_svg_has_no_script_style_or_handlers() -> None:
    svg = str(_chart().svg)
    assert re.search(r"<(script|style)\b", svg) is None
    assert re.search(r"\sstyle=", svg) is None
    assert re.search(r"\son[a-z]+=", svg, re.I) is None
    assert "javascript:" not in svg
    # the standalone document (for PDFs) keeps pygal's style but never a script
    assert "<script" not in _chart().document_svg
    assert "<style" in _chart().document_svg


def test_chart_draws_one_bar_per_value_with_its_value_printed() -> None:
    root = _tree(_chart())
    texts = [t.text for t in root.iter(f"{NS}text")]
    # the labels are on the axis
    for label in ["Ош", "Баткен", "Аламудунский район"]:
        assert label in texts
    # values in the language's compact money format: 150 000 сом → "150 тыс. сом"
    values = [t.text for t in root.iter(f"{NS}text") if "value" in (t.get("class") or "")]
    # a zero prints nothing (the table has it)
    assert sorted(v.replace("\xa0", " ") for v in values if v) == sorted(
        ["150 тыс. KGS", "90 тыс. KGS", "50 тыс. KGS", "1,2 тыс. KGS"]
    )
    bars = [r for r in root.iter(f"{NS}rect") if "rect" in (r.get("class") or "").split()]
    assert len(bars) == 5  # None draws nothing
    # a bar's length is proportional to its value
    widths = sorted(float(r.get("width") or 0) for r in bars)
    assert widths[-1] / widths[-2] == pytest.approx(150 / 90, rel=0.01)


def test_chart_table_rows_match_the_input_per_language() -> None:
    chart = _chart("ky")
    assert chart.series_names == ["Обязательства", "Выплачено"]
    assert [(r.label, r.values) for r in chart.rows] == [
        ("Ош", [150_000_00, 50_000_00]),
        ("Баткен", [90_000_00, 0]),
        ("Аламудунский район", [None, 1_200_00]),
    ]
    assert [c.replace("\xa0", " ") for c in chart.rows[0].cells] == [
        "150 000,00 сом",
        "50 000,00 сом",
    ]
    assert chart.rows[2].cells[0] == "—"
    assert [c.replace("\xa0", " ") for c in chart.totals] == ["240 000,00 сом", "51 200,00 сом"]
    english = _chart("en")
    assert english.rows[0].cells == ["KGS150,000.00", "KGS50,000.00"]


def test_chart_refuses_series_not_matching_the_labels() -> None:
    with pytest.raises(ValueError, match="2 values for 3 labels"):
        bar_chart("t", "d", ["a", "b", "c"], [("s", [1, 2])])


def test_charts_css_is_current() -> None:
    committed = (Path(__file__).parents[2] / "web" / "static" / "charts.css").read_text()
    assert committed == chart_css()
    assert "#chart-" not in committed


def test_long_labels_are_cut_in_the_drawing_and_whole_in_the_table() -> None:
    long = "ALM-1.1 · Strengthen inter-ethnic dialogue and trust"
    chart = bar_chart("t", "d", [long, "Osh"], [("s", [1_00, 2_00])])
    texts = [t.text for t in _tree(chart).iter(f"{NS}text")]
    assert "ALM-1.1 · Strengthen inter-ethnic dialo…" in texts  # 40 with the ellipsis
    assert long not in texts
    assert [r.label for r in chart.rows] == [long, "Osh"]
    coded = bar_chart("t", "d", [long, "Osh"], [("s", [1_00, 2_00])], short_labels=["ALM-1.1", "O"])
    assert {"ALM-1.1", "O"} <= {t.text for t in _tree(coded).iter(f"{NS}text")}


def test_each_label_is_written_above_its_own_bars() -> None:
    """Not beside them (pygal's way), where a label took half of a phone's width and the bars
    and their printed values had to share the rest."""
    chart = bar_chart(
        "t",
        "d",
        ["Аламудунский район", "город Ош"],
        [("a", [100_00, 50_00]), ("b", [20_00, None])],
        "KGS",
        "ru",
    )
    root = _tree(chart)
    groups = [g for g in root.iter(f"{NS}g") if g.get("class") == "category-labels"]
    assert len(groups) == 1
    labels = sorted(
        ((t.text, float(t.get("y") or 0)) for t in groups[0].iter(f"{NS}text")),
        key=lambda label: label[1],
    )
    assert [text for text, _ in labels] == ["Аламудунский район", "город Ош"]  # top down
    (_, first), (_, second) = labels
    bars = [
        float(r.get("y") or 0)
        for r in root.iter(f"{NS}rect")
        if "rect" in (r.get("class") or "").split()
    ]
    # two bars between the first label and the second, one below the second
    assert sorted(first < y < second for y in bars) == [False, True, True]
    assert sum(y > second for y in bars) == 1
    # no label column beside the bars: the plot starts near the drawing's left edge
    plots = [g for g in root.iter(f"{NS}g") if g.get("class") == "plot"]
    left = float((plots[0].get("transform") or "").split("(")[1].split(",")[0])
    assert left < 40


@pytest.mark.parametrize(
    ("low", "high", "expected"),
    [
        (0, 77_000_000, [0, 50_000_000]),
        (0, 93_000_000, [0, 50_000_000]),
        (0, 42_000_000, [0, 20_000_000]),
        (0, 1, [0, 1]),
        (0, 0, [0]),
        (-5_000, 20_000, [-5_000, 0, 20_000]),
    ],
)
def test_value_axis_has_zero_and_one_round_tick_per_side(
    low: int, high: int, expected: list[int]
) -> None:
    assert _ticks(low, high) == expected


def test_chart_svg_has_no_prefixes_after_another_library_takes_the_default_namespace() -> None:
    """ElementTree's prefix registry is one per process: a library that registers another
    namespace as the default removes the SVG one. The chart is still `<svg>`, not `<ns0:svg>`
    (an inline `<ns0:svg>` is no SVG to HTML's parser), and the document's `<style>` stays."""
    import xml.etree.ElementTree as ET

    ET.register_namespace("", "http://example.org/another-default")
    try:
        chart = _chart()
        assert str(chart.svg).startswith("<svg ")
        assert "ns0:" not in str(chart.svg)
        assert chart.document_svg.startswith("<svg ")
        assert "<style" in chart.document_svg
    finally:
        ET.register_namespace("", "http://www.w3.org/2000/svg")

"""Charts drawn on the server as SVG by pygal, safe under the site's strict CSP.

Use:

    from web.charts import bar_chart

    chart = bar_chart(
        title="Money by territory",
        description="Committed and disbursed per territory, in KGS.",
        labels=["Osh", "Batken"],
        series=[("Committed", [150_000_00, 90_000_00]), ("Disbursed", [50_000_00, 0])],
        currency="KGS",
        lang="ky",
    )

and in a template `{% from "_chart.html" import chart_figure %}{{ chart_figure(chart) }}`: a
`<figure>` with the caption, the inline `<svg role="img" aria-labelledby=…>` (its own `<title>`
and `<desc>`) and the data table beside it (`<th scope>`, money formatted per language).

Values are integer minor units (`None` = no value); labels and series names are already
translated text. Why inline SVG and not `<img>`: pygal puts a `<style>` and a `<script>` (its
configuration, even with `js=[]`) into every SVG. The SVG is cleaned after pygal drew it: no
`<style>`, `<script>`, `style=` or `on…=` is left, so the page passes
`style-src 'self'`. The look pygal would have put in the `<style>` is the static file
`web/static/charts.css` (made by `chart_css()` from pygal's own templates for the style below,
scoped to `svg.chart-svg`; `python -m web.charts > web/static/charts.css` regenerates it and a test
proves it is current). `Chart.document_svg` is the same chart as a standalone SVG document with
pygal's styles inside, for PDFs (WeasyPrint) and downloads.
"""

from __future__ import annotations

import math
import re
import sys
import uuid
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import pygal
from babel.numbers import format_compact_currency, format_currency, get_currency_precision
from markupsafe import Markup
from pygal.style import Style

SVG_NS = "http://www.w3.org/2000/svg"
XLINK_NS = "http://www.w3.org/1999/xlink"
ET.register_namespace("", SVG_NS)
ET.register_namespace("xlink", XLINK_NS)

#: Series colours, each at least 3:1 against white (WCAG 1.4.11, graphical objects).
PALETTE = (
    "#1f5f99",
    "#b3541e",
    "#2e7d32",
    "#6a3d9a",
    "#ad1457",
    "#00695c",
    "#7a5c00",
    "#455a64",
)
FONT = 'system-ui, -apple-system, "Segoe UI", Roboto, "Noto Sans", sans-serif'
CSS_CLASS = "chart-svg"

STYLE = Style(
    font_family=FONT,
    background="transparent",
    plot_background="#ffffff",
    foreground="#1a1a1a",
    foreground_strong="#1a1a1a",
    foreground_subtle="#6b6b6b",
    opacity=".9",
    opacity_hover="1",
    colors=PALETTE,
    label_font_size=15,
    major_label_font_size=15,
    value_font_size=14,
    value_label_font_size=14,
    legend_font_size=15,
    title_font_size=17,
    tooltip_font_size=14,
    no_data_font_size=20,
)

WIDTH = 380  # drawing units; the SVG scales to its box (max-width in charts.css): on a
# 360 px phone its text is ~13 px, on a desktop (28rem) ~18 px


@dataclass(frozen=True)
class Row:
    """One line of the data table: the label and each series' value, formatted and raw."""

    label: str
    cells: list[str]
    values: list[int | None]


@dataclass(frozen=True)
class Chart:
    """A drawn chart: `svg` (inline, CSP-safe Markup) and the data behind it for its table."""

    id: str
    title: str
    description: str
    svg: Markup
    document_svg: str
    currency: str
    series_names: list[str]
    rows: list[Row] = field(default_factory=list)
    totals: list[str] = field(default_factory=list)

    @property
    def title_id(self) -> str:
        return f"{self.id}-title"

    @property
    def desc_id(self) -> str:
        return f"{self.id}-desc"


LABEL_CHARS = 40  # a label's length that fits the drawing's width above its bars
LABEL_ROOM = 22  # drawing units above each group of bars for its label
MARGIN = 8
MARGIN_RIGHT = 36  # the last tick's label is centred on the plot's edge; printed values may
# run into this margin too
CHAR_WIDTH = 0.62  # a generous mean width of a character, in ems, to keep printed values in


def _shorten(label: str, chars: int = LABEL_CHARS) -> str:
    return label if len(label) <= chars else label[: chars - 1].rstrip() + "…"


class LabelledHorizontalBar(pygal.HorizontalBar):  # type: ignore[misc]  # pygal has no type hints
    """pygal's horizontal bars with each label written above its group of bars, across the
    drawing's whole width. Beside the bars (pygal's way) a label took half of a phone's
    width, and the bars and their printed values had to share the rest: the values were cut
    at the edge and the value axis's labels ran into each other."""

    def _band(self) -> float:
        """A label's band along the vertical, in pixels (negative: pygal counts upwards)."""
        span: float = self.view.x(1) - self.view.x(0)
        count: int = self._len
        return span / count

    def _bar(
        self,
        serie: Any,
        parent: Any,
        x: float,
        y: float,
        i: int,
        zero: float,
        secondary: bool = False,
    ) -> tuple[float, float, float, float]:
        # pygal's Bar._bar, with the band less the label's room at its top
        band = self._band()
        x, y = self.view((x, y))
        if band < 0:
            width = band + LABEL_ROOM
        else:
            x += LABEL_ROOM
            width = band - LABEL_ROOM
        series_margin = width * self._series_margin
        x += series_margin
        width -= 2 * series_margin
        width /= self._order
        x += (self._order - serie.index - 1) * width
        serie_margin = width * self._serie_margin
        x += serie_margin
        width -= 2 * serie_margin
        height = self.view.y(zero) - y
        self.svg.transposable_node(
            parent,
            "rect",
            x=x,
            y=y,
            rx=0,
            ry=0,
            width=width,
            height=height,
            class_="rect reactive tooltip-trigger",
        )
        return x, y, width, height

    def _plot(self) -> None:
        super()._plot()
        band = self._band()
        group = self.svg.node(self.nodes["plot"], class_="category-labels")
        positions = [i / self._len for i in range(self._len)] if self._len > 1 else [0.0]
        for i, position in enumerate(positions):
            start = float(self.view.x(position))
            top = min(start, start + band)
            label = self.x_labels[i] if self.x_labels and i < len(self.x_labels) else ""
            # from the drawing's left margin (the plot may start further in: _margin_left),
            # on white: the value axis's lines pass behind it
            left = MARGIN - self.margin_box.left
            size = STYLE.label_font_size
            self.svg.node(
                group,
                "rect",
                x=left - 2,
                y=top + 1,
                width=_text_width(label, size) + 4,
                height=LABEL_ROOM - 2,
                fill="#ffffff",
                class_="label-background",
            )
            text = self.svg.node(
                group, "text", x=left, y=top + LABEL_ROOM - 6, **{"font-size": size}
            )
            text.text = label


def format_money(minor: int | None, currency: str, lang: str) -> str:
    """Integer minor units in the language's currency format ("1 500,00 сом")."""
    if minor is None:
        return "—"
    code = currency.upper()
    return format_currency(Decimal(minor).scaleb(-get_currency_precision(code)), code, locale=lang)


def format_compact(minor: int | None, currency: str, lang: str) -> str:
    """Short form for axes and bar labels ("1,5 млн сом")."""
    if minor is None:
        return ""
    code = currency.upper()
    amount = Decimal(minor).scaleb(-get_currency_precision(code))
    return format_compact_currency(amount, code, locale=lang, fraction_digits=1)


def _nice_below(value: int) -> int:
    """The largest 1, 2 or 5 × 10^k not above `value` (> 0)."""
    power = 10 ** (len(str(value)) - 1)
    return int(max(f * power for f in (1, 2, 5) if f * power <= value))


def _ticks(low: int, high: int) -> list[int]:
    """Zero and one round value on each side that has bars: few enough that the compact money
    labels never collide, even at 360 px (the bars print their own values)."""
    ticks = [0]
    if high > 0:
        ticks.append(_nice_below(high))
    if low < 0:
        ticks.insert(0, -_nice_below(-low))
    return ticks


def _text_width(text: str, font_size: float) -> float:
    """A generous estimate of a text's width in drawing units."""
    return len(text) * CHAR_WIDTH * font_size


def _margin_left(ticks: list[int], currency: str, lang: str, horizontal: bool) -> int:
    """For horizontal bars, room left of the plot for half of the first tick's label (centred
    on its guide): the drawing's edge must not cut it."""
    if not horizontal:
        return MARGIN
    first = format_compact(ticks[0], currency, lang)
    return max(MARGIN, math.ceil(_text_width(first, STYLE.label_font_size) / 2))


def _value_range(
    values: Sequence[int], currency: str, lang: str, high: int, horizontal: bool, left: int
) -> int:
    """The value axis's end: for horizontal bars, beyond the longest bar by enough for every
    bar's printed value to end inside the drawing (its width estimated generously)."""
    if not horizontal:
        return high
    end = max(1, int(high * 1.45))
    plot = WIDTH - left - MARGIN_RIGHT
    room = plot + MARGIN_RIGHT - 2 - 5  # a printed value starts 5 units after its bar
    for value in values:
        if value <= 0:
            continue
        text = _text_width(format_compact(value, currency, lang), STYLE.value_font_size)
        if room - text > plot / 4:  # else the bar would be too short to see: let it be
            end = max(end, int(value * plot / (room - text)) + 1)
    return end


def _config(
    currency: str, lang: str, height: int, horizontal: bool, low: int, high: int, values: list[int]
) -> dict[str, object]:
    ticks = _ticks(low, high)
    left = _margin_left(ticks, currency, lang, horizontal)
    end = _value_range(values, currency, lang, high, horizontal, left)

    def compact(value: float | None) -> str:
        return format_compact(None if value is None else int(value), currency, lang)

    def printed(value: float | None) -> str:
        # a bar of nothing says nothing (the table beside the chart has the zero)
        return "" if not value else compact(value)

    return {
        "style": STYLE,
        "js": [],
        "width": WIDTH,
        "height": height,
        "classes": ["pygal-chart", CSS_CLASS],
        "legend_at_bottom": True,
        "legend_at_bottom_columns": 1,
        "truncate_legend": 40,
        "truncate_label": -1,  # labels are cut by _shorten (pygal's own cut ignores the y axis)
        "value_formatter": compact,
        "formatter": printed,
        "print_values": True,
        "print_values_position": "top",
        "margin": MARGIN,
        "margin_left": left,
        "margin_right": MARGIN_RIGHT,
        "spacing": 8,
        "show_y_guides": True,
        "y_labels": ticks,
        # the labels of horizontal bars are drawn above them (LabelledHorizontalBar)
        "show_y_labels": not horizontal,
        # room beyond the longest bar for its printed value
        "range": (min(low, ticks[0]), max(1, end)),
        "x_label_rotation": 0 if horizontal else 30,
        "tooltip_border_radius": 0,
        "pretty_print": False,
    }


def _parse(svg: str) -> ET.Element:
    """pygal's own output, serialised by ElementTree (labels escaped), no DTD or entities."""
    return ET.fromstring(svg)  # noqa: S314 - our own renderer's output, not untrusted input


def _serialise(root: ET.Element) -> str:
    """The SVG as text with no prefix on its elements (`<svg>`, as HTML's parser needs inline).

    ElementTree's prefixes live in one registry for the process, which any library may change
    (registering another namespace as the default removes the SVG one, and `<ns0:svg>` follows),
    so they are set again right before each serialisation."""
    ET.register_namespace("", SVG_NS)
    ET.register_namespace("xlink", XLINK_NS)
    return ET.tostring(root, encoding="unicode")


def _values_after_bars(svg: str) -> str:
    """pygal centres a printed value on the bar's end; start it just after the end instead, so
    it never crosses the bar or the axis (the range leaves room on the right)."""
    root = _parse(svg)
    for text in root.iter(f"{{{SVG_NS}}}text"):
        if "value" in (text.get("class") or "").split() and text.get("x") is not None:
            text.set("text-anchor", "start")
            text.set("x", f"{float(text.get('x') or 0) + 5:.2f}")
    return _serialise(root)


def _clean(svg: str, chart_id: str, title: str, description: str) -> str:
    """pygal's SVG without style/script/handlers, with our id, title and description."""
    root = _parse(svg)
    for parent in list(root.iter()):
        for child in list(parent):
            tag = child.tag.rsplit("}", 1)[-1]
            if tag in {"style", "script", "title", "desc"}:
                parent.remove(child)
    for element in root.iter():
        for name in list(element.attrib):
            if name == "style" or name.lower().startswith("on"):
                del element.attrib[name]
    root.attrib.pop("id", None)
    root.set("id", chart_id)
    root.set("role", "img")
    root.set("aria-labelledby", f"{chart_id}-title {chart_id}-desc")
    root.set("focusable", "false")
    title_el = ET.Element(f"{{{SVG_NS}}}title", {"id": f"{chart_id}-title"})
    title_el.text = title
    desc_el = ET.Element(f"{{{SVG_NS}}}desc", {"id": f"{chart_id}-desc"})
    desc_el.text = description
    root.insert(0, desc_el)
    root.insert(0, title_el)
    return _serialise(root)


def bar_chart(
    title: str,
    description: str,
    labels: Sequence[str],
    series: Sequence[tuple[str, Sequence[int | None]]],
    currency: str = "KGS",
    lang: str = "en",
    *,
    chart_id: str | None = None,
    horizontal: bool = True,
    total_label: str | None = None,
    short_labels: Sequence[str] | None = None,
) -> Chart:
    """A bar chart of money per label, one bar per series (horizontal by default: long names
    of territories and items stay readable on a phone). Each series' values line up with
    `labels`. `total_label`, when given, adds a totals line to the table. The drawing's axis
    shows `short_labels` (e.g. codes) or the labels cut to LABEL_CHARS characters; the table
    always has the full labels."""
    for name, values in series:
        if len(values) != len(labels):
            raise ValueError(f"series {name!r} has {len(values)} values for {len(labels)} labels")
    chart_id = chart_id or f"chart-{uuid.uuid4().hex[:10]}"
    bars = max(1, len(labels)) * max(1, len(series))
    kind: type[pygal.Bar]
    if horizontal:
        height = 70 + bars * 26 + max(1, len(labels)) * (10 + LABEL_ROOM) + len(series) * 24
        kind = LabelledHorizontalBar
    else:
        height = 340 + len(series) * 24
        kind = pygal.Bar
    numbers = [v for _, values in series for v in values if v is not None]
    low, high = min([0, *numbers]), max([0, *numbers])
    chart = kind(**_config(currency, lang, height, horizontal, low, high, numbers))
    # pygal draws horizontal bars from the bottom up: reversed, the first label is on top
    order = list(reversed(range(len(labels)))) if horizontal else list(range(len(labels)))
    drawn = list(short_labels) if short_labels is not None else [_shorten(x) for x in labels]
    if len(drawn) != len(labels):
        raise ValueError("short_labels must match labels")
    chart.x_labels = [drawn[i] for i in order]
    for name, values in series:
        chart.add(name, [values[i] for i in order])
    raw = chart.render(is_unicode=True, disable_xml_declaration=True)
    if horizontal:
        raw = _values_after_bars(raw)
    document = _parse(raw)
    for parent in list(document.iter()):
        for child in list(parent):
            if child.tag == f"{{{SVG_NS}}}script":  # pygal writes its config even with js=[]
                parent.remove(child)
    document.set("role", "img")
    document_title = document.find(f"{{{SVG_NS}}}title")
    if document_title is not None:
        document_title.text = title
    rows = [
        Row(
            label=label,
            cells=[format_money(values[i], currency, lang) for _, values in series],
            values=[values[i] for _, values in series],
        )
        for i, label in enumerate(labels)
    ]
    totals: list[str] = []
    if total_label is not None:
        totals = [
            format_money(sum(v for v in values if v is not None), currency, lang)
            for _, values in series
        ]
    return Chart(
        id=chart_id,
        title=title,
        description=description,
        svg=Markup(_clean(raw, chart_id, title, description)),  # noqa: S704 - built by ElementTree
        document_svg=_serialise(document),
        currency=currency.upper(),
        series_names=[name for name, _ in series],
        rows=rows,
        totals=totals,
    )


def chart_css() -> str:
    """pygal's CSS for STYLE and every palette colour, scoped to `svg.chart-svg`: the content
    of web/static/charts.css."""
    sample = pygal.Bar(style=STYLE, js=[], no_prefix=False, pretty_print=False)
    sample.x_labels = ["a"]
    for i in range(len(PALETTE)):
        sample.add(str(i), [1])
    raw = sample.render(is_unicode=True, disable_xml_declaration=True)
    style = _parse(raw).find(f"{{{SVG_NS}}}defs/{{{SVG_NS}}}style")
    text = "" if style is None else style.text or ""
    css = re.sub(r"#chart-[0-9a-f-]{36}", f"svg.{CSS_CLASS}", text)
    header = (
        "/* Generated by `python -m web.charts > web/static/charts.css` from pygal's own CSS\n"
        "   (LGPL-3.0-or-later, Kozea) for web/charts.py's STYLE; do not edit by hand. */\n"
    )
    extra = (
        f"svg.{CSS_CLASS}{{display:block;width:100%;height:auto;max-width:28rem}}\n"
        # a white halo where a guide line crosses a printed value (!important: pygal's own
        # `text{stroke:none !important}` took it away)
        f"svg.{CSS_CLASS} .text-overlay text.value{{paint-order:stroke;stroke:#fff !important;"
        "stroke-width:3px;stroke-linejoin:round}\n"
    )
    return header + css.strip() + "\n" + extra


if __name__ == "__main__":  # pragma: no cover - regenerates web/static/charts.css
    sys.stdout.write(chart_css())

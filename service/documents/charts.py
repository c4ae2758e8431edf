"""The documents' charts: pygal SVG (as the web's dashboards draw theirs) embedded as data URIs.

A chart travels to the render worker as a spec (a plain dict) and is drawn there:
{"kind": "bars", "title": …, "labels": [...], "series": [[name, [values…]], …],
 "value_suffix": …}.
"""

from __future__ import annotations

import base64
from typing import Any

import pygal
from pygal.style import Style

_STYLE = Style(
    background="white",
    plot_background="white",
    foreground="#1f2933",
    foreground_strong="#1f2933",
    foreground_subtle="#9aa5b1",
    colors=("#1d5fa8", "#8fb8e0", "#c0392b"),
    guide_stroke_color="#d9e2ec",
    major_guide_stroke_color="#bcccdc",
    font_family="Noto Sans, sans-serif",
    label_font_size=11,
    major_label_font_size=11,
    legend_font_size=11,
    title_font_size=13,
    value_font_size=10,
)


def draw(spec: dict[str, Any]) -> str:
    """A spec → an `data:image/svg+xml;base64,…` URI."""
    chart = pygal.Bar(
        style=_STYLE,
        width=720,
        height=300,
        js=[],  # no script: the PDF is static and the fetcher loads nothing from the network
        show_legend=len(spec["series"]) > 1,
        legend_at_bottom=True,
        title=spec.get("title"),
        x_label_rotation=0 if len(spec["labels"]) <= 8 else 30,
        print_values=False,
        truncate_label=-1,
        y_title=spec.get("y_title"),
    )
    chart.x_labels = spec["labels"]
    if spec.get("integer"):  # counts: whole-number ticks only
        top = max([0, *(v for _, values in spec["series"] for v in values)])
        step = max(1, -(-top // 8))
        chart.y_labels = list(range(0, top + step, step))
    for name, values in spec["series"]:
        chart.add(name, values)
    svg: bytes = chart.render()
    return "data:image/svg+xml;base64," + base64.b64encode(svg).decode("ascii")

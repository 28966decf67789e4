"""The monthly situation report as a PDF, drawn on the server with ReportLab.

A title page (period, scope, filters, counts and the map coloured as the room colours it), the
table of the largest changes (most severe first, negative above positive of the same level), then
one page per alert: headline, severity, polarity and confidence, the explanation and a line chart
of its evidence. Every page carries the sources: Statistics Finland's figures and the National
Land Survey of Finland's boundaries (CC BY 4.0).

ReportLab rather than printing the page in a browser: it is a well-kept pure-Python library with
wheels (no system packages, no headless browser on the server), and its graphics module draws the
map's polygons and the charts as vectors. Text is set in Bitstream Vera, which ships with
ReportLab, so ä, ö, å, dashes and the minus sign print without fonts from the system.
"""

from __future__ import annotations

import io
import json
import re
import threading
from collections.abc import Callable, Iterable, Sequence
from functools import cache
from pathlib import Path
from typing import Any, Final
from xml.sax.saxutils import escape

from reportlab.graphics.shapes import Circle, Drawing, Line, PolyLine, Rect, String
from reportlab.graphics.shapes import Path as ShapePath
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import cm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.platypus import (
    KeepTogether,
    PageBreak,
    Paragraph,
    SimpleDocTemplate,
    Spacer,
    Table,
    TableStyle,
)

from tutka.models.alerts import Alert
from tutka.models.codes import period_index
from tutka.room.briefing import (
    TABLE_ROWS,
    Briefing,
    headline,
    kind_name,
    month_name,
    polarity_name,
    severity_name,
    text,
)
from tutka.room.schemas import Chart
from tutka.terminal import label, number

#: The simplified boundaries the room's map draws (scripts/build_map.py).
GEOMETRY: Final = Path(__file__).resolve().parent / "static" / "fi_map.json"

#: The room's map colours (room.css, .tone-*).
TONES: Final = {
    "none": "#d9dee4",
    "neg-1": "#f4b6b6",
    "neg-2": "#e0584f",
    "neg-3": "#8c1022",
    "pos-1": "#cdebd3",
    "pos-2": "#7cc38d",
    "pos-3": "#2f7d46",
}
INK: Final = colors.HexColor("#1f2933")
MUTED: Final = colors.HexColor("#52606d")
VALUES: Final = colors.HexColor("#1d4e89")
EXPECTED: Final = colors.HexColor("#9aa5b1")
SIGNALS: Final = colors.HexColor("#c0392b")

FONT: Final = "TutkaVera"
BOLD: Final = "TutkaVera-Bold"
_fonts = threading.Lock()
_TOKEN: Final = re.compile(r"[MLZ]|-?\d+(?:\.\d+)?")


def _register_fonts() -> None:
    with _fonts:
        if FONT in pdfmetrics.getRegisteredFontNames():
            return
        pdfmetrics.registerFont(TTFont(FONT, "Vera.ttf"))
        pdfmetrics.registerFont(TTFont(BOLD, "VeraBd.ttf"))
        pdfmetrics.registerFontFamily(FONT, normal=FONT, bold=BOLD, italic=FONT, boldItalic=BOLD)


@cache
def geometry() -> dict[str, Any]:
    """The map's paths by area code (regions and municipalities), read once."""
    loaded: dict[str, Any] = json.loads(GEOMETRY.read_text(encoding="utf-8"))
    return loaded


def region_codes() -> set[str]:
    return set(geometry()["regions"])


def _styles() -> dict[str, ParagraphStyle]:
    base = ParagraphStyle("body", fontName=FONT, fontSize=9.5, leading=13, textColor=INK)
    return {
        "body": base,
        "title": ParagraphStyle(
            "title", base, fontName=BOLD, fontSize=20, leading=25, spaceAfter=6
        ),
        "h1": ParagraphStyle(
            "h1", base, fontName=BOLD, fontSize=14, leading=18, spaceAfter=4, spaceBefore=4
        ),
        "h2": ParagraphStyle("h2", base, fontName=BOLD, fontSize=12.5, leading=16, spaceAfter=4),
        "facts": ParagraphStyle("facts", base, textColor=MUTED, spaceAfter=6),
        "small": ParagraphStyle("small", base, fontSize=7.5, leading=9.5, textColor=MUTED),
        "cell": ParagraphStyle("cell", base, fontSize=8, leading=10),
        "head": ParagraphStyle("head", base, fontName=BOLD, fontSize=8, leading=10),
    }


def _p(value: str, style: ParagraphStyle) -> Paragraph:
    # Vera has no arrow; the explanations' "→" prints as "->".
    return Paragraph(escape(value.replace("→", "->")), style)


def render(briefing: Briefing) -> bytes:
    """The report as PDF bytes."""
    _register_fonts()
    styles = _styles()
    lang = briefing.lang
    out = io.BytesIO()
    doc = SimpleDocTemplate(
        out,
        pagesize=A4,
        leftMargin=2 * cm,
        rightMargin=2 * cm,
        topMargin=1.8 * cm,
        bottomMargin=2.2 * cm,
        title=f"{text('title', lang)} {briefing.period or ''}".strip(),
        author="Muutostutka",
        subject=briefing.scope_name,
        creator="Muutostutka (ReportLab)",
    )
    story: list[Any] = [*_cover(briefing, styles, doc.width), PageBreak()]
    story += _largest(briefing, styles)
    for number_, alert in enumerate(briefing.alerts[: briefing.sections], start=1):
        story += [PageBreak(), *_section(number_, alert, briefing, styles, doc.width)]
    footer = _footer(briefing)
    doc.build(story, onFirstPage=footer, onLaterPages=footer)
    return out.getvalue()


def _footer(briefing: Briefing) -> Callable[[Any, Any], None]:
    lang = briefing.lang
    lines = (text("source", lang) + " · " + text("map_source", lang),)

    def draw(canvas: Any, doc: Any) -> None:
        canvas.saveState()
        canvas.setFont(FONT, 7)
        canvas.setFillColor(MUTED)
        y = 1.2 * cm
        for line in lines:
            canvas.drawString(doc.leftMargin, y, line)
            y -= 9
        canvas.drawRightString(
            A4[0] - doc.rightMargin, 1.2 * cm + 12, text("page", lang, n=doc.page)
        )
        canvas.drawString(doc.leftMargin, 1.2 * cm + 12, text("title", lang))
        canvas.restoreState()

    return draw


def _cover(briefing: Briefing, styles: dict[str, ParagraphStyle], width: float) -> list[Any]:
    lang = briefing.lang
    period = (
        text("period", lang, month=month_name(briefing.period, lang))
        if briefing.period
        else text("no_period", lang)
    )
    lines = [
        _p(text("title", lang), styles["title"]),
        _p(period, styles["h1"]),
        _p(text("scope", lang, area=briefing.scope_name), styles["body"]),
        _p(text("filters", lang, filters=briefing.filters), styles["body"]),
        _p(
            text(
                "counts",
                lang,
                total=number(len(briefing.alerts), lang),
                negative=number(briefing.negative, lang),
                positive=number(briefing.positive, lang),
            ),
            styles["body"],
        ),
    ]
    if briefing.as_of:
        lines.append(_p(text("as_of", lang, date=briefing.as_of), styles["small"]))
    lines.append(_p(text("prepared", lang, date=briefing.prepared.isoformat()), styles["small"]))
    lines += [Spacer(1, 8), _p(text("map", lang), styles["h2"])]
    lines.append(map_drawing(briefing, width, 15.5 * cm))
    lines.append(_legend(lang, width))
    lines.append(_p(text("map_source", lang), styles["small"]))
    return lines


def _paths(d: str) -> list[list[tuple[float, float]]]:
    """An SVG path of M/L/Z commands as rings of points."""
    rings: list[list[tuple[float, float]]] = []
    tokens = _TOKEN.findall(d)
    i = 0
    while i < len(tokens):
        token = tokens[i]
        if token == "M":
            rings.append([(float(tokens[i + 1]), float(tokens[i + 2]))])
            i += 3
        elif token == "L":
            rings[-1].append((float(tokens[i + 1]), float(tokens[i + 2])))
            i += 3
        elif token == "Z":
            i += 1
        else:  # implicit L after a pair
            rings[-1].append((float(token), float(tokens[i + 1])))
            i += 2
    return rings


def map_drawing(briefing: Briefing, width: float, height: float) -> Drawing:
    """The map of the briefing's areas, coloured by their open changes as the room's map is."""
    shapes = geometry()["municipalities" if briefing.map_area == "municipalities" else "regions"]
    rings = {code: _paths(shapes[code]) for code in briefing.map_codes if shapes.get(code)}
    drawing = Drawing(width, height)
    points = [p for code_rings in rings.values() for ring in code_rings for p in ring]
    if not points:
        return drawing
    min_x, max_x = min(p[0] for p in points), max(p[0] for p in points)
    min_y, max_y = min(p[1] for p in points), max(p[1] for p in points)
    scale = min(width / max(max_x - min_x, 1), height / max(max_y - min_y, 1))
    offset_x = (width - (max_x - min_x) * scale) / 2

    def at(x: float, y: float) -> tuple[float, float]:
        return offset_x + (x - min_x) * scale, (max_y - y) * scale

    for code, code_rings in rings.items():
        tone = briefing.tones.get(code)
        fill = colors.HexColor(TONES[tone.name if tone else "none"])
        path = ShapePath(fillColor=fill, strokeColor=colors.white, strokeWidth=0.6)
        for ring in code_rings:
            path.moveTo(*at(*ring[0]))
            for point in ring[1:]:
                path.lineTo(*at(*point))
            path.closePath()
        drawing.add(path)
    groups: dict[str, list[list[tuple[float, float]]]] = {}
    for code, ely in briefing.map_groups.items():
        groups.setdefault(ely, []).extend(rings.get(code, []))
    for ely_rings in groups.values():
        outline = ShapePath(fillColor=None, strokeColor=colors.white, strokeWidth=1.8)
        for a, b in outer_edges(ely_rings):
            outline.moveTo(*at(*a))
            outline.lineTo(*at(*b))
        drawing.add(outline)
    return drawing


def outer_edges(
    rings: Iterable[list[tuple[float, float]]],
) -> list[tuple[tuple[float, float], tuple[float, float]]]:
    """The edges of ``rings`` that no other ring shares: the outline of the areas together (the
    simplified boundaries keep shared borders identical).

    >>> square = [(0.0, 0.0), (1.0, 0.0), (1.0, 1.0), (0.0, 1.0)]
    >>> beside = [(1.0, 0.0), (2.0, 0.0), (2.0, 1.0), (1.0, 1.0)]
    >>> len(outer_edges([square])), len(outer_edges([square, beside]))
    (4, 6)
    """
    seen: dict[frozenset[tuple[float, float]], tuple[tuple[float, float], tuple[float, float]]]
    seen = {}
    shared: set[frozenset[tuple[float, float]]] = set()
    for ring in rings:
        for a, b in zip(ring, [*ring[1:], ring[0]], strict=True):
            if a == b:
                continue
            key = frozenset((a, b))
            if key in seen:
                shared.add(key)
            seen[key] = (a, b)
    return [edge for key, edge in seen.items() if key not in shared]


def _legend(lang: str, width: float) -> Drawing:
    entries = [
        ("neg-3", text("legend_neg", lang)),
        ("pos-2", text("legend_pos", lang)),
        ("none", text("legend_none", lang)),
    ]
    drawing = Drawing(width, 16)
    x = 0.0
    for tone, words in entries:
        drawing.add(Rect(x, 3, 9, 9, fillColor=colors.HexColor(TONES[tone]), strokeColor=None))
        drawing.add(String(x + 13, 4, words, fontName=FONT, fontSize=7.5, fillColor=MUTED))
        x += 13 + pdfmetrics.stringWidth(words, FONT, 7.5) + 14
    return drawing


def _largest(briefing: Briefing, styles: dict[str, ParagraphStyle]) -> list[Any]:
    lang = briefing.lang
    story: list[Any] = [
        _p(text("largest", lang), styles["h1"]),
        _p(text("largest_note", lang), styles["small"]),
        Spacer(1, 6),
    ]
    if not briefing.alerts:
        return [*story, _p(text("none", lang), styles["body"])]
    cell, head = styles["cell"], styles["head"]
    rows: list[list[Any]] = [
        [
            _p(h, head)
            for h in (
                "#",
                text("col_severity", lang),
                text("col_polarity", lang),
                text("col_kind", lang),
                text("col_area", lang),
                text("col_impact", lang),
                text("col_opened", lang),
            )
        ]
    ]
    shown = briefing.alerts[:TABLE_ROWS]
    for i, alert in enumerate(shown, start=1):
        rows.append(
            [
                _p(str(i), cell),
                _p(severity_name(alert.severity, lang), cell),
                _p(polarity_name(alert.polarity, lang), cell),
                _p(kind_name(alert, lang), cell),
                _p(f"{getattr(alert.area_name, lang)} ({alert.area})", cell),
                _p(number(alert.impact, lang) if alert.impact else "–", cell),
                _p(alert.opened_period, cell),
            ]
        )
    table = Table(
        rows,
        colWidths=[0.7 * cm, 2.4 * cm, 1.9 * cm, 4.3 * cm, 4.0 * cm, 1.9 * cm, 1.8 * cm],
        repeatRows=1,
    )
    style = [
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("LINEBELOW", (0, 0), (-1, 0), 0.8, INK),
        ("LINEBELOW", (0, 1), (-1, -1), 0.25, EXPECTED),
        ("ALIGN", (5, 1), (5, -1), "RIGHT"),
    ]
    for i, alert in enumerate(shown, start=1):
        tone = f"{'neg' if alert.polarity.value == 'negative' else 'pos'}-{alert.severity.rank}"
        style.append(("BACKGROUND", (1, i), (2, i), colors.HexColor(TONES[tone])))
        if tone in ("neg-3", "neg-2", "pos-3"):
            style.append(("TEXTCOLOR", (1, i), (2, i), colors.white))
    table.setStyle(TableStyle(style))
    story.append(table)
    if len(briefing.alerts) > len(shown):
        more = text("more", lang, n=number(len(briefing.alerts) - len(shown), lang))
        story += [Spacer(1, 4), _p(more, styles["small"])]
    return story


def _facts(alert: Alert, lang: str) -> str:
    parts = [severity_name(alert.severity, lang), polarity_name(alert.polarity, lang)]
    if alert.impact:
        parts.append(text("impact", lang, n=number(alert.impact, lang)))
    if alert.labour_share is not None:
        parts.append(text("share", lang, pct=number(alert.labour_share * 100, lang, 1)))
    if alert.confidence:
        parts.append(text("confidence", lang, level=label(alert.confidence, lang)))
    parts.append(text("opened", lang, period=alert.opened_period))
    if alert.resolved_period:
        parts.append(text("resolved", lang, period=alert.resolved_period))
    else:
        parts.append(text(f"status_{alert.status.value}", lang))
    return " · ".join(parts)


def _section(
    number_: int,
    alert: Alert,
    briefing: Briefing,
    styles: dict[str, ParagraphStyle],
    width: float,
) -> list[Any]:
    lang = briefing.lang
    chart = briefing.charts.get(alert.id)
    parts: list[Any] = [
        _p(headline(number_, alert, lang), styles["h2"]),
        _p(_facts(alert, lang), styles["facts"]),
        _p(getattr(alert.explanation, lang), styles["body"]),
        Spacer(1, 10),
    ]
    if chart is None or not chart.values:
        parts.append(_p(text("no_chart", lang), styles["small"]))
    else:
        parts += [
            _p(text("chart", lang, measure=kind_name(alert, lang)), styles["head"]),
            chart_drawing(chart, lang, width, 6.5 * cm),
        ]
    return [KeepTogether(parts[:3]), *parts[3:]]


def _nice_step(span: float) -> float:
    raw = span / 4 if span > 0 else 1.0
    magnitude: float = 10.0 ** int(f"{raw:e}".split("e")[1])
    for step in (1, 2, 2.5, 5, 10):
        if raw <= step * magnitude:
            return step * magnitude
    return 10 * magnitude


def _ticks(low: float, high: float) -> list[float]:
    step = _nice_step(high - low)
    start = (low // step) * step
    ticks = []
    value = start
    while value <= high + step * 1e-9:
        if value >= low - step * 1e-9:
            ticks.append(round(value, 10))
        value += step
    return ticks


def chart_drawing(chart: Chart, lang: str, width: float, height: float) -> Drawing:
    """The evidence chart: the recorded figures, the same month in earlier years, the signals
    and the month the alert opened, as the room's chart shows them."""
    drawing = Drawing(width, height)
    left, bottom, right, top = 48.0, 34.0, 8.0, 8.0
    plot_w, plot_h = width - left - right, height - bottom - top
    values = [(period_index(p.period), p.value) for p in chart.values]
    expected = [(period_index(p.period), p.value) for p in chart.expected]
    signals = [(period_index(s.period), s.value) for s in chart.signals]
    every = values + expected + signals
    xs = [x for x, _ in every]
    ys = [y for _, y in every]
    x0, x1 = min(xs), max(xs)
    y_low, y_high = min(ys), max(ys)
    pad = (y_high - y_low) * 0.08 or abs(y_high) * 0.1 or 1.0
    y_low, y_high = y_low - pad, y_high + pad
    if y_low < 0 <= min(ys):
        y_low = 0.0

    def sx(x: float) -> float:
        return left + (x - x0) / max(x1 - x0, 1) * plot_w

    def sy(y: float) -> float:
        return bottom + (y - y_low) / (y_high - y_low) * plot_h

    decimals = 2 if y_high - y_low < 5 else 0
    for tick in _ticks(y_low, y_high):
        drawing.add(
            Line(
                left,
                sy(tick),
                left + plot_w,
                sy(tick),
                strokeColor=colors.HexColor("#e4e7eb"),
                strokeWidth=0.5,
            )
        )
        drawing.add(
            String(
                left - 4,
                sy(tick) - 3,
                number(tick, lang, decimals),
                fontName=FONT,
                fontSize=7,
                fillColor=MUTED,
                textAnchor="end",
            )
        )
    years = sorted({x // 12 for x in range(x0, x1 + 1)})
    stride = max(1, len(years) // 8)
    for year in years[::stride]:
        x = max(year * 12, x0)
        drawing.add(Line(sx(x), bottom, sx(x), bottom - 3, strokeColor=MUTED, strokeWidth=0.5))
        drawing.add(
            String(
                sx(x),
                bottom - 12,
                str(year),
                fontName=FONT,
                fontSize=7,
                fillColor=MUTED,
                textAnchor="middle",
            )
        )
    drawing.add(Line(left, bottom, left + plot_w, bottom, strokeColor=MUTED, strokeWidth=0.6))
    opened = period_index(chart.opened_period)
    if x0 <= opened <= x1:
        drawing.add(
            Line(
                sx(opened),
                bottom,
                sx(opened),
                bottom + plot_h,
                strokeColor=SIGNALS,
                strokeWidth=0.6,
                strokeDashArray=[2, 2],
            )
        )
        near_end = sx(opened) > left + plot_w * 0.85
        drawing.add(
            String(
                sx(opened) + (-2 if near_end else 2),
                bottom + plot_h - 8,
                text("chart_opened", lang),
                fontName=FONT,
                fontSize=7,
                fillColor=SIGNALS,
                textAnchor="end" if near_end else "start",
            )
        )
    _line(drawing, expected, sx, sy, EXPECTED, [3, 2])
    _line(drawing, values, sx, sy, VALUES, None)
    for x, y in signals:
        drawing.add(
            Circle(sx(x), sy(y), 2.2, fillColor=SIGNALS, strokeColor=colors.white, strokeWidth=0.4)
        )
    _chart_legend(drawing, lang, left)
    return drawing


def _line(
    drawing: Drawing,
    points: Sequence[tuple[int, float]],
    sx: Callable[[float], float],
    sy: Callable[[float], float],
    colour: Any,
    dash: list[float] | None,
) -> None:
    if len(points) < 2:
        return
    flat: list[float] = []
    for x, y in points:
        flat += [sx(x), sy(y)]
    drawing.add(PolyLine(flat, strokeColor=colour, strokeWidth=1.2, strokeDashArray=dash))


def _chart_legend(drawing: Drawing, lang: str, left: float) -> None:
    x = left
    entries: Iterable[tuple[str, Any, bool]] = (
        ("chart_values", VALUES, False),
        ("chart_expected", EXPECTED, False),
        ("chart_signals", SIGNALS, True),
    )
    for key, colour, dot in entries:
        words = text(key, lang)
        if dot:
            drawing.add(Circle(x + 5, 4, 2.2, fillColor=colour, strokeColor=None))
        else:
            drawing.add(Line(x, 4, x + 10, 4, strokeColor=colour, strokeWidth=1.2))
        drawing.add(String(x + 14, 1.5, words, fontName=FONT, fontSize=7, fillColor=MUTED))
        x += 14 + pdfmetrics.stringWidth(words, FONT, 7) + 12

"""The transparency report as HTML (console page, standalone printable file) and as PDF.

Both are drawn from one view of the report (`sections`): the same section titles, tables and
charts. A chart is laid out once as shapes (bars, interval whiskers, labels) and drawn either
as inline SVG (no JavaScript, no inline CSS: the console's CSP allows neither) or with
reportlab's graphics in the PDF. Every chart has a title, a description and its data table.
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any, Literal, cast

from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup, escape

from bastion.compliance.orders import OBSTACLES

TEMPLATES = Path(__file__).resolve().parent.parent / "console" / "templates"
SOURCE_LABELS = {
    "order": "Removal orders",
    "hash_match": "Hash matches",
    "classifier": "Text classifier",
    "user_flag": "User flags",
    "other": "Other",
}
CATEGORY_LABELS = {
    "a": "(a) incitement",
    "b": "(b) solicits offences",
    "c": "(c) solicits participation",
    "d": "(d) instructions",
    "e": "(e) threats",
    "unknown": "unknown",
}
AUTOMATION_LABELS = {
    "full": "Fully automated",
    "partial": "Partly automated",
    "none": "Decided by a person",
}
REASON_LABELS = {
    **{k: k.replace("_", " ").capitalize() for k in OBSTACLES},
    "incomplete": "Incomplete (information missing)",
    "pending": "Pending (clock running)",
}
BAR = "#234e8c"
INK = "#1d232a"
GRID = "#c9ced4"
Anchor = Literal["start", "middle", "end"]


# Charts: laid out once, drawn as SVG or as reportlab shapes.


@dataclass(frozen=True)
class Bar:
    """One bar: a count, or a rate with its 95% interval."""

    label: str
    value: float
    text: str
    low: float | None = None
    high: float | None = None


@dataclass(frozen=True)
class Chart:
    """A horizontal bar chart; `rate` charts run from 0 to 100%."""

    key: str
    title: str
    desc: str
    bars: tuple[Bar, ...]
    rate: bool = False


@dataclass(frozen=True)
class Style:
    """Sizes of one medium (points for the PDF, pixels for SVG)."""

    width: float
    label: float
    text: float
    row: float
    bar: float
    font: float


SVG_STYLE = Style(width=640, label=180, text=150, row=24, bar=15, font=12)
PDF_STYLE = Style(width=480, label=130, text=112, row=16, bar=10, font=7.5)


@dataclass(frozen=True)
class Shape:
    """A rectangle, a line or a text, in top-down coordinates."""

    kind: str
    x: float
    y: float
    x2: float = 0.0
    y2: float = 0.0
    text: str = ""
    anchor: str = "start"
    colour: str = INK


def layout(chart: Chart, style: Style) -> tuple[float, list[Shape]]:
    """The chart's height and its shapes."""
    left, right = style.label, style.width - style.text
    span = right - left - 4
    top = 4.0
    scale = 1.0 if chart.rate else max((b.value for b in chart.bars), default=0) or 1.0
    height = top + style.row * len(chart.bars) + (style.font * 1.8 if chart.rate else 4)
    shapes: list[Shape] = []
    bottom = top + style.row * len(chart.bars)
    if chart.rate:
        for tick in (0.0, 0.25, 0.5, 0.75, 1.0):
            x = left + span * tick
            shapes.append(Shape("line", x, top, x, bottom, colour=GRID))
            label = f"{tick:.0%}"
            shapes.append(Shape("text", x, bottom + style.font * 1.3, text=label, anchor="middle"))
    for index, bar in enumerate(chart.bars):
        y = top + style.row * index
        middle = y + style.row / 2
        baseline = middle + style.font * 0.35
        shapes.append(Shape("text", left - 6, baseline, text=_clip(bar.label), anchor="end"))
        length = span * min(max(bar.value / scale, 0.0), 1.0)
        if length > 0:
            bar_top = middle - style.bar / 2
            shapes.append(
                Shape("rect", left, bar_top, left + length, bar_top + style.bar, colour=BAR)
            )
        if bar.low is not None and bar.high is not None:
            low, high = left + span * bar.low, left + span * bar.high
            shapes.append(Shape("line", low, middle, high, middle))
            for x in (low, high):
                shapes.append(Shape("line", x, middle - 4, x, middle + 4))
        shapes.append(Shape("text", right + 4, baseline, text=bar.text))
    shapes.append(Shape("line", left, top, left, bottom))
    return height, shapes


def _clip(text: str, limit: int = 28) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def svg(chart: Chart, style: Style = SVG_STYLE) -> Markup:
    """The chart as inline SVG with <title> and <desc> (presentation attributes only)."""
    height, shapes = layout(chart, style)
    ident = f"chart-{chart.key}"
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" '
        f'width="{style.width:g}" height="{height:g}" viewBox="0 0 {style.width:g} {height:g}" '
        f'aria-labelledby="{ident}-title {ident}-desc" font-family="system-ui, sans-serif" '
        f'font-size="{style.font:g}">',
        f'<title id="{ident}-title">{escape(chart.title)}</title>',
        f'<desc id="{ident}-desc">{escape(chart.desc)}</desc>',
    ]
    for s in shapes:
        if s.kind == "rect":
            parts.append(
                f'<rect x="{s.x:.1f}" y="{s.y:.1f}" width="{s.x2 - s.x:.1f}" '
                f'height="{s.y2 - s.y:.1f}" fill="{s.colour}"/>'
            )
        elif s.kind == "line":
            parts.append(
                f'<line x1="{s.x:.1f}" y1="{s.y:.1f}" x2="{s.x2:.1f}" y2="{s.y2:.1f}" '
                f'stroke="{s.colour}" stroke-width="1.5"/>'
            )
        else:
            parts.append(
                f'<text x="{s.x:.1f}" y="{s.y:.1f}" text-anchor="{s.anchor}" '
                f'fill="{s.colour}">{escape(s.text)}</text>'
            )
    parts.append("</svg>")
    return Markup("".join(parts))


# One view of the report for every medium.


@dataclass(frozen=True)
class TableView:
    """A table with a caption; also the data behind a chart."""

    caption: str
    header: tuple[str, ...]
    rows: Sequence[tuple[str, ...]]


@dataclass(frozen=True)
class Block:
    """A table, with the chart drawn from it when people would rather look than read."""

    table: TableView
    chart: Chart | None = None


@dataclass(frozen=True)
class Section:
    """A numbered section of the report."""

    id: str
    title: str
    notes: list[str] = field(default_factory=list)
    blocks: list[Block] = field(default_factory=list)


def pct(value: float | None) -> str:
    """0.1234 -> '12.3%'; no value -> '–'."""
    return "–" if value is None else f"{value * 100:.1f}%"


def rate_text(rate: dict[str, Any]) -> str:
    """'12.5% (95% CI 2.2–47.1%, n=8)' or 'no data (n=0)'."""
    if not rate["n"]:
        return "no data (n=0)"
    low, high = rate["ci95"]
    return f"{pct(rate['rate'])} (95% CI {pct(low)}–{pct(high)}, n={rate['n']})"


def _counts_block(
    key: str, caption: str, counts: dict[str, int], labels: dict[str, str], head: str
) -> Block:
    total = sum(counts.values())
    rows = [
        (labels.get(k, k), str(v), pct(v / total if total else None)) for k, v in counts.items()
    ]
    bars = tuple(Bar(labels.get(k, k), v, str(v)) for k, v in counts.items())
    desc = "; ".join(f"{label}: {value}" for label, value, _ in rows) or "no data"
    chart = Chart(key, caption, desc, bars) if total else None
    return Block(TableView(caption, (head, "Count", "Share"), rows), chart)


def _rates_block(
    key: str, caption: str, rows: list[dict[str, Any]], labels: dict[str, str]
) -> Block:
    table = [
        (
            labels.get(r["key"], r["key"]),
            str(r["n"]),
            str(r["hits"]),
            pct(r["rate"]),
            f"{pct(r['ci95'][0])}–{pct(r['ci95'][1])}",
        )
        for r in rows
    ]
    bars = tuple(
        Bar(
            labels.get(r["key"], r["key"]),
            r["rate"] or 0.0,
            f"{pct(r['rate'])} n={r['n']}",
            r["ci95"][0],
            r["ci95"][1],
        )
        for r in rows[:15]
    )
    desc = "; ".join(f"{r[0]}: {r[3]} of {r[1]} (95% CI {r[4]})" for r in table) or "no data"
    chart = Chart(key, f"{caption} (bars: rate; lines: 95% interval)", desc, bars, rate=True)
    head = ("Group", "n", "Count", "Rate", "95% interval")
    return Block(TableView(caption, head, table), chart if rows else None)


def sections(report: dict[str, Any]) -> list[Section]:
    """The report as numbered sections of tables and charts, for every medium."""
    return [
        _summary(report),
        _removals(report),
        _orders(report),
        _complaints(report),
        _rates(report),
        Section("method", "6. Method", notes=list(report["method"])),
    ]


def _summary(report: dict[str, Any]) -> Section:
    removals, orders, rates = report["removals"], report["orders"], report["rates"]
    rows = [
        ("Decisions", str(report["decisions"]["total"])),
        ("Items removed or disabled", str(removals["total"])),
        ("… found by own detection (hash matches + classifier)", str(removals["own_detection"])),
        ("… removed under removal orders", str(removals["by_source"]["order"])),
        ("Removal orders received", str(orders["received"])),
        ("Orders executed within one hour", f"{orders['within_one_hour']} of {orders['received']}"),
        ("Complaints", str(report["complaints"]["total"])),
        ("Reinstatements", str(report["reinstatements"]["decisions"])),
        ("Error rate", rate_text(rates["error"]["all"])),
        ("Overturn rate", rate_text(rates["overturn"]["all"])),
    ]
    table = TableView("Key figures", ("Figure", "Value"), rows)
    period = report["period"]
    notes = [
        f"Period {period['from']} to {period['to']} (UTC, both days included). "
        f"Made {report['generated_at']} by Bastion {report['bastion']}; report format "
        f"version {report['version']}. Under {' and '.join(report['regulations'])}."
    ]
    return Section("summary", "1. Summary", notes, [Block(table)])


def _removals(report: dict[str, Any]) -> Section:
    removals = report["removals"]
    notes = [
        f"{removals['total']} items were removed or had access disabled "
        f"({removals['by_outcome'].get('remove', 0)} removed, "
        f"{removals['by_outcome'].get('restrict', 0)} restricted). Own detection = hash "
        "matches + text classifier."
    ]
    blocks = [
        _counts_block(
            "source", "Removals by source", removals["by_source"], SOURCE_LABELS, "Source"
        ),
        _counts_block(
            "category",
            "Removals by TCO Art. 2(7) category",
            removals["by_category"],
            CATEGORY_LABELS,
            "Category",
        ),
        _counts_block(
            "automation",
            "Removals by automation",
            removals["by_automation"],
            AUTOMATION_LABELS,
            "Automation",
        ),
    ]
    return Section("removals", "2. Content removed or disabled", notes, blocks)


def _orders(report: dict[str, Any]) -> Section:
    orders = report["orders"]
    exposure = orders["exposure"]
    outcome = {
        "Executed within one hour": orders["within_one_hour"],
        "Executed late": orders["late"],
        **{f"Not executed: {REASON_LABELS.get(k, k)}": v for k, v in _nonzero(orders)},
    }
    notes = [
        f"{orders['received']} removal orders received; {orders['executed']} executed "
        f"({orders['within_one_hour']} within one hour, {orders['late']} late); "
        f"{orders['not_executed']['total']} not executed; {orders['incomplete']} incomplete; "
        f"{orders['final']} final.",
        f"Final orders in the 12 months before the report's end: "
        f"{exposure['final_orders_12_months']} — "
        + ("exposed to terrorist content (Art. 5(4))." if exposure["exposed"] else "not exposed."),
    ]
    reasons = orders["not_executed"]["by_reason"]
    why = TableView(
        "Orders not executed, and why (Annex III)",
        ("Reason", "Orders"),
        [(REASON_LABELS.get(k, k), str(v)) for k, v in reasons.items()],
    )
    blocks = [_counts_block("orders", "Removal orders by outcome", outcome, {}, "Outcome")]
    return Section("orders", "3. Removal orders (TCO Art. 3)", notes, [*blocks, Block(why)])


def _nonzero(orders: dict[str, Any]) -> Iterable[tuple[str, int]]:
    return [(k, v) for k, v in orders["not_executed"]["by_reason"].items() if v]


def _complaints(report: dict[str, Any]) -> Section:
    complaints, reinstated = report["complaints"], report["reinstatements"]
    rows = [
        ("Complaints received", str(complaints["total"])),
        ("Upheld (removal confirmed)", str(complaints["uphold"])),
        ("Reinstated after a complaint", str(complaints["reinstate"])),
        ("Reinstatement decisions", str(reinstated["decisions"])),
    ]
    rows += [(f"Outcome: {k}", str(v)) for k, v in complaints.get("by_outcome", {}).items()]
    notes = [complaints["note"]] if complaints.get("note") else []
    table = TableView("Complaints (TCO Art. 10) and reinstatements", ("Figure", "Count"), rows)
    return Section("complaints", "4. Complaints and reinstatements", notes, [Block(table)])


def _rates(report: dict[str, Any]) -> Section:
    error, overturn = report["rates"]["error"], report["rates"]["overturn"]
    notes = [
        f"Error rate overall: {rate_text(error['all'])}. Overturn rate overall: "
        f"{rate_text(overturn['all'])}.",
        "A language or source whose interval lies clearly above the others' is flagged more "
        "often for content that is not terrorist content: look there first.",
    ]
    blocks = [
        _rates_block("error-language", "Error rate by language", error["by_language"], {}),
        _rates_block("error-source", "Error rate by source", error["by_source"], SOURCE_LABELS),
        _rates_block("overturn-language", "Overturn rate by language", overturn["by_language"], {}),
        _rates_block(
            "overturn-source", "Overturn rate by source", overturn["by_source"], SOURCE_LABELS
        ),
    ]
    return Section("rates", "5. Error and overturn rates", notes, blocks)


# HTML


@cache
def _environment() -> Environment:
    return Environment(
        loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(default=True)
    )


def render_html(report: dict[str, Any]) -> str:
    """The standalone, printable HTML file (no scripts; styles in the page)."""
    template = _environment().get_template("transparency_standalone.html")
    return template.render(**html_context(report))


def html_context(report: dict[str, Any]) -> dict[str, Any]:
    """What the report templates need: the report, its sections, the charts as SVG."""
    views = sections(report)
    charts = {b.chart.key: svg(b.chart) for s in views for b in s.blocks if b.chart is not None}
    return {"report": report, "sections": views, "charts": charts}


# PDF


@cache
def _fonts() -> tuple[str, str]:
    """A Unicode TrueType font (DejaVu when installed, else reportlab's own Vera)."""
    import reportlab
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont

    candidates = [
        (Path("/usr/share/fonts/truetype/dejavu"), "DejaVuSans.ttf", "DejaVuSans-Bold.ttf"),
        (Path(reportlab.__file__).parent / "fonts", "Vera.ttf", "VeraBd.ttf"),
    ]
    for folder, regular, bold in candidates:
        if (folder / regular).is_file() and (folder / bold).is_file():
            pdfmetrics.registerFont(TTFont("ReportSans", str(folder / regular)))
            pdfmetrics.registerFont(TTFont("ReportSans-Bold", str(folder / bold)))
            return "ReportSans", "ReportSans-Bold"
    return "Helvetica", "Helvetica-Bold"


def render_pdf(report: dict[str, Any]) -> bytes:
    """The report as an A4 PDF with the same sections, tables and charts as the HTML."""
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.units import mm
    from reportlab.platypus import SimpleDocTemplate

    regular, _ = _fonts()
    period = report["period"]
    title = f"Transparency report {period['from']} to {period['to']}"
    buffer = io.BytesIO()
    document = SimpleDocTemplate(
        buffer,
        pagesize=A4,
        leftMargin=18 * mm,
        rightMargin=18 * mm,
        topMargin=16 * mm,
        bottomMargin=16 * mm,
        title=title,
        author="Bastion",
        subject="TCO Art. 7 / DSA Art. 15 transparency report",
        creator=f"Bastion {report['bastion']}",
    )

    def footer(canvas: Any, doc: Any) -> None:
        canvas.saveState()
        canvas.setFont(regular, 8)
        canvas.drawString(18 * mm, 9 * mm, f"Bastion — {title}")
        canvas.drawRightString(A4[0] - 18 * mm, 9 * mm, f"Page {doc.page}")
        canvas.restoreState()

    document.build(_story(report), onFirstPage=footer, onLaterPages=footer)
    return buffer.getvalue()


def _story(report: dict[str, Any]) -> list[Any]:
    from reportlab.platypus import CondPageBreak, Paragraph, Spacer

    styles = _styles()
    period = report["period"]
    story: list[Any] = [
        Paragraph("Transparency report", styles["title"]),
        Paragraph(f"{period['from']} to {period['to']}", styles["subtitle"]),
    ]
    for section in sections(report):
        story += [CondPageBreak(60), Paragraph(_text(section.title), styles["h1"])]
        story += [Paragraph(_text(note), styles["body"]) for note in section.notes]
        for block in section.blocks:
            story.append(CondPageBreak(40 + 14 * min(len(block.table.rows), 12)))
            story.append(Paragraph(_text(block.table.caption), styles["h2"]))
            if block.chart is not None:
                story += [_drawing(block.chart), Spacer(1, 4)]
            story += [_table(block.table), Spacer(1, 8)]
    return story


def _text(value: str) -> str:
    return str(escape(value))


def _styles() -> dict[str, Any]:
    from reportlab.lib.styles import ParagraphStyle

    regular, bold = _fonts()
    body = ParagraphStyle("body", fontName=regular, fontSize=9, leading=12, spaceAfter=4)
    return {
        "title": ParagraphStyle("title", fontName=bold, fontSize=20, leading=24, spaceAfter=4),
        "subtitle": ParagraphStyle("subtitle", fontName=regular, fontSize=12, spaceAfter=10),
        "h1": ParagraphStyle("h1", fontName=bold, fontSize=14, leading=18, spaceBefore=10),
        "h2": ParagraphStyle("h2", fontName=bold, fontSize=10, leading=13, spaceBefore=6),
        "body": body,
    }


def _table(view: TableView) -> Any:
    from reportlab.lib import colors
    from reportlab.platypus import Table, TableStyle

    regular, bold = _fonts()
    rows: list[Sequence[str]] = [view.header, *view.rows] if view.rows else [view.header, ("–",)]
    table = Table([list(r) for r in rows], hAlign="LEFT", repeatRows=1)
    table.setStyle(
        TableStyle(
            [
                ("FONT", (0, 0), (-1, -1), regular, 8),
                ("FONT", (0, 0), (-1, 0), bold, 8),
                ("LINEBELOW", (0, 0), (-1, 0), 0.8, colors.HexColor(INK)),
                ("LINEBELOW", (0, 1), (-1, -1), 0.3, colors.HexColor(GRID)),
                ("TOPPADDING", (0, 0), (-1, -1), 2),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 2),
            ]
        )
    )
    return table


def _drawing(chart: Chart) -> Any:
    from reportlab.graphics.shapes import Drawing, Line, Rect, String
    from reportlab.lib import colors

    regular, _ = _fonts()
    height, shapes = layout(chart, PDF_STYLE)
    drawing = Drawing(PDF_STYLE.width, height)
    for s in shapes:
        colour = colors.HexColor(s.colour)
        if s.kind == "rect":
            rect = Rect(s.x, height - s.y2, s.x2 - s.x, s.y2 - s.y)
            rect.fillColor, rect.strokeColor, rect.strokeWidth = colour, None, 0
            drawing.add(rect)
        elif s.kind == "line":
            drawing.add(
                Line(s.x, height - s.y, s.x2, height - s.y2, strokeColor=colour, strokeWidth=0.8)
            )
        else:
            drawing.add(
                String(
                    s.x,
                    height - s.y,
                    s.text,
                    fontName=regular,
                    fontSize=PDF_STYLE.font,
                    fillColor=colour,
                    textAnchor=cast(Anchor, s.anchor),
                )
            )
    return drawing

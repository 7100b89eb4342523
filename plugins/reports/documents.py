"""The report's files: HTML with its chart (the PDF is that HTML rendered), CSV and XLSX.

Every file is drawn from the same tables (``tables.report_tables``), so the numbers in
one format are the numbers in every other.
"""

from __future__ import annotations

import csv
import io
from html import escape

from gridgeo_plugins.incidents.chart import FONT, bar_chart_svg
from gridgeo_plugins.reports.figures import MEASURES, Figures
from gridgeo_plugins.reports.tables import Table, report_tables
from gridgeo_plugins.reports.texts import words
from openpyxl import Workbook

MEDIA_TYPES = {
    "html": "text/html; charset=utf-8", "pdf": "application/pdf",
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}

_STYLE = f"""
@page {{ size: A4; margin: 16mm 14mm; }}
body {{ font-family: {FONT}; font-size: 10pt; color: #222; }}
h1 {{ font-size: 17pt; margin: 0 0 4pt; }} h2 {{ font-size: 12pt; margin: 14pt 0 4pt; }}
p.meta {{ margin: 0; color: #555; }}
table {{ border-collapse: collapse; width: 100%; }}
th, td {{ border: 0.5pt solid #999; padding: 2pt 4pt; text-align: left; }}
td.n {{ text-align: right; }} th {{ background: #eee; }}
"""


def title(figures: Figures, language: str, town: str) -> str:
    w = words(language)
    return w["title"].format(town=town, kind=w[figures.period.kind])


def chart_svg(figures: Figures, language: str, town: str) -> str:
    """Totals and the on-time picture as bars (CJK labels: the chart's font list)."""
    w = words(language)
    counts = figures.town.counts
    groups = [(w["totals"], {w[m]: counts[m] for m in MEASURES[:4]}),
              (w["on_time_rate"], {w["on_time"]: counts["on_time"],
                                   w["overdue"]: counts["overdue"]})]
    rate = figures.town.on_time_rate
    footer = f"{w['on_time_rate']} {'-' if rate is None else f'{rate:.1%}'}"
    return bar_chart_svg(title(figures, language, town), groups, footer)


def _html_table(table: Table, language: str) -> str:
    if not table.rows:
        return f"<h2>{escape(table.title)}</h2><p>{escape(words(language)['none'])}</p>"
    head = "".join(f"<th>{escape(h)}</th>" for h in table.header)
    body = "".join(
        "<tr>" + "".join(f'<td class="n">{cell}</td>' if isinstance(cell, int | float)
                         else f"<td>{escape(str(cell if cell is not None else '-'))}</td>"
                         for cell in row) + "</tr>"
        for row in table.rows)
    return (f"<h2>{escape(table.title)}</h2><table><thead><tr>{head}</tr></thead>"
            f"<tbody>{body}</tbody></table>")


def as_html(figures: Figures, language: str, town: str, with_workers: bool) -> str:
    w = words(language)
    period = figures.period
    heading = title(figures, language, town)
    meta = w["period"].format(start=period.start, end=period.end, label=period.label)
    made = w["made_at"].format(made_at=figures.made_at.strftime("%Y-%m-%d %H:%M %Z"))
    note = "" if with_workers else f"<p class=\"meta\">{escape(w['workers_left_out'])}</p>"
    tables = "".join(_html_table(t, language)
                     for t in report_tables(figures, language, with_workers))
    return (f'<!DOCTYPE html><html lang="{"zh-CN" if language == "zh" else "en"}"><head>'
            f'<meta charset="utf-8"><title>{escape(heading)}</title><style>{_STYLE}</style>'
            f'</head><body><h1>{escape(heading)}</h1><p class="meta">{escape(meta)}</p>'
            f'<p class="meta">{escape(made)}</p>{note}'
            f'<figure>{chart_svg(figures, language, town)}</figure>{tables}</body></html>')


def as_csv(figures: Figures, language: str, with_workers: bool) -> str:
    """One section after another: a row with the section's title, its header, its rows,
    then a blank line (spreadsheet programs open it as it reads)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    for table in report_tables(figures, language, with_workers):
        writer.writerow([table.title])
        writer.writerow(table.header)
        writer.writerows([["" if c is None else c for c in row] for row in table.rows])
        writer.writerow([])
    return "\ufeff" + out.getvalue()  # the BOM makes Excel read the CJK text as UTF-8


def as_xlsx(figures: Figures, language: str, with_workers: bool) -> bytes:
    """One sheet per table, named after the table's title."""
    book = Workbook()
    book.remove(book.active)
    for table in report_tables(figures, language, with_workers):
        sheet = book.create_sheet(table.title[:31].replace("/", "-"))
        sheet.append(table.header)
        for row in table.rows:
            sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def as_pdf(html: str) -> bytes:
    """The HTML rendered by WeasyPrint (Pango lays out the CJK text and embeds subsets of
    the Noto CJK fonts); seconds of CPU, so done once per document, when first asked."""
    from weasyprint import HTML

    return bytes(HTML(string=html).write_pdf())

"""A small horizontal bar chart as SVG text, CJK labels included (no plotting library)."""

from __future__ import annotations

from xml.sax.saxutils import escape

FONT = "'Noto Sans CJK SC', 'Noto Sans SC', 'Source Han Sans SC', sans-serif"
COLOURS = {"red": "#d62728", "orange": "#ff7f0e", "yellow": "#e6c200"}
LABELS = {"reported": "上报", "accepted": "受理", "invalid": "无效", "duplicate": "重复",
          "dispatched": "已派遣", "in_progress": "处置中", "resolved": "已处置",
          "verified": "已核查", "closed": "结案", "returned": "退回", "reopened": "重新处置",
          "red": "红色", "orange": "橙色", "yellow": "黄色"}
WIDTH, ROW, LEFT, BAR_MAX = 640, 24, 120, 420


def bar_chart_svg(title: str, groups: list[tuple[str, dict[str, int]]], footer: str) -> str:
    """One block of bars per group, each bar labelled with its name and count."""
    top = max([count for _, counts in groups for count in counts.values()] or [1]) or 1
    y = 40
    parts = [f'<text x="16" y="26" font-size="18" font-weight="bold">{escape(title)}</text>']
    for heading, counts in groups:
        y += 12
        parts.append(f'<text x="16" y="{y + 12}" font-size="14" font-weight="bold">'
                     f'{escape(heading)}</text>')
        y += ROW
        for key, count in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])):
            width = round(BAR_MAX * count / top)
            colour = COLOURS.get(key, "#1f77b4")
            parts.append(f'<text x="{LEFT - 8}" y="{y + 15}" font-size="13" text-anchor="end">'
                         f'{escape(LABELS.get(key, key))}</text>'
                         f'<rect x="{LEFT}" y="{y + 3}" width="{width}" height="{ROW - 6}" '
                         f'fill="{colour}"/><text x="{LEFT + width + 6}" y="{y + 15}" '
                         f'font-size="13">{count}</text>')
            y += ROW
    y += 12
    parts.append(f'<text x="16" y="{y + 12}" font-size="13">{escape(footer)}</text>')
    height = y + 28
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" '
            f'viewBox="0 0 {WIDTH} {height}" font-family="{FONT}">'
            f'<rect width="100%" height="100%" fill="white"/>{"".join(parts)}</svg>')

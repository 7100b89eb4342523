"""The figures of the overview page (一屏观全域), counted in the database.

Open = not closed, invalid or duplicate; weeks start on Monday and months on the 1st,
in the deployment's time zone (gridgeo.timezone, set on every pooled connection).
"""

from __future__ import annotations

from typing import Any

OPEN = "state NOT IN ('closed', 'invalid', 'duplicate')"

FIGURES = f"""
SELECT
  (SELECT count(*) FROM gridgeo.incidents_view WHERE {OPEN}) AS open,
  (SELECT count(*) FROM gridgeo.incidents_view WHERE overdue) AS overdue,
  (SELECT count(*) FROM gridgeo.incidents_view WHERE near_due) AS near_due,
  (SELECT count(*) FROM gridgeo.incidents_view
    WHERE escalation_level > 0 AND {OPEN}) AS escalated,
  (SELECT count(*) FROM gridgeo.incidents_view
    WHERE state = 'closed' AND closed_at >= date_trunc('week', now())) AS closed_this_week,
  (SELECT count(*) FROM gridgeo.incidents_view
    WHERE closed_on_time AND closed_at >= date_trunc('week', now())) AS closed_on_time_this_week,
  (SELECT count(*) FROM gridgeo.mine_tunnels_view) AS adits,
  (SELECT count(*) FROM gridgeo.mine_tunnels_view
    WHERE last_inspected_at >= date_trunc('month', now())) AS adits_inspected_this_month,
  (SELECT count(*) FROM gridgeo.greenhouses_view WHERE status <> 'demolished') AS greenhouses,
  (SELECT count(*) FROM gridgeo.greenhouses_view
    WHERE status <> 'demolished' AND last_scanned_at >= date_trunc('month', now()))
      AS greenhouses_scanned_this_month
"""

OPEN_BY_GRID = f"""
SELECT grid_code, count(*) FROM gridgeo.incidents_view
 WHERE {OPEN} AND grid_code IS NOT NULL GROUP BY grid_code"""

OPEN_BY_COLOUR = f"""
SELECT colour, count(*) FROM gridgeo.incidents_view WHERE {OPEN} GROUP BY colour"""

OPEN_BY_CATEGORY = f"""
SELECT category_name, count(*) AS n FROM gridgeo.incidents_view WHERE {OPEN}
 GROUP BY category_name ORDER BY n DESC, category_name LIMIT 8"""

REPORTED_BY_DAY = """
SELECT to_char(d, 'YYYY-MM-DD'), count(i.id)
  FROM generate_series(date_trunc('day', now()) - interval '13 days',
                       date_trunc('day', now()), interval '1 day') AS d
  LEFT JOIN gridgeo.incidents_view i
    ON i.reported_at >= d AND i.reported_at < d + interval '1 day'
 GROUP BY d ORDER BY d"""


def overview_summary(conn: Any) -> dict[str, Any]:
    """Counts for the overview's figures and charts, and open incidents per unit grid."""
    cur = conn.execute(FIGURES)
    names = [c.name for c in cur.description]
    figures = dict(zip(names, cur.fetchone(), strict=True))
    return {
        "figures": figures,
        "open_by_grid": dict(conn.execute(OPEN_BY_GRID).fetchall()),
        "open_by_colour": dict(conn.execute(OPEN_BY_COLOUR).fetchall()),
        "open_by_category": [list(r) for r in conn.execute(OPEN_BY_CATEGORY).fetchall()],
        "reported_by_day": [list(r) for r in conn.execute(REPORTED_BY_DAY).fetchall()],
    }

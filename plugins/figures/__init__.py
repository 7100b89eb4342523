"""Figures per grid and per worker (考核) for any period, as the ``assessment-figures``
process. This month's figures are collections (``grid_figures``, ``worker_figures``,
described under collections/); the database functions behind them take any period.
"""

from __future__ import annotations

from gridgeo import hookimpl
from gridgeo.contributions import ProcessContribution


@hookimpl
def gridgeo_processes() -> list[ProcessContribution]:
    return [ProcessContribution("assessment-figures",
                                "gridgeo_plugins.figures.process.AssessmentFigures")]

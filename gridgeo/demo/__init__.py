"""The deterministic demo town (or county of towns): generate it and load it.

Same seed, scale and reference day, same data: every random draw comes from generators
seeded by the seed and the town's number, and every time is drawn before the reference
day's start, never read from the wall clock. `gridgeo demo` takes today as the reference
day, so the town looks live; the escalation sweep then runs once on the wall clock, as the
scheduler would, so the overdue cases carry their escalations (督办).
"""

from __future__ import annotations

import os
import pathlib
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from datetime import date, datetime
from itertools import islice
from multiprocessing import get_context

import numpy as np
import psycopg

from gridgeo.demo import notify as demo_notify
from gridgeo.demo.county import COUNTY_CODE, DemGrid, TownSpec, layout_county
from gridgeo.demo.load import CountyLoader
from gridgeo.demo.terrain import NODATA, write_dem
from gridgeo.demo.town import REFERENCE_DAY, STEPS, TownRows, generate_town, reference_time
from gridgeo.plugins import get_plugin_manager

__all__ = ["DemoError", "generate_town", "layout_county", "remove_demo", "run_demo"]

_AHEAD = 3  # towns generated ahead of the one being loaded


def _marker(seed: int, scale: int) -> str:
    return f"seed={seed};scale={scale}"


def _loaded(conn: psycopg.Connection) -> str | None:
    row = conn.execute("SELECT value FROM gridgeo.deployment WHERE key = 'demo'").fetchone()
    conn.rollback()
    return row[0] if row else None


class DemoError(Exception):
    """The demo would replace data that is not the demo's; the message says what to do."""


def holds_real_town(conn: psycopg.Connection) -> bool:
    """Grids without the demo's marker: a town imported with `gridgeo import`."""
    row = conn.execute("SELECT EXISTS (SELECT 1 FROM gridgeo.grids) AND NOT EXISTS"
                       " (SELECT 1 FROM gridgeo.deployment WHERE key = 'demo')").fetchone()
    conn.rollback()
    return bool(row and row[0])


def remove_demo(conn: psycopg.Connection, progress: Callable[[str], None]) -> None:
    """Empty the domain tables the demo filled, so a real town can be imported."""
    if holds_real_town(conn):
        raise DemoError("this database holds a town that is not the demo; nothing removed")
    loader = CountyLoader(conn)
    loader.begin()
    conn.execute("DELETE FROM gridgeo.deployment WHERE key = 'demo'")
    if demo_notify.notifications_installed(conn):
        demo_notify.remove_subscription(conn)
    get_plugin_manager().hook.gridgeo_reference_data(conn=conn)
    conn.commit()
    progress("demo removed: the database is ready for gridgeo import")


def _generated(specs: list[TownSpec], grid: DemGrid, seed: int, reference: datetime,
               progress: Callable[[str], None]) -> Iterator[TownRows]:
    """Towns in order; beyond one town, generated ahead in worker processes (spawned, so
    no database connection is inherited) while the parent loads the previous ones."""
    if len(specs) == 1:
        yield generate_town(specs[0], grid, seed, progress, reference)
        return
    # The database backend needs a core of its own for the loading triggers.
    workers = max(1, min(2, (os.cpu_count() or 2) - 1))
    with ProcessPoolExecutor(workers, mp_context=get_context("spawn")) as pool:
        queue = iter(specs)
        pending: list[Future[TownRows]] = [pool.submit(generate_town, spec, grid, seed,
                                                       None, reference)
                                           for spec in islice(queue, _AHEAD)]
        while pending:
            town = pending.pop(0).result()
            following = next(queue, None)
            if following is not None:
                pending.append(pool.submit(generate_town, following, grid, seed, None,
                                           reference))
            yield town


def _load_towns(loader: CountyLoader, specs: list[TownSpec], grid: DemGrid, seed: int,
                reference: datetime, progress: Callable[[str], None]) -> np.ndarray:
    """Generate and load every town; return the county DEM they make up."""
    dem = np.full((grid.height, grid.width), NODATA, dtype=np.float32)
    for number, town in enumerate(_generated(specs, grid, seed, reference, progress), 1):
        window = dem[town.dem_row:town.dem_row + town.elevation.shape[0],
                     town.dem_col:town.dem_col + town.elevation.shape[1]]
        window[town.inside] = town.elevation[town.inside]
        before = time.perf_counter()
        loader.load_town(town, number)
        loader.seconds += time.perf_counter() - before
        if len(specs) > 1:
            progress(f"town {number}/{len(specs)} {town.code} {town.name}: "
                     f"{len(town.roads):,} roads, {len(town.addresses):,} addresses, "
                     f"{len(town.grids):,} grids (generated in {town.seconds:.1f} s, loaded in "
                     f"{time.perf_counter() - before:.1f} s)")
    return dem


def run_loop(conn: psycopg.Connection) -> str:
    """What the scheduler would have done by now: one escalation sweep (warnings for cases
    near their deadline, escalations of overdue ones), recorded as events, and one delivery
    sweep of the notifications they make (gridgeo/demo/notify.py)."""
    notifying = demo_notify.notifications_installed(conn)
    if notifying:
        demo_notify.add_contacts(conn)
    row = conn.execute("SELECT gridgeo.incident_escalation_sweep()").fetchone()
    swept = str(row[0]) if row else ""
    if not notifying:
        return swept
    return f"{swept}; notifications: {demo_notify.deliver(conn)}"


def run_demo(conn: psycopg.Connection, *, seed: int, scale: int, if_missing: bool,
             dem_path: pathlib.Path, progress: Callable[[str], None],
             replace_town: bool = False, reference_day: date = REFERENCE_DAY) -> None:
    """Generate the demo county (``scale`` towns) as of ``reference_day``, write its DEM to
    ``dem_path`` and replace all domain data in one transaction.

    A town imported into this database is never replaced silently: with ``if_missing``
    it is left alone (``make demo`` then serves it), otherwise only ``replace_town`` lets
    the demo overwrite it.
    """
    if holds_real_town(conn) and not replace_town:
        if if_missing:
            progress("this database holds an imported town, not the demo: left as it is")
            return
        raise DemoError("this database holds a town that is not the demo (imported with "
                        "gridgeo import); the demo would replace it. Use another database "
                        "(GRIDGEO_DATABASE_URL), or --replace-town if you mean it")
    if if_missing and dem_path.exists() and _loaded(conn) == _marker(seed, scale):
        progress(f"demo already loaded ({_marker(seed, scale)}); nothing to do")
        return
    started = time.perf_counter()
    specs, grid = layout_county(seed, scale)
    progress(f"demo county {COUNTY_CODE}: {scale} town(s), seed {seed}, "
             f"DEM {grid.width}x{grid.height} pixels of {grid.pixel:.0f} m")
    partial = dem_path.with_name(dem_path.name + ".partial")
    try:
        loader = CountyLoader(conn)
        loader.begin()
        reference = reference_time(reference_day)
        dem = _load_towns(loader, specs, grid, seed, reference, progress)
        before = time.perf_counter()
        write_dem(partial, grid, dem)
        progress(f"[{STEPS + 1}/{STEPS + 2}] DEM: {dem_path} "
                 f"({time.perf_counter() - before:.1f} s)")
        before = time.perf_counter()
        loader.finish(seed, scale, reference)
        # Plugins' reference rows (e.g. incident categories) come back after the truncate.
        get_plugin_manager().hook.gridgeo_reference_data(conn=conn)
        progress(f"escalation sweep at load: {run_loop(conn)}")
        os.replace(partial, dem_path)
        conn.commit()
    except BaseException:
        conn.rollback()
        raise
    finally:
        partial.unlink(missing_ok=True)
    loader.seconds += time.perf_counter() - before
    rows = ", ".join(f"{table} {count:,}" for table, count in loader.totals.items())
    progress(f"[{STEPS + 2}/{STEPS + 2}] loaded in one transaction: {rows} "
             f"({loader.seconds:.1f} s)")
    progress(f"demo ready in {time.perf_counter() - started:.1f} s")

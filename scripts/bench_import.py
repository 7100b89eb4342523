"""How fast `gridgeo import` brings a county in, side by side with GDAL's ogr2ogr.

Same machine, same run, same files: the demo county (``--scale`` towns of ~10k addresses
each) is built in a scratch database and written out as a GIS office's files
(tests/town_files.py: grids as a GBK Shapefile in EPSG:4546, addresses as a GB18030 CSV
with 经度/纬度 columns, registers in Excel, ...; plus the demo DEM). Then, each step
timed once:

- import: `gridgeo import` of the whole mapping into an empty migrated database
  (in-process run_import), broken down per layer from its progress messages into
  reading + checking and writing;
- re-import: the same files again (nothing changes: the idempotent path);
- dry run: all checks and writes, rolled back;
- ogr2ogr: the floor for "just get rows in" for the two biggest layers, a plain
  `ogr2ogr -f PostgreSQL` (COPY; no validation, no upsert, no triggers). GDAL's CSV
  driver reads UTF-8 only, so the addresses CSV is first converted to a UTF-8 copy
  (timed as its own row).

The scratch databases (gridgeo_bench_import_*) and the temporary folder are removed at
the end unless ``--keep``.

    .venv/bin/python scripts/bench_import.py --scale 10
    .venv/bin/python scripts/bench_import.py --scale 1 --profile   # cProfile of the import

``--profile`` also times the tables' PL/pgSQL trigger functions (track_functions) during
the first import. ``--accept-rejects`` times the imports even when rows are refused, and
``--no-dem`` leaves the DEM out; neither is needed for the demo county.
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import os
import pstats
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from gridgeo.db import scratch as scratch_db  # noqa: E402
from gridgeo.db.cluster import admin_url as cluster_admin_url  # noqa: E402
from gridgeo.db.pool import connect  # noqa: E402
from gridgeo.importer.mapping import load_plan  # noqa: E402
from gridgeo.importer.problems import ImportReport  # noqa: E402
from gridgeo.importer.run import run_import  # noqa: E402
from gridgeo.settings import get_settings  # noqa: E402
from tests.town_files import write_town  # noqa: E402

PREFIX = "gridgeo_bench_import_"


@dataclass
class Row:
    step: str
    rows: int | None
    seconds: float

    def line(self) -> str:
        rows = f"{self.rows:,}" if self.rows is not None else ""
        rate = (f"{self.rows / self.seconds:,.0f}" if self.rows and self.seconds > 0 else "")
        return f"| {self.step} | {rows} | {self.seconds:.2f} | {rate} |"


@dataclass
class Stopwatch:
    """Times the phases of an import from its say() messages: a phase runs from its
    message to the next phase's (progress lines in between belong to it)."""

    started: float = field(default_factory=time.perf_counter)
    marks: list[tuple[float, tuple[str, str]]] = field(default_factory=list)
    verbose: bool = False

    def say(self, message: str) -> None:
        now = time.perf_counter()
        if self.verbose:
            print(f"    {now - self.started:7.2f} s  {message}", file=sys.stderr)
        phase = _phase(message)
        if phase:
            self.marks.append((now, phase))

    def phases(self, ended: float) -> list[tuple[str, str, float]]:
        """(layer, phase, seconds), the time before the first message as 'setup'."""
        first = self.marks[0][0] if self.marks else ended
        out = [("", "setup (county, reference positions, roads read once)",
                first - self.started)]
        ends = [t for t, _ in self.marks[1:]] + [ended]
        out += [(layer, phase, end - t) for (t, (layer, phase)), end in zip(self.marks, ends,
                                                                            strict=True)]
        return out


def _phase(message: str) -> tuple[str, str] | None:
    if message.startswith("reading "):
        return message.removeprefix("reading "), "read + check"
    if message.endswith(": checking gaps and overlaps with the other grids"):
        return message.split(": ")[0], "grid topology check"
    if message.startswith("writing "):
        return message.removeprefix("writing "), "write"
    if message.startswith("loading "):
        return message.removeprefix("loading "), "write"
    return None


def admin_url(dbname: str) -> str:
    return cluster_admin_url(get_settings(), dbname)


def drop_database(name: str) -> None:
    scratch_db.drop_database(get_settings(), name)


def create_database(name: str) -> str:
    """A new, migrated database with the plugins' reference rows; returns its URL."""
    return scratch_db.create_database(get_settings(), name)


def timed(step: Callable[[], object]) -> tuple[object, float]:
    started = time.perf_counter()
    result = step()
    return result, time.perf_counter() - started


def build_county(url: str, scale: int, tmp: Path, with_dem: bool) -> Path:
    """The demo county at ``scale`` written out as files; returns the mapping (with the
    DEM appended, as tests/test_import_town.py does, unless not ``with_dem``)."""
    from gridgeo.demo import run_demo

    dem = tmp / "dem.tif"
    with connect(url) as conn:
        _, seconds = timed(lambda: run_demo(conn, seed=42, scale=scale, if_missing=False,
                                            dem_path=dem,
                                            progress=lambda m: print(f"  {m}", file=sys.stderr)))
        print(f"demo county built in {seconds:.1f} s", file=sys.stderr)
        mapping, seconds = timed(lambda: write_town(conn, tmp / "files"))
        print(f"written as files in {seconds:.1f} s", file=sys.stderr)
    assert isinstance(mapping, Path)
    if not with_dem:
        return mapping
    with mapping.open("a", encoding="utf-8") as fh:
        fh.write(f"  - target: dem\n    source: {dem}\n")
    return mapping


def one_import(url: str, mapping: Path, dem_dest: Path, *, dry_run: bool = False,
               accept_rejects: bool = False, verbose: bool = False,
               profile: Path | None = None
               ) -> tuple[ImportReport, Stopwatch, float]:
    with connect(url) as conn:
        plan = load_plan(mapping)
        watch = Stopwatch(verbose=verbose)
        profiler = cProfile.Profile() if profile else None
        if profiler:
            profiler.enable()
        report = run_import(conn, plan, dem_dest=dem_dest, dry_run=dry_run,
                            accept_rejects=accept_rejects, say=watch.say)
        ended = time.perf_counter()
        if profiler and profile:
            profiler.disable()
            profiler.dump_stats(profile)
    if not report.clean:
        sentences = [r.sentence() for r in report.rejects[:5]]
        sentences += [p.sentence() for p in report.problems[:5]]
        message = (f"the import was not clean ({len(report.rejects)} rejects, "
                   f"{len(report.problems)} problems):\n  " + "\n  ".join(sentences))
        if not accept_rejects:
            raise SystemExit(message + "\n(--accept-rejects writes the rest)")
        print(message, file=sys.stderr)
    return report, watch, ended - watch.started


def import_rows(title: str, report: ImportReport, watch: Stopwatch, total: float,
                per_layer: bool) -> list[Row]:
    rows = {layer.name: layer.rows for layer in report.layers}
    total_rows = sum(rows.values())
    phases = watch.phases(watch.started + total)
    out = [Row(f"**{title}: total**", total_rows, total)]
    if per_layer:
        out += [Row(f"{title}: {layer + ' ' if layer else ''}{phase}", rows.get(layer), seconds)
                for layer, phase, seconds in phases]
    else:
        checks = sum(s for layer, p, s in phases if p != "write")
        writes = sum(s for layer, p, s in phases if p == "write")
        out += [Row(f"{title}: setup, reading and checking", total_rows, checks),
                Row(f"{title}: writing", total_rows, writes)]
    return out


def counts_line(report: ImportReport) -> str:
    return "; ".join(f"{layer.target} {layer.counts}" for layer in report.layers if layer.counts)


def ogr2ogr(url: str, source: Path, table: str, extra: list[str]) -> tuple[int, float]:
    """Rows in ``table`` after a raw ogr2ogr load, and its seconds."""
    info = psycopg.conninfo.conninfo_to_dict(url)
    target = "PG:" + " ".join(f"{k}={info[k]}" for k in ("host", "port", "dbname", "user")
                              if k in info)
    env = {**os.environ, "PGPASSWORD": str(info.get("password", ""))}
    command = ["ogr2ogr", "-f", "PostgreSQL", target, str(source), "-nln", table,
               "-lco", "SCHEMA=public", "-lco", "GEOMETRY_NAME=geom", *extra]
    _, seconds = timed(lambda: subprocess.run(command, env=env, check=True))
    with psycopg.connect(url) as conn:
        count = conn.execute(f'SELECT count(*) FROM public."{table}"').fetchone()
    return (count[0] if count else 0), seconds


def raw_loads(url: str, files: Path, tmp: Path) -> list[Row]:
    source = files / "门牌.csv"
    utf8 = tmp / "addresses-utf8.csv"

    def convert() -> None:
        utf8.write_text(source.read_text(encoding="gb18030"), encoding="utf-8")

    _, seconds = timed(convert)
    out = [Row("ogr2ogr: addresses CSV GB18030 → UTF-8 copy (Python)", None, seconds)]
    rows, seconds = ogr2ogr(url, utf8, "bench_raw_addresses",
                            ["-oo", "X_POSSIBLE_NAMES=经度", "-oo", "Y_POSSIBLE_NAMES=纬度",
                             "-a_srs", "EPSG:4490"])
    out.append(Row("ogr2ogr: addresses (CSV → PostGIS points)", rows, seconds))
    rows, seconds = ogr2ogr(url, files / "网格.shp", "bench_raw_grids",
                            ["-nlt", "PROMOTE_TO_MULTI", "-t_srs", "EPSG:4490"])
    out.append(Row("ogr2ogr: grids (GBK Shapefile EPSG:4546 → 4490)", rows, seconds))
    return out


def track_functions(name: str) -> None:
    """Time PL/pgSQL functions (the tables' triggers) in sessions of database ``name``."""
    with psycopg.connect(admin_url("postgres"), autocommit=True) as admin:
        admin.execute(f'ALTER DATABASE "{name}" SET track_functions = \'pl\'')


def print_function_times(name: str, limit: int = 15) -> None:
    time.sleep(1.5)  # statistics reach the views within a second of the transaction's end
    with psycopg.connect(admin_url(name)) as conn:
        rows = conn.execute("SELECT schemaname || '.' || funcname, calls, total_time, self_time"
                            " FROM pg_stat_user_functions ORDER BY self_time DESC LIMIT %s",
                            (limit,)).fetchall()
    print(f"\n### PL/pgSQL functions during the first import, top {limit} by own time\n")
    print("| function | calls | total ms | own ms |\n|---|---:|---:|---:|")
    for function, calls, total, own in rows:
        print(f"| {function} | {calls:,} | {total:,.0f} | {own:,.0f} |")


def print_profile(path: Path, limit: int = 25) -> None:
    for key in ("cumulative", "tottime"):
        print(f"\n### cProfile of the first import, top {limit} by {key}\n```")
        stats = pstats.Stats(str(path))
        stats.sort_stats(key).print_stats(limit)
        print("```")


@contextlib.contextmanager
def scratch(keep: bool) -> Iterator[tuple[Path, list[str]]]:
    """A temporary folder and the names of the databases made in it; both removed at the
    end (also on error) unless ``keep``."""
    tmp = Path(tempfile.mkdtemp(prefix="bench-import-"))
    names: list[str] = []
    try:
        yield tmp, names
    finally:
        if keep:
            print(f"kept: {tmp} and databases {', '.join(names)}", file=sys.stderr)
        else:
            for name in names:
                drop_database(name)
            shutil.rmtree(tmp, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=int, default=10, help="towns of ~10k addresses")
    parser.add_argument("--keep", action="store_true", help="keep the databases and files")
    parser.add_argument("--profile", action="store_true",
                        help="run the first import under cProfile and print its top functions")
    parser.add_argument("--accept-rejects", action="store_true",
                        help="time the imports even if rows are rejected or grids overlap")
    parser.add_argument("--no-dem", action="store_true", help="leave the DEM out of the mapping")
    parser.add_argument("--verbose", action="store_true", help="print the import's messages")
    args = parser.parse_args()

    suffix = f"{args.scale}_{os.getpid()}"
    with scratch(args.keep) as (tmp, names):
        names.append(f"{PREFIX}demo_{suffix}")
        mapping = build_county(create_database(names[-1]), args.scale, tmp, not args.no_dem)
        names.append(f"{PREFIX}target_{suffix}")
        url = create_database(names[-1])
        dem_dest = tmp / "installed" / "dem2.tif"
        dem_dest.parent.mkdir()
        profile = tmp / "import.prof" if args.profile else None
        if profile:
            track_functions(names[-1])

        table: list[Row] = []
        report, watch, total = one_import(url, mapping, dem_dest, verbose=args.verbose,
                                          accept_rejects=args.accept_rejects, profile=profile)
        if profile:
            print_function_times(names[-1])
        print(f"import: {counts_line(report)}", file=sys.stderr)
        table += import_rows("import", report, watch, total, per_layer=True)
        report, watch, total = one_import(url, mapping, dem_dest, verbose=args.verbose,
                                          accept_rejects=args.accept_rejects)
        print(f"re-import: {counts_line(report)}", file=sys.stderr)
        table += import_rows("re-import (unchanged)", report, watch, total, per_layer=False)
        report, watch, total = one_import(url, mapping, dem_dest, dry_run=True,
                                          accept_rejects=args.accept_rejects,
                                          verbose=args.verbose)
        table += import_rows("dry run", report, watch, total, per_layer=False)
        table += raw_loads(url, mapping.parent, tmp)

        print(f"\nscale {args.scale}, {os.cpu_count()} cores, each step run once\n")
        print("| step | rows | seconds | rows/s |\n|---|---:|---:|---:|")
        for row in table:
            print(row.line())
        if profile:
            print_profile(profile)


if __name__ == "__main__":
    main()

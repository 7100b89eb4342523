"""A throwaway benchmark database with a demo county: shared by the bench scripts."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from gridgeo.db.cluster import admin_url as cluster_admin_url
from gridgeo.db.pool import connect
from gridgeo.db.scratch import create_database
from gridgeo.settings import get_settings


def admin_url(dbname: str) -> str:
    return cluster_admin_url(get_settings(), dbname)


def bench_database(name: str, scale: int, seed: int = 7) -> tuple[str, Path]:
    """URL and DEM of database ``name`` holding the demo at ``scale`` (reused if loaded)."""
    from gridgeo.demo import run_demo

    url = create_database(get_settings(), name, reference_data=False, replace=False)
    dem = get_settings().home / "bench" / f"{name}-dem.tif"
    with connect(url) as conn:
        started = time.perf_counter()
        run_demo(conn, seed=seed, scale=scale, if_missing=True, dem_path=dem,
                 progress=lambda m: print(f"  {m}", file=sys.stderr))
        print(f"demo ready in {time.perf_counter() - started:.0f} s", file=sys.stderr)
        conn.execute("ANALYZE")
        conn.commit()
    return url, dem


def start_server(url: str, dem: Path, port: int, config_file: Path, home: Path) -> dict[str, str]:
    """`gridgeo serve --background` on the bench database; returns its environment."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYGEOAPI_")}
    env.update(GRIDGEO_DATABASE_URL=url, GRIDGEO_DEM_PATH=str(dem), GRIDGEO_PORT=str(port),
               GRIDGEO_HOME=str(home), GRIDGEO_CONFIG_FILE=str(config_file))
    subprocess.run([sys.executable, "-m", "gridgeo.cli", "serve", "--background"], env=env,
                   check=True, stdout=subprocess.DEVNULL)
    return env


def stop_server(env: dict[str, str]) -> None:
    """`gridgeo stop`: the server and its job workers and scheduler (killing the server
    alone left those running). With GRIDGEO_DATABASE_URL set it leaves the cluster be."""
    subprocess.run([sys.executable, "-m", "gridgeo.cli", "stop"], env=env, check=False,
                   stdout=subprocess.DEVNULL)

"""QGIS's first draw of gridgeo's generated project, timed against a running server.

Loads the demo (``--scale 1``: the town; 100: a county) into its own database, serves
it with ``gridgeo serve`` (gunicorn, 2 workers), writes the project as a user does
(``gridgeo qgis-project``, anonymous: the public layers) and opens it in headless QGIS
(Debian's python3-qgis under /usr/bin/python3, scripts/render_style_qgis.py): every
layer's OGC API Features provider reads the server's documents, then all layers are
drawn at their full extent, in parallel, as QGIS's canvas does on opening. Each run is
a new QGIS process with an empty profile, so nothing comes from QGIS's network cache:
that is the first draw a user waits for (issue 14: it took 53 s).

Usage: .venv/bin/python scripts/bench_qgis_first_draw.py --scale 1 --runs 3
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))
from benchdb import bench_database, start_server, stop_server

ROOT = Path(__file__).resolve().parent.parent
PORT = 5096
SYSTEM_PYTHON = "/usr/bin/python3"
DRAW = ROOT / "scripts" / "render_style_qgis.py"


def write_project(env: dict[str, str], url: str, path: Path) -> None:
    subprocess.run([sys.executable, "-m", "gridgeo.cli", "qgis-project", "--url", url,
                    str(path)], env=env, check=True, capture_output=True)


def served(log: Path, since: int) -> tuple[int, dict[str, list[float]]]:
    """The server's request log from byte ``since``: its end and each path's durations."""
    paths: dict[str, list[float]] = {}
    with log.open("rb") as lines:
        lines.seek(since)
        for line in lines:
            try:
                entry = json.loads(line)
            except ValueError:
                continue  # not a request line
            if "duration_ms" in entry:
                paths.setdefault(entry["path"], []).append(entry["duration_ms"] / 1000)
        return lines.tell(), paths


def first_draw(project: Path, scratch: Path) -> dict[str, Any]:
    """One cold QGIS: a new process whose profile and cache are an empty directory. Its
    CPU seconds say what the machine's load does not: wall time on a shared machine
    includes waiting for a core."""
    profile = Path(tempfile.mkdtemp(dir=scratch, prefix="qgis-profile-"))
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    env = {**os.environ, "HOME": str(profile), "QGIS_CUSTOM_CONFIG_PATH": str(profile),
           "QT_QPA_PLATFORM": "offscreen"}
    started = time.perf_counter()
    done = subprocess.run([SYSTEM_PYTHON, str(DRAW)], env=env, capture_output=True, text=True,
                          input=json.dumps({"draw": {"project": str(project)}}), timeout=600,
                          check=False)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    if done.returncode != 0:
        raise SystemExit(f"QGIS failed:\n{done.stderr[-2000:]}")
    answer: dict[str, Any] = json.loads(done.stdout)["draw"]
    if not answer.get("read"):
        raise SystemExit(f"QGIS could not read {project}")
    answer["wall_s"], answer["qgis_cpu_s"] = wall, cpu
    return answer


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--scale", type=int, default=1)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    url, dem = bench_database(f"gridgeo_bench_{args.scale}", args.scale)
    with tempfile.TemporaryDirectory() as tmp:
        scratch = Path(tmp)
        env = start_server(url, dem, PORT, ROOT / "pygeoapi-config.yml", scratch)
        try:
            server = f"http://127.0.0.1:{PORT}"
            project = scratch / "gridgeo.qgz"
            write_project(env, server, project)
            log, offset, runs = scratch / "server.log", 0, []
            for _ in range(args.runs):
                offset, _ = served(log, offset)
                runs.append(first_draw(project, scratch))
                offset, paths = served(log, offset)
                runs[-1]["served"] = paths
        finally:
            stop_server(env)
    layers = runs[0]["layers"]
    invalid = [layer["name"] for layer in layers if not layer["valid"]]
    names = ", ".join(layer["name"] for layer in layers)
    print(f"\ndemo --scale {args.scale}: {len(layers)} layers ({names})"
          + (f"; INVALID: {', '.join(invalid)}" if invalid else ""))
    for run in runs:
        run["server_s"] = sum(sum(v) for v in run["served"].values())
    for name in ("read_s", "draw_s", "wall_s", "qgis_cpu_s", "server_s"):
        values = [run[name] for run in runs]
        print(f"{name}: median {statistics.median(values):.2f} s, runs "
              + ", ".join(f"{v:.2f}" for v in values))
    print("requests of the last run (path: count, server seconds):")
    for path, durations in sorted(runs[-1]["served"].items(), key=lambda p: -sum(p[1])):
        print(f"  {path}: {len(durations)}, {sum(durations):.2f} s")
    errors = {e for run in runs for e in run["errors"]}
    if errors:
        print("render errors: " + "; ".join(sorted(errors)))
    print(f"load: {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f} {os.getloadavg()[2]:.2f}"
          f" on {os.cpu_count()} cores")


if __name__ == "__main__":
    main()

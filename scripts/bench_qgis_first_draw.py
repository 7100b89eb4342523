"""QGIS's first draw of gridgeo's generated project, timed against a running server.

Loads the demo (``--scale 1``: the town; 100: a county) into its own database, serves
it with ``gridgeo serve`` (gunicorn, 2 workers), writes the project as a user does
(``gridgeo qgis-project``, anonymous: the public layers) and opens it in headless QGIS
(Debian's python3-qgis under /usr/bin/python3, scripts/render_style_qgis.py): every
layer's OGC API Features provider reads the server's documents, then all layers are
drawn at their full extent, in parallel, as QGIS's canvas does on opening. Each run is
a new QGIS process with an empty profile, so nothing comes from QGIS's network cache:
that is the first draw a user waits for (issue 14: it took 53 s).

Beside it, in the same run, the same project drawn against a static stand-in
(scripts/replay_server.py) that replays gridgeo's recorded answers from memory: QGIS's
own floor. Runs alternate between the two, so the machine's load hits both alike.

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
from replay_server import Recording
from replay_server import start as start_replay

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


def record(env: dict[str, str], server: str, scratch: Path) -> tuple[Path, Recording]:
    """The project once more, its layers reading a stand-in that records gridgeo's
    answers during one QGIS draw and then only replays them."""
    _, recording = start_replay(server)
    project = scratch / "replayed.qgz"
    write_project(env, recording.own_url, project)
    first_draw(project, scratch)
    recording.upstream = None
    return project, recording


def report(name: str, runs: list[dict[str, Any]], floor: list[dict[str, Any]]) -> None:
    values, static = [run[name] for run in runs], [run[name] for run in floor]
    print(f"| {name} | {statistics.median(values):.2f} | {statistics.median(static):.2f} | "
          + ", ".join(f"{v:.2f}" for v in values) + " | "
          + ", ".join(f"{v:.2f}" for v in static) + " |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--scale", type=int, default=1)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    url, dem = bench_database(f"gridgeo_bench_{args.scale}", args.scale)
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory() as tmp:
        scratch = Path(tmp)
        env = start_server(url, dem, PORT, ROOT / "pygeoapi-config.yml", scratch)
        try:
            server = f"http://127.0.0.1:{PORT}"
            project = scratch / "gridgeo.qgz"
            write_project(env, server, project)
            replayed, recording = record(env, server, scratch)
            log, offset, runs, floor = scratch / "server.log", 0, [], []
            for _ in range(args.runs):
                offset, _ = served(log, offset)
                runs.append(first_draw(project, scratch))
                offset, paths = served(log, offset)
                runs[-1]["served"] = paths
                floor.append(first_draw(replayed, scratch))
        finally:
            stop_server(env)
    layers = runs[0]["layers"]
    invalid = [layer["name"] for layer in layers if not layer["valid"]]
    names = ", ".join(layer["name"] for layer in layers)
    print(f"\ndemo --scale {args.scale}: {len(layers)} layers ({names})"
          + (f"; INVALID: {', '.join(invalid)}" if invalid else ""))
    drawn = [layer["name"] for layer in layers if layer["drawn"]]
    print(f"drawn at the opening view, 1:{runs[0]['scale']:,.0f}: {', '.join(drawn)}; out of "
          f"their scale range: {', '.join(set(names.split(', ')) - set(drawn)) or 'none'}")
    print(f"{len(recording.answers)} answers recorded; the stand-in missed "
          f"{len(recording.missed)} request(s)" + (f": {recording.missed[:5]}"
                                                   if recording.missed else ""))
    for run in runs:
        run["server_s"] = sum(sum(v) for v in run["served"].values())
    print("\n| seconds | gridgeo (median) | static replay (median) | gridgeo runs | "
          "replay runs |\n|---|---:|---:|---|---|")
    for name in ("read_s", "draw_s", "wall_s", "qgis_cpu_s"):
        report(name, runs, floor)
    print("| server_s | " + f"{statistics.median(run['server_s'] for run in runs):.2f}"
          " | 0 | " + ", ".join(f"{run['server_s']:.2f}" for run in runs) + " | |")
    print("\nrequests of the last run (path: count, server seconds):")
    for path, durations in sorted(runs[-1]["served"].items(), key=lambda p: -sum(p[1])):
        print(f"  {path}: {len(durations)}, {sum(durations):.2f} s")
    errors = {e for run in runs + floor for e in run["errors"]}
    if errors:
        print("render errors: " + "; ".join(sorted(errors)))
    load = os.getloadavg()
    print(f"load average (1, 5, 15 min): {load_before[0]:.2f} {load_before[1]:.2f} "
          f"{load_before[2]:.2f} before, {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} after, "
          f"on {os.cpu_count()} cores")


if __name__ == "__main__":
    main()

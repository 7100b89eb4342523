"""gridgeo installed from its wheel, outside the repository; `gridgeo deploy`: systemd units
checked by systemd-analyze and run as their user from that install, and the nginx site in
front of that server, through Debian's nginx with HTTP/2 and TLS."""

from __future__ import annotations

import gzip
import os
import pwd
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest
import requests
import yaml

from gridgeo.db.migrate import collect_migrations
from gridgeo.ops.systemd import EXPOSURE_THRESHOLD
from tests.conftest import EDITOR, free_port, server_env

# The test's certificate is self-signed: requests is told not to verify it.
pytestmark = pytest.mark.filterwarnings("ignore::urllib3.exceptions.InsecureRequestWarning")
SERVICE_USER = "gridgeo-ci"
REPO = Path(__file__).resolve().parent.parent
UNITS = ("gridgeo-web.service", "gridgeo-worker@.service", "gridgeo-scheduler.service")


def _world_usable(path: Path) -> bool:
    """Every folder on the way is searchable and the file executable by any user."""
    real = path.resolve()
    return all(p.stat().st_mode & 0o001 for p in [real, *real.parents])


def _service_python() -> Path:
    """A Python of this version that a service user may run (this test's own may live in
    root's home, e.g. under pyenv)."""
    version = f"python{sys.version_info.major}.{sys.version_info.minor}"
    base = Path(getattr(sys, "_base_executable", sys.executable))
    for candidate in (base, Path("/usr/bin") / version):
        if candidate.exists() and _world_usable(candidate):
            return candidate
    raise AssertionError(f"no {version} usable by other users (install Debian's python3)")


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The gridgeo command of a virtualenv with only the built wheel installed in it; the
    project's installed dependencies are seen through a .pth file (not the checkout)."""
    wheels = tmp_path_factory.mktemp("wheel")
    # setuptools reuses build/ and would carry a module deleted since into the wheel.
    shutil.rmtree(REPO / "build", ignore_errors=True)
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
                    "-q", "-w", str(wheels), str(REPO)], check=True, capture_output=True,
                   timeout=300)
    root = Path(tempfile.mkdtemp(prefix="gridgeo-venv-"))
    root.chmod(0o755)
    venv = root / "venv"
    subprocess.run([str(_service_python()), "-m", "venv", "--without-pip", str(venv)],
                   check=True)
    site = next(venv.glob("lib/python3*/site-packages"))
    deps = next(Path(sys.prefix).glob("lib/python3*/site-packages"))
    (site / "project-dependencies.pth").write_text(f"{deps}\n")
    subprocess.run([sys.executable, "-m", "pip", "--python", str(venv / "bin" / "python"),
                    "install", "--no-deps", "-q", *map(str, wheels.glob("*.whl"))],
                   check=True, capture_output=True, timeout=300)
    yield venv / "bin" / "gridgeo"
    shutil.rmtree(root, ignore_errors=True)


def _service_user() -> pwd.struct_passwd:
    """The dedicated system user the units name (made once per machine, as an installer
    would: no login shell, no home of its own)."""
    try:
        return pwd.getpwnam(SERVICE_USER)
    except KeyError:
        subprocess.run(["useradd", "--system", "--no-create-home", "--shell",
                        "/usr/sbin/nologin", SERVICE_USER], check=True)
        return pwd.getpwnam(SERVICE_USER)


@dataclass
class Deployment:
    units: Path
    home: Path
    env_file: Path
    user: pwd.struct_passwd
    public_url: str
    https_port: int
    web_port: int


def _unit_settings(unit: Path) -> tuple[list[str], dict[str, str]]:
    """ExecStart and the environment a unit gives its process (Environment= and the
    EnvironmentFile=), as systemd would; the working directory as ``PWD``."""
    command: list[str] = []
    env: dict[str, str] = {"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"}
    for line in unit.read_text().splitlines():
        key, _, value = line.partition("=")
        if key == "ExecStart":
            command = value.split()
        elif key == "WorkingDirectory":
            env["PWD"] = value
        elif key == "Environment":
            name, _, setting = value.partition("=")
            env[name] = setting
        elif key == "EnvironmentFile":
            for entry in Path(value.lstrip("-")).read_text().splitlines():
                name, _, setting = entry.partition("=")
                env[name] = setting
    return command, env


def _as_user(user: pwd.struct_passwd, command: list[str], env: dict[str, str],
             log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as out:  # in the unit's WorkingDirectory, outside the checkout
        return subprocess.Popen(["runuser", "-u", user.pw_name, "--", "env", "-i",
                                 *(f"{k}={v}" for k, v in env.items()), *command],
                                stdout=out, stderr=out, stdin=subprocess.DEVNULL,
                                start_new_session=True, cwd=env["PWD"])


def _stop(proc: subprocess.Popen[bytes], service_pid: int) -> int:
    """Stop the service as systemd would (SIGTERM to its main process); runuser passes
    on its exit status."""
    os.kill(service_pid, signal.SIGTERM)
    return proc.wait(timeout=60)


@pytest.fixture(scope="module")
def deployment(demo_db_url: str, installed: Path) -> Iterator[Deployment]:
    """Units written by `gridgeo deploy systemd` for a dedicated user, with its settings
    file; the home is readable by that user (pytest's own temp folders are not)."""
    user = _service_user()
    root = Path(tempfile.mkdtemp(prefix="gridgeo-deploy-"))
    root.chmod(0o755)
    home = root / "home"
    home.mkdir()
    os.chown(home, user.pw_uid, user.pw_gid)
    https_port, web_port = free_port(), free_port()
    public_url = f"https://localhost:{https_port}"
    env = server_env(demo_db_url, home, web_port)
    env_file = root / "gridgeo.env"
    keep = ("GRIDGEO_DATABASE_URL", "GRIDGEO_PORT", "GRIDGEO_API_KEYS")
    env_file.write_text("".join(f"{k}={env[k]}\n" for k in keep)
                        + f"GRIDGEO_PUBLIC_URL={public_url}\nGRIDGEO_WORKERS=1\n")
    units = root / "units"
    subprocess.run([str(installed), "deploy", "systemd", "--out", str(units), "--user",
                    user.pw_name, "--home", str(home), "--env-file", str(env_file)],
                   check=True, capture_output=True, cwd=root)
    yield Deployment(units, home, env_file, user, public_url, https_port, web_port)
    shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="module")
def web_service(deployment: Deployment) -> Iterator[str]:
    """The web unit's ExecStart run as the unit's user; its URL."""
    command, env = _unit_settings(deployment.units / "gridgeo-web.service")
    proc = _as_user(deployment.user, command, env, deployment.home.parent / "web.log")
    url = f"http://127.0.0.1:{deployment.web_port}"
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            if requests.get(f"{url}/healthz", timeout=10).status_code == 200:
                break
        except requests.RequestException:  # not listening yet, or still booting
            time.sleep(0.3)
    assert proc.poll() is None, (deployment.home.parent / "web.log").read_text()
    yield url
    assert _stop(proc, int((deployment.home / "server.pid").read_text())) == 0


def test_the_wheel_runs_without_the_repository(installed: Path, tmp_path: Path) -> None:
    """From a folder outside the checkout: every built-in collection, style, template and
    migration comes from the installed packages."""
    from gridgeo.config import contributed_collections
    from gridgeo.db.scratch import create_database, drop_database
    from gridgeo.plugins import get_plugin_manager
    from tests.conftest import _admin_settings

    name = f"gridgeo_wheel_{os.getpid()}"
    url = create_database(_admin_settings(), name, migrate=False)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYGEOAPI_", "GRIDGEO_"))}
    env.update(GRIDGEO_DATABASE_URL=url, GRIDGEO_HOME=str(tmp_path / "home"))
    try:
        migrate = subprocess.run([str(installed), "db", "migrate"], cwd=tmp_path, env=env,
                                 capture_output=True, text=True, timeout=300)
        assert migrate.returncode == 0, migrate.stderr
        expected = len(collect_migrations(get_plugin_manager()))
        assert f"{expected} migration(s) applied" in migrate.stderr
        shown = subprocess.run([str(installed), "config"], cwd=tmp_path, env=env,
                               capture_output=True, text=True, timeout=300, check=True)
    finally:
        drop_database(_admin_settings(), name)
    config = yaml.safe_load(shown.stdout)
    venv = installed.parent.parent
    ids = {c.id for c in contributed_collections(get_plugin_manager())}
    assert ids <= set(config["resources"]), ids - set(config["resources"])
    assert Path(config["server"]["templates"]["path"]).is_relative_to(venv)
    assert config["metadata"]["identification"]["title"]["en"] == "gridgeo demo town"
    style = next(link["href"] for r in config["resources"].values()
                 for link in r.get("links", []) if "/styles/" in link["href"])
    assert style  # styles are linked: the style files were found in the wheel
    assert str(REPO) not in shown.stdout


def test_units_pass_systemd_analyze(deployment: Deployment, installed: Path) -> None:
    paths = [str(deployment.units / name) for name in UNITS]
    verify = subprocess.run(["systemd-analyze", "verify", "--man=no", *paths],
                            capture_output=True, text=True, timeout=60)
    assert verify.returncode == 0 and not verify.stderr.strip(), verify.stderr
    for path in paths:
        text = Path(path).read_text()
        assert f"User={SERVICE_USER}" in text and "Restart=on-failure" in text
        assert f"ExecStart={installed} " in text
        security = subprocess.run(
            ["systemd-analyze", "security", "--offline=true",
             f"--threshold={int(EXPOSURE_THRESHOLD * 10)}", path],
            capture_output=True, text=True, timeout=60)
        level = re.search(r"Overall exposure level for \S+: ([\d.]+)", security.stdout)
        assert level is not None, security.stdout
        assert float(level[1]) <= EXPOSURE_THRESHOLD, security.stdout
        assert security.returncode == 0, security.stdout


def test_web_unit_serves_as_its_user(deployment: Deployment, web_service: str) -> None:
    collections = requests.get(f"{web_service}/collections", params={"f": "json"}, timeout=30)
    assert collections.status_code == 200
    pid = int((deployment.home / "server.pid").read_text())
    assert os.stat(f"/proc/{pid}").st_uid == deployment.user.pw_uid  # gunicorn, as the user


def test_worker_unit_beats_as_its_user(deployment: Deployment, demo_db_url: str) -> None:
    command, env = _unit_settings(deployment.units / "gridgeo-worker@.service")
    proc = _as_user(deployment.user, command, env, deployment.home.parent / "worker.log")
    mine: list[int] = []
    try:
        deadline = time.monotonic() + 60
        while not mine and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.5)
            with psycopg.connect(demo_db_url) as conn:
                pids = [r[0] for r in conn.execute("SELECT pid FROM gridgeo.job_workers")]
            mine = [p for p in pids if os.path.exists(f"/proc/{p}")
                    and os.stat(f"/proc/{p}").st_uid == deployment.user.pw_uid]
        assert mine, (deployment.home.parent / "worker.log").read_text()
    finally:
        if not mine:
            os.killpg(proc.pid, signal.SIGKILL)
    assert _stop(proc, mine[0]) == 0
    with psycopg.connect(demo_db_url) as conn:  # a worker that stops says goodbye
        assert not conn.execute("SELECT 1 FROM gridgeo.job_workers WHERE pid = %s",
                                (mine[0],)).fetchone()


def test_scheduler_unit_runs_as_its_user(deployment: Deployment) -> None:
    """Its ExecStart once as the unit's user, bounded: one tick (--once), then exit 0."""
    command, env = _unit_settings(deployment.units / "gridgeo-scheduler.service")
    log = deployment.home.parent / "scheduler.log"
    proc = _as_user(deployment.user, [*command, "--once"], env, log)
    assert proc.wait(timeout=120) == 0, log.read_text()


# -- nginx ---------------------------------------------------------------------------------


def _self_signed(folder: Path) -> tuple[Path, Path]:
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:prime256v1", "-nodes", "-days", "1", "-subj",
                    "/CN=localhost", "-addext", "subjectAltName=DNS:localhost",
                    "-keyout", str(key), "-out", str(cert)], check=True, capture_output=True)
    return cert, key


def _nginx_conf(folder: Path, site: Path) -> Path:
    """A main config of the test's own: prefix, pid, logs and temp folders in ``folder``."""
    temp = " ".join(f"{kind}_temp_path {folder / kind};"
                    for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
    conf = folder / "nginx.conf"
    conf.write_text(f"""
user root;
worker_processes 1;
daemon off;
pid {folder / 'nginx.pid'};
error_log {folder / 'error.log'};
events {{ worker_connections 64; }}
http {{
    include /etc/nginx/mime.types;
    access_log {folder / 'access.log'};
    {temp}
    include {site};
}}
""")
    return conf


@pytest.fixture(scope="module")
def nginx_url(deployment: Deployment, web_service: str, installed: Path,
              tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    folder = tmp_path_factory.mktemp("nginx")
    cert, key = _self_signed(folder)
    site = folder / "gridgeo.conf"
    env = {**os.environ, "GRIDGEO_PORT": str(deployment.web_port)}
    subprocess.run([str(installed), "deploy", "nginx", "--out", str(site), "--server-name",
                    "localhost", "--certificate", str(cert), "--certificate-key", str(key),
                    "--https-port", str(deployment.https_port), "--http-port", "0"],
                   check=True, capture_output=True, env=env, cwd=folder)
    conf = _nginx_conf(folder, site)
    test = subprocess.run(["nginx", "-t", "-p", str(folder), "-c", str(conf)],
                          capture_output=True, text=True)
    assert test.returncode == 0, test.stderr
    proc = subprocess.Popen(["nginx", "-p", str(folder), "-c", str(conf)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = deployment.public_url
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            requests.get(f"{url}/healthz", verify=False, timeout=5)
            break
        except requests.ConnectionError:
            time.sleep(0.2)
    yield url
    proc.terminate()
    proc.wait(timeout=30)


def _curl(url: str, *args: str) -> tuple[dict[str, str], bytes, str]:
    """curl --http2 -k: the headers, the raw body and the protocol version used."""
    done = subprocess.run(["curl", "--http2", "-k", "-sS", "-D", "-", "-o", "/dev/stderr",
                           "-H", "Accept-Encoding: gzip", *args, url],
                          capture_output=True, timeout=60, check=True)
    head = done.stdout.decode().strip().split("\r\n\r\n")[-1].splitlines()
    headers = {k.lower(): v.strip() for k, _, v in (h.partition(":") for h in head[1:])}
    return headers, done.stderr, head[0].split()[0]


def test_nginx_serves_http2_gzip_and_https_links(nginx_url: str, web_service: str) -> None:
    headers, body, protocol = _curl(f"{nginx_url}/collections?f=json")
    assert protocol == "HTTP/2"
    assert headers["content-encoding"] == "gzip"
    assert re.fullmatch(r"[A-Za-z0-9._:-]+", headers["x-request-id"])
    document = gzip.decompress(body).decode()
    hrefs = re.findall(r'"href":"([^"]+)"', document)
    public = re.compile(re.escape(nginx_url) + r"[/?]")
    assert hrefs and all(public.match(h) for h in hrefs), hrefs

    features, body, _ = _curl(f"{nginx_url}/collections/grids/items?f=json&limit=50")
    assert features["content-type"].startswith("application/geo+json")
    assert features["content-encoding"] == "gzip"
    assert b'"FeatureCollection"' in gzip.decompress(body)

    # Cache headers pass through as gridgeo wrote them.
    direct = requests.get(f"{web_service}/collections/grids", params={"f": "json"}, timeout=30)
    proxied, _, _ = _curl(f"{nginx_url}/collections/grids?f=json")
    for name in ("cache-control", "vary"):
        if name in direct.headers:
            assert proxied[name] == direct.headers[name]


def test_qr_codes_carry_the_public_https_url(nginx_url: str) -> None:
    items = requests.get(f"{nginx_url}/collections/addresses/items",
                         params={"f": "json", "limit": "1"}, headers=EDITOR, verify=False,
                         timeout=30).json()
    payload = items["features"][0]["properties"]["qr_payload"]
    assert payload.startswith(f"{nginx_url}/q/a/")
    landing = requests.get(payload, verify=False, allow_redirects=False, timeout=30)
    assert landing.status_code == 302
    assert landing.headers["Location"].startswith(f"{nginx_url}/collections/addresses/items/")


def test_nginx_lets_large_bodies_reach_gridgeo(nginx_url: str) -> None:
    """6 MiB: above gridgeo's own body limit, below the upload limit nginx allows; the 413
    is gridgeo's JSON sentence, not nginx's page."""
    big = requests.post(f"{nginx_url}/collections/grids/items", data=b"x" * (6 << 20),
                        headers={**EDITOR, "Content-Type": "application/geo+json"},
                        verify=False, timeout=60)
    assert big.status_code == 413
    assert "larger than the limit" in big.json()["description"]

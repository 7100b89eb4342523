#!/usr/bin/env bash
# Installs the Debian packages gridgeo needs, only those that are missing.
set -euo pipefail

packages=(
  postgresql postgresql-15-postgis-3 postgresql-15-pgrouting
  gdal-bin fonts-noto-cjk python3-venv
  zbar-tools librsvg2-bin  # zbarimg and rsvg-convert: tests decode the QR codes gridgeo draws
  # Tests of the maps plugin: the overview page in headless Chromium; styles and the QGIS
  # project in headless QGIS (python3-qgis, ~170 packages, about a minute to install; it
  # runs under Debian's /usr/bin/python3). Missing, those tests fail: an install bug.
  chromium python3-qgis
  # Operations (docs/operations.md): the TLS proxy, point-in-time recovery, unit checks
  # (systemd-analyze) and Debian's python3, which the wheel test installs gridgeo for.
  nginx pgbackrest systemd openssl curl python3
  # Tests of running behind a transaction-mode pooler (docs/scaling.md).
  pgbouncer
  # Town reports (plugins/reports): WeasyPrint lays out the PDF with Pango; the tests read
  # it back with pdftotext and pdffonts (poppler-utils).
  libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 poppler-utils
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# pyenv or another Python may provide venv already; Debian's package is then optional.
if python3 -c 'import venv, ensurepip' 2>/dev/null; then
  missing=("${missing[@]/python3-venv}")
fi
read -r -a missing <<< "${missing[*]:-}"
[ ${#missing[@]} -eq 0 ] && exit 0

echo "gridgeo: installing Debian packages: ${missing[*]}"
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
export DEBIAN_FRONTEND=noninteractive
apt=(apt-get -o DPkg::Lock::Timeout=600)
if ! $sudo "${apt[@]}" install -y -q --no-install-recommends "${missing[@]}" >/dev/null; then
  $sudo "${apt[@]}" update -q >/dev/null
  $sudo "${apt[@]}" install -y -q --no-install-recommends "${missing[@]}" >/dev/null
fi
echo "gridgeo: Debian packages ready"

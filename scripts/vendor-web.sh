#!/usr/bin/env bash
# Re-fetches the web libraries that gridgeo's HTML pages load, so the pages work on an
# intranet with no internet. Versions and tarball hashes are pinned; the result is
# gridgeo/static/vendor/, committed to the repository (this script only needs to run
# again when a version below changes).
#
# Also copies pygeoapi's own static files (css/default.css, img/*) into gridgeo/static:
# `server.templates.static` replaces pygeoapi's static folder instead of adding to it.
#
# Needs: npm (only `npm pack`, which talks to the npm registry), tar, and the project
# venv with pygeoapi installed.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
static="$root/gridgeo/static"
vendor="$static/vendor"
python="${PYTHON:-$root/.venv/bin/python}"

# name  version  npm integrity (sha512, from `npm view NAME@VERSION dist.integrity`)
packages=(
  "leaflet 1.9.4 sha512-nxS1ynzJOmOlHp+iL3FyWqK89GtNL8U8rvlMOsQdTTssxZwCXh8N2NB3GDQOL+YR3XnWyZAxwQixURb+FA74PA=="
  "leaflet.markercluster 1.5.3 sha512-vPTw/Bndq7eQHjLBVlWpnGeLa3t+3zGiuM7fJwCkiMFq+nmRuG3RI3f7f4N4TDX7T4NpbAXpR2+NTRSEGfCSeA=="
  "leaflet.vectorgrid 1.3.0 sha512-kWmj1pKM+MVdo/7Mg5zsB3YrGZvo/uIuiANV9MvWUFOG+Y2xAJzrteDhoIcCgTjHSSRJ36xdeGdIQVhuWjnCZw=="
  "bootstrap 5.3.9 sha512-20cU0rcfw8WdxtVbmfU+xT2EjvVTw9Ror/h1Qvd7DXCujRg8OO9mdBCsmTHdJFf3BuadmBNJtgIuUXsBqSkk/w=="
  "maplibre-gl 5.24.1 sha512-HyiYBwtsbk3L1n1EPLJHWqdoyMiF80n7tEYXFZyu2m1TjvaNx6KMLiFeDdmszt1/mq2zvsR1TJuX/NMu5BonXQ=="
  "@zxing/library 0.23.0 sha512-6fkkoFwP8CHxl6ugnPsj74PLJgX2iRv5zczGAyt5OBzQgxFhuhF0NCEc4t4OvSr8xAv2MRLlI0Iu9ZGDZQ2urA=="
  "swagger-ui-dist 5.35.0 sha512-U06rpMtW9V3XPGOBeamTUSr0Z09jMX4IJuANpE/EZbAhw0G8CgwrzU4YmXkn/h0wCDNsXdGarTNNHC3sU8yVUQ=="
)

# Files kept from each package: "source-in-package:destination-under-vendor/NAME".
# No source maps, no unminified duplicates, no ES-module builds.
files_for() {
  case "$1" in
    leaflet) echo dist/leaflet.js dist/leaflet.css dist/images/layers.png \
      dist/images/layers-2x.png dist/images/marker-icon.png \
      dist/images/marker-icon-2x.png dist/images/marker-shadow.png LICENSE ;;
    leaflet.markercluster) echo dist/leaflet.markercluster.js dist/MarkerCluster.css \
      dist/MarkerCluster.Default.css MIT-LICENCE.txt ;;
    leaflet.vectorgrid) echo dist/Leaflet.VectorGrid.bundled.min.js ;;
    bootstrap) echo dist/css/bootstrap.min.css LICENSE ;;
    # The field app (/field): the UMD builds, loaded by plain <script> tags.
    maplibre-gl) echo dist/maplibre-gl.js dist/maplibre-gl.css LICENSE.txt ;;
    @zxing/library) echo umd/index.min.js LICENSE ;;
    swagger-ui-dist) echo swagger-ui-bundle.js swagger-ui-bundle.js.LICENSE.txt \
      swagger-ui-standalone-preset.js swagger-ui-standalone-preset.js.LICENSE.txt \
      swagger-ui.css favicon-16x16.png favicon-32x32.png LICENSE NOTICE ;;
  esac
}

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

rm -rf "$vendor"
mkdir -p "$vendor"
{
  echo "# Vendored web libraries"
  echo
  echo "Written by scripts/vendor-web.sh from the npm registry; do not edit by hand."
  echo "Files are byte-identical to the published packages (only a subset is kept)."
  echo
  echo "| directory | npm package | version | integrity |"
  echo "|---|---|---|---|"
} > "$vendor/README.md"

for entry in "${packages[@]}"; do
  read -r name version integrity <<< "$entry"
  # A scoped package (@scope/name) is kept under scope-name/, its tarball's own name.
  safe="${name#@}"; safe="${safe//\//-}"
  (cd "$work" && npm pack --silent --json "$name@$version" > "$safe.json")
  got="$("$python" -c 'import json,sys; print(json.load(open(sys.argv[1]))[0]["integrity"])' "$work/$safe.json")"
  if [ "$got" != "$integrity" ]; then
    echo "vendor-web: $name@$version integrity $got, expected $integrity" >&2
    exit 1
  fi
  mkdir -p "$work/$safe"
  tar -xzf "$work/$safe-$version.tgz" -C "$work/$safe"
  for path in $(files_for "$name"); do
    dest="$vendor/$safe/${path#dist/}"
    mkdir -p "$(dirname "$dest")"
    cp "$work/$safe/package/$path" "$dest"
  done
  echo "| $safe/ | $name | $version | $integrity |" >> "$vendor/README.md"
done

# VectorGrid ships its licence (Beerware) only inside README.md; keep it next to the code.
cat > "$vendor/leaflet.vectorgrid/LICENSE" <<'EOF'
Leaflet.VectorGrid 1.3.0 (https://github.com/Leaflet/Leaflet.VectorGrid)

"THE BEER-WARE LICENSE":
<ivan@sanchezortega.es> wrote this file. As long as you retain this notice you
can do whatever you want with this stuff. If we meet some day, and you think
this stuff is worth it, you can buy me a beer in return.

The bundled build includes geojson-vt (ISC), pbf (BSD), topojson (BSD) and
vector-tile (BSD), as stated in the package README.
EOF

# pygeoapi's own static files, which the (stock and gridgeo) templates reference.
pygeoapi_static="$("$python" -c 'import pathlib, pygeoapi; print(pathlib.Path(pygeoapi.__file__).parent / "static")')"
mkdir -p "$static/css" "$static/img"
cp "$pygeoapi_static/css/default.css" "$static/css/"
cp "$pygeoapi_static/img/"* "$static/img/"

# The field map's glyph ranges (gridgeo/static/glyphs/).
"$root/scripts/vendor-glyphs.sh"

du -sh "$vendor"

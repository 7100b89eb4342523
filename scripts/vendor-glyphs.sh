#!/usr/bin/env bash
# Makes the glyph ranges the field app's map labels use (MapLibre SDF PBFs, served at
# /field/glyphs/...): Open Sans Regular from the npm package @geops/mapbox-gl-fonts (the
# fonts themselves, Apache 2.0), turned into the few Latin ranges by
# scripts/make_glyphs.py. CJK is drawn by the browser (localIdeographFontFamily), so no
# CJK ranges are made. The result, gridgeo/static/glyphs/, is committed; run again only
# when the font or the ranges below change. Called by scripts/vendor-web.sh.
#
# Needs: npm (only `npm pack`), tar, and the project venv (numpy, fontTools).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
python="${PYTHON:-$root/.venv/bin/python}"
out="$root/gridgeo/static/glyphs"
package="@geops/mapbox-gl-fonts"
version="3.0.0"
integrity="sha512-c3gbESNqViXfPlhwh+l6ULc3R+aJx5CnJUAOrtXwekG+WzAJZhs5/8L0RfNmKCfj94KMQ5p1CfXHr5+Bz6Gpgw=="
font="Open Sans Regular"
ranges=(0-255 256-511 8192-8447)  # Basic Latin + Latin-1, Latin Extended-A, punctuation

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

(cd "$work" && npm pack --silent --json "$package@$version" > pack.json)
got="$("$python" -c 'import json,sys; print(json.load(open(sys.argv[1]))[0]["integrity"])' "$work/pack.json")"
if [ "$got" != "$integrity" ]; then
  echo "vendor-glyphs: $package@$version integrity $got, expected $integrity" >&2
  exit 1
fi
tar -xzf "$work"/geops-mapbox-gl-fonts-"$version".tgz -C "$work" package/open-sans

rm -rf "$out"
mkdir -p "$out"
folder="open-sans-regular"  # the font's name in lower case, dashes for spaces
"$python" "$root/scripts/make_glyphs.py" "$work/package/open-sans/OpenSans-Regular.ttf" \
  "$font" "$out/$folder" "${ranges[@]}"
cp "$work/package/open-sans/LICENSE.txt" "$out/$folder/LICENSE.txt"
cat > "$out/README.md" <<README
# Glyph ranges for the field app's map

Written by scripts/vendor-glyphs.sh; do not edit by hand. SDF glyphs (MapLibre's
glyphs.proto, 24 px, buffer 3, radius 8, cutoff 0.25) made by scripts/make_glyphs.py
from OpenSans-Regular.ttf in the npm package $package@$version ($integrity).
Open Sans is licensed under the Apache License 2.0 ($folder/LICENSE.txt).
Ranges: ${ranges[*]}.
README
du -sh "$out"

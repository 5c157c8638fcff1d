#!/usr/bin/env bash
# /collections/{id}/items with 1,000 features per page under concurrent load (wrk, 2 threads,
# 16 connections, 15 s) against lagesbild and pygeoapi (gunicorn, 2 workers = 2 cores) serving
# the same GeoPackage, in one run. The collection is `hotspots_grid` (about 6,000 polygons),
# exported by lagesbild as a GeoPackage and given to pygeoapi's SQLiteGPKG provider.
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=bench/out; mkdir -p "$OUT"
command -v wrk >/dev/null || apt-get install -y -qq wrk
dpkg -s libsqlite3-mod-spatialite python3-venv >/dev/null 2>&1 || apt-get install -y -qq libsqlite3-mod-spatialite python3-venv
# pygeoapi's GeoPackage provider loads SpatiaLite, which needs Debian's Python (sqlite extensions enabled).
[ -x "$OUT/venv/bin/pygeoapi" ] || { /usr/bin/python3 -m venv "$OUT/venv" && "$OUT/venv/bin/pip" install -q pygeoapi gunicorn; }
source bench/serve_demo.sh 18301
trap 'kill $LPID ${PPID2:-} 2>/dev/null || true' EXIT
curl -sf "http://127.0.0.1:18301/collections/hotspots_grid/download?format=gpkg" -o "$OUT/hotspots_grid.gpkg"
N=$(curl -sf "http://127.0.0.1:18301/collections/hotspots_grid/items?limit=1" | python3 -c "import json,sys; print(json.load(sys.stdin)['numberMatched'])")
cat > "$OUT/pygeoapi.yml" <<YML
server:
  bind: {host: 127.0.0.1, port: 18302}
  url: http://127.0.0.1:18302
  mimetype: application/json; charset=UTF-8
  encoding: utf-8
  language: sv-SE
  cors: false
  pretty_print: false
  limits: {default_items: 1000, max_items: 10000}
  map: {url: "", attribution: ""}
logging: {level: ERROR}
metadata:
  identification: {title: bench, description: bench, keywords: [bench], keywords_type: theme, terms_of_service: "", url: ""}
  license: {name: CC0, url: ""}
  provider: {name: bench, url: ""}
  contact: {name: bench}
resources:
  hotspots_grid:
    type: collection
    title: hotspots_grid
    description: hotspots_grid
    keywords: [bench]
    extents:
      spatial: {bbox: [17.8, 59.3, 18.1, 59.6], crs: http://www.opengis.net/def/crs/OGC/1.3/CRS84}
    providers:
      - type: feature
        name: SQLiteGPKG
        data: $PWD/$OUT/hotspots_grid.gpkg
        id_field: fid
        table: hotspots_grid
YML
( export PYGEOAPI_CONFIG="$OUT/pygeoapi.yml" PYGEOAPI_OPENAPI="$OUT/pygeoapi-openapi.yml"
  "$OUT/venv/bin/pygeoapi" openapi generate "$PYGEOAPI_CONFIG" --output-file "$PYGEOAPI_OPENAPI" >/dev/null
  exec "$OUT/venv/bin/gunicorn" -w 2 -b 127.0.0.1:18302 pygeoapi.flask_app:APP 2>/dev/null ) & PPID2=$!
for i in $(seq 100); do curl -sf http://127.0.0.1:18302/ >/dev/null && break; sleep 0.3; done
L="http://127.0.0.1:18301/collections/hotspots_grid/items?limit=1000&offset=1000"
P="http://127.0.0.1:18302/collections/hotspots_grid/items?f=json&limit=1000&offset=1000"
nl=$(curl -sf "$L" | python3 -c "import json,sys; print(len(json.load(sys.stdin)['features']))")
np=$(curl -sf "$P" | python3 -c "import json,sys; print(len(json.load(sys.stdin)['features']))")
echo "collection hotspots_grid: $N features; one page: lagesbild $nl, pygeoapi $np features"
rl=$(wrk -t2 -c16 -d15s "$L" | awk '/Requests\/sec/ {print $2}')
rp=$(wrk -t2 -c16 -d15s "$P" | awk '/Requests\/sec/ {print $2}')
python3 -c "print(f'items, 1000 per page, 16 connections: lagesbild {float(\"$rl\"):.0f} req/s, pygeoapi {float(\"$rp\"):.0f} req/s -> {float(\"$rl\")/float(\"$rp\"):.1f}x')"

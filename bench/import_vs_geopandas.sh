#!/usr/bin/env bash
# Imports N (default 1,000,000) seeded incidents (id,lon,lat,kategori,datum; WGS84; inside the
# urban DeSO of Stockholm county) into a store holding the county's 1,287 DeSO 2018 polygons,
# with `lagesbild import incidents` and with the GeoPandas pipeline (read_csv, points_from_xy,
# to_crs(3006), sjoin(within), to_file GPKG via pyogrio), in one run; prints wall time, peak
# memory (/usr/bin/time -v) and the ratios. Then the refusal of a file with BAD (default
# 200,000) bad rows. TEN_M=1 adds the 10,000,000-row memory run of lagesbild alone.
set -euo pipefail
cd "$(dirname "$0")/.."
N="${N:-1000000}"
BAD="${BAD:-200000}"
OUT=bench/out; mkdir -p "$OUT"
VENV=bench/.venv-import
if [ ! -x "$VENV/bin/python" ]; then
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q "geopandas==1.0.1" "pyogrio==0.10.0" "pyproj==3.7.0" "shapely==2.0.6" "pandas==2.2.3"
fi
PY="$VENV/bin/python"
cargo build --release --quiet --bin lagesbild
BIN=target/release/lagesbild
AREAS=geodata/stockholm_lan_deso2018.geojson

[ -f "$OUT/incidents_$N.csv" ] || "$PY" bench/gen_incidents.py "$AREAS" "$OUT/incidents_$N.csv" "$N" --seed 14
rm -f "$OUT/areas_store.gpkg"
"$BIN" --store "$OUT/areas_store.gpkg" import areas "$AREAS" >/dev/null

# measure NAME CMD...: runs CMD under /usr/bin/time -v, leaves "wall_s peak_mb cpu_s" in $OUT/NAME.m
measure() {
  local name="$1"; shift
  /usr/bin/time -v "$@" >"$OUT/$name.out" 2>"$OUT/$name.err" || true
  local wall rss
  wall=$(grep "Elapsed (wall clock)" "$OUT/$name.err" | awk '{print $NF}' | awk -F: '{ if (NF==3) print $1*3600+$2*60+$3; else print $1*60+$2 }')
  rss=$(grep "Maximum resident set size" "$OUT/$name.err" | awk '{print $NF}')
  cpu=$(grep -E "(User|System) time" "$OUT/$name.err" | awk '{s += $NF} END {print s}')
  echo "$wall $((rss / 1024)) $cpu" >"$OUT/$name.m"
}

cp "$OUT/areas_store.gpkg" "$OUT/lagesbild.gpkg"
measure lagesbild "$BIN" --store "$OUT/lagesbild.gpkg" import incidents "$OUT/incidents_$N.csv"
rm -f "$OUT/geopandas.gpkg"
measure geopandas "$PY" bench/import_geopandas.py "$OUT/areas_store.gpkg" "$OUT/incidents_$N.csv" "$OUT/geopandas.gpkg"
tail -1 "$OUT/lagesbild.out"; cat "$OUT/geopandas.out"

[ -f "$OUT/incidents_${N}_bad.csv" ] || "$PY" bench/gen_incidents.py "$AREAS" "$OUT/incidents_${N}_bad.csv" "$N" --seed 15 --bad "$BAD"
cp "$OUT/areas_store.gpkg" "$OUT/refused.gpkg"
measure refused "$BIN" --store "$OUT/refused.gpkg" import incidents "$OUT/incidents_${N}_bad.csv" --rejects "$OUT/refused.rejects.csv"
echo "refusal: $(($(wc -l <"$OUT/refused.rejects.csv") - 1)) rows in the rejects file; terminal: $(grep -c '^incidents_' "$OUT/refused.err") problem lines, then: $(grep -m1 'problem row' "$OUT/refused.err")"
cmp -s "$OUT/areas_store.gpkg" "$OUT/refused.gpkg" && echo "refusal: store byte-for-byte unchanged"

if [ "${TEN_M:-0}" = 1 ]; then
  [ -f "$OUT/incidents_10000000.csv" ] || "$PY" bench/gen_incidents.py "$AREAS" "$OUT/incidents_10000000.csv" 10000000 --seed 16
  cp "$OUT/areas_store.gpkg" "$OUT/ten.gpkg"
  measure ten "$BIN" --store "$OUT/ten.gpkg" import incidents "$OUT/incidents_10000000.csv"
  tail -1 "$OUT/ten.out"
fi

"$PY" - "$OUT" "$N" <<'PY'
import sys, os
out, n = sys.argv[1], int(sys.argv[2])
m = lambda k: tuple(float(v) for v in open(os.path.join(out, k + ".m")).read().split())
(lt, lm, lc), (gt, gm, gc), (rt, rm, rc) = m("lagesbild"), m("geopandas"), m("refused")
print(f"{n:,} incidents, end to end (wall clock, CPU user+sys, peak RSS):")
print(f"  lagesbild import incidents  {lt:7.2f} s  {lc:7.2f} s CPU  {lm:7.0f} MB")
print(f"  GeoPandas pipeline          {gt:7.2f} s  {gc:7.2f} s CPU  {gm:7.0f} MB")
print(f"  lagesbild is {gt / lt:.1f}x faster ({gc / lc:.1f}x less CPU), peak memory {lm / gm:.2f}x GeoPandas'")
print(f"  refusal of the file with bad rows: {rt:.2f} s ({rc:.2f} s CPU), {rm:.0f} MB")
if os.path.exists(os.path.join(out, "ten.m")):
    tt, tm, tc = m("ten")
    print(f"  10,000,000 incidents: {tt:.1f} s ({tc:.1f} s CPU), peak {tm:.0f} MB")
PY

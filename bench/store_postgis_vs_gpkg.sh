#!/usr/bin/env bash
# The same work on the two stores, in one run: N (default 1,000,000) seeded incidents
# (bench/county_scale.py, standard library only) imported into a store holding Stockholm county's
# 1,287 DeSO 2018 polygons (the few points the county outline puts outside Sweden are skipped,
# as in county_scale.sh), then `lagesbild summary` over them, once with the GeoPackage store and once with the
# PostGIS store in a throwaway PostgreSQL cluster (initdb on a temporary directory, default
# settings, a free port; as the postgres OS user when run as root). Prints wall time, CPU and
# peak memory (/usr/bin/time -v) of each, and the ratios.
set -euo pipefail
cd "$(dirname "$0")/.."
N="${N:-1000000}"
OUT=bench/out; mkdir -p "$OUT"
SRC=../shared/geodata-src/deso2018-stockholm-simplified/deso2018_stockholm_lan_simplified_pop.geojson
[ -f "$SRC" ] || SRC=/work/shared/geodata-src/deso2018-stockholm-simplified/deso2018_stockholm_lan_simplified_pop.geojson
if [ -z "${BIN:-}" ]; then cargo build --release --quiet --bin lagesbild; BIN=target/release/lagesbild; fi
AREAS="$OUT/store_bench_areas.geojson"
INC="$OUT/store_bench_incidents_$N.csv"
[ -f "$INC" ] || python3 bench/county_scale.py "$SRC" "$AREAS" "$INC" "$N" 11

# A throwaway cluster, removed on exit.
PGBIN=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
PGDIR=$(mktemp -d /tmp/lagesbild-bench-pg.XXXXXX)
AS=()
if [ "$(id -u)" -eq 0 ]; then chown postgres "$PGDIR"; AS=(runuser -u postgres --); fi
PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"${AS[@]}" "$PGBIN/initdb" -D "$PGDIR/data" -U lagesbild --auth=trust -E UTF8 --no-locale >/dev/null
"${AS[@]}" "$PGBIN/pg_ctl" -D "$PGDIR/data" -o "-p $PORT -k $PGDIR -c listen_addresses=127.0.0.1" -l "$PGDIR/log" -w start >/dev/null
trap '"${AS[@]}" "$PGBIN/pg_ctl" -D "$PGDIR/data" -m fast -w stop >/dev/null; rm -rf "$PGDIR"' EXIT
psql -q -h 127.0.0.1 -p "$PORT" -U lagesbild -d postgres -c "CREATE DATABASE bench"
PG="postgresql://lagesbild@127.0.0.1:$PORT/bench"

# measure NAME CMD...: runs CMD under /usr/bin/time -v, leaves "wall_s peak_mb cpu_s" in $OUT/NAME.m
measure() {
  local name="$1"; shift
  /usr/bin/time -v "$@" >"$OUT/$name.out" 2>"$OUT/$name.err" || { tail -5 "$OUT/$name.err"; exit 1; }
  local wall rss cpu
  wall=$(grep "Elapsed (wall clock)" "$OUT/$name.err" | awk '{print $NF}' | awk -F: '{ if (NF==3) print $1*3600+$2*60+$3; else print $1*60+$2 }')
  rss=$(grep "Maximum resident set size" "$OUT/$name.err" | awk '{print $NF}')
  cpu=$(grep -E "(User|System) time" "$OUT/$name.err" | awk '{s += $NF} END {print s}')
  echo "$wall $((rss / 1024)) $cpu" >"$OUT/$name.m"
}

rm -f "$OUT/store_bench.gpkg"
"$BIN" --store "$OUT/store_bench.gpkg" import areas "$AREAS" --deso-version 2018 >/dev/null
"$BIN" --store "$PG" import areas "$AREAS" --deso-version 2018 >/dev/null
measure gpkg_import "$BIN" --store "$OUT/store_bench.gpkg" import incidents "$INC" --skip-invalid --rejects "$OUT/store_bench_gpkg.rejects.csv"
measure pg_import "$BIN" --store "$PG" import incidents "$INC" --skip-invalid --rejects "$OUT/store_bench_pg.rejects.csv"
measure gpkg_summary "$BIN" --store "$OUT/store_bench.gpkg" summary --csv "$OUT/summary_gpkg.csv"
measure pg_summary "$BIN" --store "$PG" summary --csv "$OUT/summary_pg.csv"
echo "imported: GeoPackage $(tail -1 "$OUT/gpkg_import.out")"; echo "imported: PostGIS    $(tail -1 "$OUT/pg_import.out")"
cmp -s "$OUT/summary_gpkg.csv" "$OUT/summary_pg.csv" && echo "summary: the two stores give byte-identical CSV" || echo "summary: THE CSV FILES DIFFER"

python3 - "$OUT" "$N" <<'PY'
import sys, os
out, n = sys.argv[1], int(sys.argv[2])
m = lambda k: tuple(float(v) for v in open(os.path.join(out, k + ".m")).read().split())
print(f"{n:,} incidents (wall clock, CPU user+sys of lagesbild, peak RSS of lagesbild):")
for what in ("import", "summary"):
    (gt, gm, gc), (pt, pm, pc) = m("gpkg_" + what), m("pg_" + what)
    print(f"  {what:8} GeoPackage {gt:7.2f} s {gc:7.2f} s CPU {gm:6.0f} MB | PostGIS {pt:7.2f} s {pc:7.2f} s CPU {pm:6.0f} MB | PostGIS/GeoPackage {pt / gt:.2f}x")
PY

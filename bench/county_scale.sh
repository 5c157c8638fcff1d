#!/usr/bin/env bash
# County scale: Stockholm county's 1,287 DeSO 2018 and N (default 1,000,000) seeded incidents in
# one store. Measures the time from `serve` to a 200 on /health (goal < 3 s), resident memory
# after start (goal < 800 MB), then fires anonymous analysis requests (each must answer 200 or a
# clear 4xx within 30 s) and reports the peak resident memory (goal < 2 GB).
#
# Env: N (incidents), SEED (default 11), BIN (default target/release/lagesbild, built here),
# PORT (default 18_711). The store is made once in bench/out and reused.
set -euo pipefail
cd "$(dirname "$0")/.."
N="${N:-1000000}"; SEED="${SEED:-11}"; PORT="${PORT:-18711}"
OUT=bench/out; mkdir -p "$OUT"
SRC=../shared/geodata-src/deso2018-stockholm-simplified/deso2018_stockholm_lan_simplified_pop.geojson
[ -f "$SRC" ] || SRC=/work/shared/geodata-src/deso2018-stockholm-simplified/deso2018_stockholm_lan_simplified_pop.geojson
if [ -z "${BIN:-}" ]; then cargo build --release --quiet; BIN=target/release/lagesbild; fi
STORE="$OUT/county_${N}_${SEED}.gpkg"
if [ ! -f "$STORE" ]; then
  python3 bench/county_scale.py "$SRC" "$OUT/county_areas.geojson" "$OUT/county_incidents.csv" "$N" "$SEED"
  "$BIN" --store "$STORE.tmp.gpkg" import areas "$OUT/county_areas.geojson" --deso-version 2018 >/dev/null
  # Points in the outer archipelago are refused as outside Sweden by the generalised county
  # outline (issue 11 point 6, fixed separately); they are skipped, the rest imported.
  t0=$(date +%s.%N)
  "$BIN" --store "$STORE.tmp.gpkg" import incidents "$OUT/county_incidents.csv" --skip-invalid --rejects "$OUT/county_rejects.csv" 2>/dev/null | tail -1
  echo "import of $N incidents: $(echo "$(date +%s.%N) - $t0" | bc) s"
  mv "$STORE.tmp.gpkg" "$STORE"
fi
rss() { awk -v k="$2:" '$1 == k { printf "%.0f", $2 / 1024 }' "/proc/$1/status"; }
t0=$(date +%s.%N)
"$BIN" --store "$STORE" serve --bind "127.0.0.1:$PORT" 2>"$OUT/county_serve.log" & PID=$!
trap 'kill $PID 2>/dev/null || true' EXIT
until curl -sf "http://127.0.0.1:$PORT/health" >/dev/null; do
  kill -0 $PID 2>/dev/null || { echo "serve exited"; tail "$OUT/county_serve.log"; exit 1; }
  sleep 0.05
done
START_S=$(echo "$(date +%s.%N) - $t0" | bc)
# The port answers while the data loads ("status":"loading"); data requests wait for "ok".
until curl -sf "http://127.0.0.1:$PORT/health" | grep -q '"status":"ok"'; do
  kill -0 $PID 2>/dev/null || { echo "serve exited"; tail "$OUT/county_serve.log"; exit 1; }
  sleep 0.05
done
READY_S=$(echo "$(date +%s.%N) - $t0" | bc)
RSS_START=$(rss $PID VmRSS)
echo "serve -> 200 on /health: ${START_S} s (goal < 3 s); data in service after ${READY_S} s"
echo "RSS after start: ${RSS_START} MB (goal < 800 MB); peak so far $(rss $PID VmHWM) MB"
RESULTS="$OUT/county_probes.txt"; : > "$RESULTS"
probe() { # path: status and seconds, at most 30 s
  local r; r=$(curl -s -o /dev/null -w '%{http_code} %{time_total}' --max-time 30 "http://127.0.0.1:$PORT$1" || echo "000 30")
  echo "  $r  $1" | tee -a "$RESULTS"
}
echo "anonymous analyses (status, seconds):"
for q in "/analysis/hotspots?from=2024-03-01&to=2024-06-30" "/analysis/hotspots" "/analysis/density?from=2024-01-01&to=2024-12-31" \
         "/analysis/emerging?from=2025-01-01&to=2025-06-30" "/analysis/hotspots?cell=25" "/analysis/lisa?indicator=population&permutations=99" \
         "/collections/incident_counts/items?limit=10" "/tiles/deso/9/281/150.mvt"; do
  probe "$q"
done
echo "four at once:"
for q in "/analysis/density?from=2023-01-01&to=2023-12-31" "/analysis/hotspots?from=2023-01-01&to=2023-06-30" \
         "/analysis/emerging?from=2024-01-01&to=2024-06-30" "/analysis/hotspots?from=2022-01-01&to=2022-12-31"; do
  probe "$q" &
done
wait_jobs() { for j in $(jobs -p); do [ "$j" = "$PID" ] || wait "$j" || true; done; }
wait_jobs
probe "/health"
echo "peak RSS: $(rss $PID VmHWM) MB (goal < 2048 MB); RSS now: $(rss $PID VmRSS) MB"
# 200, a clear 4xx or 503 (queue full, with Retry-After) pass; 000 (no answer in 30 s) or 5xx fail.
if grep -Eqv '^  (200|204|400|404|422|503) ' "$RESULTS"; then echo "some request failed or took longer than 30 s"; exit 1; fi

#!/usr/bin/env bash
# Vector tile throughput: lagesbild's /tiles/deso against martin serving the same tiles from an
# MBTiles file (made from lagesbild's own tiles), in one run. wrk walks the same z10–15 tile list
# on both (2 threads, 16 connections, 15 s), once without and once with Accept-Encoding: gzip.
# martin comes from crates.io (`cargo install martin@1.14.0 --no-default-features --features mbtiles`;
# 1.16 needs a newer rustc than 1.95, and the default `rendering` feature downloads MapLibre Native).
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=bench/out; mkdir -p "$OUT"
command -v wrk >/dev/null || apt-get install -y -qq wrk
MARTIN="${MARTIN:-$(command -v martin || echo "$OUT/martin/bin/martin")}"
[ -x "$MARTIN" ] || cargo install martin@1.14.0 --locked --no-default-features --features mbtiles --root "$OUT/martin"

source bench/serve_demo.sh 18311
trap 'kill $LPID ${MPID:-} 2>/dev/null || true' EXIT
rm -f "$OUT/deso.mbtiles"
python3 bench/tiles_vs_martin.py mbtiles http://127.0.0.1:18311 "$OUT/deso.mbtiles" "$OUT/tiles.txt"
"$MARTIN" --listen-addresses 127.0.0.1:18312 "$OUT/deso.mbtiles" >/dev/null 2>&1 & MPID=$!
for i in $(seq 100); do curl -sf http://127.0.0.1:18312/catalog >/dev/null && break; sleep 0.2; done
lua() { # $1 = path prefix, $2 = suffix, $3 = extra header line (may be empty)
  cat > "$OUT/walk.lua" <<LUA
local paths = {}
for line in io.lines("$OUT/tiles.txt") do paths[#paths + 1] = "$1" .. line .. "$2" end
local i = 0
request = function()
  i = i % #paths + 1
  return wrk.format("GET", paths[i], {$3})
end
LUA
}
# Requests/sec of one wrk run. Any answer other than 2xx/3xx (a 429 from a rate limit left on by
# accident, a 404 from a wrong tile list) would make the figure meaningless: the run fails then.
run() {
  local out; out=$(wrk -t2 -c16 -d15s -s "$OUT/walk.lua" "$1")
  if grep -q "Non-2xx" <<<"$out"; then echo "$1: $(grep Non-2xx <<<"$out")" >&2; exit 1; fi
  awk '/Requests\/sec/ {print $2}' <<<"$out"
}
# Peak resident memory (VmHWM) of a process, in MB.
peak_mb() { awk '/VmHWM/ {printf "%.0f", $2 / 1024}' "/proc/$1/status"; }
for enc in identity gzip; do
  H=""; [ "$enc" = gzip ] && H='["Accept-Encoding"] = "gzip"'
  lua "/tiles/deso/" ".mvt" "$H"; L=$(run http://127.0.0.1:18311)
  lua "/deso/" "" "$H"; M=$(run http://127.0.0.1:18312)
  python3 -c "print(f'tiles ($enc): lagesbild {float(\"$L\"):.0f} req/s, martin {float(\"$M\"):.0f} req/s -> {float(\"$L\")/float(\"$M\"):.2f}x')"
done
echo "peak RSS: lagesbild $(peak_mb $LPID) MB, martin $(peak_mb $MPID) MB"

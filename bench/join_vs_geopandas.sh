#!/usr/bin/env bash
# Joins N (default 1,000,000) random points with Stockholm county's 1,287 DeSO 2018 polygons in
# lagesbild and in GeoPandas, on the same input, in one run; prints both and the ratio.
set -euo pipefail
cd "$(dirname "$0")/.."
N="${N:-1000000}"
OUT=bench/out; mkdir -p "$OUT"
python3 -c "import geopandas" 2>/dev/null || pip install -q geopandas pyogrio
cargo build --release --quiet --example bench_join
python3 bench/join_vs_geopandas.py prepare geodata/stockholm_lan_deso2018.geojson "$OUT/areas3006.geojson" "$OUT/points.bin" "$N"
R=$(target/release/examples/bench_join "$OUT/areas3006.geojson" "$OUT/points.bin")
P=$(python3 bench/join_vs_geopandas.py run "$OUT/areas3006.geojson" "$OUT/points.bin")
echo "$R"; echo "$P"
python3 - "$R" "$P" <<'PY'
import json, sys
r, p = json.loads(sys.argv[1]), json.loads(sys.argv[2])
assert r["matched"] == p["matched"], f"matched differ: {r['matched']} vs {p['matched']}"
print(f"join of {r['points']:,} points x {r['polygons']} polygons: lagesbild {r['join_s']:.3f} s, "
      f"{p['tool']} {p['join_s']:.3f} s -> {p['join_s']/r['join_s']:.1f}x faster; "
      f"peak RSS {r['peak_rss_mb']} MB vs {p['peak_rss_mb']} MB")
PY

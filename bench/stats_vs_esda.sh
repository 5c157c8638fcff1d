#!/usr/bin/env bash
# Queen weights, Gi* (999 permutations) and local Moran (999 permutations) in lagesbild and in
# esda/libpysal on the same files, in one run: a 300x300 lattice and 6,000 Voronoi polygons.
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=bench/out; mkdir -p "$OUT"
python3 -c "import esda, libpysal, geopandas" 2>/dev/null || pip install -q esda libpysal geopandas pyogrio
cargo build --release --quiet --example bench_stats
[ -f "$OUT/lattice300.gpkg" ] || python3 bench/stats_vs_esda.py prepare "$OUT/lattice300.gpkg" "$OUT/voronoi6000.gpkg"
for f in lattice300 voronoi6000; do
  R=$(target/release/examples/bench_stats "$OUT/$f.gpkg")
  P=$(python3 bench/stats_vs_esda.py run "$OUT/$f.gpkg")
  echo "$R"; echo "$P"
  python3 - "$f" "$R" "$P" <<'PY'
import json, sys
name, r, p = sys.argv[1], json.loads(sys.argv[2]), json.loads(sys.argv[3])
assert r["n"] == p["n"] and r["nnz"] == p["nnz"], f"weights differ: {r['nnz']} vs {p['nnz']}"
assert abs(r["check"][1] - p["check"][1]) < 1e-6, f"local Moran I differs: {r['check']} vs {p['check']}"
for k, label in [("weights_s", "queen weights"), ("gi_star_999_s", "Gi* 999 perm"), ("lisa_999_s", "local Moran 999 perm")]:
    print(f"{name}: {label}: lagesbild {r[k]:.3f} s, {p['tool']} {p[k]:.3f} s -> {p[k]/r[k]:.1f}x")
print(f"{name}: peak RSS lagesbild {r['peak_rss_mb']} MB, esda {p['peak_rss_mb']} MB")
PY
done

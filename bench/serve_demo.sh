# Sourced by the server benchmarks: builds the release binary, makes the benchmark store once
# (Sollentuna DeSO + the synthetic incidents) and serves it on $1 in the background ($LPID).
cargo build --release --quiet
B=target/release/lagesbild
STORE="$OUT/bench.gpkg"
if [ ! -f "$STORE" ]; then
  $B --store "$STORE" import areas geodata/sollentuna_deso2025.geojson >/dev/null
  $B --store "$STORE" import incidents geodata/incidents_synthetic_sollentuna.csv --crs EPSG:3006 >/dev/null
fi
# Throughput runs send thousands of anonymous requests a second from one address: the per-client
# rate limit (which would answer 429) is off, so the server itself is measured, as martin is.
$B --store "$STORE" serve --bind "127.0.0.1:$1" --rate-limit-anonymous 0 2>/dev/null & LPID=$!
for i in $(seq 300); do curl -sf "http://127.0.0.1:$1/health" | grep -q "\"status\":\"ok\"" && break; sleep 0.2; done

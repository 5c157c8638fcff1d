//! Benchmark half of `bench/join_vs_geopandas.sh`: joins points (raw little-endian f64 x,y pairs
//! in EPSG:3006) with polygons (a GeoJSON in EPSG:3006) and prints JSON timings.
//! Timed: R-tree build + parallel point-in-polygon + counts per area, as GeoPandas' sjoin +
//! value_counts on the Python side.

use lagesbild::spatial::AreaIndex;
use std::time::Instant;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let (areas_path, points_path) = (&args[1], &args[2]);
    let t0 = Instant::now();
    let data = lagesbild::io::read_source(std::path::Path::new(areas_path), &Default::default()).expect("areas");
    let mut polys = Vec::new();
    let mut codes = Vec::new();
    for r in &data.records {
        let mp = match r.geometry.clone() {
            Some(geo::Geometry::Polygon(p)) => geo::MultiPolygon(vec![p]),
            Some(geo::Geometry::MultiPolygon(m)) => m,
            _ => continue,
        };
        polys.push(mp);
        codes.push(r.get("deso").unwrap_or("").to_string());
    }
    let bytes = std::fs::read(points_path).expect("points");
    let xy: Vec<(f64, f64)> =
        bytes.chunks_exact(16).map(|c| (f64::from_le_bytes(c[..8].try_into().unwrap()), f64::from_le_bytes(c[8..].try_into().unwrap()))).collect();
    let load_s = t0.elapsed().as_secs_f64();
    let mut best = f64::MAX;
    let mut matched = 0usize;
    for _ in 0..3 {
        let t = Instant::now();
        let code_refs: Vec<&str> = codes.iter().map(|s| s.as_str()).collect();
        let index = AreaIndex::new(&polys, &code_refs);
        let r = index.join(&xy);
        let mut counts = vec![0u64; polys.len()];
        for a in r.area.iter().flatten() {
            counts[*a as usize] += 1;
        }
        best = best.min(t.elapsed().as_secs_f64());
        matched = counts.iter().sum::<u64>() as usize;
    }
    let hwm_kb = std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| s.lines().find(|l| l.starts_with("VmHWM")).and_then(|l| l.split_whitespace().nth(1)?.parse::<u64>().ok()))
        .unwrap_or(0);
    println!(
        "{{\"tool\":\"lagesbild\",\"points\":{},\"polygons\":{},\"matched\":{},\"load_s\":{:.3},\"join_s\":{:.4},\"peak_rss_mb\":{:.1},\"threads\":{}}}",
        xy.len(),
        polys.len(),
        matched,
        load_s,
        best,
        hwm_kb as f64 / 1024.0,
        rayon::current_num_threads()
    );
}

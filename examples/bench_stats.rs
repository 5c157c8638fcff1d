//! Rust half of `bench/stats_vs_esda.sh`: queen weights from polygons, Gi* and local Moran with
//! 999 permutations. Input: a polygon file with a numeric field `y`. Prints JSON timings
//! (best of 3 for weights, one run each for the permutation statistics, like the esda side).

use lagesbild::stats::*;
use std::time::Instant;

fn main() {
    let path = std::env::args().nth(1).expect("polygon file");
    let data = lagesbild::io::read_source(std::path::Path::new(&path), &Default::default()).expect("read");
    let polys: Vec<geo::MultiPolygon<f64>> = data
        .records
        .iter()
        .map(|r| match r.geometry.clone().expect("geometry") {
            geo::Geometry::Polygon(p) => geo::MultiPolygon(vec![p]),
            geo::Geometry::MultiPolygon(m) => m,
            g => panic!("not a polygon: {g:?}"),
        })
        .collect();
    let y: Vec<f64> = data.records.iter().map(|r| r.get("y").unwrap().parse().unwrap()).collect();
    let mut weights_s = f64::MAX;
    let mut w = None;
    for _ in 0..3 {
        let t = Instant::now();
        w = Some(Weights::contiguity(&polys, true, 0.0));
        weights_s = weights_s.min(t.elapsed().as_secs_f64());
    }
    let w = w.unwrap();
    let t = Instant::now();
    let gi = getis_ord(&y, &w, &GiParams { star: true, transform: Transform::R, permutations: 999, seed: 1, fdr: false }).unwrap();
    let gi_s = t.elapsed().as_secs_f64();
    let t = Instant::now();
    let lisa = local_moran(&y, &w, &LisaParams { transform: Transform::R, permutations: 999, seed: 1, alpha: 0.05 }).unwrap();
    let lisa_s = t.elapsed().as_secs_f64();
    let hwm_kb = std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| s.lines().find(|l| l.starts_with("VmHWM")).and_then(|l| l.split_whitespace().nth(1)?.parse::<u64>().ok()))
        .unwrap_or(0);
    let nnz: usize = (0..w.n).map(|i| w.cardinality(i)).sum();
    println!(
        "{{\"tool\":\"lagesbild\",\"n\":{},\"nnz\":{},\"weights_s\":{:.4},\"gi_star_999_s\":{:.4},\"lisa_999_s\":{:.4},\"peak_rss_mb\":{:.1},\"check\":[{:.6},{:.6}]}}",
        w.n,
        nnz,
        weights_s,
        gi_s,
        lisa_s,
        hwm_kb as f64 / 1024.0,
        gi.z[0],
        lisa.i[0]
    );
}

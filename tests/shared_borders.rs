//! The demo DeSO (SCB's polygons, each simplified on its own) drawn without slivers: the map's
//! layer has one border between neighbours.

mod common;

use common::Fixture;
use lagesbild::import::{ImportKind, ImportOptions};
use lagesbild::spatial::topology::{share_boundaries, slivers};
use lagesbild::store::Store;

#[test]
fn the_demo_deso_lose_their_slivers_and_keep_their_area() {
    let f = Fixture::empty();
    let opts = ImportOptions { deso_version: Some("2025".into()), ..Default::default() };
    f.import(ImportKind::Areas, std::path::Path::new("geodata/sollentuna_deso2025.geojson"), &opts).unwrap();
    let areas = f.store.areas().unwrap();
    let polys: Vec<_> = areas.iter().map(|a| a.geometry.clone()).collect();
    let codes: Vec<&str> = areas.iter().map(|a| a.deso.as_str()).collect();
    // Holes below 1 km² in the union are gaps between neighbours (Sollentuna's DeSO cover the
    // municipality without lakes left out).
    let (gaps0, over0) = slivers(&polys, 1e6);
    let (shown, report) = share_boundaries(&polys, &codes, 150.0, 1e6);
    let (gaps1, over1) = slivers(&shown, 1e6);
    println!("before: gaps {gaps0:.0} m², overlaps {over0:.0} m²; after: gaps {gaps1:.0} m², overlaps {over1:.0} m²; {report:?}");
    assert!(gaps0 + over0 > 10_000.0, "the input has slivers to close: {gaps0} {over0}");
    // Exact polygon operations leave only floating-point crumbs (well under 1 m² in total).
    assert!(gaps1 + over1 < 1.0, "after: {gaps1} + {over1} m²");
    use geo::Area;
    let (a0, a1): (f64, f64) = (polys.iter().map(|p| p.unsigned_area()).sum(), shown.iter().map(|p| p.unsigned_area()).sum());
    // The total changes by the overlaps removed and the gaps filled, nothing else.
    assert!((a1 - (a0 - report.overlap_removed + report.gap_area_filled)).abs() < 1.0, "total area {a0} → {a1}, {report:?}");
}

//! The point-in-polygon join equals GeoPandas on the same points and polygons, slivers included.

mod common;

use common::{crs3006, Fixture};
use lagesbild::import::{ImportKind, ImportOptions};
use lagesbild::store::Store;
use lagesbild::summary;
use std::collections::BTreeMap;

fn fixture(name: &str) -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(name)
}

#[test]
fn join_counts_equal_geopandas_sjoin_on_overlapping_simplified_deso() {
    // Reference: tests/fixtures/join_expected_geopandas.json, made by make_join_fixture.py with
    // geopandas 1.2.0 / shapely sjoin(predicate="intersects") and the smallest-code rule.
    let expected: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(fixture("join_expected_geopandas.json")).unwrap()).unwrap();
    let f = Fixture::empty();
    let opts = ImportOptions { deso_version: Some("2025".into()), ..Default::default() };
    f.import(ImportKind::Areas, &fixture("join_areas_3006.geojson"), &opts).expect("areas");
    f.import(ImportKind::Incidents, &fixture("join_points_3006.csv"), &crs3006()).expect("points");
    let areas = f.store.areas().unwrap();
    let sel = summary::select_edition(&areas, None);
    let s = summary::summarise(&sel, &f.store.incidents().unwrap(), &Default::default());
    let got: BTreeMap<String, u64> = s.area_totals.into_iter().filter(|(_, n)| *n > 0).collect();
    let want: BTreeMap<String, u64> = expected["counts"].as_object().unwrap().iter().map(|(k, v)| (k.clone(), v.as_u64().unwrap())).collect();
    assert_eq!(got, want);
    assert_eq!(s.unassigned as u64, expected["unmatched"].as_u64().unwrap());
    assert_eq!(s.ambiguous as u64, expected["ambiguous"].as_u64().unwrap());
}

#[test]
fn counts_per_area_category_and_week_come_with_rates_per_1000() {
    let f = Fixture::with_areas();
    // Two incidents in 0163C9001 (1 000 residents) in ISO week 2025-W11, one in 0163C9003 (500),
    // one outside every area, one at municipality precision (kept out of point statistics).
    let csv = "id;kategori;datum;e;n;noggrannhet\n\
               a;Klotter;2025-03-10;660100;6590100;exact\n\
               b;Klotter;2025-03-16 23:59;660900;6590900;exact\n\
               c;Inbrott;2025-03-17;662500;6590500;address\n\
               d;Inbrott;2025-03-17;670000;6600000;exact\n\
               e;Rån;2025-03-17;661500;6590500;municipality\n";
    let p = f.write("w.csv", csv);
    f.import(ImportKind::Incidents, &p, &crs3006()).expect("import");
    let areas = f.store.areas().unwrap();
    let sel = summary::select_edition(&areas, None);
    let pop = summary::population_by_area(&areas, &f.store.indicators().unwrap());
    let s = summary::summarise(&sel, &f.store.incidents().unwrap(), &pop);
    let rows: Vec<(String, &str, String, u64, Option<f64>)> =
        s.rows.iter().map(|r| (r.deso.clone(), r.category.as_str(), r.iso_week.clone(), r.count, r.rate_per_1000)).collect();
    assert_eq!(rows, vec![("0163C9001".into(), "klotter", "2025-W11".into(), 2, Some(2.0)), ("0163C9003".into(), "inbrott", "2025-W12".into(), 1, Some(2.0)),]);
    assert_eq!((s.unassigned, s.excluded_imprecise), (1, 1));
    assert_eq!(s.area_totals["0163C9002"], 0, "an area with no incidents is listed with zero");
}

#[test]
fn mismatched_deso_editions_are_kept_apart() {
    let f = Fixture::with_areas();
    let p = f.write("old.geojson", &common::AREAS_3006.replace("0163C9001", "0163C8001").replace("0163C9002", "0163C8002").replace("0163C9003", "0163C8003"));
    let opts = ImportOptions { deso_version: Some("2018".into()), ..Default::default() };
    f.import(ImportKind::Areas, &p, &opts).expect("2018 areas");
    let areas = f.store.areas().unwrap();
    assert_eq!(summary::select_edition(&areas, None).len(), 3);
    assert!(summary::select_edition(&areas, None).iter().all(|a| a.version == "2025"), "the newest edition by default");
    assert!(summary::select_edition(&areas, Some("2018")).iter().all(|a| a.deso.starts_with("0163C8")));
}

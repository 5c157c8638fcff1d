//! Every polygon layer's tiles over the demo extent, decoded by an independent reader
//! (`mvt-reader`, not our encoder's inverse): each exterior ring has positive surveyor's area in
//! tile coordinates (MVT 2.1, section 4.3.4.4, the rule QGIS and GDAL read by), and what a tile
//! draws covers the source geometry clipped to that tile.
//!
//! Tiles checked: all tiles over Sollentuna's DeSO extent at z8–z12, and at z13–z15 every third
//! column and row (a regular sample, about a ninth of them), for the public role.

mod common;

use geo::line_measures::LengthMeasurable;
use geo::{Area, BooleanOps, BoundingRect, Euclidean, MapCoords};
use lagesbild::api::auth::Role;
use lagesbild::import::{run_import, ImportKind, ImportOptions};
use lagesbild::tiles::{merc, tile_bounds, tile_range};
use serde_json::Value;
use std::collections::HashMap;

const EXTENT: f64 = 4096.0;

/// The demo store (Sollentuna DeSO 2025, synthetic incidents) served with Polisen's areas and
/// the county's municipality boundaries, as `.ci/demo` serves it.
fn demo_state(dir: &std::path::Path) -> lagesbild::AppState {
    let root = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let store = lagesbild::store::GpkgStore::new(dir.join("demo.gpkg"));
    run_import(&store, ImportKind::Areas, &root.join("geodata/sollentuna_deso2025.geojson"), &ImportOptions::default(), &|_, _| {}).unwrap();
    run_import(&store, ImportKind::Incidents, &root.join("geodata/incidents_synthetic_sollentuna.csv"), &common::crs3006(), &|_, _| {}).unwrap();
    let cfg = lagesbild::api::ServiceConfig {
        police_areas: Some(root.join("geodata/uso2025_sollentuna_jarva_subset.geojson")),
        boundaries: Some(root.join("geodata/kommun_stockholms_lan.geojson")),
        ..Default::default()
    };
    lagesbild::AppState::new(&store, cfg, Default::default()).unwrap()
}

/// Properties as a comparable key: MVT carries no nulls, and numbers come back as any of its
/// numeric types.
fn key_of_json(p: &serde_json::Map<String, Value>) -> String {
    let mut kv: Vec<String> = p
        .iter()
        .filter_map(|(k, v)| match v {
            Value::String(s) => Some(format!("{k}={s}")),
            Value::Number(n) => Some(format!("{k}={:?}", n.as_f64().unwrap())),
            Value::Bool(b) => Some(format!("{k}={b}")),
            _ => None,
        })
        .collect();
    kv.sort();
    kv.join("|")
}

fn key_of_mvt(p: &HashMap<String, mvt_reader::feature::Value>) -> String {
    use mvt_reader::feature::Value as V;
    let mut kv: Vec<String> = p
        .iter()
        .filter_map(|(k, v)| match v {
            V::String(s) => Some(format!("{k}={s}")),
            V::Float(x) => Some(format!("{k}={:?}", f64::from(*x))),
            V::Double(x) => Some(format!("{k}={x:?}")),
            V::Int(x) | V::SInt(x) => Some(format!("{k}={:?}", *x as f64)),
            V::UInt(x) => Some(format!("{k}={:?}", *x as f64)),
            V::Bool(b) => Some(format!("{k}={b}")),
            V::Null => None,
        })
        .collect();
    kv.sort();
    kv.join("|")
}

fn surveyor(ring: &geo::LineString<f64>) -> f64 {
    ring.0.windows(2).map(|w| w[0].x * w[1].y - w[1].x * w[0].y).sum::<f64>() / 2.0
}

/// The source polygons of a layer as the public sees them, in Web Mercator, grouped by their
/// property key. Incident aggregates are rebuilt from the points with the tile's grid.
fn sources(state: &lagesbild::AppState, c: &lagesbild::api::layers::Collection, z: u8) -> HashMap<String, Vec<geo::MultiPolygon<f64>>> {
    let to_merc = |g: &geo::Geometry<f64>| -> Option<geo::MultiPolygon<f64>> {
        let m = g.map_coords(|c| {
            let (x, y) = merc(c.x, c.y);
            geo::coord! { x: x, y: y }
        });
        match m {
            geo::Geometry::Polygon(p) => Some(geo::MultiPolygon(vec![p])),
            geo::Geometry::MultiPolygon(mp) => Some(mp),
            _ => None,
        }
    };
    let mut out: HashMap<String, Vec<geo::MultiPolygon<f64>>> = HashMap::new();
    if c.access == lagesbild::api::layers::Access::Incidents {
        let cell = if z < lagesbild::api::tiles::POINT_ZOOM { lagesbild::api::tiles::aggregate_cell_m(z) } else { 250.0 };
        let grid = lagesbild::spatial::grid::GridSpec::square(cell);
        let mut counts = std::collections::BTreeMap::new();
        for f in &c.features {
            if let geo::Geometry::Point(p) = &f.g3006 {
                *counts.entry(grid.key_of(p.x(), p.y())).or_insert(0u64) += 1;
            }
        }
        for (k, n) in counts {
            if n < state.config.min_public_count {
                continue; // the public never sees these cells
            }
            let cellg = grid.cell(&k);
            let wgs = lagesbild::crs::to_wgs84(&cellg.polygon.clone().into()).unwrap();
            let p = serde_json::json!({"cell_id": cellg.id, "count": n, "cell_size_m": cell});
            out.entry(key_of_json(p.as_object().unwrap())).or_default().extend(to_merc(&wgs));
        }
        return out;
    }
    for f in &c.features {
        if let Some((p, _, gwgs, _)) = lagesbild::api::layers::view(c, f, Role::Public, state.config.min_public_count) {
            out.entry(key_of_json(&p)).or_default().extend(to_merc(&gwgs));
        }
    }
    out
}

#[test]
fn every_polygon_tile_has_clockwise_exteriors_and_covers_its_source_within_one_percent() {
    let dir = tempfile::tempdir().unwrap();
    let state = demo_state(dir.path());
    let deso = state.layers.get("deso").unwrap();
    let extent = deso.extent_wgs84().unwrap();
    let layers = ["deso", "regso", "incident_counts", "police_areas", "municipalities", "hotspots_grid", "density", "emerging", "incidents"];
    let (mut tiles_checked, mut features_checked, mut worst) = (0usize, 0usize, 0.0f64);
    for id in layers {
        let c = state.layers.get(id).unwrap();
        for z in 8u8..=15 {
            let src = sources(&state, &c, z);
            let (c0, r0, c1, r1) = tile_range(extent, z);
            let step = if z >= 13 { 3 } else { 1 };
            for x in (c0..=c1).step_by(step) {
                for y in (r0..=r1).step_by(step) {
                    let bytes = lagesbild::api::tiles::build_tile(&state, &c, Role::Public, z, x, y).unwrap();
                    let reader = mvt_reader::Reader::new(bytes).unwrap();
                    assert_eq!(reader.get_layer_names().unwrap(), vec![id.to_string()]);
                    let b = tile_bounds(z, x, y);
                    let tile_rect = geo::MultiPolygon(vec![geo::Rect::new(geo::coord! {x: b[0], y: b[1]}, geo::coord! {x: b[2], y: b[3]}).to_polygon()]);
                    let k = EXTENT / (b[2] - b[0]);
                    tiles_checked += 1;
                    // Decoded area per property key, clipped to the tile (the buffer is drawn twice otherwise).
                    let mut decoded: HashMap<String, f64> = HashMap::new();
                    for f in reader.get_features_as::<f64>(0).unwrap() {
                        let mp = match f.geometry {
                            geo::Geometry::Polygon(p) => geo::MultiPolygon(vec![p]),
                            geo::Geometry::MultiPolygon(mp) => mp,
                            other => panic!("{id} {z}/{x}/{y}: a polygon layer holds {other:?}"),
                        };
                        for p in &mp {
                            let a = surveyor(p.exterior());
                            assert!(a > 0.0, "{id} {z}/{x}/{y}: exterior ring with surveyor's area {a} (must be positive)");
                            for h in p.interiors() {
                                assert!(surveyor(h) < 0.0, "{id} {z}/{x}/{y}: interior ring with positive area");
                            }
                        }
                        let m = mp.map_coords(|c| geo::coord! { x: b[0] + c.x / k, y: b[3] - c.y / k });
                        *decoded.entry(key_of_mvt(f.properties.as_ref().unwrap())).or_default() += m.intersection(&tile_rect).unsigned_area();
                    }
                    // Quantising to the 4096 grid moves each edge by at most half a pixel, so a
                    // feature's area can honestly differ by half a pixel per pixel of outline;
                    // that is more than 1 % for anything under ~200 px across. Each feature must
                    // meet 1 % or that grid bound; each tile's total, where errors of shared edges
                    // cancel, must meet 1 %. A lost ring, a hole turned into an exterior or a
                    // dropped part breaks both.
                    let (mut tot_want, mut tot_got, mut tot_outline) = (0.0, 0.0, 0.0);
                    for (key, got) in decoded {
                        let parts = src.get(&key).unwrap_or_else(|| panic!("{id} {z}/{x}/{y}: no source feature with {key}"));
                        // A part wholly inside the tile is its own clip: no boolean operation, whose
                        // robustness on the many near-collinear vertices of the shared-border
                        // outlines is not what this test is about.
                        let clipped: Vec<geo::MultiPolygon<f64>> = parts
                            .iter()
                            .map(|s| match s.bounding_rect() {
                                Some(r) if r.min().x >= b[0] && r.max().x <= b[2] && r.min().y >= b[1] && r.max().y <= b[3] => s.clone(),
                                _ => s.intersection(&tile_rect),
                            })
                            .collect();
                        let want: f64 = clipped.iter().map(|c| c.unsigned_area()).sum();
                        let outline_px: f64 = clipped
                            .iter()
                            .flat_map(|c| c.iter().flat_map(|p| std::iter::once(p.exterior()).chain(p.interiors())))
                            .map(|r| r.length(&Euclidean))
                            .sum::<f64>()
                            * k;
                        let err_px2 = (want - got).abs() * k * k;
                        assert!(
                            err_px2 <= 0.01 * want * k * k || err_px2 <= 0.5 * outline_px,
                            "{id} {z}/{x}/{y} {key}: decoded {:.1} px² against source {:.1} px² (outline {outline_px:.0} px)",
                            got * k * k,
                            want * k * k
                        );
                        features_checked += 1;
                        worst = worst.max(err_px2 / outline_px.max(1e-9));
                        tot_want += want;
                        tot_got += got;
                        tot_outline += outline_px;
                    }
                    // Features lying only in the buffer count zero in both sums.
                    let all_want: f64 = src.values().flatten().map(|s| s.intersection(&tile_rect).unsigned_area()).sum();
                    let terr = (all_want - tot_got).abs() * k * k;
                    assert!(
                        terr <= 0.01 * all_want * k * k || terr <= 0.5 * tot_outline,
                        "{id} {z}/{x}/{y}: tile draws {:.0} px² of {:.0} px² (features in the tile: {tot_want:.0})",
                        tot_got * k * k,
                        all_want * k * k
                    );
                    if all_want * k * k > 0.01 * EXTENT * EXTENT {
                        assert!(terr <= 0.01 * all_want * k * k, "{id} {z}/{x}/{y}: total area off by {:.2} %", 100.0 * terr / (all_want * k * k));
                    }
                }
            }
        }
    }
    // 9 layers over Sollentuna: hundreds of tiles and tens of thousands of features.
    assert!(tiles_checked > 500 && features_checked > 10_000, "{tiles_checked} tiles, {features_checked} features");
    eprintln!("{tiles_checked} tiles, {features_checked} features, worst error {worst:.3} px² per outline px");
}

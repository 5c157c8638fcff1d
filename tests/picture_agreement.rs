//! One picture for the map and the profile: with two municipalities in one store, the map's
//! Gi* and the profile's Gi* of a DeSO are the same number.

mod common;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use common::{crs3006, Fixture};
use http_body_util::BodyExt;
use lagesbild::api::auth::Tokens;
use lagesbild::import::{ImportKind, ImportOptions};
use serde_json::Value;
use tower::ServiceExt;

/// Three more 1 km squares east of the common fixture's, in another municipality (0160):
/// 0160C9001 [663000–664000], 0160C9002 [664000–665000], 0160C9003 [665000–666000].
const EAST_3006: &str = r#"{"type":"FeatureCollection",
"crs":{"type":"name","properties":{"name":"urn:ogc:def:crs:EPSG::3006"}},
"features":[
{"type":"Feature","properties":{"deso":"0160C9001","regso":"0160R901","regso_name":"Väster","population":800},
 "geometry":{"type":"Polygon","coordinates":[[[663000,6590000],[664000,6590000],[664000,6591000],[663000,6591000],[663000,6590000]]]}},
{"type":"Feature","properties":{"deso":"0160C9002","regso":"0160R901","regso_name":"Väster","population":900},
 "geometry":{"type":"Polygon","coordinates":[[[664000,6590000],[665000,6590000],[665000,6591000],[664000,6591000],[664000,6590000]]]}},
{"type":"Feature","properties":{"deso":"0160C9003","regso":"0160R902","regso_name":"Öster","population":700},
 "geometry":{"type":"Polygon","coordinates":[[[665000,6590000],[666000,6590000],[666000,6591000],[665000,6591000],[665000,6590000]]]}}
]}"#;

async fn json(app: &axum::Router, uri: &str) -> Value {
    let req = Request::get(uri).header("Authorization", "Bearer a-token").body(Body::empty()).unwrap();
    let (parts, body) = app.clone().oneshot(req).await.unwrap().into_parts();
    assert_eq!(parts.status, StatusCode::OK, "{uri}");
    serde_json::from_slice(&body.collect().await.unwrap().to_bytes()).unwrap()
}

#[tokio::test]
async fn the_map_and_the_profile_agree_on_a_deso_gi_star_across_two_municipalities() {
    let f = Fixture::with_areas();
    let opts = ImportOptions { deso_version: Some("2025".into()), ..Default::default() };
    f.import(ImportKind::Areas, &f.write("east.geojson", EAST_3006), &opts).unwrap();
    // Counts per DeSO west to east: 2, 4, 12 | 10, 3, 1 — the cluster straddles the border.
    let counts = [
        ("0163C9001", 660_500, 2),
        ("0163C9002", 661_500, 4),
        ("0163C9003", 662_500, 12),
        ("0160C9001", 663_500, 10),
        ("0160C9002", 664_500, 3),
        ("0160C9003", 665_500, 1),
    ];
    let mut csv = String::from("id;kategori;datum;e;n\n");
    for (deso, e, n) in counts {
        for k in 0..n {
            csv.push_str(&format!("{deso}-{k};Klotter;2025-03-{:02};{};{}\n", 1 + k, e + 10 * k, 6_590_500));
        }
    }
    f.import(ImportKind::Incidents, &f.write("inc.csv", &csv), &crs3006()).unwrap();
    let tokens = Tokens::from_env_value("analyst:a-token").unwrap();
    let app = lagesbild::app(lagesbild::AppState::new(&f.store, Default::default(), tokens).unwrap());

    let map = json(&app, "/collections/deso/items/0163C9003").await;
    let profile = json(&app, "/api/profile/0163C9003").await;
    let map_z = map["properties"]["gi_z"].as_f64().unwrap();
    let profile_z = profile["hotspots"][0]["gi_z"].as_f64().unwrap();
    assert_eq!(map_z, profile_z);
    assert_eq!(map["properties"]["gi_bin"], profile["hotspots"][0]["gi_bin"]);

    // The check can fail: Gi* over the municipality's three areas alone (what the profile used
    // to compute) gives another z for the same DeSO.
    let squares: Vec<geo::MultiPolygon<f64>> = (0..3)
        .map(|k| {
            let x0 = 660_000.0 + 1000.0 * k as f64;
            geo::MultiPolygon(vec![geo::Rect::new((x0, 6_590_000.0), (x0 + 1000.0, 6_591_000.0)).to_polygon()])
        })
        .collect();
    let w = lagesbild::stats::Weights::contiguity(&squares, true, 25.0);
    let params = lagesbild::stats::GiParams { star: true, transform: lagesbild::stats::Transform::B, permutations: 0, seed: 0, fdr: true };
    let own = lagesbild::stats::getis_ord(&[2.0, 4.0, 12.0], &w, &params).unwrap();
    assert!((own.z[2] - map_z).abs() > 0.1, "municipality-only z {} vs picture z {map_z}", own.z[2]);
}

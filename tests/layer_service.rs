//! The layer service through the router (no port): OGC API Features Part 1 and 2, tiles,
//! errors, and privacy for every role.

mod common;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use common::{crs3006, Fixture};
use http_body_util::BodyExt;
use lagesbild::api::auth::Tokens;
use lagesbild::import::ImportKind;
use serde_json::Value;
use tower::ServiceExt;

const ANALYST: &str = "analyst-token";
const PARTNER: &str = "partner-token";

/// Three 1 km DeSO squares and 90 incidents with recognisable ids (`RAWID-n`) at coordinates
/// ending in .37 m, so that a raw coordinate is easy to spot in any response.
fn fixture() -> (Fixture, axum::Router, lagesbild::AppState) {
    let f = Fixture::with_areas();
    let mut csv = String::from("id;kategori;datum;e;n\n");
    for k in 0..90 {
        let (e, n) = if k < 60 {
            (660_100.37 + (k % 10) as f64 * 13.0, 6_590_100.37 + (k / 10) as f64 * 11.0)
        } else {
            (661_000.37 + (k % 30) as f64 * 61.0, 6_590_500.37 + (k % 7) as f64 * 47.0)
        };
        let week = 1 + k % 20;
        csv.push_str(
            &format!("RAWID-{k};{};2025-W{week:02};{e};{n}\n", if k % 3 == 0 { "Klotter" } else { "Inbrott" })
                .replace(&format!("2025-W{week:02}"), &format!("2025-{:02}-{:02}", 1 + week / 5, 1 + week % 28)),
        );
    }
    let p = f.write("inc.csv", &csv);
    f.import(ImportKind::Incidents, &p, &crs3006()).unwrap();
    let tokens = Tokens::from_env_value(&format!("analyst:{ANALYST},partner:{PARTNER}")).unwrap();
    let cfg = lagesbild::api::ServiceConfig { audit_log: Some(f.dir.path().join("audit.log")), ..Default::default() };
    let state = lagesbild::AppState::new(&f.store, cfg, tokens).unwrap();
    let app = lagesbild::app(state.clone());
    (f, app, state)
}

async fn get(app: &axum::Router, uri: &str, token: Option<&str>) -> (StatusCode, axum::http::HeaderMap, Vec<u8>) {
    let mut req = Request::get(uri);
    if let Some(t) = token {
        req = req.header("Authorization", format!("Bearer {t}"));
    }
    let resp = app.clone().oneshot(req.body(Body::empty()).unwrap()).await.unwrap();
    let (parts, body) = resp.into_parts();
    (parts.status, parts.headers, body.collect().await.unwrap().to_bytes().to_vec())
}

/// XYZ tile of a lon/lat at a zoom (Web Mercator).
fn tile_of(lon: f64, lat: f64, z: u8) -> (u32, u32) {
    let n = (1u32 << z) as f64;
    let x = ((lon + 180.0) / 360.0 * n) as u32;
    let y = ((1.0 - (lat.to_radians().tan() + 1.0 / lat.to_radians().cos()).ln() / std::f64::consts::PI) / 2.0 * n) as u32;
    (x, y)
}

async fn json(app: &axum::Router, uri: &str, token: Option<&str>) -> (StatusCode, Value) {
    let (s, _, b) = get(app, uri, token).await;
    (s, serde_json::from_slice(&b).unwrap_or(Value::Null))
}

#[tokio::test]
async fn landing_conformance_and_collections_follow_ogc_api_features() {
    let (_f, app, _) = fixture();
    let (s, land) = json(&app, "/", None).await;
    assert_eq!(s, StatusCode::OK);
    let rels: Vec<&str> = land["links"].as_array().unwrap().iter().map(|l| l["rel"].as_str().unwrap()).collect();
    for r in ["self", "service-desc", "conformance", "data"] {
        assert!(rels.contains(&r), "{rels:?}");
    }
    let (_, conf) = json(&app, "/conformance", None).await;
    let c = conf["conformsTo"].to_string();
    assert!(c.contains("ogcapi-features-1/1.0/conf/core") && c.contains("conf/geojson") && c.contains("ogcapi-features-2/1.0/conf/crs"));
    let (_, cols) = json(&app, "/collections", None).await;
    let ids: Vec<&str> = cols["collections"].as_array().unwrap().iter().map(|c| c["id"].as_str().unwrap()).collect();
    for id in ["deso", "regso", "incidents", "incident_counts", "hotspots_grid", "density", "emerging", "police_areas"] {
        assert!(ids.contains(&id), "{ids:?}");
    }
    let deso = cols["collections"].as_array().unwrap().iter().find(|c| c["id"] == "deso").unwrap();
    assert_eq!(deso["storageCrs"], "http://www.opengis.net/def/crs/EPSG/0/3006");
    assert!(deso["crs"].to_string().contains("OGC/1.3/CRS84"));
    let (s, api) = json(&app, "/api", None).await;
    assert_eq!(s, StatusCode::OK);
    assert!(api["openapi"].as_str().unwrap().starts_with("3."));
    assert!(api["paths"]["/collections/{collectionId}/items"].is_object());
}

#[tokio::test]
async fn a_client_following_next_links_gets_every_feature_exactly_once() {
    let (_f, app, _) = fixture();
    let mut uri = "/collections/incidents/items?limit=7".to_string();
    let mut seen = std::collections::BTreeSet::new();
    let mut pages = 0;
    loop {
        let (s, page) = json(&app, &uri, Some(ANALYST)).await;
        assert_eq!(s, StatusCode::OK);
        assert_eq!(page["numberMatched"], 90);
        for f in page["features"].as_array().unwrap() {
            assert!(seen.insert(f["id"].as_str().unwrap().to_string()), "duplicate {}", f["id"]);
        }
        pages += 1;
        match page["links"].as_array().unwrap().iter().find(|l| l["rel"] == "next") {
            Some(l) => uri = l["href"].as_str().unwrap().split_once("://").unwrap().1.split_once('/').map(|(_, p)| format!("/{p}")).unwrap(),
            None => break,
        }
    }
    assert_eq!(seen.len(), 90);
    assert_eq!(pages, 13);
}

#[tokio::test]
async fn crs_3006_answers_northing_first_with_a_content_crs_header() {
    let (_f, app, _) = fixture();
    let (s, h, b) = get(&app, "/collections/incidents/items/RAWID-0?crs=http://www.opengis.net/def/crs/EPSG/0/3006", Some(ANALYST)).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(h["content-crs"], "<http://www.opengis.net/def/crs/EPSG/0/3006>");
    let v: Value = serde_json::from_slice(&b).unwrap();
    assert_eq!(v["geometry"]["coordinates"], serde_json::json!([6590100.37, 660100.37]));
    let (_, h, b) = get(&app, "/collections/incidents/items/RAWID-0", Some(ANALYST)).await;
    assert_eq!(h["content-crs"], "<http://www.opengis.net/def/crs/OGC/1.3/CRS84>");
    let v: Value = serde_json::from_slice(&b).unwrap();
    let lon = v["geometry"]["coordinates"][0].as_f64().unwrap();
    assert!((17.0..19.0).contains(&lon), "lon first in CRS84");
}

#[tokio::test]
async fn bbox_filters_in_crs84_and_in_sweref99tm_axis_order() {
    let (_f, app, _) = fixture();
    // The first 60 incidents lie in E 660100–660220, N 6590100–6590160 (SWEREF 99 TM).
    let (s, v) = json(
        &app,
        "/collections/incidents/items?limit=1000&bbox=6590000,660000,6590200,660300&bbox-crs=http://www.opengis.net/def/crs/EPSG/0/3006",
        Some(ANALYST),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["numberMatched"], 60);
    let (_, v) = json(&app, "/collections/deso/items?bbox=17.0,59.0,17.5,59.2", None).await;
    assert_eq!(v["numberMatched"], 0);
    let (_, v) = json(&app, "/collections/deso/items?deso=0163C9002", None).await;
    assert_eq!(v["numberMatched"], 1, "simple property filter");
}

#[tokio::test]
async fn datetime_selects_incidents_by_time() {
    let (_f, app, _) = fixture();
    let (_, all) = json(&app, "/collections/incidents/items?limit=1000", Some(ANALYST)).await;
    let (_, jan) = json(&app, "/collections/incidents/items?limit=1000&datetime=2025-01-01T00:00:00Z/2025-01-31T23:59:59Z", Some(ANALYST)).await;
    let n_all = all["numberMatched"].as_u64().unwrap();
    let n_jan = jan["numberMatched"].as_u64().unwrap();
    assert!(n_jan > 0 && n_jan < n_all, "{n_jan} of {n_all}");
    for f in jan["features"].as_array().unwrap() {
        assert!(f["properties"]["occurred_at"].as_str().unwrap().starts_with("2025-01"));
    }
    let (s, _) = json(&app, "/collections/deso/items?datetime=2025-01-01", None).await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "a collection without time refuses datetime");
}

#[tokio::test]
async fn bad_requests_get_400_or_404_with_an_ogc_exception_body() {
    let (_f, app, _) = fixture();
    for (uri, status) in [
        ("/collections/deso/items?bbox=1,2,3", StatusCode::BAD_REQUEST),
        ("/collections/deso/items?bbox=18,60,17,59", StatusCode::BAD_REQUEST),
        ("/collections/deso/items?bbox=a,b,c,d", StatusCode::BAD_REQUEST),
        ("/collections/deso/items?bbox=-200,0,10,10", StatusCode::BAD_REQUEST),
        ("/collections/deso/items?crs=EPSG:4326", StatusCode::BAD_REQUEST),
        ("/collections/deso/items?bbox-crs=urn:bogus&bbox=1,2,3,4", StatusCode::BAD_REQUEST),
        ("/collections/deso/items?limit=0", StatusCode::BAD_REQUEST),
        ("/collections/deso/items?limit=100001", StatusCode::BAD_REQUEST),
        ("/collections/deso/items?offset=-1", StatusCode::BAD_REQUEST),
        ("/collections/deso/items?foo=bar", StatusCode::BAD_REQUEST),
        ("/collections/nope/items", StatusCode::NOT_FOUND),
        ("/collections/deso/items/0163C0000", StatusCode::NOT_FOUND),
        ("/tiles/deso/21/0/0.mvt", StatusCode::BAD_REQUEST),
        ("/tiles/deso/2/4/0.mvt", StatusCode::BAD_REQUEST),
        ("/tiles/deso/x/0/0.mvt", StatusCode::BAD_REQUEST),
        ("/tiles/deso/1/0/0.mvt?x=1", StatusCode::BAD_REQUEST),
        ("/analysis/hotspots?from=2025-13-01", StatusCode::BAD_REQUEST),
        ("/analysis/hotspots?categories=ufo", StatusCode::BAD_REQUEST),
        ("/analysis/nope", StatusCode::NOT_FOUND),
        ("/api/profile/0163C0000", StatusCode::NOT_FOUND),
        ("/collections/deso/download?format=shp", StatusCode::BAD_REQUEST),
    ] {
        let (s, h, b) = get(&app, uri, None).await;
        assert_eq!(s, status, "{uri}: {}", String::from_utf8_lossy(&b));
        assert_eq!(h["content-type"], "application/problem+json", "{uri}");
        let v: Value = serde_json::from_slice(&b).unwrap();
        assert!(v["code"].is_string() && v["description"].is_string(), "{uri}: {v}");
    }
}

#[tokio::test]
async fn tiles_decode_as_mvt_with_the_collection_layer() {
    use geozero::mvt::{Message, Tile};
    let (_f, app, _) = fixture();
    // The z12 tile holding the fixture (about 17.85 E, 59.43 N).
    let (x, y) = tile_of(17.85, 59.43, 12);
    let (s, h, b) = get(&app, &format!("/tiles/deso/12/{x}/{y}.mvt"), None).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(h["content-type"], "application/vnd.mapbox-vector-tile");
    let t = Tile::decode(b.as_slice()).unwrap();
    assert_eq!(t.layers[0].name, "deso");
    assert_eq!(t.layers[0].extent, Some(4096));
    assert!(!t.layers[0].features.is_empty(), "DeSO polygons in the tile");
    let (_, tj) = json(&app, "/tiles/deso/tilejson.json", None).await;
    assert_eq!(tj["tilejson"], "3.0.0");
    assert!(tj["tiles"][0].as_str().unwrap().ends_with("/tiles/deso/{z}/{x}/{y}.mvt"));
}

/// Every route and tile, as every role: raw incident ids and coordinates never reach public or
/// partner; partners get points on 250 m cell centres; restricted answers are private.
#[tokio::test]
async fn raw_points_never_reach_a_role_that_may_not_see_them() {
    let (f, app, _) = fixture();
    let mut uris: Vec<String> = vec![
        "/".into(),
        "/collections".into(),
        "/api/areas".into(),
        "/health".into(),
        "/api/profile/0163C9001".into(),
        "/api/profile/0163C9001?format=csv".into(),
        "/api/profile/0163C9001?format=html".into(),
    ];
    for id in ["deso", "regso", "incidents", "incident_counts", "hotspots_grid", "density", "emerging", "police_areas", "municipalities"] {
        uris.push(format!("/collections/{id}"));
        uris.push(format!("/collections/{id}/items?limit=10000"));
        uris.push(format!("/collections/{id}/items?limit=10000&crs=http://www.opengis.net/def/crs/EPSG/0/3006"));
        uris.push(format!("/collections/{id}/download?format=csv"));
        uris.push(format!("/collections/{id}/download?format=geojson"));
        uris.push(format!("/tiles/{id}/tilejson.json"));
        for z in [8u8, 12, 14, 16] {
            // The tile over the fixture at each zoom.
            let (x, y) = tile_of(17.842, 59.428, z);
            uris.push(format!("/tiles/{id}/{z}/{x}/{y}.mvt"));
        }
    }
    uris.push("/collections/incidents/items/RAWID-1".into());
    for a in ["hotspots", "density", "emerging"] {
        uris.push(format!("/analysis/{a}"));
    }
    for (role, token) in [("public", None), ("partner", Some(PARTNER)), ("analyst", Some(ANALYST))] {
        let mut raw_seen = false;
        for uri in &uris {
            let (s, h, b) = get(&app, uri, token).await;
            assert!(s != StatusCode::INTERNAL_SERVER_ERROR, "{role} {uri}: 500");
            let body = String::from_utf8_lossy(&b);
            let leaks = body.contains("RAWID") || body.contains(".37") && (uri.contains("incidents") && !uri.contains("incident_counts"));
            if role == "analyst" {
                raw_seen |= body.contains("RAWID");
            } else {
                // A 404 may echo the id the client asked for; it carries no data.
                assert!(!(leaks && s == StatusCode::OK), "{role} saw raw points at {uri}");
            }
            if uri.contains("/incidents") && (uri.contains("/items") || uri.contains("/download") || uri.ends_with(".mvt")) && s == StatusCode::OK {
                assert!(h["cache-control"].to_str().unwrap().starts_with("private"), "{role} {uri}: {:?}", h["cache-control"]);
            }
            if role == "public" && uri.starts_with("/collections/incidents/items") {
                assert_eq!(s, StatusCode::UNAUTHORIZED, "{uri}");
            }
        }
        if role == "analyst" {
            assert!(raw_seen, "analyst sees raw points");
        }
    }
    // Partner points sit on 250 m cell centres (SWEREF 99 TM multiples of 250 plus 125).
    let (_, v) = json(&app, "/collections/incidents/items?limit=1000&crs=http://www.opengis.net/def/crs/EPSG/0/3006", Some(PARTNER)).await;
    for feat in v["features"].as_array().unwrap() {
        let c = &feat["geometry"]["coordinates"];
        for k in [0, 1] {
            let m = c[k].as_f64().unwrap() % 250.0;
            assert!((m - 125.0).abs() < 1e-6, "{c}");
        }
        assert!(feat["properties"].get("occurred_at").is_none() && feat["properties"].get("description").is_none());
    }
    // Every analyst raw access was audited.
    let log = std::fs::read_to_string(f.dir.path().join("audit.log")).unwrap();
    assert!(log.lines().count() >= 3 && log.contains("\"role\":\"analyst\""), "{log}");
    assert!(!log.contains("\"role\":\"partner\""));
}

#[tokio::test]
async fn small_counts_are_suppressed_for_public_and_partner_but_not_for_analysts() {
    let (_f, app, _) = fixture();
    // 0163C9003 has no incidents; 0163C9002 has 30; per category some counts are small.
    let (_, v) = json(&app, "/collections/incident_counts/items", None).await;
    let small = v["features"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|f| f["properties"].as_object().unwrap().iter().filter(|(k, _)| k.starts_with("n_") && !k.ends_with("_suppressed")).map(|(_, v)| v.clone()))
        .filter(|v| v.as_u64().is_some_and(|n| n > 0 && n < 5))
        .count();
    assert_eq!(small, 0, "no visible count between 1 and 4 in the public view");
    let (s, _) = json(&app, "/collections/incident_counts/items", Some("wrong-token")).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED, "an unknown token is refused, not treated as public");
}

#[tokio::test]
async fn deso_features_carry_empirical_bayes_rates_between_the_crude_rate_and_the_mean() {
    let (_f, app, _) = fixture();
    let (_, v) = json(&app, "/collections/deso/items", Some(ANALYST)).await;
    let feats = v["features"].as_array().unwrap();
    // Global mean rate: 90 incidents / 3,500 residents.
    let m = 1000.0 * 90.0 / 3500.0;
    for f in feats {
        let p = &f["properties"];
        let crude = p["incidents_per_1000"].as_f64().unwrap();
        let eb = p["incidents_eb_per_1000"].as_f64().unwrap();
        assert!((eb - crude) * (eb - m) <= 1e-9, "EB {eb} lies between crude {crude} and the mean {m}");
        assert!(p["incidents_seb_per_1000"].is_number());
    }
}

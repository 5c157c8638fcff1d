//! Trygghetsvandring API: roles, optimistic concurrency, validation, photos, history, and the
//! route report checked against a hand-made fixture.

mod common;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use common::{crs3006, Fixture};
use http_body_util::BodyExt;
use lagesbild::api::auth::Tokens;
use lagesbild::import::ImportKind;
use serde_json::{json, Value};
use std::sync::Arc;
use tower::ServiceExt;

const EDITOR: &str = "editor-token";
const ANALYST: &str = "analyst-token";
const PARTNER: &str = "partner-token";

fn wgs(e: f64, n: f64) -> [f64; 2] {
    let t = lagesbild::io::transform_between(3006, 4326).unwrap();
    let (mut x, mut y) = (vec![e], vec![n]);
    lagesbild::io::transform_coords(&t, &mut x, &mut y).unwrap();
    [x[0], y[0]]
}

/// The fixture's three DeSO squares (E 660 000–663 000, N 6 590 000–6 591 000) and incidents at
/// known distances from the route E 660 100 → 660 900 along N 6 590 500 (length 800 m):
///   in1 klotter   49.9 m north      → inside the 50 m buffer
///   in2 klotter   49.99 m south     → inside
///   out4 klotter  50.01 m south     → outside
///   in3 inbrott   30.0 m north      → inside
///   out1 klotter  50.1 m south      → outside
///   out2 inbrott  39.92 m past the end, 30 m off the line → 49.94 m from the end point → inside
/// (the route goes through WGS84 and back, so no point sits exactly on the edge).
///   out3 inbrott  300 m north       → outside
fn fixture() -> (Fixture, axum::Router) {
    let f = Fixture::with_areas();
    let csv = "id;kategori;datum;e;n\n\
               in1;Klotter;2025-03-03;660500;6590549.9\n\
               in2;Klotter;2025-03-04;660300;6590450.01\n\
               out4;Klotter;2025-03-04;660350;6590449.99\n\
               in3;Inbrott;2025-03-12;660700;6590530\n\
               out1;Klotter;2025-03-05;660400;6590449.9\n\
               out2;Inbrott;2025-03-06;660939.92;6590530\n\
               out3;Inbrott;2025-03-07;660500;6590800\n";
    let p = f.write("inc.csv", csv);
    f.import(ImportKind::Incidents, &p, &crs3006()).unwrap();
    let tokens = Tokens::from_env_value(&format!("editor:{EDITOR},analyst:{ANALYST},partner:{PARTNER}")).unwrap();
    let state = lagesbild::AppState::new(&f.store, Default::default(), tokens).unwrap().with_walks(Arc::new(f.store.clone()));
    let app = lagesbild::app(state);
    (f, app)
}

async fn call(
    app: &axum::Router,
    method: &str,
    uri: &str,
    token: Option<&str>,
    if_match: Option<&str>,
    body: Option<Vec<u8>>,
) -> (StatusCode, axum::http::HeaderMap, Vec<u8>) {
    let mut req = Request::builder().method(method).uri(uri);
    if let Some(t) = token {
        req = req.header("Authorization", format!("Bearer {t}"));
    }
    if let Some(m) = if_match {
        req = req.header("If-Match", m);
    }
    let req = req.header("Content-Type", "application/json").body(body.map(Body::from).unwrap_or_else(Body::empty)).unwrap();
    let resp = app.clone().oneshot(req).await.unwrap();
    let (parts, b) = resp.into_parts();
    (parts.status, parts.headers, b.collect().await.unwrap().to_bytes().to_vec())
}

fn walk_body(route: &[[f64; 2]]) -> Vec<u8> {
    let coords: Vec<[f64; 2]> = route.iter().map(|p| wgs(p[0], p[1])).collect();
    json!({"title": "Kvällsvandring Väst", "planned_at": "2025-11-20T18:00", "area": "Väst", "organiser": "Trygghetssamordnare", "organisations": ["kommunen", "polisen", "bostadsbolaget"], "route": {"type": "LineString", "coordinates": coords}})
        .to_string()
        .into_bytes()
}

const ROUTE: [[f64; 2]; 2] = [[660_100.0, 6_590_500.0], [660_900.0, 6_590_500.0]];

async fn create(app: &axum::Router) -> String {
    let (s, h, b) = call(app, "POST", "/walks", Some(EDITOR), None, Some(walk_body(&ROUTE))).await;
    assert_eq!(s, StatusCode::CREATED, "{}", String::from_utf8_lossy(&b));
    assert_eq!(h["etag"], "\"v1\"");
    let v: Value = serde_json::from_slice(&b).unwrap();
    v["id"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn anonymous_and_analyst_writes_are_refused() {
    let (_f, app) = fixture();
    let (s, _, _) = call(&app, "POST", "/walks", None, None, Some(walk_body(&ROUTE))).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    let (s, _, _) = call(&app, "POST", "/walks", Some(ANALYST), None, Some(walk_body(&ROUTE))).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let id = create(&app).await;
    let (s, _, _) = call(&app, "DELETE", &format!("/walks/{id}"), Some(ANALYST), Some("\"v1\""), None).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, _, b) = call(&app, "GET", "/walks", None, None, None).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(serde_json::from_slice::<Value>(&b).unwrap()["features"].as_array().unwrap().len(), 1, "reads are open");
}

#[tokio::test]
async fn concurrent_updates_with_one_version_give_one_success_and_one_412() {
    let (f, app) = fixture();
    let id = create(&app).await;
    let (s, _, _) = call(&app, "PUT", &format!("/walks/{id}"), Some(EDITOR), None, Some(walk_body(&ROUTE))).await;
    assert_eq!(s, StatusCode::PRECONDITION_REQUIRED, "no If-Match");
    let uri = format!("/walks/{id}");
    let (a, b) = tokio::join!(
        call(&app, "PUT", &uri, Some(EDITOR), Some("\"v1\""), Some(walk_body(&[[660_100.0, 6_590_500.0], [660_800.0, 6_590_500.0]]))),
        call(&app, "PUT", &uri, Some(EDITOR), Some("\"v1\""), Some(walk_body(&[[660_200.0, 6_590_500.0], [660_900.0, 6_590_500.0]]))),
    );
    let mut statuses = vec![a.0, b.0];
    statuses.sort();
    assert_eq!(statuses, vec![StatusCode::OK, StatusCode::PRECONDITION_FAILED]);
    let (_, h, _) = call(&app, "GET", &uri, None, None, None).await;
    assert_eq!(h["etag"], "\"v2\"");
    // Nothing was half-written: exactly one walk in the store, at version 2.
    use lagesbild::store::WalkStore;
    let walks = f.store.walks().unwrap();
    assert_eq!((walks.len(), walks[0].version), (1, 2));
}

#[tokio::test]
async fn bad_routes_and_bodies_are_refused_with_messages() {
    let (_f, app) = fixture();
    for (route, needle) in
        [(vec![[660_100.0, 6_590_500.0]], "at least two points"), (vec![[660_100.0, 6_590_500.0], [700_000.0, 6_590_500.0]], "outside the municipality")]
    {
        let (s, _, b) = call(&app, "POST", "/walks", Some(EDITOR), None, Some(walk_body(&route))).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(String::from_utf8_lossy(&b).contains(needle), "{}", String::from_utf8_lossy(&b));
    }
    let (s, _, b) = call(&app, "POST", "/walks", Some(EDITOR), None, Some(b"{not json".to_vec())).await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{}", String::from_utf8_lossy(&b));
    let mut v: Value = serde_json::from_slice(&walk_body(&ROUTE)).unwrap();
    v["colour"] = "red".into();
    let (s, _, _) = call(&app, "POST", "/walks", Some(EDITOR), None, Some(v.to_string().into_bytes())).await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "unknown field");
    let mut v: Value = serde_json::from_slice(&walk_body(&ROUTE)).unwrap();
    v["route"] = json!({"type": "Point", "coordinates": [17.9, 59.4]});
    let (s, _, _) = call(&app, "POST", "/walks", Some(EDITOR), None, Some(v.to_string().into_bytes())).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    let mut v: Value = serde_json::from_slice(&walk_body(&ROUTE)).unwrap();
    v["planned_at"] = "i morgon".into();
    let (s, _, b) = call(&app, "POST", "/walks", Some(EDITOR), None, Some(v.to_string().into_bytes())).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(String::from_utf8_lossy(&b).contains("planned_at"));
}

fn obs_body(e: f64, n: f64, extra: Value) -> Vec<u8> {
    let mut v = json!({"point": {"type": "Point", "coordinates": wgs(e, n)}, "category": "belysning", "description": "Trasig lampa vid gångtunneln", "responsible": "Gatukontoret", "ratings": {"lighting": 0, "feeling": 1}});
    for (k, x) in extra.as_object().unwrap() {
        v[k] = x.clone();
    }
    v.to_string().into_bytes()
}

#[tokio::test]
async fn observations_are_checked_against_the_route_and_keep_a_history() {
    let (_f, app) = fixture();
    let id = create(&app).await;
    let uri = format!("/walks/{id}/observations");
    let (s, _, b) = call(&app, "POST", &uri, Some(EDITOR), None, Some(obs_body(660_500.0, 6_590_900.0, json!({})))).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(String::from_utf8_lossy(&b).contains("400 m from the route"), "{}", String::from_utf8_lossy(&b));
    let (s, _, _) = call(&app, "POST", &uri, Some(EDITOR), None, Some(obs_body(660_500.0, 6_590_900.0, json!({"off_route": true})))).await;
    assert_eq!(s, StatusCode::CREATED, "explicitly off the route");
    let (s, _, _) = call(&app, "POST", &uri, Some(EDITOR), None, Some(obs_body(660_500.0, 6_590_510.0, json!({"category": "ufo"})))).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    let (s, _, _) = call(&app, "POST", &uri, Some(EDITOR), None, Some(obs_body(660_500.0, 6_590_510.0, json!({"ratings": {"lighting": 4}})))).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    let (s, h, b) = call(&app, "POST", &uri, Some(EDITOR), None, Some(obs_body(660_500.0, 6_590_510.0, json!({})))).await;
    assert_eq!(s, StatusCode::CREATED);
    assert_eq!(h["etag"], "\"v1\"");
    let oid = serde_json::from_slice::<Value>(&b).unwrap()["id"].as_str().unwrap().to_string();
    let ouri = format!("/observations/{oid}");
    let (s, h, _) = call(&app, "PUT", &ouri, Some(EDITOR), Some("\"v1\""), Some(json!({"status": "tilldelad"}).to_string().into_bytes())).await;
    assert_eq!((s, h["etag"].to_str().unwrap()), (StatusCode::OK, "\"v2\""));
    let (s, _, _) = call(&app, "PUT", &ouri, Some(EDITOR), Some("\"v1\""), Some(json!({"status": "atgardad"}).to_string().into_bytes())).await;
    assert_eq!(s, StatusCode::PRECONDITION_FAILED, "stale version");
    let (s, _, _) = call(&app, "PUT", &ouri, Some(EDITOR), Some("\"v2\""), Some(json!({"status": "atgardad"}).to_string().into_bytes())).await;
    assert_eq!(s, StatusCode::OK);
    let (_, _, b) = call(&app, "GET", &format!("{ouri}/history"), None, None, None).await;
    let hist: Value = serde_json::from_slice(&b).unwrap();
    let changes: Vec<String> = hist["history"].as_array().unwrap().iter().map(|e| e["changes"].to_string()).collect();
    assert_eq!(changes.len(), 3);
    assert!(changes[1].contains("[\"ny\",\"tilldelad\"]") && changes[2].contains("[\"tilldelad\",\"atgardad\"]"), "{changes:?}");
    assert!(hist["history"][1]["changed_by"].as_str().unwrap().starts_with("editor:"));
    let (_, _, b) = call(&app, "GET", "/observations?open=true", None, None, None).await;
    assert_eq!(serde_json::from_slice::<Value>(&b).unwrap()["features"].as_array().unwrap().len(), 1, "only the off-route one is still open");
}

#[tokio::test]
async fn photos_are_checked_by_content_and_lose_their_gps_exif() {
    let (_f, app) = fixture();
    let id = create(&app).await;
    let (_, _, b) = call(&app, "POST", &format!("/walks/{id}/observations"), Some(EDITOR), None, Some(obs_body(660_500.0, 6_590_510.0, json!({})))).await;
    let oid = serde_json::from_slice::<Value>(&b).unwrap()["id"].as_str().unwrap().to_string();
    let uri = format!("/observations/{oid}/photo");
    let (s, _, b) = call(&app, "PUT", &uri, Some(EDITOR), Some("\"v1\""), Some(b"GIF89a not allowed".to_vec())).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(String::from_utf8_lossy(&b).contains("only JPEG and PNG"));
    let mut jpeg = vec![0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x07, b'J', b'F', b'I', b'F', 0x00];
    let exif = b"Exif\0\0GPSLatitude59.43";
    jpeg.extend_from_slice(&[0xFF, 0xE1]);
    jpeg.extend_from_slice(&((exif.len() + 2) as u16).to_be_bytes());
    jpeg.extend_from_slice(exif);
    jpeg.extend_from_slice(&[0xFF, 0xDA, 0x00, 0x04, 0x01, 0x02, 0x11, 0x22, 0xFF, 0xD9]);
    let (s, h, _) = call(&app, "PUT", &uri, Some(EDITOR), Some("\"v1\""), Some(jpeg)).await;
    assert_eq!((s, h["etag"].to_str().unwrap()), (StatusCode::OK, "\"v2\""));
    let (s, _, _) = call(&app, "GET", &uri, None, None, None).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED, "photos are not public");
    let (s, h, b) = call(&app, "GET", &uri, Some(PARTNER), None, None).await;
    assert_eq!((s, h["content-type"].to_str().unwrap()), (StatusCode::OK, "image/jpeg"));
    assert!(!b.windows(3).any(|w| w == b"GPS") && b.starts_with(&[0xFF, 0xD8]));
}

#[tokio::test]
async fn the_route_report_counts_incidents_on_both_sides_of_the_buffer_edge() {
    let (_f, app) = fixture();
    let id = create(&app).await;
    let (s, _, b) = call(&app, "GET", &format!("/walks/{id}/report?buffer=50"), Some(ANALYST), None, None).await;
    assert_eq!(s, StatusCode::OK, "{}", String::from_utf8_lossy(&b));
    let r: Value = serde_json::from_slice(&b).unwrap();
    assert!((r["length_m"].as_f64().unwrap() - 800.0).abs() < 1e-6);
    assert!((r["walking_minutes"].as_f64().unwrap() - 16.0).abs() < 1e-6, "800 m at 3 km/h");
    let mut ids: Vec<&str> = r["incidents"].as_array().unwrap().iter().map(|i| i["id"].as_str().unwrap()).collect();
    ids.sort();
    assert_eq!(ids, vec!["in1", "in2", "in3", "out2"]);
    assert_eq!(r["incidents_total"], 4);
    assert_eq!(r["incidents_by_category"], json!([["inbrott", "Inbrott", 2], ["klotter", "Klotter", 2]]));
    assert_eq!(r["areas"].as_array().unwrap().iter().map(|a| a["deso"].as_str().unwrap()).collect::<Vec<_>>(), vec!["0163C9001"]);
    let (_, _, b) = call(&app, "GET", &format!("/walks/{id}/report?buffer=50&from=2025-03-06"), Some(ANALYST), None, None).await;
    let r: Value = serde_json::from_slice(&b).unwrap();
    assert_eq!(r["incidents_total"], 2, "period filter keeps out2 (03-06) and in3 (03-12)");
    // Public: no raw points, and counts below five hidden.
    let (_, _, b) = call(&app, "GET", &format!("/walks/{id}/report"), None, None, None).await;
    let r: Value = serde_json::from_slice(&b).unwrap();
    assert!(r["incidents"].is_null());
    assert!(r["incidents_total"].is_null(), "4 is a small count");
    for (fmt, needle) in [("html", "<svg"), ("gpx", "<trkpt"), ("geojson", "\"LineString\"")] {
        let (s, _, b) = call(&app, "GET", &format!("/walks/{id}/report?format={fmt}"), None, None, None).await;
        assert_eq!(s, StatusCode::OK);
        assert!(String::from_utf8_lossy(&b).contains(needle), "{fmt}");
    }
    let (s, _, b) = call(&app, "GET", "/walks/suggest?area=0163C9001", None, None, None).await;
    assert_eq!(s, StatusCode::OK, "{}", String::from_utf8_lossy(&b));
}

#[tokio::test]
async fn walks_and_observations_are_ogc_collections_too() {
    let (_f, app) = fixture();
    let id = create(&app).await;
    call(&app, "POST", &format!("/walks/{id}/observations"), Some(EDITOR), None, Some(obs_body(660_500.0, 6_590_510.0, json!({})))).await;
    let (_, _, b) = call(&app, "GET", "/collections", None, None, None).await;
    let cols: Value = serde_json::from_slice(&b).unwrap();
    let ids: Vec<&str> = cols["collections"].as_array().unwrap().iter().map(|c| c["id"].as_str().unwrap()).collect();
    assert!(ids.contains(&"walks") && ids.contains(&"observations"), "{ids:?}");
    let (s, _, b) = call(&app, "GET", "/collections/walks/items", None, None, None).await;
    assert_eq!(s, StatusCode::OK);
    let v: Value = serde_json::from_slice(&b).unwrap();
    assert_eq!(v["numberMatched"], 1);
    assert_eq!(v["features"][0]["geometry"]["type"], "LineString");
    let (_, _, b) = call(&app, "GET", "/collections/observations/items?crs=http://www.opengis.net/def/crs/EPSG/0/3006", None, None, None).await;
    let v: Value = serde_json::from_slice(&b).unwrap();
    let c = &v["features"][0]["geometry"]["coordinates"];
    assert!((c[0].as_f64().unwrap() - 6_590_510.0).abs() < 0.01 && (c[1].as_f64().unwrap() - 660_500.0).abs() < 0.01, "northing first: {c}");
}

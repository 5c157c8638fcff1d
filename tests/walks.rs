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
    let (s, _, _) = call(&app, "GET", &format!("{ouri}/history"), None, None, None).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED, "the history names who changed what");
    let (_, _, b) = call(&app, "GET", &format!("{ouri}/history"), Some(PARTNER), None, None).await;
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
    // A partner sees the exact point; the public its 250 m cell (tested below).
    let (_, _, b) = call(&app, "GET", "/collections/observations/items?crs=http://www.opengis.net/def/crs/EPSG/0/3006", Some(PARTNER), None, None).await;
    let v: Value = serde_json::from_slice(&b).unwrap();
    let c = &v["features"][0]["geometry"]["coordinates"];
    assert!((c[0].as_f64().unwrap() - 6_590_510.0).abs() < 0.01 && (c[1].as_f64().unwrap() - 660_500.0).abs() < 0.01, "northing first: {c}");
}

/// A walk with the planning fields the field page sends.
fn planned_walk_body() -> Vec<u8> {
    let mut v: Value = serde_json::from_slice(&walk_body(&ROUTE)).unwrap();
    v["participants"] = json!([{"organisation": "Polisen", "name": "Kommissarie Karin Ek"}, {"organisation": "Bostadsbolaget"}]);
    v["meeting_point"] = "Vid biblioteket".into();
    v["stops"] = json!([{"lon": wgs(660_500.0, 6_590_500.0)[0], "lat": wgs(660_500.0, 6_590_500.0)[1], "look_at": "Gångtunneln där Karin blev rånad"}]);
    v["dark_hours"] = true.into();
    v["notes_before"] = "Genomgång av fjolårets fynd med Karin Ek".into();
    v["notes_after"] = "Avslutande fika, tre fynd till gatukontoret".into();
    v.to_string().into_bytes()
}

#[tokio::test]
async fn a_planned_walk_keeps_participants_stops_and_protocol_for_partners_and_hides_them_from_the_public() {
    let (_f, app) = fixture();
    let (s, _, b) = call(&app, "POST", "/walks", Some(EDITOR), None, Some(planned_walk_body())).await;
    assert_eq!(s, StatusCode::CREATED, "{}", String::from_utf8_lossy(&b));
    let id = serde_json::from_slice::<Value>(&b).unwrap()["id"].as_str().unwrap().to_string();
    let (_, _, b) = call(&app, "GET", &format!("/walks/{id}"), Some(PARTNER), None, None).await;
    let p = serde_json::from_slice::<Value>(&b).unwrap()["properties"].clone();
    assert_eq!(p["participants"][0]["name"], "Kommissarie Karin Ek");
    assert_eq!((p["dark_hours"].as_bool(), p["meeting_point"].as_str()), (Some(true), Some("Vid biblioteket")));
    assert_eq!(p["notes_after"], "Avslutande fika, tre fynd till gatukontoret");
    // Anonymous: on the walk API, as OGC items and in the printed report, no name or protocol.
    for uri in [
        format!("/walks/{id}"),
        "/walks".to_string(),
        "/collections/walks/items".to_string(),
        format!("/walks/{id}/report?format=html"),
        format!("/walks/{id}/report?format=gpx"),
    ] {
        let (s, _, b) = call(&app, "GET", &uri, None, None, None).await;
        assert_eq!(s, StatusCode::OK, "{uri}");
        let text = String::from_utf8_lossy(&b);
        for secret in ["Karin", "Genomgång", "fika", "editor:"] {
            assert!(!text.contains(secret), "{uri} shows '{secret}' to the public: {text}");
        }
    }
    let (_, _, b) = call(&app, "GET", &format!("/walks/{id}"), None, None, None).await;
    let v: Value = serde_json::from_slice(&b).unwrap();
    assert_eq!(v["properties"]["stops"].as_array().unwrap().len(), 1, "the stop's place stays public");
    assert_eq!(v["properties"]["meeting_point"], "Vid biblioteket", "the invitation is public");
    let (_, _, b) = call(&app, "GET", &format!("/walks/{id}/report?format=html"), Some(PARTNER), None, None).await;
    let html = String::from_utf8_lossy(&b);
    assert!(html.contains("Protokoll") && html.contains("Genomgång av fjolårets fynd") && html.contains("Kommissarie Karin Ek"), "{html}");
    let (s, _, b) = call(&app, "GET", &format!("/walks/{id}/report?format=invitation"), None, None, None).await;
    let html = String::from_utf8_lossy(&b);
    assert_eq!(s, StatusCode::OK);
    assert!(html.contains("Vid biblioteket") && html.contains("<svg") && html.contains("mörkrets inbrott"), "{html}");
    let mut bad: Value = serde_json::from_slice(&planned_walk_body()).unwrap();
    bad["participants"] = json!([{"name": "Utan organisation", "organisation": " "}]);
    let (s, _, b) = call(&app, "POST", "/walks", Some(EDITOR), None, Some(bad.to_string().into_bytes())).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{}", String::from_utf8_lossy(&b));
}

#[tokio::test]
async fn the_public_sees_an_observation_without_free_text_at_the_centre_of_its_250_m_cell() {
    let (_f, app) = fixture();
    let id = create(&app).await;
    let extra = json!({"due": "2026-03-31", "insats": "Insats 4: belysning i gångtunnlar"});
    let (_, _, b) = call(&app, "POST", &format!("/walks/{id}/observations"), Some(EDITOR), None, Some(obs_body(660_510.0, 6_590_510.0, extra))).await;
    let oid = serde_json::from_slice::<Value>(&b).unwrap()["id"].as_str().unwrap().to_string();
    for uri in [format!("/observations/{oid}"), "/observations".to_string(), format!("/walks/{id}/observations"), "/collections/observations/items".to_string()]
    {
        let (s, _, b) = call(&app, "GET", &uri, None, None, None).await;
        assert_eq!(s, StatusCode::OK, "{uri}");
        let v: Value = serde_json::from_slice(&b).unwrap();
        let f = if v["type"] == "Feature" { v.clone() } else { v["features"][0].clone() };
        let mut keys: Vec<&str> = f["properties"].as_object().unwrap().keys().map(String::as_str).collect();
        keys.sort();
        assert_eq!(keys, vec!["category", "category_sv", "due", "id", "overdue", "status", "walk_id"], "{uri}");
        // 660 510 / 6 590 510 lies in the 250 m cell 660 500–660 750 / 6 590 500–6 590 750,
        // whose centre is 660 625 / 6 590 625 (the same snapping as a partner's incident).
        let c = &f["geometry"]["coordinates"];
        let want = wgs(660_625.0, 6_590_625.0);
        assert!((c[0].as_f64().unwrap() - want[0]).abs() < 1e-6 && (c[1].as_f64().unwrap() - want[1]).abs() < 1e-6, "{uri}: {c}");
    }
    let (_, _, b) = call(&app, "GET", &format!("/observations/{oid}"), Some(PARTNER), None, None).await;
    let p = serde_json::from_slice::<Value>(&b).unwrap()["properties"].clone();
    assert_eq!(
        (p["description"].as_str(), p["insats"].as_str(), p["due"].as_str()),
        (Some("Trasig lampa vid gångtunneln"), Some("Insats 4: belysning i gångtunnlar"), Some("2026-03-31"))
    );
}

#[tokio::test]
async fn overdue_findings_are_flagged_listed_first_and_filtered() {
    let (_f, app) = fixture();
    let id = create(&app).await;
    let today = chrono::Local::now().date_naive();
    let day = |d: i64| (today + chrono::Duration::days(d)).format("%Y-%m-%d").to_string();
    let mut ids = vec![];
    for (due, status) in [(day(1), "ny"), (day(-1), "atgardad"), (day(-3), "planerad"), (day(0), "tilldelad")] {
        let body = obs_body(660_500.0, 6_590_510.0, json!({"due": due, "status": status}));
        let (s, _, b) = call(&app, "POST", &format!("/walks/{id}/observations"), Some(EDITOR), None, Some(body)).await;
        assert_eq!(s, StatusCode::CREATED, "{}", String::from_utf8_lossy(&b));
        ids.push(serde_json::from_slice::<Value>(&b).unwrap()["id"].as_str().unwrap().to_string());
    }
    // Only the open one whose due date has passed: 'planerad' three days ago. A fixed one is
    // never overdue, and one due today is not yet.
    let (_, _, b) = call(&app, "GET", "/observations?overdue=true", None, None, None).await;
    let v: Value = serde_json::from_slice(&b).unwrap();
    assert_eq!(v["features"].as_array().unwrap().iter().map(|f| f["id"].as_str().unwrap()).collect::<Vec<_>>(), vec![ids[2].as_str()]);
    let (_, _, b) = call(&app, "GET", "/observations?open=true", Some(PARTNER), None, None).await;
    let v: Value = serde_json::from_slice(&b).unwrap();
    let order: Vec<&str> = v["features"].as_array().unwrap().iter().map(|f| f["id"].as_str().unwrap()).collect();
    assert_eq!(order, vec![ids[2].as_str(), ids[3].as_str(), ids[0].as_str()], "overdue first, then by due date; 'planerad' counts as open");
    assert_eq!(v["features"][0]["properties"]["overdue"], true);
    let (_, _, b) = call(&app, "GET", &format!("/walks/{id}/report?format=html"), Some(PARTNER), None, None).await;
    assert_eq!(String::from_utf8_lossy(&b).matches("försenad").count(), 1);
    let (s, _, _) = call(&app, "GET", "/observations?overdue=maybe", None, None, None).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    let (s, _, b) =
        call(&app, "POST", &format!("/walks/{id}/observations"), Some(EDITOR), None, Some(obs_body(660_500.0, 6_590_510.0, json!({"due": "31/3"})))).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{}", String::from_utf8_lossy(&b));
}

#[tokio::test]
async fn a_replayed_observation_with_the_same_client_id_is_stored_once() {
    let (f, app) = fixture();
    let id = create(&app).await;
    let body = obs_body(660_500.0, 6_590_510.0, json!({"client_id": "telefon-1-obs-7"}));
    let uri = format!("/walks/{id}/observations");
    let (a, _, ba) = call(&app, "POST", &uri, Some(EDITOR), None, Some(body.clone())).await;
    let (b2, h, bb) = call(&app, "POST", &uri, Some(EDITOR), None, Some(body)).await;
    assert_eq!((a, b2), (StatusCode::CREATED, StatusCode::OK));
    assert_eq!(h["etag"], "\"v1\"");
    let id_of = |b: &[u8]| serde_json::from_slice::<Value>(b).unwrap()["id"].as_str().unwrap().to_string();
    assert_eq!(id_of(&ba), id_of(&bb));
    use lagesbild::store::WalkStore;
    assert_eq!(f.store.observations(Some(&id)).unwrap().len(), 1);
}

/// A JPEG whose EXIF holds a GPS position, as a phone camera writes it (little-endian TIFF).
fn jpeg_with_gps(lon: f64, lat: f64) -> Vec<u8> {
    let mut t: Vec<u8> = b"II\x2a\x00\x08\x00\x00\x00".to_vec();
    let entry = |t: &mut Vec<u8>, tag: u16, ty: u16, count: u32, value: [u8; 4]| {
        t.extend_from_slice(&tag.to_le_bytes());
        t.extend_from_slice(&ty.to_le_bytes());
        t.extend_from_slice(&count.to_le_bytes());
        t.extend_from_slice(&value);
    };
    t.extend_from_slice(&1u16.to_le_bytes());
    entry(&mut t, 0x8825, 4, 1, 26u32.to_le_bytes());
    t.extend_from_slice(&0u32.to_le_bytes());
    t.extend_from_slice(&4u16.to_le_bytes());
    entry(&mut t, 1, 2, 2, *b"N\0\0\0");
    entry(&mut t, 2, 5, 3, 80u32.to_le_bytes());
    entry(&mut t, 3, 2, 2, *b"E\0\0\0");
    entry(&mut t, 4, 5, 3, 104u32.to_le_bytes());
    t.extend_from_slice(&0u32.to_le_bytes());
    for v in [lat, lon] {
        let (d, m) = (v.trunc(), (v.fract() * 60.0).trunc());
        let sec = ((v - d - m / 60.0) * 3600.0 * 1_000_000.0).round() as u32;
        for (num, den) in [(d as u32, 1u32), (m as u32, 1), (sec, 1_000_000)] {
            t.extend_from_slice(&num.to_le_bytes());
            t.extend_from_slice(&den.to_le_bytes());
        }
    }
    let mut seg = b"Exif\0\0".to_vec();
    seg.extend_from_slice(&t);
    let mut v = vec![0xFF, 0xD8, 0xFF, 0xE1];
    v.extend_from_slice(&((seg.len() + 2) as u16).to_be_bytes());
    v.extend_from_slice(&seg);
    v.extend_from_slice(&[0xFF, 0xDA, 0x00, 0x04, 0x01, 0x02, 0x11, 0x22, 0xFF, 0xD9]);
    v
}

#[tokio::test]
async fn a_photo_with_a_gps_position_moves_its_observation_there_and_loses_the_position() {
    let (f, app) = fixture();
    let id = create(&app).await;
    let mut oids = vec![];
    for _ in 0..2 {
        let (_, _, b) = call(&app, "POST", &format!("/walks/{id}/observations"), Some(EDITOR), None, Some(obs_body(660_300.0, 6_590_500.0, json!({})))).await;
        oids.push(serde_json::from_slice::<Value>(&b).unwrap()["id"].as_str().unwrap().to_string());
    }
    // Near the route (30 m off it), and 400 m off it (then off_route is set, not refused).
    for (oid, (e, n), off) in [(&oids[0], (660_700.0, 6_590_530.0), false), (&oids[1], (660_700.0, 6_590_900.0), true)] {
        let [lon, lat] = wgs(e, n);
        let (s, _, b) = call(&app, "PUT", &format!("/observations/{oid}/photo"), Some(EDITOR), Some("\"v1\""), Some(jpeg_with_gps(lon, lat))).await;
        assert_eq!(s, StatusCode::OK, "{}", String::from_utf8_lossy(&b));
        use lagesbild::store::WalkStore;
        let o = f.store.observations(Some(&id)).unwrap().into_iter().find(|o| &o.id == oid).unwrap();
        // Seconds are stored to 1e-6 s (3 cm): the point is back within a decimetre.
        assert!((o.point.x() - e).abs() < 0.1 && (o.point.y() - n).abs() < 0.1, "{:?}", o.point);
        assert_eq!(o.off_route, off);
        let (_, _, photo) = call(&app, "GET", &format!("/observations/{oid}/photo"), Some(PARTNER), None, None).await;
        assert!(!photo.windows(4).any(|w| w == b"Exif"), "the stored photo keeps no EXIF");
    }
}

//! HTTP behaviour through the router, without binding a port.

mod common;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use common::{crs3006, Fixture};
use http_body_util::BodyExt;
use lagesbild::import::ImportKind;
use tower::ServiceExt;

fn app_with(f: &Fixture) -> axum::Router {
    let state = lagesbild::AppState::from_store(&f.store, Default::default()).expect("state");
    lagesbild::app(state)
}

async fn get(app: axum::Router, uri: &str) -> (StatusCode, serde_json::Value) {
    let resp = app.oneshot(Request::get(uri).body(Body::empty()).unwrap()).await.unwrap();
    let status = resp.status();
    let bytes = resp.into_body().collect().await.unwrap().to_bytes();
    (status, serde_json::from_slice(&bytes).unwrap_or(serde_json::Value::Null))
}

fn fixture_with_incidents() -> Fixture {
    let f = Fixture::with_areas();
    // Six incidents in 0163C9001, two in 0163C9002 (below the public threshold of 5).
    let mut csv = String::from("id;kategori;datum;e;n\n");
    for k in 0..6 {
        csv.push_str(&format!("a{k};Klotter;2025-03-1{k};{};6590500\n", 660100 + k * 100));
    }
    csv.push_str("b0;Klotter;2025-03-10;661500;6590500\nb1;Inbrott;2025-03-11;661600;6590500\n");
    let p = f.write("i.csv", &csv);
    f.import(ImportKind::Incidents, &p, &crs3006()).unwrap();
    f
}

#[tokio::test]
async fn health_reports_the_loaded_data() {
    let f = fixture_with_incidents();
    let (status, body) = get(app_with(&f), "/health").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["status"], "ok");
    assert_eq!(body["areas"], 3);
    assert_eq!(body["incidents"], 8);
}

#[tokio::test]
async fn areas_come_as_wgs84_geojson_with_counts_and_small_counts_suppressed() {
    let f = fixture_with_incidents();
    let (status, body) = get(app_with(&f), "/api/areas").await;
    assert_eq!(status, StatusCode::OK);
    let feats = body["features"].as_array().unwrap();
    assert_eq!(feats.len(), 3);
    let by = |code: &str| feats.iter().find(|f| f["properties"]["deso"] == code).unwrap().clone();
    let a = by("0163C9001");
    assert_eq!(a["properties"]["incident_count"], 6);
    assert_eq!(a["properties"]["incidents_per_1000"], 6.0);
    let b = by("0163C9002");
    assert_eq!(b["properties"]["incident_count"], serde_json::Value::Null);
    assert_eq!(b["properties"]["incident_count_suppressed"], true);
    assert_eq!(b["properties"]["incidents_per_1000"], serde_json::Value::Null);
    assert_eq!(by("0163C9003")["properties"]["incident_count"], 0, "zero is not a small count to hide");
    // RFC 7946: lon/lat. SWEREF 99 TM E 660000 N 6590000 is about 17.84 E, 59.43 N.
    let ring = &a["geometry"]["coordinates"][0][0];
    let (lon, lat) = (ring[0][0].as_f64().unwrap(), ring[0][1].as_f64().unwrap());
    assert!((17.0..19.0).contains(&lon) && (59.0..60.0).contains(&lat), "{lon} {lat}");
}

#[tokio::test]
async fn unknown_query_parameters_get_a_400_with_a_json_body() {
    let f = fixture_with_incidents();
    let (status, body) = get(app_with(&f), "/api/areas?kommunn=0163").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["code"], "InvalidParameterValue");
    assert!(body["description"].as_str().unwrap().contains("unknown query parameter 'kommunn'"));
    let (status, _) = get(app_with(&f), "/api/areas?kommun=abc").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, body) = get(app_with(&f), "/api/areas?kommun=%zz").await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
}

#[tokio::test]
async fn an_unknown_path_is_a_json_404() {
    let f = fixture_with_incidents();
    let (status, body) = get(app_with(&f), "/nope").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(body["code"], "NotFound");
}

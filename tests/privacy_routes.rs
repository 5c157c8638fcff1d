//! Every GET route, asked as each role, says how its answer may be cached: only the public
//! role's aggregates may sit in a shared cache; a partner's, analyst's, editor's or admin's
//! answer is `private` (it may hold what the public may not see).

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

const ROLES: [(&str, Option<&str>); 5] =
    [("public", None), ("partner", Some("p-token")), ("analyst", Some("a-token")), ("editor", Some("e-token")), ("admin", Some("x-token"))];

fn wgs(e: f64, n: f64) -> [f64; 2] {
    let p = lagesbild::crs::to_wgs84(&geo::Point::new(e, n).into()).unwrap();
    let geo::Geometry::Point(p) = p else { unreachable!("a point stays a point") };
    [p.x(), p.y()]
}

async fn call(app: &axum::Router, method: &str, uri: &str, token: Option<&str>, body: Option<Value>) -> (StatusCode, axum::http::HeaderMap, Vec<u8>) {
    let mut req = Request::builder().method(method).uri(uri).header("Content-Type", "application/json");
    if let Some(t) = token {
        req = req.header("Authorization", format!("Bearer {t}"));
    }
    let req = req.body(body.map(|b| Body::from(b.to_string())).unwrap_or_else(Body::empty)).unwrap();
    let (parts, b) = app.clone().oneshot(req).await.unwrap().into_parts();
    (parts.status, parts.headers, b.collect().await.unwrap().to_bytes().to_vec())
}

/// The three fixture squares, 70 incidents in the westmost one (enough for hotspots), one walk
/// with one observation.
async fn service() -> (Fixture, axum::Router, String, String) {
    let f = Fixture::with_areas();
    let mut csv = String::from("id;kategori;datum;e;n\n");
    for k in 0..70 {
        csv.push_str(&format!("i{k};Klotter;2025-03-{:02};{};{}\n", 1 + k % 28, 660_100 + (k % 10) * 80, 6_590_100 + (k / 10) * 110));
    }
    f.import(ImportKind::Incidents, &f.write("inc.csv", &csv), &crs3006()).unwrap();
    let tokens = Tokens::from_env_value("partner:p-token,analyst:a-token,editor:e-token,admin:x-token").unwrap();
    let state = lagesbild::AppState::new(&f.store, Default::default(), tokens).unwrap().with_walks(Arc::new(f.store.clone()));
    let app = lagesbild::app(state);
    let route = [wgs(660_100.0, 6_590_500.0), wgs(660_900.0, 6_590_500.0)];
    let walk = json!({"title": "Kvällsvandring", "planned_at": "2025-11-20T18:00", "area": "Väst", "organiser": "Kommunen",
        "organisations": ["kommunen"], "route": {"type": "LineString", "coordinates": route}});
    let (s, _, b) = call(&app, "POST", "/walks", Some("e-token"), Some(walk)).await;
    assert_eq!(s, StatusCode::CREATED, "{}", String::from_utf8_lossy(&b));
    let walk_id = serde_json::from_slice::<Value>(&b).unwrap()["id"].as_str().unwrap().to_string();
    let obs = json!({"point": {"type": "Point", "coordinates": wgs(660_500.0, 6_590_510.0)}, "category": "belysning",
        "description": "Trasig lampa", "responsible": "Gatukontoret", "ratings": {"lighting": 0}});
    let (s, _, b) = call(&app, "POST", &format!("/walks/{walk_id}/observations"), Some("e-token"), Some(obs)).await;
    assert_eq!(s, StatusCode::CREATED, "{}", String::from_utf8_lossy(&b));
    let obs_id = serde_json::from_slice::<Value>(&b).unwrap()["id"].as_str().unwrap().to_string();
    (f, app, walk_id, obs_id)
}

/// Every GET route of the service, once each (and one that does not exist), with the tile of the fixture at zoom 14.
fn routes(walk: &str, obs: &str) -> Vec<String> {
    let [lon, lat] = wgs(660_500.0, 6_590_500.0);
    let n = (1u32 << 14) as f64;
    let x = ((lon + 180.0) / 360.0 * n) as u32;
    let y = ((1.0 - (lat.to_radians().tan() + 1.0 / lat.to_radians().cos()).ln() / std::f64::consts::PI) / 2.0 * n) as u32;
    let mut r: Vec<String> = [
        "/",
        "/conformance",
        "/api",
        "/collections",
        "/collections/deso",
        "/collections/deso/items",
        "/collections/deso/items/0163C9001",
        "/collections/deso/download?format=csv",
        "/collections/incidents/items",
        "/collections/incidents/items/i1",
        "/collections/incidents/download?format=csv",
        "/tiles/deso/tilejson.json",
        "/analysis/hotspots",
        "/analysis/density",
        "/analysis/emerging",
        "/analysis/rates",
        "/api/profile/0163C9001",
        "/walks",
        "/walks/suggest?area=0163C9001",
        "/observations",
        "/api/areas",
        "/health",
        "/map",
        "/map/",
        "/map/app.js",
        "/no/such/route",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    r.push(format!("/tiles/deso/14/{x}/{y}.mvt"));
    r.push(format!("/tiles/incidents/14/{x}/{y}.mvt"));
    for p in ["", "/observations", "/report"] {
        r.push(format!("/walks/{walk}{p}"));
    }
    for p in ["", "/history", "/photo"] {
        r.push(format!("/observations/{obs}{p}"));
    }
    r
}

#[tokio::test]
async fn every_route_tells_each_role_how_it_may_be_cached() {
    let (_f, app, walk, obs) = service().await;
    for (role, token) in ROLES {
        for uri in routes(&walk, &obs) {
            let (s, h, _) = call(&app, "GET", &uri, token, None).await;
            assert!(s != StatusCode::INTERNAL_SERVER_ERROR, "{role} {uri}: 500");
            // The analyst may read every route but the missing one and the photo never uploaded,
            // so the rules below are checked on real answers, not only on refusals.
            if role == "analyst" && uri != "/no/such/route" && !uri.ends_with("/photo") {
                assert!(s.is_success() || s.is_redirection(), "analyst {uri}: {s}");
            }
            let cc = h.get("cache-control").unwrap_or_else(|| panic!("{role} {uri}: no Cache-Control")).to_str().unwrap().to_string();
            let static_file = uri.starts_with("/map/");
            let points = uri.contains("incidents") || uri.ends_with("/photo") || uri.ends_with("/report");
            if s.is_client_error() {
                assert_eq!(cc, "no-store", "{role} {uri}");
            } else if static_file {
                assert_eq!(cc, "public, max-age=300", "{role} {uri}");
            } else if role != "public" || points {
                assert!(cc.starts_with("private"), "{role} {uri}: {cc}");
            } else if !uri.starts_with("/walks/") && !uri.starts_with("/observations/") {
                // Tiles and aggregates are revalidated against the data generation's ETag.
                assert_eq!(cc, "public, no-cache", "{role} {uri}");
            }
            if !static_file && !s.is_client_error() {
                assert!(h.get("vary").is_some_and(|v| v.to_str().unwrap().contains("Authorization")), "{role} {uri}: no Vary");
            }
        }
    }
}

#[tokio::test]
async fn a_partner_analysis_is_private_as_its_features_are() {
    // The analysis route used to answer partners `public, max-age=60` while the features route
    // answered them `private`: both now ask privacy.rs.
    let (_f, app, _, _) = service().await;
    for uri in ["/analysis/hotspots", "/collections/deso/items"] {
        let (s, h, _) = call(&app, "GET", uri, Some("p-token"), None).await;
        assert_eq!(s, StatusCode::OK, "{uri}");
        assert_eq!(h["cache-control"], "private, no-cache", "{uri}");
    }
}

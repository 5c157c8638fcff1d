//! Social-services aggregates (orosanmälningar per DeSO) are imported like indicators and never
//! reach a public or partner response below the privacy threshold: not in features, tiles,
//! `/api/areas`, the area profile or a plan area's profile. Analysts see them.

mod common;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use common::Fixture;
use http_body_util::BodyExt;
use lagesbild::api::auth::Tokens;
use lagesbild::import::{ImportKind, ImportOptions};
use lagesbild::privacy::Role;
use serde_json::Value;
use tower::ServiceExt;

const ANALYST: &str = "analyst-token";
const PARTNER: &str = "partner-token";

/// 0163C9001 has 3 orosanmälningar (under the default threshold of 5), 0163C9002 has 12.
fn service() -> (Fixture, lagesbild::AppState) {
    let f = Fixture::with_areas();
    let p = f.write("soc.csv", "deso;orosanmalningar\n0163C9001;3\n0163C9002;12\n0163C9003;0\n");
    let opts = ImportOptions { year: Some(2025), source_label: Some("Socialtjänsten".into()), ..Default::default() };
    f.import(ImportKind::Indicators, &p, &opts).unwrap();
    let tokens = Tokens::from_env_value(&format!("analyst:{ANALYST},partner:{PARTNER}")).unwrap();
    let state = lagesbild::AppState::new(&f.store, Default::default(), tokens).unwrap();
    (f, state)
}

async fn call(state: &lagesbild::AppState, method: &str, uri: &str, token: Option<&str>, body: Option<String>) -> Value {
    let mut req = Request::builder().method(method).uri(uri).header("content-type", "application/geo+json");
    if let Some(t) = token {
        req = req.header("Authorization", format!("Bearer {t}"));
    }
    let resp = lagesbild::app(state.clone()).oneshot(req.body(body.map(Body::from).unwrap_or_else(Body::empty)).unwrap()).await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK, "{method} {uri}");
    serde_json::from_slice(&resp.into_body().collect().await.unwrap().to_bytes()).unwrap()
}

/// Half of 0163C9001 (E 660 000–660 500), as WGS84 GeoJSON.
fn plan_over_9001() -> String {
    let ring = geo::Polygon::new(
        geo::LineString::from(vec![
            (660_000.0, 6_590_000.0),
            (660_500.0, 6_590_000.0),
            (660_500.0, 6_591_000.0),
            (660_000.0, 6_591_000.0),
            (660_000.0, 6_590_000.0),
        ]),
        vec![],
    );
    let wgs = lagesbild::crs::to_wgs84(&ring.into()).unwrap();
    geojson::Geometry::new(geojson::Value::from(&wgs)).to_string()
}

/// orosanmalningar of 0163C9001 in each response a role gets, as they show it (None: absent or null).
async fn seen_by(state: &lagesbild::AppState, token: Option<&str>) -> Vec<(&'static str, Option<f64>)> {
    let items = call(state, "GET", "/collections/deso/items/0163C9001", token, None).await;
    let areas = call(state, "GET", "/api/areas", token, None).await;
    let area = areas["features"].as_array().unwrap().iter().find(|f| f["properties"]["deso"] == "0163C9001").unwrap().clone();
    let profile = call(state, "GET", "/api/profile/0163C9001", token, None).await;
    let plan = call(state, "POST", "/api/profile", token, Some(plan_over_9001())).await;
    let line = |p: &Value| p["indicators"].as_array().unwrap().iter().find(|l| l["indicator"] == "orosanmalningar").and_then(|l| l["value"].as_f64());
    vec![
        ("features", items["properties"]["orosanmalningar"].as_f64()),
        ("api/areas", area["properties"]["orosanmalningar"].as_f64()),
        ("profile", line(&profile)),
        ("plan profile", line(&plan)),
    ]
}

#[tokio::test]
async fn social_services_counts_below_the_threshold_never_reach_public_or_partner_responses() {
    let (_f, state) = service();
    for token in [None, Some(PARTNER)] {
        for (what, v) in seen_by(&state, token).await {
            assert_eq!(v, None, "{what} for {token:?}");
        }
    }
    let items = call(&state, "GET", "/collections/deso/items/0163C9001", None, None).await;
    assert_eq!(items["properties"]["orosanmalningar_suppressed"], true);
    // 12 is above the threshold and stays visible to everyone.
    let other = call(&state, "GET", "/collections/deso/items/0163C9002", None, None).await;
    assert_eq!(other["properties"]["orosanmalningar"], 12.0);
}

#[tokio::test]
async fn analysts_see_social_services_counts_and_a_plan_area_gets_the_whole_deso_value() {
    let (_f, state) = service();
    for (what, v) in seen_by(&state, Some(ANALYST)).await {
        // /api/areas answers every caller alike, so it hides small counts for everyone.
        let want = if what == "api/areas" { None } else { Some(3.0) };
        // The plan area covers half of 0163C9001, but the count is the whole DeSO's 3, never 1.5.
        assert_eq!(v, want, "{what}");
    }
}

#[test]
fn a_public_or_partner_tile_holds_no_small_social_services_count() {
    let (_f, state) = service();
    let c = state.layers.get("deso").unwrap();
    // The tile at zoom 12 that holds the fixture (E 660 000–663 000 near 59.43° N).
    let [lon, lat] = {
        let p = lagesbild::crs::to_wgs84(&geo::Point::new(660_500.0, 6_590_500.0).into()).unwrap();
        let geo::Geometry::Point(p) = p else { unreachable!() };
        [p.x(), p.y()]
    };
    let n = 4096.0_f64;
    let x = ((lon + 180.0) / 360.0 * n) as u32;
    let y = ((1.0 - (lat.to_radians().tan() + 1.0 / lat.to_radians().cos()).ln() / std::f64::consts::PI) / 2.0 * n) as u32;
    for (role, want) in [(Role::Public, None), (Role::Partner, None), (Role::Analyst, Some(3.0))] {
        let bytes = lagesbild::api::tiles::build_tile(&state, &c, role, 12, x, y).unwrap();
        let reader = mvt_reader::Reader::new(bytes).unwrap();
        let f = reader
            .get_features_as::<f64>(0)
            .unwrap()
            .into_iter()
            .find(|f| f.properties.as_ref().is_some_and(|p| matches!(p.get("deso"), Some(mvt_reader::feature::Value::String(s)) if s == "0163C9001")));
        let props = f.expect("0163C9001 in the tile").properties.unwrap();
        let v = props.get("orosanmalningar").and_then(|v| match v {
            mvt_reader::feature::Value::Double(x) => Some(*x),
            mvt_reader::feature::Value::Float(x) => Some(f64::from(*x)),
            mvt_reader::feature::Value::Int(x) | mvt_reader::feature::Value::SInt(x) => Some(*x as f64),
            mvt_reader::feature::Value::UInt(x) => Some(*x as f64),
            _ => None,
        });
        assert_eq!(v, want, "{role:?}");
    }
}

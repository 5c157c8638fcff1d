//! The åtgärdsplan's register (ETag rule, roles, validation, follow-up), the EST group's
//! bedömning beside the computed status, and places as analysis units, over the real router on
//! a real store: the same checks on a GeoPackage and on PostGIS (a throwaway cluster,
//! tests/common/pg.rs).

mod common;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use common::pg::PgCluster;
use common::{crs3006, Fixture, AREAS_3006};
use http_body_util::BodyExt;
use lagesbild::api::auth::Tokens;
use lagesbild::import::{run_import, ImportKind, ImportOptions};
use lagesbild::store::{AnyStore, GpkgStore, PgStore};
use serde_json::{json, Value};
use std::sync::Arc;
use tower::ServiceExt;

const EDITOR: &str = "editor-token";
const ANALYST: &str = "analyst-token";
const PARTNER: &str = "partner-token";

/// The fixture's three 1 km DeSO squares (0163C9001 E 660 000–661 000, 0163C9002 661 000–662 000,
/// 0163C9003 662 000–663 000; N 6 590 000–6 591 000) and a place "Torget" over the western half
/// of 0163C9001 (E 660 000–660 500). Incidents, by ISO week (2025-W10 = 3–9 March 2025,
/// W11 = 10–16 March):
///   a1 inbrott   8 March  (W10) 0163C9001, in Torget
///   a2 inbrott   5 March  (W10) 0163C9001, outside Torget
///   b1 klotter  11 March  (W11) 0163C9002
///   b2 skjutning 12 March (W11) 0163C9001, in Torget
///   c1 klotter  25 Feb    (W09) 0163C9001, in Torget
/// With the default EST rule (src/classify/est.rs: inbrott 2, skjutning 10, klotter 0.5; yellow
/// from 3, red from 8): 0163C9001 W10 scores 4 (yellow), W11 10 (red); 0163C9002 W11 0.5 (green).
/// Where the checks' store lives.
#[derive(Clone, Copy)]
enum Kind<'a> {
    Gpkg,
    Pg(&'a PgCluster),
}

/// The store of one check (a new file or a new database named `name`) with the fixture's data,
/// and the service over it. The directory must outlive the router.
fn fixture(kind: Kind, name: &str) -> (tempfile::TempDir, axum::Router) {
    let dir = tempfile::tempdir().unwrap();
    let store: AnyStore = match kind {
        Kind::Gpkg => Arc::new(GpkgStore::new(dir.path().join("store.gpkg"))),
        Kind::Pg(pg) => Arc::new(PgStore::connect(&pg.database(name)).unwrap()),
    };
    let write = |n: &str, text: &str| {
        let p = dir.path().join(n);
        std::fs::write(&p, text).unwrap();
        p
    };
    let opts = ImportOptions { deso_version: Some("2025".into()), ..Default::default() };
    run_import(&*store, ImportKind::Areas, &write("areas.geojson", AREAS_3006), &opts, &|_, _| {}).unwrap();
    let csv = "id;kategori;datum;e;n\n\
               a1;Inbrott;2025-03-08;660200;6590500\n\
               a2;Inbrott;2025-03-05;660700;6590500\n\
               b1;Klotter;2025-03-11;661500;6590500\n\
               b2;Skjutning;2025-03-12;660300;6590400\n\
               c1;Klotter;2025-02-25;660100;6590100\n";
    run_import(&*store, ImportKind::Incidents, &write("inc.csv", csv), &crs3006(), &|_, _| {}).unwrap();
    let place = r#"{"type":"FeatureCollection","crs":{"type":"name","properties":{"name":"urn:ogc:def:crs:EPSG::3006"}},
      "features":[{"type":"Feature","properties":{"name":"Torget"},
      "geometry":{"type":"Polygon","coordinates":[[[660000,6590000],[660500,6590000],[660500,6591000],[660000,6591000],[660000,6590000]]]}}]}"#;
    lagesbild::import::places::import_places(&*store, &write("torget.geojson", place), "plats", "test").unwrap();
    let tokens = Tokens::from_env_value(&format!("editor:{EDITOR},analyst:{ANALYST},partner:{PARTNER}")).unwrap();
    let state = lagesbild::AppState::new(&*store, Default::default(), tokens).unwrap().with_walks(store.clone()).with_plan(store);
    (dir, lagesbild::app(state))
}

async fn call(
    app: &axum::Router,
    method: &str,
    uri: &str,
    token: Option<&str>,
    if_match: Option<&str>,
    body: Option<Value>,
) -> (StatusCode, axum::http::HeaderMap, Value) {
    let mut req = Request::builder().method(method).uri(uri);
    if let Some(t) = token {
        req = req.header("Authorization", format!("Bearer {t}"));
    }
    if let Some(m) = if_match {
        req = req.header("If-Match", m);
    }
    let req = req.header("Content-Type", "application/json").body(body.map(|b| Body::from(b.to_string())).unwrap_or_else(Body::empty)).unwrap();
    let resp = app.clone().oneshot(req).await.unwrap();
    let (parts, b) = resp.into_parts();
    let bytes = b.collect().await.unwrap().to_bytes();
    (parts.status, parts.headers, serde_json::from_slice(&bytes).unwrap_or(Value::Null))
}

fn insats(area: &str) -> Value {
    json!({"title": "Belysning och väktare vid torget", "area": area, "problem": "Otrygghet kvällstid", "responsible": "Tekniska kontoret",
           "start": "2025-03-10", "end": "2025-03-16", "desired_result": "Färre anmälningar om skadegörelse", "status": "ongoing", "level": "general"})
}

async fn an_insats_write_needs_the_etag_read_missing_is_428_and_stale_is_412(app: axum::Router) {
    let (s, h, v) = call(&app, "POST", "/api/actions", Some(EDITOR), None, Some(insats("Torget"))).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    assert_eq!(h["etag"], "\"v1\"");
    let uri = format!("/api/actions/{}", v["id"].as_str().unwrap());
    let (s, h, v) = call(&app, "GET", &uri, Some(ANALYST), None, None).await;
    assert_eq!((s, h["etag"].to_str().unwrap()), (StatusCode::OK, "\"v1\""));
    assert_eq!((v["area"].as_str(), v["status"].as_str(), v["level"].as_str()), (Some("Torget"), Some("ongoing"), Some("general")));
    let mut changed = insats("Torget");
    changed["outcome"] = "Två nya armaturer".into();
    changed["status"] = "done".into();
    let (s, _, _) = call(&app, "PUT", &uri, Some(EDITOR), None, Some(changed.clone())).await;
    assert_eq!(s, StatusCode::PRECONDITION_REQUIRED);
    let (s, h, v) = call(&app, "PUT", &uri, Some(EDITOR), Some("\"v1\""), Some(changed.clone())).await;
    assert_eq!((s, h["etag"].to_str().unwrap()), (StatusCode::OK, "\"v2\""), "{v}");
    assert_eq!(v["outcome"], "Två nya armaturer");
    let (s, _, v) = call(&app, "PUT", &uri, Some(EDITOR), Some("\"v1\""), Some(changed)).await;
    assert_eq!(s, StatusCode::PRECONDITION_FAILED, "{v}");
    assert_eq!(v["code"], "PreconditionFailed");
    let (s, _, _) = call(&app, "DELETE", &uri, Some(EDITOR), Some("\"v1\""), None).await;
    assert_eq!(s, StatusCode::PRECONDITION_FAILED);
    let (s, _, _) = call(&app, "DELETE", &uri, Some(EDITOR), Some("\"v2\""), None).await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (s, _, _) = call(&app, "GET", &uri, Some(ANALYST), None, None).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
}

async fn analysts_read_the_plan_editors_write_it_and_others_are_refused(app: axum::Router) {
    assert_eq!(call(&app, "GET", "/api/actions", None, None, None).await.0, StatusCode::UNAUTHORIZED);
    assert_eq!(call(&app, "GET", "/api/actions", Some(PARTNER), None, None).await.0, StatusCode::FORBIDDEN);
    assert_eq!(call(&app, "POST", "/api/actions", Some(ANALYST), None, Some(insats("Väst"))).await.0, StatusCode::FORBIDDEN);
    let (s, _, v) = call(&app, "POST", "/api/actions", Some(EDITOR), None, Some(insats("Väst"))).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let (s, _, v) = call(&app, "GET", "/api/actions?status=ongoing", Some(ANALYST), None, None).await;
    assert_eq!((s, v["actions"].as_array().map(|a| a.len())), (StatusCode::OK, Some(1)));
}

async fn an_insats_in_no_known_area_or_with_unknown_fields_is_refused_with_a_json_reason(app: axum::Router) {
    let (s, _, v) = call(&app, "POST", "/api/actions", Some(EDITOR), None, Some(insats("Atlantis"))).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(v["description"].as_str().unwrap().starts_with("area:"), "{v}");
    let mut person = insats("Väst");
    person["person"] = "Anna Andersson".into();
    let (s, _, v) = call(&app, "POST", "/api/actions", Some(EDITOR), None, Some(person)).await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "no personal data fields: {v}");
    let mut bad = insats("Väst");
    bad["status"] = "maybe".into();
    assert_eq!(call(&app, "POST", "/api/actions", Some(EDITOR), None, Some(bad)).await.0, StatusCode::UNPROCESSABLE_ENTITY);
}

async fn the_followup_counts_incidents_in_the_insats_area_before_and_after_its_start(app: axum::Router) {
    let (_, _, v) = call(&app, "POST", "/api/actions", Some(EDITOR), None, Some(insats("Torget"))).await;
    let (s, _, f) = call(&app, "GET", &format!("/api/actions/{}/followup", v["id"].as_str().unwrap()), Some(ANALYST), None, None).await;
    assert_eq!(s, StatusCode::OK, "{f}");
    // After: 10 March to the last incident in the store (b2, 12 March), three days; before: the
    // three days 7–9 March. In Torget that is b2 after and a1 (8 March) before.
    assert_eq!((f["after_from"].as_str(), f["after_to"].as_str()), (Some("2025-03-10"), Some("2025-03-12")));
    assert_eq!((f["before_from"].as_str(), f["before_to"].as_str()), (Some("2025-03-07"), Some("2025-03-09")));
    assert_eq!((f["before"].as_u64(), f["after"].as_u64()), (Some(1), Some(1)));
    assert!(f["caveat"].as_str().unwrap().contains("anmälningsbenägenheten"));
}

fn area<'a>(v: &'a Value, code: &str) -> &'a Value {
    v["areas"].as_array().unwrap().iter().find(|a| a["area"] == code).unwrap_or_else(|| panic!("{code} missing in {v}"))
}

async fn a_bedomning_set_by_hand_is_kept_and_shown_beside_the_computed_status(app: axum::Router) {
    let (s, _, v) = call(&app, "GET", "/api/est?week=2025-W10", Some(ANALYST), None, None).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let a = area(&v, "0163C9001");
    assert_eq!((a["computed"]["status"].as_str(), a["computed"]["score"].as_f64(), a["computed"]["incidents"].as_u64()), (Some("yellow"), Some(4.0), Some(2)));
    assert!(a["assessment"].is_null());
    let body = json!({"status": "red", "comment": "Oro vid torget enligt fältassistenterna"});
    let (s, _, v) = call(&app, "PUT", "/api/est/0163C9001/2025-W10", Some(EDITOR), None, Some(body)).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let (_, _, v) = call(&app, "GET", "/api/est?week=2025-W10", Some(ANALYST), None, None).await;
    let a = area(&v, "0163C9001");
    assert_eq!(a["computed"]["status"], "yellow", "the computed status stays as computed");
    assert_eq!((a["assessment"]["status"].as_str(), a["assessment"]["comment"].as_str()), (Some("red"), Some("Oro vid torget enligt fältassistenterna")));
    assert_eq!(a["shown"], "red");
    assert!(a["assessment"]["by"].as_str().unwrap().starts_with("editor:"));
    let b = area(&v, "0163C9002");
    assert_eq!((b["assessment"].is_null(), b["shown"].as_str()), (true, Some("green")));
    // A second bedömning replaces the first as the current one; both stay in the history.
    call(&app, "PUT", "/api/est/0163C9001/2025-W10", Some(EDITOR), None, Some(json!({"status": "green"}))).await;
    let (_, _, one) = call(&app, "GET", "/api/est/0163C9001/2025-W10", Some(ANALYST), None, None).await;
    assert_eq!(one["assessment"]["status"], "green");
    let hist: Vec<&str> = one["history"].as_array().unwrap().iter().map(|h| h["status"].as_str().unwrap()).collect();
    assert_eq!(hist, vec!["green", "red"]);
    // The public sees the colours, not a count below 5 nor who set the bedömning.
    let (_, _, p) = call(&app, "GET", "/api/est?week=2025-W10", None, None, None).await;
    let a = area(&p, "0163C9001");
    assert_eq!((a["computed"]["incidents"].is_null(), a["computed"]["status"].as_str()), (true, Some("yellow")));
    assert!(a["assessment"].get("by").is_none());
}

async fn a_bedomning_needs_an_editor_a_known_status_and_a_real_week(app: axum::Router) {
    let put = |token, uri: &'static str, body: Value| {
        let app = app.clone();
        async move { call(&app, "PUT", uri, token, None, Some(body)).await.0 }
    };
    assert_eq!(put(Some(ANALYST), "/api/est/0163C9001/2025-W10", json!({"status": "red"})).await, StatusCode::FORBIDDEN);
    assert_eq!(put(Some(EDITOR), "/api/est/0163C9001/2025-W10", json!({"status": "lila"})).await, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(put(Some(EDITOR), "/api/est/0163C9001/2025-W53", json!({"status": "red"})).await, StatusCode::BAD_REQUEST);
    assert_eq!(put(Some(EDITOR), "/api/est/0163C0000/2025-W10", json!({"status": "red"})).await, StatusCode::NOT_FOUND);
}

async fn a_place_is_an_analysis_unit_found_by_name_with_its_own_incidents(app: axum::Router) {
    let (s, _, p) = call(&app, "GET", "/api/profile/torget?format=json", Some(ANALYST), None, None).await;
    assert_eq!(s, StatusCode::OK, "{p}");
    assert_eq!(p["area"]["level"], "place");
    // a1, b2 and c1 lie in Torget's polygon; a2 lies in the same DeSO but outside it.
    assert_eq!(p["incidents_total"], 3);
    // Half of 0163C9001's area, so half of its 1,000 residents.
    assert_eq!(p["population"].as_f64().map(|x| x.round()), Some(500.0));
    assert!(p["notes"].as_array().unwrap().iter().any(|n| n.as_str().unwrap().contains("andel av DeSO:s yta")), "{p}");
    let (_, _, e) = call(&app, "GET", "/api/est?week=2025-W11&level=place", Some(ANALYST), None, None).await;
    let t = area(&e, "Torget");
    assert_eq!((t["computed"]["score"].as_f64(), t["computed"]["status"].as_str()), (Some(10.0), Some("red")));
    let (s, _, c) = call(&app, "GET", "/collections/places/items", None, None, None).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(c["features"][0]["properties"]["name"], "Torget");
}

/// Every check above on a fresh store of `kind`.
async fn the_plan_checks(kind: Kind<'_>) {
    let app = |name: &str| fixture(kind, name);
    let (_d, a) = app("etag");
    an_insats_write_needs_the_etag_read_missing_is_428_and_stale_is_412(a).await;
    let (_d, a) = app("roles");
    analysts_read_the_plan_editors_write_it_and_others_are_refused(a).await;
    let (_d, a) = app("invalid");
    an_insats_in_no_known_area_or_with_unknown_fields_is_refused_with_a_json_reason(a).await;
    let (_d, a) = app("followup");
    the_followup_counts_incidents_in_the_insats_area_before_and_after_its_start(a).await;
    let (_d, a) = app("bedomning");
    a_bedomning_set_by_hand_is_kept_and_shown_beside_the_computed_status(a).await;
    let (_d, a) = app("bedomning_rules");
    a_bedomning_needs_an_editor_a_known_status_and_a_real_week(a).await;
    let (_d, a) = app("place");
    a_place_is_an_analysis_unit_found_by_name_with_its_own_incidents(a).await;
}

#[tokio::test]
async fn the_plan_checks_pass_on_the_geopackage_store() {
    the_plan_checks(Kind::Gpkg).await;
}

#[tokio::test]
async fn the_plan_checks_pass_on_the_postgis_store() {
    let pg = PgCluster::start();
    the_plan_checks(Kind::Pg(&pg)).await;
}

#[test]
fn a_places_file_without_names_is_refused_whole_and_the_store_is_unchanged() {
    let f = Fixture::with_areas();
    let before = f.store_hash();
    let bad = r#"{"type":"FeatureCollection","crs":{"type":"name","properties":{"name":"urn:ogc:def:crs:EPSG::3006"}},"features":[
      {"type":"Feature","properties":{"name":"Ett"},"geometry":{"type":"Polygon","coordinates":[[[660000,6590000],[660500,6590000],[660500,6591000],[660000,6590000]]]}},
      {"type":"Feature","properties":{"name":""},"geometry":{"type":"Polygon","coordinates":[[[661000,6590000],[661500,6590000],[661500,6591000],[661000,6590000]]]}}]}"#;
    let p = f.write("bad.geojson", bad);
    let e = lagesbild::import::places::import_places(&f.store, &p, "kommundel", "test").unwrap_err();
    assert!(e.to_string().contains("feature 2: no name"), "{e}");
    assert_eq!(f.store_hash(), before);
    assert!(lagesbild::import::places::import_places(&f.store, &p, "stadsdel", "test").unwrap_err().to_string().contains("--kind"));
}

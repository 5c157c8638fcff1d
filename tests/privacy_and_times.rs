//! The record of personal data (command and admin-only route), times stored by the GeoPackage
//! standard in UTC and cut into Swedish weeks, and GDAL's GeoPackage validator on the store and
//! on an exported GeoPackage.

mod common;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use common::{crs3006, Fixture};
use http_body_util::BodyExt;
use lagesbild::api::auth::Tokens;
use lagesbild::import::ImportKind;
use lagesbild::store::Store;
use serde_json::Value;
use std::process::Command;
use tower::ServiceExt;

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_lagesbild"))
}

/// Two points of 2023 and three of 2025 in the westmost fixture square, Swedish local times.
fn with_incidents() -> Fixture {
    let f = Fixture::with_areas();
    let csv = "id;kategori;datum;e;n\n\
               a1;Klotter;2023-05-02 10:00;660100;6590100\n\
               a2;Skadegörelse;2023-11-20 22:15;660200;6590200\n\
               b1;Klotter;2025-03-10 00:30;660300;6590300\n\
               b2;Klotter;2025-07-07 00:30;660400;6590400\n\
               b3;Klotter;2025-07-08 12:00;660500;6590500\n";
    f.import(ImportKind::Incidents, &f.write("händelser.csv", csv), &crs3006()).unwrap();
    f
}

#[test]
fn the_privacy_report_counts_points_by_source_and_year_and_says_who_reads_what() {
    let f = with_incidents();
    let store = f.dir.path().join("store.gpkg");
    let out = bin()
        .arg("--store")
        .arg(&store)
        .args(["privacy-report", "--format", "json"])
        .env("LAGESBILD_TOKENS", "admin:dpo-admin,analyst:a1,analyst:a2")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let r: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(r["raw_points_total"], 5);
    assert_eq!(r["raw_points_by_source"][0]["source"], "händelser.csv");
    assert_eq!(r["raw_points_by_year"]["2023"], 2);
    assert_eq!(r["raw_points_by_year"]["2025"], 3);
    // 2023-05-02 10:00 in Stockholm is 08:00 UTC (summer time).
    assert_eq!(r["oldest_point"], "2023-05-02T08:00:00.000Z");
    assert_eq!(r["tokens_by_role"]["analyst"], 2);
    assert_eq!(r["tokens_by_role"]["admin"], 1);
    assert_eq!(r["last_gallring"], Value::Null);
    let role = |name: &str| r["roles"].as_array().unwrap().iter().find(|x| x["role"] == name).unwrap().clone();
    assert_eq!(role("public")["raw_points"], false);
    assert_eq!(role("partner")["points_snapped_250m"], true);
    assert_eq!(role("analyst")["raw_points"], true);
    assert_eq!(role("admin")["privacy_report"], true);
    assert_eq!(role("editor")["privacy_report"], false);
    let html = bin().arg("--store").arg(&store).args(["privacy-report", "--format", "html"]).output().unwrap();
    let html = String::from_utf8(html.stdout).unwrap();
    assert!(html.contains("Personuppgifter i lägesbild") && html.contains("händelser.csv"), "{html}");
}

#[tokio::test]
async fn only_an_admin_reads_the_privacy_report_over_http() {
    let f = with_incidents();
    let config = lagesbild::api::ServiceConfig { store_path: Some(f.dir.path().join("store.gpkg")), ..Default::default() };
    let tokens = Tokens::from_env_value("analyst:a-token,admin:x-token").unwrap();
    let app = lagesbild::app(lagesbild::AppState::new(&f.store, config, tokens).unwrap());
    let get = |token: Option<&str>, path: &str| {
        let mut r = Request::get(path);
        if let Some(t) = token {
            r = r.header("Authorization", format!("Bearer {t}"));
        }
        let app = app.clone();
        let req = r.body(Body::empty()).unwrap();
        async move {
            let (parts, body) = app.oneshot(req).await.unwrap().into_parts();
            (parts.status, parts.headers, body.collect().await.unwrap().to_bytes().to_vec())
        }
    };
    assert_eq!(get(None, "/api/privacy-report").await.0, StatusCode::UNAUTHORIZED);
    assert_eq!(get(Some("a-token"), "/api/privacy-report").await.0, StatusCode::FORBIDDEN);
    let (status, headers, body) = get(Some("x-token"), "/api/privacy-report").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers["cache-control"], "private, no-store");
    let r: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(r["raw_points_total"], 5);
    let (status, headers, _) = get(Some("x-token"), "/api/privacy-report?format=html").await;
    assert_eq!(status, StatusCode::OK);
    assert!(headers["content-security-policy"].to_str().unwrap().contains("default-src 'self'"));
    assert_eq!(get(Some("x-token"), "/api/privacy-report?format=pdf").await.0, StatusCode::BAD_REQUEST);
}

#[test]
fn half_past_midnight_on_a_monday_in_march_and_july_is_stored_in_utc_and_counted_in_that_week() {
    let f = with_incidents();
    let store = f.dir.path().join("store.gpkg");
    let c = rusqlite::Connection::open(&store).unwrap();
    let stored = |id: &str| -> String { c.query_row("SELECT occurred_at FROM incidents WHERE id = ?1", [id], |r| r.get(0)).unwrap() };
    // Monday 2025-03-10 00:30 CET (+01:00) and Monday 2025-07-07 00:30 CEST (+02:00): Sunday in UTC.
    assert_eq!(stored("b1"), "2025-03-09T23:30:00.000Z");
    assert_eq!(stored("b2"), "2025-07-06T22:30:00.000Z");
    let incidents = f.store.incidents().unwrap();
    let week = |id: &str| lagesbild::model::iso_week(&incidents.iter().find(|i| i.id == id).unwrap().occurred_at);
    // ISO 8601 weeks of 2025: 10 March is in week 11, 7 July in week 28.
    assert_eq!(week("b1"), "2025-W11");
    assert_eq!(week("b2"), "2025-W28");
}

#[tokio::test]
async fn incident_times_in_json_carry_their_offset() {
    let f = with_incidents();
    let tokens = Tokens::from_env_value("analyst:a-token").unwrap();
    let app = lagesbild::app(lagesbild::AppState::new(&f.store, Default::default(), tokens).unwrap());
    let req = Request::get("/collections/incidents/items?limit=100").header("Authorization", "Bearer a-token").body(Body::empty()).unwrap();
    let resp = app.oneshot(req).await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let fc: Value = serde_json::from_slice(&resp.into_body().collect().await.unwrap().to_bytes()).unwrap();
    let at = |id: &str| {
        fc["features"].as_array().unwrap().iter().find(|x| x["id"] == id || x["properties"]["id"] == id).unwrap()["properties"]["occurred_at"].clone()
    };
    assert_eq!(at("b1"), "2025-03-10T00:30:00+01:00");
    assert_eq!(at("b2"), "2025-07-07T00:30:00+02:00");
}

/// GDAL's GeoPackage validator, from Debian's python3-gdal.
fn validate(path: &std::path::Path) {
    let script = ["/usr/lib/python3/dist-packages/osgeo_utils/samples/validate_gpkg.py", "/usr/share/doc/python3-gdal/examples/validate_gpkg.py"]
        .into_iter()
        .find(|p| std::path::Path::new(p).exists())
        .expect("GDAL's validate_gpkg.py (apt-get install python3-gdal)");
    let out = Command::new("python3").arg(script).arg("--extra").arg(path).output().unwrap();
    assert!(
        out.status.success(),
        "validate_gpkg.py --extra {}:\n{}{}",
        path.display(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn gdal_s_validator_with_extra_passes_on_the_store_and_on_an_exported_geopackage() {
    let f = with_incidents();
    let store = f.dir.path().join("store.gpkg");
    validate(&store);
    let out = f.dir.path().join("incidents-export.gpkg");
    let st = bin().arg("--store").arg(&store).args(["export", "incidents", "--format", "gpkg", "--output"]).arg(&out).status().unwrap();
    assert!(st.success());
    validate(&out);
}

//! A plan area's social picture: `POST /api/profile` with a drawn polygon over two DeSO, checked
//! against a hand computation; the bounds on plan areas; small counts hidden from the public;
//! `GET /api/indicators`; and `lagesbild profile --area FILE`.

mod common;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use common::{crs3006, Fixture};
use http_body_util::BodyExt;
use lagesbild::api::auth::Tokens;
use lagesbild::import::{ImportKind, ImportOptions};
use serde_json::Value;
use tower::ServiceExt;

const ANALYST: &str = "analyst-token";

/// The fixture's three 1 km squares (1000, 2000 and 500 residents) with indicators and eight
/// incidents at (660 800, 6 590 500), inside the plan area drawn below.
fn service() -> (Fixture, axum::Router) {
    let f = Fixture::with_areas();
    let ind = f.write(
        "ind.csv",
        "code;low_econ;tenure_hyresratt;tenure_bostadsratt;tenure_aganderatt;tenure_uppgift_saknas;nojd_pct\n\
         0163C9001;10;100;100;0;0;70\n0163C9002;20;300;100;100;0;80\n0163C9003;50;10;10;10;0;\n",
    );
    let opts = ImportOptions { year: Some(2024), source_label: Some("SCB".into()), ..Default::default() };
    f.import(ImportKind::Indicators, &ind, &opts).unwrap();
    let mut csv = String::from("id;kategori;datum;e;n\n");
    for k in 0..8 {
        csv.push_str(&format!("P{k};{};2025-03-{:02};{};6590500\n", if k < 3 { "Klotter" } else { "Inbrott" }, k + 1, 660_800 + k));
    }
    let p = f.write("inc.csv", &csv);
    f.import(ImportKind::Incidents, &p, &crs3006()).unwrap();
    let tokens = Tokens::from_env_value(&format!("analyst:{ANALYST}")).unwrap();
    let state = lagesbild::AppState::new(&f.store, Default::default(), tokens).unwrap();
    (f, lagesbild::app(state))
}

/// A rectangle given in SWEREF 99 TM, sent as WGS84 GeoJSON (as the web map draws it).
fn rect_wgs84(x0: f64, y0: f64, x1: f64, y1: f64) -> String {
    let ring = geo::Polygon::new(geo::LineString::from(vec![(x0, y0), (x1, y0), (x1, y1), (x0, y1), (x0, y0)]), vec![]);
    let wgs = lagesbild::crs::to_wgs84(&ring.into()).unwrap();
    let g = geojson::Geometry::new(geojson::Value::from(&wgs));
    format!(r#"{{"type":"Feature","properties":{{"name":"Detaljplan Test"}},"geometry":{}}}"#, g)
}

async fn post(app: &axum::Router, uri: &str, body: String, token: Option<&str>) -> (StatusCode, Vec<u8>) {
    let mut req = Request::post(uri).header("content-type", "application/geo+json");
    if let Some(t) = token {
        req = req.header("Authorization", format!("Bearer {t}"));
    }
    let resp = app.clone().oneshot(req.body(Body::from(body)).unwrap()).await.unwrap();
    let status = resp.status();
    (status, resp.into_body().collect().await.unwrap().to_bytes().to_vec())
}

async fn post_json(app: &axum::Router, body: String, token: Option<&str>) -> (StatusCode, Value) {
    let (s, b) = post(app, "/api/profile", body, token).await;
    (s, serde_json::from_slice(&b).unwrap_or(Value::Null))
}

fn indicator<'a>(p: &'a Value, name: &str) -> &'a Value {
    p["indicators"].as_array().unwrap().iter().find(|l| l["indicator"] == name).unwrap_or_else(|| panic!("no {name} in {p}"))
}

#[tokio::test]
async fn a_plan_area_over_two_deso_gets_shares_population_and_values_as_computed_by_hand() {
    let (_f, app) = service();
    // E 660 500–661 500, N 6 590 200–6 590 800: half of the width and 60 % of the height of
    // 0163C9001 and of 0163C9002, so each share is 0.5 × 0.6 = 0.3, and none of 0163C9003.
    let (s, p) = post_json(&app, rect_wgs84(660_500.0, 6_590_200.0, 661_500.0, 6_590_800.0), Some(ANALYST)).await;
    assert_eq!(s, StatusCode::OK, "{p}");
    let desos: Vec<(&str, f64)> = p["desos"].as_array().unwrap().iter().map(|d| (d["deso"].as_str().unwrap(), d["share"].as_f64().unwrap())).collect();
    assert_eq!(desos.iter().map(|d| d.0).collect::<Vec<_>>(), ["0163C9001", "0163C9002"]);
    // The corners went through WGS84 rounded to 1e-7° (about 1 cm): 1e-4 of the share is 10 m².
    for (_, share) in &desos {
        assert!((share - 0.3).abs() < 1e-4, "{desos:?}");
    }
    // Population: 1000 × 0.3 + 2000 × 0.3 = 900.
    assert!((p["population"].as_f64().unwrap() - 900.0).abs() < 0.1, "{}", p["population"]);
    // Low economic standard, weighted by residents × share: (10 · 300 + 20 · 600) / 900 = 16.667;
    // the municipality, by residents: (10 · 1000 + 20 · 2000 + 50 · 500) / 3500 = 21.429.
    let low = indicator(&p, "low_econ");
    assert!((low["value"].as_f64().unwrap() - 15_000.0 / 900.0).abs() < 1e-3, "{low}");
    assert!((low["municipality"].as_f64().unwrap() - 75_000.0 / 3500.0).abs() < 1e-9, "{low}");
    assert_eq!(low["method"], "population_mean");
    assert_eq!(low["label_sv"], "Låg ekonomisk standard");
    // Rental dwellings are counted: 100 · 0.3 + 300 · 0.3 = 120.
    let rent = indicator(&p, "tenure_hyresratt");
    assert!((rent["value"].as_f64().unwrap() - 120.0).abs() < 0.01, "{rent}");
    assert_eq!(rent["method"], "sum");
    // An indicator no catalogue lists is there under its own name.
    assert_eq!(indicator(&p, "nojd_pct")["label_sv"], "nojd_pct");
    assert_eq!(p["regsos"][0]["regso"], "0163R901");
    assert_eq!(p["incidents_total"], 8);
    assert!(low["warning"].is_null(), "{low}");
}

#[tokio::test]
async fn a_plan_area_over_a_sliver_of_a_deso_says_so_on_every_value() {
    let (_f, app) = service();
    // 100 m × 600 m of 0163C9003's 1 km²: a share of 0.06.
    let (s, p) = post_json(&app, rect_wgs84(662_100.0, 6_590_200.0, 662_200.0, 6_590_800.0), None).await;
    assert_eq!(s, StatusCode::OK, "{p}");
    assert_eq!(p["desos"][0]["sliver"], true);
    assert!(indicator(&p, "low_econ")["warning"].as_str().unwrap().contains("6 %"), "{p}");
    assert!(p["warnings"].to_string().contains("mindre än 10 %"), "{}", p["warnings"]);
}

#[tokio::test]
async fn small_incident_counts_inside_a_plan_area_are_hidden_from_the_public_and_shown_to_analysts() {
    let (_f, app) = service();
    let body = rect_wgs84(660_500.0, 6_590_200.0, 661_500.0, 6_590_800.0);
    let (_, public) = post_json(&app, body.clone(), None).await;
    let (_, analyst) = post_json(&app, body, Some(ANALYST)).await;
    let count = |p: &Value, cat: &str| p["incidents_by_category"].as_array().unwrap().iter().find(|c| c["category"] == cat).map(|c| c["count"].clone());
    // Three klotter are under the threshold of 5; five inbrott are not.
    assert_eq!(count(&analyst, "klotter"), Some(Value::from(3)));
    assert_eq!(count(&public, "klotter"), Some(Value::Null));
    assert_eq!(count(&public, "inbrott"), Some(Value::from(5)));
    let csv = String::from_utf8(post(&app, "/api/profile?format=csv", rect_wgs84(660_500.0, 6_590_200.0, 661_500.0, 6_590_800.0), None).await.1).unwrap();
    assert!(csv.contains("händelser;Klotter;–;"), "{csv}");
    assert!(csv.contains("händelser;Inbrott;5;"), "{csv}");
}

#[tokio::test]
async fn plan_areas_that_are_too_large_too_detailed_outside_or_not_polygons_get_a_json_4xx() {
    let (_f, app) = service();
    let mut many = String::from(r#"{"type":"Polygon","coordinates":[["#);
    for k in 0..20_000 {
        let a = k as f64 / 20_000.0 * std::f64::consts::TAU;
        many.push_str(&format!("[{},{}],", 17.9 + 0.01 * a.cos(), 59.43 + 0.005 * a.sin()));
    }
    many.push_str("[17.91,59.43]]]}");
    let far = rect_wgs84(700_000.0, 6_590_000.0, 701_000.0, 6_591_000.0);
    let huge = rect_wgs84(640_000.0, 6_570_000.0, 690_000.0, 6_620_000.0);
    let cases = [
        (many, StatusCode::PAYLOAD_TOO_LARGE, "vertices"),
        (huge, StatusCode::PAYLOAD_TOO_LARGE, "spans"),
        (far, StatusCode::UNPROCESSABLE_ENTITY, "touches none"),
        (r#"{"type":"Point","coordinates":[17.9,59.4]}"#.to_string(), StatusCode::BAD_REQUEST, "Polygon"),
        ("not json".to_string(), StatusCode::BAD_REQUEST, "GeoJSON"),
    ];
    for (body, want, text) in cases {
        let (s, b) = post(&app, "/api/profile", body, None).await;
        let v: Value = serde_json::from_slice(&b).expect("a JSON body");
        assert_eq!(s, want, "{v}");
        assert!(v["description"].as_str().unwrap().contains(text), "{v}");
    }
    let (s, _) = post(&app, "/api/profile?format=pdf", rect_wgs84(660_500.0, 6_590_200.0, 661_500.0, 6_590_800.0), None).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn the_html_is_a_konsekvensanalys_starting_document_with_the_facts_filled_in() {
    let (_f, app) = service();
    let (s, b) = post(&app, "/api/profile?format=html&name=Kv.%20Testet", rect_wgs84(660_500.0, 6_590_200.0, 661_500.0, 6_590_800.0), None).await;
    assert_eq!(s, StatusCode::OK);
    let html = String::from_utf8(b).unwrap();
    assert!(html.contains("Social lägesbild: Kv. Testet"));
    assert!(html.contains("Social konsekvensanalys – underlag"));
    assert!(html.contains("Låg ekonomisk standard: 16,67"), "the fact under its heading");
    assert!(html.contains("<b>Bedömning:</b>"));
}

#[tokio::test]
async fn every_indicator_in_the_store_is_listed_with_its_catalogue_label() {
    let (_f, app) = service();
    let resp = app.clone().oneshot(Request::get("/api/indicators").body(Body::empty()).unwrap()).await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let v: Value = serde_json::from_slice(&resp.into_body().collect().await.unwrap().to_bytes()).unwrap();
    let list = v["indicators"].as_array().unwrap();
    let get = |n: &str| list.iter().find(|i| i["name"] == n).unwrap_or_else(|| panic!("{n} missing: {v}"));
    assert_eq!(get("low_econ")["label_with_unit"], "Låg ekonomisk standard (%)");
    assert_eq!(get("nojd_pct")["years"], serde_json::json!([2024]));
    assert_eq!(get("share_hyresratt")["aggregate"], "population_mean");
}

#[test]
fn the_command_line_reads_a_plan_area_from_a_geopackage_in_sweref() {
    let (f, _) = service();
    let gj = f.write(
        "plan.geojson",
        r#"{"type":"FeatureCollection","crs":{"type":"name","properties":{"name":"urn:ogc:def:crs:EPSG::3006"}},"features":[{"type":"Feature","properties":{},
        "geometry":{"type":"Polygon","coordinates":[[[660500,6590200],[661500,6590200],[661500,6590800],[660500,6590800],[660500,6590200]]]}}]}"#,
    );
    let gpkg = f.dir.path().join("plan.gpkg");
    let st = std::process::Command::new("ogr2ogr").args(["-f", "GPKG"]).arg(&gpkg).arg(&gj).status().expect("ogr2ogr (GDAL) is installed");
    assert!(st.success());
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_lagesbild"))
        .arg("--store")
        .arg(f.store.path())
        .args(["profile", "--area"])
        .arg(&gpkg)
        .args(["--format", "json"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let p: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(p["name"], "plan");
    // No WGS84 round trip here: the shares are exact.
    assert!((p["desos"][0]["share"].as_f64().unwrap() - 0.3).abs() < 1e-9, "{}", p["desos"]);
    assert!((indicator(&p, "low_econ")["value"].as_f64().unwrap() - 15_000.0 / 900.0).abs() < 1e-9);
}

#[tokio::test]
async fn survey_answers_show_women_and_men_side_by_side_with_intervals_and_a_small_sample_warning() {
    let f = Fixture::with_areas();
    let p = f.write(
        "trygg.csv",
        "geografi;område;fråga;år;kön;ålder;n;andel\n\
         lokalpolisområde;Sollentuna;trygg_kvall;2024;kvinna;alla;100;50\n\
         lokalpolisområde;Sollentuna;trygg_kvall;2024;man;alla;25;80\n",
    );
    let cfg = lagesbild::api::ServiceConfig { surveys: Some(p), ..Default::default() };
    let app = lagesbild::app(lagesbild::AppState::new(&f.store, cfg, Tokens::default()).unwrap());
    let resp = app.oneshot(Request::get("/api/surveys?area=Sollentuna").body(Body::empty()).unwrap()).await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let v: Value = serde_json::from_slice(&resp.into_body().collect().await.unwrap().to_bytes()).unwrap();
    let g = &v["surveys"][0];
    // Wilson 95 % of 50/100: statsmodels' proportion_confint(50, 100, method="wilson") = (0.40383, 0.59617).
    assert!((g["women"]["ci_low_pct"].as_f64().unwrap() - 40.383_153).abs() < 1e-5, "{g}");
    assert_eq!(g["women"]["small_sample"], false);
    assert_eq!(g["men"]["small_sample"], true);
    assert!(g["men"]["warning"].as_str().unwrap().contains("n = 25 < 30"), "{g}");
}

#[tokio::test]
async fn a_zipped_shapefile_posted_as_the_body_is_read_as_the_plan_area() {
    let (f, app) = service();
    let gj = f.write(
        "plan.geojson",
        r#"{"type":"FeatureCollection","crs":{"type":"name","properties":{"name":"urn:ogc:def:crs:EPSG::3006"}},"features":[{"type":"Feature","properties":{},
        "geometry":{"type":"Polygon","coordinates":[[[660500,6590200],[661500,6590200],[661500,6590800],[660500,6590800],[660500,6590200]]]}}]}"#,
    );
    let shp_dir = f.dir.path().join("shp");
    std::fs::create_dir_all(&shp_dir).unwrap();
    let st = std::process::Command::new("ogr2ogr")
        .args(["-f", "ESRI Shapefile"])
        .arg(shp_dir.join("plan.shp"))
        .arg(&gj)
        .status()
        .expect("ogr2ogr (GDAL) is installed");
    assert!(st.success());
    // A zip of the Shapefile's parts, as a planner's GIS exports it (stored, no compression).
    let mut zip = zip_stored(&shp_dir);
    let req = Request::post("/api/profile").header("content-type", "application/zip").body(Body::from(std::mem::take(&mut zip))).unwrap();
    let resp = app.clone().oneshot(req).await.unwrap();
    let status = resp.status();
    let p: Value = serde_json::from_slice(&resp.into_body().collect().await.unwrap().to_bytes()).unwrap();
    assert_eq!(status, StatusCode::OK, "{p}");
    assert!((p["desos"][0]["share"].as_f64().unwrap() - 0.3).abs() < 1e-9, "{}", p["desos"]);
}

/// A minimal zip archive (method 0, "stored") of every file in a directory.
fn zip_stored(dir: &std::path::Path) -> Vec<u8> {
    let crc = |data: &[u8]| {
        let mut c = 0xFFFF_FFFFu32;
        for b in data {
            c ^= *b as u32;
            for _ in 0..8 {
                c = if c & 1 == 1 { (c >> 1) ^ 0xEDB8_8320 } else { c >> 1 };
            }
        }
        !c
    };
    let (mut out, mut central, mut count) = (Vec::new(), Vec::new(), 0u16);
    for e in std::fs::read_dir(dir).unwrap() {
        let path = e.unwrap().path();
        let (name, data) = (path.file_name().unwrap().to_string_lossy().into_owned(), std::fs::read(&path).unwrap());
        let (offset, sum, len) = (out.len() as u32, crc(&data), data.len() as u32);
        let head = |sig: u32, central: bool| {
            let mut h = sig.to_le_bytes().to_vec();
            if central {
                h.extend(20u16.to_le_bytes());
            }
            for v in [20u16, 0, 0, 0, 0] {
                h.extend(v.to_le_bytes());
            }
            for v in [sum, len, len] {
                h.extend(v.to_le_bytes());
            }
            h.extend((name.len() as u16).to_le_bytes());
            h.extend(0u16.to_le_bytes());
            if central {
                for v in [0u16, 0, 0] {
                    h.extend(v.to_le_bytes());
                }
                h.extend(0u32.to_le_bytes());
                h.extend(offset.to_le_bytes());
            }
            h.extend(name.as_bytes());
            h
        };
        out.extend(head(0x0403_4b50, false));
        out.extend(&data);
        central.extend(head(0x0201_4b50, true));
        count += 1;
    }
    let (cd_offset, cd_len) = (out.len() as u32, central.len() as u32);
    out.extend(central);
    out.extend(0x0605_4b50u32.to_le_bytes());
    for v in [0u16, 0, count, count] {
        out.extend(v.to_le_bytes());
    }
    out.extend(cd_len.to_le_bytes());
    out.extend(cd_offset.to_le_bytes());
    out.extend(0u16.to_le_bytes());
    out
}

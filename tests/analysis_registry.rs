//! The analysis registry: every registered analysis gives the same fields through
//! `lagesbild stats …` and `GET /analysis/{id}`, because both read the one declaration; unknown
//! analyses and bad parameters get a JSON error.

mod common;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use common::{crs3006, Fixture};
use http_body_util::BodyExt;
use lagesbild::analysis::{Needs, REGISTRY};
use lagesbild::import::{ImportKind, ImportOptions};
use serde_json::Value;
use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;
use tower::ServiceExt;

const ANALYST: &str = "analyst-token";

/// The three fixture areas with an indicator, and 90 incidents in two clusters over 20 weeks
/// (more than the 60 that optimized hot spots need).
fn fixture() -> (Fixture, axum::Router) {
    let f = Fixture::with_areas();
    let mut csv = String::from("id;kategori;datum;e;n\n");
    for k in 0..90 {
        let (e, n) = if k < 60 {
            (660_100.0 + (k % 10) as f64 * 13.0, 6_590_100.0 + (k / 10) as f64 * 11.0)
        } else {
            (661_000.0 + (k % 30) as f64 * 61.0, 6_590_500.0 + (k % 7) as f64 * 47.0)
        };
        let day = chrono::NaiveDate::from_ymd_opt(2025, 1, 6).unwrap() + chrono::Duration::days((k % 20) as i64 * 7 + k as i64 % 5);
        csv.push_str(&format!("I{k};{};{day};{e};{n}\n", if k % 3 == 0 { "Klotter" } else { "Inbrott" }));
    }
    f.import(ImportKind::Incidents, &f.write("inc.csv", &csv), &crs3006()).unwrap();
    let ind = f.write("ind.csv", "code;low_econ\n0163C9001;12.5\n0163C9002;30\n0163C9003;7.25\n");
    f.import(ImportKind::Indicators, &ind, &ImportOptions { year: Some(2024), source_label: Some("test".into()), ..Default::default() }).unwrap();
    // As an analyst: every count shown, so the fields are exactly the declared ones.
    let tokens = lagesbild::api::auth::Tokens::from_env_value(&format!("analyst:{ANALYST}")).unwrap();
    let state = lagesbild::AppState::new(&f.store, Default::default(), tokens).unwrap();
    let app = lagesbild::app(state);
    (f, app)
}

async fn get(app: &axum::Router, uri: &str) -> (StatusCode, String, Value) {
    let req = Request::get(uri).header("Authorization", format!("Bearer {ANALYST}"));
    let resp = app.clone().oneshot(req.body(Body::empty()).unwrap()).await.unwrap();
    let status = resp.status();
    let ctype = resp.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or("").to_string();
    let body = resp.into_body().collect().await.unwrap().to_bytes();
    (status, ctype, serde_json::from_slice(&body).unwrap_or(Value::Null))
}

/// The same three areas as a file for the command line, with the indicator, incident counts
/// and residents as fields (only the names of the fields the analyses add are compared).
fn area_file(dir: &Path) -> std::path::PathBuf {
    let p = dir.join("areas.geojson");
    let sq = |x0: i64| format!("[[[{x0},6590000],[{},6590000],[{},6591000],[{x0},6591000],[{x0},6590000]]]", x0 + 1000, x0 + 1000);
    let feats: Vec<String> = [(660000, "0163C9001", 12.5, 60, 1000), (661000, "0163C9002", 30.0, 30, 2000), (662000, "0163C9003", 7.25, 0, 500)]
        .iter()
        .map(|(x0, code, v, n, pop)| {
            format!(
                r#"{{"type":"Feature","properties":{{"code":"{code}","low_econ":{v},"n":{n},"pop":{pop}}},"geometry":{{"type":"Polygon","coordinates":{}}}}}"#,
                sq(*x0)
            )
        })
        .collect();
    let text = format!(
        r#"{{"type":"FeatureCollection","crs":{{"type":"name","properties":{{"name":"urn:ogc:def:crs:EPSG::3006"}}}},"features":[{}]}}"#,
        feats.join(",")
    );
    std::fs::write(&p, text).unwrap();
    p
}

/// Runs `lagesbild stats …` for an analysis and returns the columns it added, or for Moran the
/// keys of the JSON it printed.
fn cli_fields(id: &str, store: &Path, dir: &Path) -> BTreeSet<String> {
    let areas = area_file(dir);
    let out = dir.join(format!("{id}.geojson"));
    let classes = dir.join("classes.geojson");
    let (a, o, c) = (areas.to_str().unwrap(), out.to_str().unwrap(), classes.to_str().unwrap());
    let args: Vec<&str> = match id {
        "hotspots" => vec!["hotspots", "--output", o],
        "density" => vec!["kde", "--output", o, "--classes", c],
        "emerging" => vec!["emerging", "--output", o],
        "rates" => vec!["rates", a, "--events", "n", "--population", "pop", "--output", o],
        "moran" => vec!["moran", a, "--field", "low_econ", "--permutations", "9"],
        other => vec![other, a, "--field", "low_econ", "--permutations", "9", "--output", o],
    };
    let run = Command::new(env!("CARGO_BIN_EXE_lagesbild")).arg("--store").arg(store).arg("stats").args(&args).output().unwrap();
    assert!(run.status.success(), "stats {id}: {}", String::from_utf8_lossy(&run.stderr));
    if id == "moran" {
        let v: Value = serde_json::from_slice(&run.stdout).unwrap();
        return v.as_object().unwrap().keys().cloned().collect();
    }
    let table = if id == "density" { &classes } else { &out };
    let data = lagesbild::io::read_source(table, &Default::default()).unwrap();
    let input: BTreeSet<&str> = ["code", "low_econ", "n", "pop"].into();
    data.columns.into_iter().filter(|c| !input.contains(c.as_str())).collect()
}

/// The API's query for an analysis: an indicator for area values, permutations kept small.
fn api_query(needs: Needs) -> &'static str {
    match needs {
        Needs::Points => "",
        Needs::AreaValues => "?indicator=low_econ&permutations=9",
        Needs::AreaRates => "?permutations=9",
    }
}

#[tokio::test]
async fn every_registered_analysis_gives_the_same_fields_on_the_command_line_and_through_the_api() {
    let (f, app) = fixture();
    for a in REGISTRY {
        let about = a.about();
        let declared: BTreeSet<String> = about.fields.iter().map(|f| f.name.to_string()).collect();
        let (status, _, body) = get(&app, &format!("/analysis/{}{}", about.id, api_query(about.needs))).await;
        assert_eq!(status, StatusCode::OK, "{}: {body}", about.id);
        let dir = tempfile::tempdir().unwrap();
        let cli = cli_fields(about.id, f.store.path(), dir.path());
        if about.id == "moran" {
            // A global statistic: no rows; the command prints what the API returns as parameters.
            assert!(declared.is_empty() && body["features"].as_array().unwrap().is_empty());
            let mut api: BTreeSet<String> = body["parameters"].as_object().unwrap().keys().cloned().collect();
            // The service also records which indicator it read; the command line read a field.
            assert!(api.remove("indicator"), "{body}");
            assert_eq!(cli, api, "moran");
            assert!(cli.contains("I") && cli.contains("p_sim"), "{cli:?}");
            continue;
        }
        let features = body["features"].as_array().unwrap();
        assert!(!features.is_empty(), "{}: no features in {body}", about.id);
        for feature in features {
            let api: BTreeSet<String> =
                feature["properties"].as_object().unwrap().keys().filter(|k| !["deso", "value"].contains(&k.as_str())).cloned().collect();
            assert_eq!(api, declared, "{}: API fields", about.id);
        }
        assert_eq!(cli, declared, "{}: CLI columns", about.id);
    }
}

#[tokio::test]
async fn the_api_hotspots_carry_gi_p_as_the_command_line_does() {
    let (_f, app) = fixture();
    for uri in ["/analysis/hotspots", "/analysis/hotspots?cell=100"] {
        let (status, _, body) = get(&app, uri).await;
        assert_eq!(status, StatusCode::OK, "{uri}: {body}");
        let p = &body["features"][0]["properties"];
        assert!(p["gi_p"].as_f64().is_some_and(|p| (0.0..=1.0).contains(&p)), "{uri}: {p}");
    }
}

#[tokio::test]
async fn an_unknown_analysis_is_a_404_with_a_json_body_naming_the_known_ones() {
    let (_f, app) = fixture();
    let (status, ctype, body) = get(&app, "/analysis/kriging").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(ctype.starts_with("application/problem+json"), "{ctype}");
    let d = body["description"].as_str().unwrap();
    assert!(d.contains("kriging") && d.contains("hotspots") && d.contains("moran"), "{d}");
}

#[tokio::test]
async fn bad_parameters_are_a_400_with_a_json_body_saying_what_is_wrong() {
    let (_f, app) = fixture();
    let cases = [
        ("/analysis/hotspots?cell=abc", "not a number"),
        ("/analysis/hotspots?cell=10", "must lie in"),
        ("/analysis/hotspots?colour=red", "unknown query parameter 'colour'"),
        // The command line's neighbourhood distance is not offered by the service: its work is unbounded.
        ("/analysis/emerging?distance=100000", "unknown query parameter 'distance'"),
        ("/analysis/lisa", "needs indicator=NAME"),
        ("/analysis/gi?indicator=nothing", "indicator 'nothing' is missing"),
        ("/analysis/gi?indicator=low_econ&star=perhaps", "not true or false"),
        ("/analysis/rates?indicator=low_econ", "unknown query parameter 'indicator'"),
    ];
    for (uri, says) in cases {
        let (status, ctype, body) = get(&app, uri).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{uri}: {body}");
        assert!(ctype.starts_with("application/problem+json"), "{uri}: {ctype}");
        let d = body["description"].as_str().unwrap_or_default();
        assert!(d.contains(says), "{uri}: {d}");
    }
}

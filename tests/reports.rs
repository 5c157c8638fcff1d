//! The EST report and the yearly lägesbild for the demo data: made by the binary as PDF through
//! headless Chromium, read back with poppler's pdftotext/pdfinfo, sections and numbers checked
//! against the store; and the same reports over HTTP for analysts only.

use axum::body::Body;
use axum::http::{Request, StatusCode};
use geo::Intersects;
use http_body_util::BodyExt;
use lagesbild::store::{GpkgStore, Store};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use tower::ServiceExt;

fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_lagesbild")
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn run(store: &Path, args: &[&str]) {
    let out = Command::new(bin()).current_dir(root()).arg("--store").arg(store).args(args).output().unwrap();
    assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
}

/// One demo store for every test here (the imports of .ci/demo that the reports read).
fn demo() -> &'static Path {
    static DIR: OnceLock<tempfile::TempDir> = OnceLock::new();
    let dir = DIR.get_or_init(|| {
        let d = tempfile::tempdir().unwrap();
        let s = d.path().join("demo.gpkg");
        run(&s, &["import", "areas", "geodata/sollentuna_deso2025.geojson"]);
        run(
            &s,
            &[
                "import",
                "indicators",
                "geodata/sollentuna_deso2025_indicators.csv",
                "--year",
                "2024",
                "--column-year",
                "pop=2025,young=2025,foreign=2025,higher_ed=2025",
                "--source",
                "SCB",
            ],
        );
        run(&s, &["import", "indicators", "geodata/sollentuna_crowding_ILLUSTRATIVE.csv", "--source", "ILLUSTRATIV, ej SCB-data"]);
        run(&s, &["import", "indicators", "geodata/baseline_2021_ILLUSTRATIVE.csv", "--source", "ILLUSTRATIV basår 2021, ej SCB-data"]);
        run(&s, &["import", "incidents", "geodata/incidents_synthetic_sollentuna.csv", "--crs", "EPSG:3006"]);
        run(&s, &["import", "places", "geodata/kommundelar_sollentuna_ILLUSTRATIVE.geojson", "--kind", "kommundel"]);
        d
    });
    Box::leak(Box::new(dir.path().join("demo.gpkg")))
}

fn pdf_text(pdf: &Path) -> String {
    let out = Command::new("pdftotext").arg("-layout").arg(pdf).arg("-").output().expect("pdftotext (poppler-utils) is installed");
    assert!(out.status.success());
    String::from_utf8(out.stdout).unwrap()
}

fn pdf_pages_and_size(pdf: &Path) -> (u32, String) {
    let out = Command::new("pdfinfo").arg(pdf).output().expect("pdfinfo (poppler-utils) is installed");
    let info = String::from_utf8_lossy(&out.stdout).to_string();
    let field = |k: &str| info.lines().find(|l| l.starts_with(k)).map(|l| l[k.len()..].trim().to_string()).unwrap_or_default();
    (field("Pages:").parse().unwrap(), field("Page size:"))
}

/// Incidents on days `from..=to` whose area (by the join's documented rule: of the areas holding
/// the point, boundary included, the one whose DeSO code sorts first) is one of `codes`, or any
/// area of the newest edition; counted here with a plain point-in-polygon test.
fn count_in(store: &GpkgStore, codes: Option<&[String]>, from: &str, to: &str) -> usize {
    let areas: Vec<_> = store.areas().unwrap().into_iter().filter(|a| a.version == "2025").collect();
    let (from, to) = (from.parse::<chrono::NaiveDate>().unwrap(), to.parse::<chrono::NaiveDate>().unwrap());
    store
        .incidents()
        .unwrap()
        .iter()
        .filter(|i| (from..=to).contains(&i.occurred_at.date()) && i.precision.is_point_statistic())
        .filter_map(|i| areas.iter().filter(|a| a.geometry.intersects(&i.location)).map(|a| a.deso.clone()).min())
        .filter(|d| codes.is_none_or(|c| c.contains(d)))
        .count()
}

fn save_copy(pdf: &Path, name: &str) {
    let dir = root().join("target").join("reports");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::copy(pdf, dir.join(name)).unwrap();
}

#[test]
fn the_est_report_for_march_2026_prints_to_a4_pdf_with_its_sections_and_the_stores_counts() {
    let store_path = demo();
    let dir = tempfile::tempdir().unwrap();
    let (pdf, json) = (dir.path().join("est.pdf"), dir.path().join("est.json"));
    run(store_path, &["report", "est", "--period", "2026-03", "--format", "pdf", "--output", pdf.to_str().unwrap()]);
    run(store_path, &["report", "est", "--period", "2026-03", "--format", "json", "--output", json.to_str().unwrap()]);
    save_copy(&pdf, "est-2026-03.pdf");
    let (pages, size) = pdf_pages_and_size(&pdf);
    assert!(pages >= 3, "status, change, actions and sources start on new pages: {pages}");
    assert!(size.ends_with("(A4)"), "A4 (595 × 842 pt): {size}");
    let text = pdf_text(&pdf);
    for section in [
        "EST-rapport mars 2026",
        "Status per område",
        "Förändring sedan förra perioden",
        "Vidtagna åtgärder",
        "Källor och metod",
        "Tureberg",
        "Sollentuna centrum",
    ] {
        assert!(text.contains(section), "missing '{section}' in the PDF text");
    }
    let r: Value = serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
    // March 2026 = ISO weeks 10–13 (their Thursdays are in March): 2 March – 29 March.
    assert_eq!((r["period"]["from"].as_str(), r["period"]["to"].as_str()), (Some("2026-03-02"), Some("2026-03-29")));
    let store = GpkgStore::new(store_path);
    // Sollentuna centrum is RegSO 0163R016, one DeSO in the demo.
    let centrum: Vec<String> = store.areas().unwrap().into_iter().filter(|a| a.regso == "0163R016").map(|a| a.deso).collect();
    let expected = count_in(&store, Some(&centrum), "2026-03-02", "2026-03-29");
    let line = r["areas"].as_array().unwrap().iter().find(|a| a["code"] == "0163R016").unwrap();
    assert_eq!(line["incidents"].as_u64(), Some(expected as u64));
    assert!(expected > 0, "the synthetic cluster at Sollentuna centrum has March incidents");
}

#[test]
fn the_yearly_lagesbild_has_every_section_the_law_asks_for_and_the_municipal_totals_of_the_store() {
    let store_path = demo();
    let dir = tempfile::tempdir().unwrap();
    let (pdf, json, cause) = (dir.path().join("lb.pdf"), dir.path().join("lb.json"), dir.path().join("orsak.txt"));
    std::fs::write(&cause, "Orsaksanalysen pekar på trångboddhet och få mötesplatser för unga i Bagarby.").unwrap();
    let goals = "geodata/goals_sollentuna.json";
    run(
        store_path,
        &[
            "report",
            "lagesbild",
            "--year",
            "2026",
            "--orsaksanalys",
            cause.to_str().unwrap(),
            "--goals",
            goals,
            "--uso",
            "geodata/uso2025_sollentuna_jarva_subset.geojson",
            "--format",
            "pdf",
            "--output",
            pdf.to_str().unwrap(),
        ],
    );
    run(store_path, &["report", "lagesbild", "--year", "2026", "--goals", goals, "--format", "json", "--output", json.to_str().unwrap()]);
    save_copy(&pdf, "lagesbild-2026.pdf");
    let text = pdf_text(&pdf);
    for section in [
        "Lägesbild 2026",
        "Brott och ordningsstörningar per område",
        "Hotspots och deras varaktighet",
        "Social bild och Polisens utsatta områden",
        "Trygghetsvandringar",
        "Orsaksanalys",
        "trångboddhet och få mötesplatser",
        "Åtgärdsplan",
        "Källor och metod",
        "Tureberg",
    ] {
        assert!(text.contains(section), "missing '{section}' in the PDF text");
    }
    let r: Value = serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
    assert_eq!(r["years"], serde_json::json!([2022, 2023, 2024, 2025, 2026]));
    let store = GpkgStore::new(store_path);
    for year in [2024, 2025, 2026] {
        let expected = count_in(&store, None, &format!("{year}-01-01"), &format!("{year}-12-31"));
        assert_eq!(r["municipality"]["counts"][year.to_string()].as_u64(), Some(expected as u64), "{year}");
        // The chart of yearly totals labels each bar "N händelser".
        assert!(text.contains(&format!("{expected} händelser")), "{year}'s total {expected} is printed");
    }
    // The demo's illustrative 2021 baseline lets the crowding goals be judged, and says so.
    let goal = r["goals"].as_array().unwrap().iter().find(|g| g["goal"]["name"].as_str().unwrap().starts_with("Minskad trångboddhet i Bagarby")).unwrap();
    assert_eq!(goal["on_track"], true, "{goal}");
    assert!(goal["note"].as_str().unwrap().contains("illustrativt"), "{goal}");
    // The persisted orsaksanalys is the current one for 2026.
    assert!(r["cause_analysis"]["text"].as_str().unwrap().contains("Bagarby"));
}

async fn get(app: &axum::Router, uri: &str, token: Option<&str>) -> (StatusCode, String, Vec<u8>) {
    let mut req = Request::builder().uri(uri);
    if let Some(t) = token {
        req = req.header("Authorization", format!("Bearer {t}"));
    }
    let resp = app.clone().oneshot(req.body(Body::empty()).unwrap()).await.unwrap();
    let ct = resp.headers().get("content-type").map(|v| v.to_str().unwrap().to_string()).unwrap_or_default();
    let (s, b) = (resp.status(), resp.into_body().collect().await.unwrap().to_bytes().to_vec());
    (s, ct, b)
}

#[tokio::test]
async fn reports_over_http_are_for_analysts_and_come_as_pdf_html_or_json() {
    let store = GpkgStore::new(demo());
    let tokens = lagesbild::api::auth::Tokens::from_env_value("analyst:rep-analyst,partner:rep-partner").unwrap();
    let shared = std::sync::Arc::new(store.clone());
    let app = lagesbild::app(lagesbild::AppState::new(&store, Default::default(), tokens).unwrap().with_plan(shared));
    assert_eq!(get(&app, "/api/reports/est?period=2026-W12&format=pdf", None).await.0, StatusCode::UNAUTHORIZED);
    assert_eq!(get(&app, "/api/reports/est?period=2026-W12&format=pdf", Some("rep-partner")).await.0, StatusCode::FORBIDDEN);
    let (s, ct, b) = get(&app, "/api/reports/est?period=2026-W12&format=pdf", Some("rep-analyst")).await;
    assert_eq!((s, ct.as_str()), (StatusCode::OK, "application/pdf"));
    assert!(b.starts_with(b"%PDF"));
    let (s, ct, b) = get(&app, "/api/reports/lagesbild?year=2026&format=html", Some("rep-analyst")).await;
    assert_eq!(s, StatusCode::OK);
    assert!(ct.starts_with("text/html"));
    assert!(String::from_utf8(b).unwrap().contains("<h2>Orsaksanalys</h2>"));
    let (s, _, b) = get(&app, "/api/reports/est?period=2026-T4", Some("rep-analyst")).await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{}", String::from_utf8_lossy(&b));
    assert_eq!(get(&app, "/api/reports/lagesbild?year=tjugo", Some("rep-analyst")).await.0, StatusCode::BAD_REQUEST);
}

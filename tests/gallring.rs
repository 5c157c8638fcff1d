//! Gallring of raw incident points and of old walk text: `lagesbild gallra`, the weekly counts
//! that keep the statistics of thinned weeks, the clear 410 of point analyses reaching into
//! thinned time, the audit log and the import history, on the GeoPackage and on PostGIS.

mod common;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use chrono::NaiveDate;
use common::{crs3006, Fixture};
use http_body_util::BodyExt;
use lagesbild::import::ImportKind;
use lagesbild::picture::{AreaPicture, EstAreas, Level, Rules};
use lagesbild::store::{Backend, GallringPlan, Store, WalkStore};
use lagesbild::walks::{HistoryEntry, Observation, ObservationStatus, Participant, Walk, WalkStatus};
use serde_json::Value;
use std::process::Command;
use tower::ServiceExt;

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_lagesbild"))
}

/// Two points of 2023 and three of 2025 in the westmost fixture square (0163C9001), and one of
/// 2023 in the middle one (0163C9002), Swedish local times.
const INCIDENTS: &str = "id;kategori;datum;e;n\n\
    a1;Klotter;2023-05-02 10:00;660100;6590100\n\
    a2;Skadegörelse;2023-11-20 22:15;660200;6590200\n\
    a3;Klotter;2023-11-21 08:00;661500;6590500\n\
    b1;Klotter;2025-03-10 00:30;660300;6590300\n\
    b2;Klotter;2025-07-07 00:30;660400;6590400\n\
    b3;Klotter;2025-07-08 12:00;660500;6590500\n";

fn with_incidents() -> Fixture {
    let f = Fixture::with_areas();
    f.import(ImportKind::Incidents, &f.write("händelser.csv", INCIDENTS), &crs3006()).unwrap();
    f
}

/// Per DeSO: incidents, counts per category, crude rate, smoothed rate; and the EST weekly
/// statuses of every week, as the picture gives them.
fn statistics(store: &dyn Store) -> (Vec<(String, u64, String, Option<f64>)>, Vec<(String, String, u64, String)>) {
    let p = AreaPicture::from_store(store, Rules::default()).unwrap();
    let areas = p.areas.iter().map(|f| (f.area.deso.clone(), f.incidents, format!("{:?}", f.by_category), f.eb_per_1000)).collect();
    let est = p.est_weeks(EstAreas::Level(Level::Deso), &Default::default()).unwrap();
    let weeks = est.statuses.iter().map(|s| (s.area.clone(), s.iso_week.clone(), s.incidents, format!("{:?}", s.status))).collect();
    (areas, weeks)
}

fn ids(store: &dyn Store) -> Vec<String> {
    let mut v: Vec<String> = store.incidents().unwrap().into_iter().map(|i| i.id).collect();
    v.sort();
    v
}

fn gallra(store: &std::path::Path, args: &[&str]) -> String {
    let out = bin().arg("--store").arg(store).arg("gallra").args(args).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn a_dry_run_of_gallra_prints_what_would_go_and_changes_nothing() {
    let f = with_incidents();
    let before = f.store_hash();
    let out = gallra(f.store.path(), &["--before", "2024-01-01", "--dry-run"]);
    assert!(out.contains("would remove 3 raw points"), "{out}");
    assert!(out.contains("nothing was changed"), "{out}");
    assert_eq!(f.store_hash(), before);
    assert_eq!(ids(&f.store).len(), 6);
    assert!(!f.dir.path().join("store.audit.log").exists(), "a dry run is not audited");
}

#[test]
fn gallra_removes_the_2023_points_and_keeps_their_counts_per_deso_week_and_est_status() {
    let f = with_incidents();
    let (areas_before, weeks_before) = statistics(&f.store);
    let summary_before = summary_csv(&f, "before.csv");
    let out = gallra(f.store.path(), &["--before", "2024-01-01"]);
    assert!(out.contains("removed 3 raw points"), "{out}");
    assert_eq!(ids(&f.store), ["b1", "b2", "b3"]);
    let (areas_after, weeks_after) = statistics(&f.store);
    assert_eq!(areas_after, areas_before);
    assert_eq!(weeks_after, weeks_before);
    assert_eq!(summary_csv(&f, "after.csv"), summary_before, "lagesbild summary: the same rows per DeSO, category and week");
    // 2023-05-02 is the Tuesday of ISO week 18; 2023-11-20 and -21 are Monday and Tuesday of week 47.
    let mut kept: Vec<(String, String, String, u64)> =
        f.store.weekly_counts().unwrap().into_iter().map(|c| (c.deso, c.iso_week, c.category.as_str().to_string(), c.count)).collect();
    kept.sort();
    assert_eq!(
        kept,
        [
            ("0163C9001".into(), "2023-W18".into(), "klotter".into(), 1),
            ("0163C9001".into(), "2023-W47".into(), "skadegorelse".into(), 1),
            ("0163C9002".into(), "2023-W47".into(), "klotter".into(), 1),
        ]
    );
    let audit = std::fs::read_to_string(f.dir.path().join("store.audit.log")).unwrap();
    let entry: Value = serde_json::from_str(audit.lines().last().unwrap()).unwrap();
    assert_eq!((entry["role"].as_str(), entry["gallring"]["points_removed"].as_u64()), (Some("cli"), Some(3)));
    assert_eq!(entry["gallring"]["before"], "2024-01-01");
    let history = f.store.imports().unwrap();
    let g = history.iter().find(|r| r.kind == "gallring").expect("gallring in the import history");
    assert_eq!((g.accepted, g.file_name.as_str()), (3, "gallra --before 2024-01-01"));
    let state = f.store.gallring_state().unwrap();
    assert_eq!((state.thinned_before, state.thinned_weeks), (NaiveDate::from_ymd_opt(2024, 1, 1), 2));
}

/// `lagesbild summary --csv`: the area × category × week table.
fn summary_csv(f: &Fixture, name: &str) -> String {
    let path = f.dir.path().join(name);
    let out = bin().arg("--store").arg(f.store.path()).arg("summary").arg("--csv").arg(&path).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    std::fs::read_to_string(path).unwrap()
}

#[test]
fn the_privacy_report_shows_retention_the_last_gallring_and_the_thinned_weeks() {
    let f = with_incidents();
    gallra(f.store.path(), &["--before", "2024-01-01"]);
    let out = bin()
        .arg("--store")
        .arg(f.store.path())
        .args(["privacy-report", "--format", "json", "--retain-raw-days", "730", "--retain-walk-text-days", "90"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let r: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!((r["retention"]["raw_days"].as_u64(), r["retention"]["walk_text_days"].as_u64()), (Some(730), Some(90)));
    assert_eq!((r["thinned_before"].as_str(), r["thinned_weeks"].as_u64()), (Some("2024-01-01"), Some(2)));
    assert!(r["last_gallring"].as_str().is_some_and(|t| t.ends_with('Z')), "{r}");
    // b1, 2025-03-10 00:30 in Stockholm (winter time), is 2025-03-09 23:30 UTC.
    assert_eq!((r["raw_points_total"].as_u64(), r["oldest_point"].as_str()), (Some(3), Some("2025-03-09T23:30:00.000Z")));
}

#[test]
fn undoing_an_import_whose_points_were_thinned_removes_its_counts_too() {
    let f = with_incidents();
    gallra(f.store.path(), &["--before", "2024-01-01"]);
    let import = f.store.imports().unwrap().into_iter().find(|r| r.kind == "incidents").unwrap();
    let gone = f.store.delete_import(&import.import_id).unwrap().expect("the import exists");
    assert_eq!(gone.removed, 3, "the three 2025 points still stored");
    assert!(ids(&f.store).is_empty());
    assert!(f.store.weekly_counts().unwrap().is_empty(), "no thinned count comes back or stays behind");
    let p = AreaPicture::from_store(&f.store, Rules::default()).unwrap();
    assert!(p.areas.iter().all(|a| a.incidents == 0));
    let gallring = f.store.imports().unwrap().into_iter().find(|r| r.kind == "gallring").unwrap();
    assert!(f.store.delete_import(&gallring.import_id).is_err(), "a gallring cannot be undone");
}

async fn get(app: &axum::Router, path: &str) -> (StatusCode, String, Value) {
    let req = Request::get(path).header("Authorization", "Bearer a-token").body(Body::empty()).unwrap();
    let r = app.clone().oneshot(req).await.unwrap();
    let status = r.status();
    let ct = r.headers().get("content-type").map(|v| v.to_str().unwrap().to_string()).unwrap_or_default();
    let body = r.into_body().collect().await.unwrap().to_bytes();
    (status, ct, serde_json::from_slice(&body).unwrap_or(Value::Null))
}

#[tokio::test]
async fn a_hot_spot_request_reaching_into_thinned_time_gets_a_410_naming_the_gallring_date() {
    let f = with_incidents();
    gallra(f.store.path(), &["--before", "2024-01-01"]);
    let tokens = lagesbild::api::auth::Tokens::from_env_value("analyst:a-token").unwrap();
    let app = lagesbild::app(lagesbild::AppState::new(&f.store, Default::default(), tokens).unwrap());
    let (status, ct, body) = get(&app, "/analysis/hotspots?from=2023-01-01&to=2023-12-31").await;
    assert_eq!(status, StatusCode::GONE, "{body}");
    assert!(ct.starts_with("application/problem+json"), "{ct}");
    assert!(body["detail"].as_str().unwrap().contains("2024-01-01"), "{body}");
    let (status, _, body) = get(&app, "/analysis/density?to=2023-06-30").await;
    assert_eq!(status, StatusCode::GONE, "{body}");
    let (status, _, body) = get(&app, "/analysis/density?from=2024-01-01").await;
    assert_eq!(status, StatusCode::OK, "a period after the gallring date is answered: {body}");
    // The area layer still counts the thinned points: 2 of 2023 and 3 of 2025 in 0163C9001.
    let (status, _, body) = get(&app, "/collections/deso/items").await;
    assert_eq!(status, StatusCode::OK);
    let west = body["features"].as_array().unwrap().iter().find(|x| x["properties"]["deso"] == "0163C9001").unwrap().clone();
    assert_eq!(west["properties"]["incidents"], 5, "{west}");
}

fn t(s: &str) -> chrono::NaiveDateTime {
    chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M").unwrap()
}

fn walk(id: &str, planned: &str, status: WalkStatus) -> Walk {
    Walk {
        id: id.into(),
        title: format!("Vandring {id}"),
        planned_at: t(planned),
        area: "Väst".into(),
        organiser: "Anna Andersson".into(),
        organisations: vec!["Polisen".into()],
        route: geo::LineString::from(vec![(660100.0, 6590100.0), (660900.0, 6590800.0)]),
        status,
        notes: "Ring Anna på 070-1234567".into(),
        created_by: "editor".into(),
        created_at: t(planned),
        updated_by: "editor".into(),
        updated_at: t(planned),
        version: 1,
        participants: vec![Participant { organisation: "Polisen".into(), name: Some("Kontaktpolis Berg".into()) }],
        meeting_point: "Bagarby torg".into(),
        stops: vec![],
        dark_hours: true,
        notes_before: "Fokus: gångvägen".into(),
        notes_after: "Erik Ek tyckte att belysningen var dålig".into(),
    }
}

fn observation(id: &str, walk: &str, at: &str) -> Observation {
    Observation {
        id: id.into(),
        walk_id: walk.into(),
        point: geo::Point::new(660500.0, 6590500.0),
        category: "belysning".into(),
        ratings: [("trygghet".to_string(), 2u8)].into_iter().collect(),
        description: "Mannen i blå jacka bor i porten bredvid".into(),
        responsible: "Tekniska kontoret".into(),
        status: ObservationStatus::Ny,
        off_route: false,
        has_photo: false,
        due: None,
        insats: String::new(),
        client_id: String::new(),
        created_by: "editor".into(),
        created_at: t(at),
        updated_by: "editor".into(),
        updated_at: t(at),
        version: 1,
    }
}

/// One walk held in 2024 (with an observation carrying text and a photo) and one planned walk
/// of the same day; walk text older than 30 days is thinned.
fn walk_text_is_thinned(store: &dyn Backend, run: &dyn Fn(&GallringPlan)) {
    store.insert_walk(&walk("old", "2024-05-02 18:00", WalkStatus::Genomford)).unwrap();
    store.insert_walk(&walk("planned", "2024-05-02 18:00", WalkStatus::Planerad)).unwrap();
    let h = |o: &str, v: i64| HistoryEntry {
        observation_id: o.into(),
        version: v,
        changed_by: "editor".into(),
        changed_at: t("2024-05-02 18:30"),
        changes: "{\"description\":[\"\",\"Mannen i blå jacka\"]}".into(),
    };
    let o = observation("o1", "old", "2024-05-02 18:30");
    store.insert_observation(&o, &h("o1", 1)).unwrap();
    let with_photo = Observation { has_photo: true, version: 2, ..o.clone() };
    store.replace_observation(&with_photo, 1, &h("o1", 2), Some(("image/jpeg", b"\xff\xd8\xff\xe0 not really a jpeg"))).unwrap();
    store.insert_observation(&observation("o2", "planned", "2024-05-02 18:30"), &h("o2", 1)).unwrap();
    let today = chrono::Local::now().date_naive();
    let plan = GallringPlan { before: None, walk_text_before: Some(today - chrono::Duration::days(30)), dry_run: false, by: "cli".into() };
    run(&plan);
    let walks = store.walks().unwrap();
    let old = walks.iter().find(|w| w.id == "old").unwrap();
    assert_eq!((old.organiser.as_str(), old.notes.as_str(), old.notes_before.as_str(), old.notes_after.as_str()), ("", "", "", ""));
    assert_eq!(old.participants, [Participant { organisation: "Polisen".into(), name: None }]);
    assert_eq!((old.status, old.route.0.len(), old.title.as_str()), (WalkStatus::Genomford, 2, "Vandring old"));
    let planned = walks.iter().find(|w| w.id == "planned").unwrap();
    assert_eq!(planned.organiser, "Anna Andersson", "a walk not held yet keeps its text");
    let o1 = store.observations(Some("old")).unwrap().remove(0);
    assert_eq!((o1.description.as_str(), o1.has_photo), ("", false));
    assert_eq!((o1.category.as_str(), o1.ratings.get("trygghet"), o1.status, o1.point), ("belysning", Some(&2), ObservationStatus::Ny, o.point));
    assert!(store.photo("o1").unwrap().is_none());
    assert!(store.history("o1").unwrap().iter().all(|h| !h.changes.contains("blå jacka")));
    let o2 = store.observations(Some("planned")).unwrap().remove(0);
    assert_eq!(o2.description, "Mannen i blå jacka bor i porten bredvid");
}

#[test]
fn observations_of_walks_closed_long_ago_lose_text_names_and_photos_but_keep_their_ratings() {
    let f = with_incidents();
    walk_text_is_thinned(&f.store, &|plan| {
        let r = f.store.gallra(plan).unwrap();
        assert_eq!((r.walks_cleared, r.observations_cleared, r.photos_removed, r.points_removed), (1, 1, 1, 0));
    });
    assert_eq!(ids(&f.store).len(), 6, "walk text gallring leaves the points");
}

#[test]
fn the_postgis_store_thins_out_points_and_walk_text_the_same_way() {
    let pg = common::pg::PgCluster::start();
    let url = pg.database("gallring");
    let f = with_incidents();
    let store = lagesbild::store::open(&url).unwrap();
    lagesbild::store::copy_store(&f.store, &*store, &mut |_| {}).unwrap();
    let (areas_before, weeks_before) = statistics(&*store);
    let dry = bin().args(["--store", &url, "gallra", "--before", "2024-01-01", "--dry-run"]).current_dir(f.dir.path()).output().unwrap();
    assert!(String::from_utf8_lossy(&dry.stdout).contains("would remove 3 raw points"), "{}", String::from_utf8_lossy(&dry.stderr));
    assert_eq!(ids(&*store).len(), 6);
    let out = bin().args(["--store", &url, "gallra", "--before", "2024-01-01"]).current_dir(f.dir.path()).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(ids(&*store), ["b1", "b2", "b3"]);
    assert_eq!(statistics(&*store), (areas_before, weeks_before));
    assert!(store.imports().unwrap().iter().any(|r| r.kind == "gallring" && r.accepted == 3));
    assert_eq!(store.gallring_state().unwrap().thinned_before, NaiveDate::from_ymd_opt(2024, 1, 1));
    let audit = std::fs::read_to_string(f.dir.path().join("lagesbild.audit.log")).unwrap();
    assert!(audit.contains("\"points_removed\":3"), "{audit}");
    let report = bin().args(["--store", &url, "privacy-report", "--format", "json"]).current_dir(f.dir.path()).output().unwrap();
    assert!(report.status.success(), "{}", String::from_utf8_lossy(&report.stderr));
    let r: Value = serde_json::from_slice(&report.stdout).unwrap();
    assert_eq!((r["raw_points_total"].as_u64(), r["thinned_before"].as_str(), r["thinned_weeks"].as_u64()), (Some(3), Some("2024-01-01"), Some(2)));
    assert_eq!(r["raw_points_by_source"][0]["source"], "händelser.csv");
    assert_eq!(r["oldest_point"], "2025-03-09T23:30:00.000Z");
    assert!(r["last_gallring"].as_str().is_some(), "{r}");
    walk_text_is_thinned(&*store, &|plan| {
        store.gallra(plan).unwrap();
    });
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
fn after_gallring_the_store_is_still_a_valid_geopackage_and_its_own_times_are_utc() {
    let f = with_incidents();
    walk_text_is_thinned(&f.store, &|plan| {
        let audit = lagesbild::api::audit::AuditLog::new(Some(f.dir.path().join("store.audit.log")));
        lagesbild::api::audit::gallra(&f.store, &GallringPlan { before: NaiveDate::from_ymd_opt(2024, 1, 1), ..plan.clone() }, &audit).unwrap();
    });
    validate(f.store.path());
    let c = rusqlite::Connection::open(f.store.path()).unwrap();
    let one = |sql: &str| c.query_row(sql, [], |r| r.get::<_, String>(0)).unwrap();
    let utc = |t: &str| t.len() == 24 && t.ends_with('Z') && chrono::DateTime::parse_from_rfc3339(t).is_ok();
    for sql in [
        "SELECT min(imported_at) FROM imports",
        "SELECT max(imported_at) FROM imports",
        "SELECT max(ran_at) FROM gallring",
        "SELECT min(created_at) FROM observations",
        "SELECT min(changed_at) FROM observation_history",
    ] {
        let t = one(sql);
        assert!(utc(&t), "{sql}: {t}");
    }
    // 2024-05-02 18:00 in Stockholm (summer time) is 16:00 UTC; read back as local time.
    assert_eq!(one("SELECT planned_at FROM walks WHERE id = 'old'"), "2024-05-02T16:00:00.000Z");
    assert_eq!(f.store.walks().unwrap().iter().find(|w| w.id == "old").unwrap().planned_at, t("2024-05-02 18:00"));
    let audit = std::fs::read_to_string(f.dir.path().join("store.audit.log")).unwrap();
    assert_eq!(audit.lines().count(), 1);
    assert!(audit.lines().all(|l| serde_json::from_str::<Value>(l).unwrap()["time"].as_str().is_some_and(utc)), "{audit}");
}

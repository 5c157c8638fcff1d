//! One set of store checks, run on both backends: the GeoPackage file and a PostGIS database in a
//! throwaway PostgreSQL cluster (tests/common/pg.rs). Each check takes `&dyn Backend`, so the two
//! stores must behave the same to pass.

mod common;

use chrono::NaiveDate;
use common::pg::PgCluster;
use common::{crs3006, AREAS_3006};
use lagesbild::import::{run_import, ImportKind, ImportOptions};
use lagesbild::store::{copy_store, Backend, GpkgStore, PgStore, Store, WalkRecord, WalkStore, WriteError};
use lagesbild::walks::{HistoryEntry, Observation, ObservationStatus, Walk, WalkStatus};
use std::path::Path;

const INCIDENTS: &str = "id;kategori;datum;rapportör;e;n\nA1;Klotter;2025-03-14 18:30;polis;660500.5;6590500.25\nA2;Inbrott;2025-03-15;polis;661500;6590500\nA3;Klotter;2025-03-16;polis;662500;6590900\n";
/// Row 3 has no northing: the file must be refused as a whole.
const BAD_INCIDENTS: &str = "id;kategori;datum;rapportör;e;n\nB1;Klotter;2025-03-14;polis;660500;6590500\nB2;Klotter;2025-03-14;polis;660500\n";
const INDICATORS: &str = "deso;share_hyresratt;crowding\n0163C9001;40,5;12\n0163C9002;10;8\n0163C9003;75;22\n";

fn write(dir: &Path, name: &str, text: &str) -> std::path::PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

/// Imports the fixture areas, indicators and incidents, each checked against what the store
/// reads back.
fn imports_read_back_the_same(store: &dyn Backend, dir: &Path) {
    let g0 = store.data_generation().unwrap();
    let opts = ImportOptions { deso_version: Some("2025".into()), ..Default::default() };
    run_import(store, ImportKind::Areas, &write(dir, "areas.geojson", AREAS_3006), &opts, &|_, _| {}).unwrap();
    let g1 = store.data_generation().unwrap();
    assert_ne!(g0, g1, "an import changes the data generation");
    let ind = ImportOptions { year: Some(2024), source_label: Some("test".into()), ..Default::default() };
    run_import(store, ImportKind::Indicators, &write(dir, "ind.csv", INDICATORS), &ind, &|_, _| {}).unwrap();
    run_import(store, ImportKind::Incidents, &write(dir, "inc.csv", INCIDENTS), &crs3006(), &|_, _| {}).unwrap();

    let mut areas = store.areas().unwrap();
    areas.sort_by(|a, b| a.deso.cmp(&b.deso));
    assert_eq!(areas.iter().map(|a| a.deso.as_str()).collect::<Vec<_>>(), ["0163C9001", "0163C9002", "0163C9003"]);
    assert_eq!(areas[1].population, Some(2000.0));
    assert_eq!(areas[0].version, "2025");
    // The 1 km squares of AREAS_3006 come back exactly (the fixture's own coordinates).
    use geo::Area as _;
    assert_eq!(areas[2].geometry.unsigned_area(), 1_000_000.0);
    let mut inc = store.incidents().unwrap();
    inc.sort_by(|a, b| a.id.cmp(&b.id));
    assert_eq!(inc.len(), 3);
    assert_eq!((inc[0].location.x(), inc[0].location.y()), (660500.5, 6590500.25));
    assert_eq!(inc[0].occurred_at, NaiveDate::from_ymd_opt(2025, 3, 14).unwrap().and_hms_opt(18, 30, 0).unwrap());
    assert_eq!(inc[1].category.as_str(), "inbrott");
    let values = store.indicators().unwrap();
    assert!(values.iter().any(|v| v.deso == "0163C9001" && v.indicator == "share_hyresratt" && v.value == 40.5 && v.year == 2024), "{values:?}");
    let imports = store.imports().unwrap();
    assert_eq!(imports.iter().map(|r| r.kind.as_str()).collect::<Vec<_>>(), ["areas", "indicators", "incidents"]);
    assert_eq!(imports[2].accepted, 3);
    assert_eq!(store.incident_ids().unwrap().len(), 3);
}

/// A refused file and a repeated file leave every table as it was.
fn refused_imports_change_nothing(store: &dyn Backend, dir: &Path) {
    let (before_inc, before_imp, g) = (store.incidents().unwrap().len(), store.imports().unwrap().len(), store.data_generation().unwrap());
    assert!(run_import(store, ImportKind::Incidents, &write(dir, "bad.csv", BAD_INCIDENTS), &crs3006(), &|_, _| {}).is_err());
    assert!(run_import(store, ImportKind::Incidents, &dir.join("inc.csv"), &crs3006(), &|_, _| {}).is_err(), "the same file twice is refused");
    assert_eq!(store.incidents().unwrap().len(), before_inc);
    assert_eq!(store.imports().unwrap().len(), before_imp);
    assert_eq!(store.data_generation().unwrap(), g);
}

/// Undo removes exactly the import's rows and its record.
fn undo_removes_exactly_one_import(store: &dyn Backend) {
    let rec = store.imports().unwrap().into_iter().find(|r| r.kind == "incidents").unwrap();
    let g = store.data_generation().unwrap();
    let gone = store.delete_import(&rec.import_id).unwrap().expect("the import exists");
    assert_eq!(gone.removed, 3);
    assert!(store.incidents().unwrap().is_empty());
    assert_eq!(store.imports().unwrap().len(), 2);
    assert_ne!(store.data_generation().unwrap(), g);
    assert!(store.delete_import(&rec.import_id).unwrap().is_none());
    assert_eq!(store.areas().unwrap().len(), 3, "other imports stay");
}

fn walk(version: i64, title: &str) -> Walk {
    let t = NaiveDate::from_ymd_opt(2025, 5, 1).unwrap().and_hms_opt(18, 0, 0).unwrap();
    Walk {
        id: "w1".into(),
        title: title.into(),
        planned_at: t,
        area: "Väst".into(),
        organiser: "Kommunen".into(),
        organisations: vec!["Polisen".into(), "Sollentunahem".into()],
        route: geo::LineString::from(vec![(660100.0, 6590100.0), (660900.0, 6590800.0)]),
        status: WalkStatus::Planerad,
        notes: String::new(),
        created_by: "editor".into(),
        created_at: t,
        updated_by: "editor".into(),
        updated_at: t,
        version,
        participants: vec![
            lagesbild::walks::Participant { organisation: "Polisen".into(), name: Some("Kontaktpolis".into()) },
            lagesbild::walks::Participant { organisation: "Sollentunahem".into(), name: None },
        ],
        meeting_point: "Bagarby torg".into(),
        stops: vec![lagesbild::walks::Stop { lon: 17.95, lat: 59.43, look_at: "Belysning vid gångtunneln".into() }],
        dark_hours: true,
        notes_before: "Fokus: gångvägen mot skolan".into(),
        notes_after: String::new(),
    }
}

/// The ETag rule: a write naming a stale version changes nothing and reports the current one.
fn walk_writes_keep_the_version_rule(store: &dyn Backend) {
    store.insert_walk(&walk(1, "Bagarby")).unwrap();
    store.replace_walk(&walk(2, "Bagarby kväll"), 1).unwrap();
    match store.replace_walk(&walk(2, "Förlorare"), 1) {
        Err(WriteError::Conflict { expected: 1, current: 2 }) => {}
        other => panic!("expected a conflict, got {other:?}"),
    }
    let w = store.walks().unwrap();
    assert_eq!((w.len(), w[0].title.as_str(), w[0].version), (1, "Bagarby kväll", 2));
    assert_eq!(w[0].route, walk(1, "").route);
    assert_eq!(w[0].organisations, ["Polisen", "Sollentunahem"]);
    let (planned, read) = (walk(2, ""), &w[0]);
    assert_eq!(
        (&read.participants, &read.meeting_point, read.dark_hours, &read.notes_before),
        (&planned.participants, &planned.meeting_point, true, &planned.notes_before)
    );
    assert_eq!((read.stops.len(), read.stops[0].look_at.as_str()), (1, "Belysning vid gångtunneln"));
    assert!(matches!(store.delete_walk("w1", 1), Err(WriteError::Conflict { .. })));
    assert!(matches!(store.delete_walk("nope", 1), Err(WriteError::NotFound)));
    store.delete_walk("w1", 2).unwrap();
    assert!(store.walks().unwrap().is_empty());
}

fn the_whole_set(store: &dyn Backend, dir: &Path) {
    imports_read_back_the_same(store, dir);
    refused_imports_change_nothing(store, dir);
    undo_removes_exactly_one_import(store);
    walk_writes_keep_the_version_rule(store);
}

#[test]
fn the_geopackage_store_passes_the_store_checks() {
    let dir = tempfile::tempdir().unwrap();
    let store = GpkgStore::new(dir.path().join("s.gpkg"));
    the_whole_set(&store, dir.path());
}

#[test]
fn the_postgis_store_passes_the_same_store_checks() {
    let pg = PgCluster::start();
    let dir = tempfile::tempdir().unwrap();
    let store = PgStore::connect(&pg.database("checks")).unwrap();
    the_whole_set(&store, dir.path());
    // QGIS reads geometry columns from PostGIS's catalogue: each table in EPSG:3006.
    let cols = pg.psql("checks", "SELECT f_table_name || ':' || srid FROM geometry_columns ORDER BY 1");
    assert_eq!(cols.lines().collect::<Vec<_>>(), ["areas:3006", "incidents:3006", "observations:3006", "places:3006", "walks:3006"]);
}

#[test]
fn a_postgis_store_is_migrated_once_and_hides_its_password() {
    let pg = PgCluster::start();
    let url = pg.database("mig");
    // Trust authentication ignores the password; it must still never be shown.
    let with_pw = url.replace("lagesbild@", "lagesbild:hemligt@");
    let a = PgStore::connect(&with_pw).unwrap();
    let b = PgStore::connect(&url).unwrap();
    assert!(a.migrate().unwrap().is_empty() && b.migrate().unwrap().is_empty(), "nothing is left to apply");
    // One row per migration in migrations/postgis/, each applied once.
    assert_eq!(pg.psql("mig", "SELECT count(*) FROM lagesbild_migrations"), lagesbild::store::postgis::MIGRATIONS.len().to_string());
    assert!(!a.describe().contains("hemligt") && a.describe().contains("127.0.0.1"), "{}", a.describe());
    let bad = PgStore::connect(&format!("postgresql://lagesbild:hemligt@127.0.0.1:{}/no_such_db", pg.port)).err().expect("no such database");
    assert!(!bad.to_string().contains("hemligt"), "{bad}");
}

#[test]
fn an_import_through_one_postgis_handle_is_announced_to_another() {
    let pg = PgCluster::start();
    let url = pg.database("watch");
    let (a, b) = (PgStore::connect(&url).unwrap(), PgStore::connect(&url).unwrap());
    let dir = tempfile::tempdir().unwrap();
    let opts = ImportOptions { deso_version: Some("2025".into()), ..Default::default() };
    run_import(&a, ImportKind::Areas, &write(dir.path(), "areas.geojson", AREAS_3006), &opts, &|_, _| {}).unwrap();
    let waiter = std::thread::spawn(move || b.watch(std::time::Duration::from_secs(120)).unwrap());
    // The listener may not be in place yet when the first write commits (a notification sent
    // before LISTEN is not delivered), so imports (each a new file) follow until it has heard one.
    for year in 2000..2100 {
        if waiter.is_finished() {
            break;
        }
        let ind = ImportOptions { year: Some(year), ..Default::default() };
        run_import(&a, ImportKind::Indicators, &write(dir.path(), &format!("ind{year}.csv"), &format!("deso;antal\n0163C9001;{year}\n")), &ind, &|_, _| {})
            .unwrap();
        std::thread::sleep(std::time::Duration::from_millis(300));
    }
    assert!(waiter.join().unwrap(), "the other handle heard of an import");
}

#[test]
fn copy_store_moves_a_geopackage_into_postgis_with_its_provenance() {
    let pg = PgCluster::start();
    let dir = tempfile::tempdir().unwrap();
    let gpkg = GpkgStore::new(dir.path().join("from.gpkg"));
    imports_read_back_the_same(&gpkg, dir.path());
    let to = PgStore::connect(&pg.database("copy")).unwrap();
    let report = copy_store(&gpkg, &to, &mut |_| {}).unwrap();
    assert_eq!((report.imports, report.rows), (3, 3 + 6 + 3), "3 areas, 2 indicators × 3 DeSO, 3 incidents");
    assert_eq!(to.imports().unwrap(), gpkg.imports().unwrap(), "provenance records are the same");
    let key = |v: Vec<lagesbild::model::Incident>| {
        let mut v: Vec<_> = v.into_iter().map(|i| (i.id, i.location.x(), i.location.y(), i.import_id)).collect();
        v.sort_by(|a, b| a.0.cmp(&b.0));
        v
    };
    assert_eq!(key(to.incidents().unwrap()), key(gpkg.incidents().unwrap()));
    // The copy's imports can be undone, so its rows carry their import ids.
    let inc = to.imports().unwrap().into_iter().find(|r| r.kind == "incidents").unwrap();
    assert_eq!(to.delete_import(&inc.import_id).unwrap().unwrap().removed, 3);
    assert!(copy_store(&gpkg, &GpkgStore::new(dir.path().join("from.gpkg")), &mut |_| {}).is_err(), "a store holding imports is not a copy target");
}

/// A small PNG's first bytes stand in for a photo: the stores keep bytes, they never decode them.
const PHOTO: &[u8] = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR fotot fr\xc3\xa5n vandringen";

/// Walk `w1` at version 2 with two observations; the first was edited once (two history
/// entries) and carries a photo.
fn walk_with_findings(store: &dyn Backend) {
    store.insert_walk(&walk(1, "Bagarby")).unwrap();
    store.replace_walk(&walk(2, "Bagarby kväll"), 1).unwrap();
    let t = NaiveDate::from_ymd_opt(2025, 5, 1).unwrap().and_hms_opt(18, 20, 0).unwrap();
    let obs = |id: &str, x: f64| Observation {
        id: id.into(),
        walk_id: "w1".into(),
        point: geo::Point::new(x, 6590400.0),
        category: "belysning".into(),
        ratings: [("belysning".to_string(), 2u8), ("overblick".to_string(), 4u8)].into_iter().collect(),
        description: "Trasig lampa vid gångtunneln".into(),
        responsible: "Kommunen".into(),
        status: ObservationStatus::Ny,
        off_route: false,
        has_photo: false,
        due: NaiveDate::from_ymd_opt(2025, 6, 1),
        insats: String::new(),
        client_id: format!("phone-{id}"),
        created_by: "editor".into(),
        created_at: t,
        updated_by: "editor".into(),
        updated_at: t,
        version: 1,
    };
    let h = |id: &str, version: i64, changes: &str| HistoryEntry {
        observation_id: id.into(),
        version,
        changed_by: "editor".into(),
        changed_at: t,
        changes: changes.into(),
    };
    store.insert_observation(&obs("o1", 660400.0), &h("o1", 1, "{}")).unwrap();
    store.insert_observation(&obs("o2", 660600.0), &h("o2", 1, "{}")).unwrap();
    let edited = Observation { status: ObservationStatus::Tilldelad, has_photo: true, version: 2, ..obs("o1", 660400.0) };
    store.replace_observation(&edited, 1, &h("o1", 2, r#"{"status":["ny","tilldelad"]}"#), Some(("image/png", PHOTO))).unwrap();
}

/// The walk's printed report (HTML, with its photos as data URIs) from what `store` holds.
fn printed_report(store: &dyn Backend) -> String {
    use base64::Engine;
    let w = store.walks().unwrap().into_iter().find(|w| w.id == "w1").expect("the walk is there");
    let obs: Vec<(Observation, [f64; 2])> = store.observations(Some("w1")).unwrap().into_iter().map(|o| (o, [17.95, 59.43])).collect();
    let mut r = lagesbild::walks::report::build(&w, vec![[17.95, 59.43], [17.96, 59.44]], obs, &[], &[], &[], 50.0, (None, None), true, None);
    for id in ["o1", "o2"] {
        if let Some((mime, bytes)) = store.photo(id).unwrap() {
            r.photos.insert(id.into(), format!("data:{mime};base64,{}", base64::engine::general_purpose::STANDARD.encode(bytes)));
        }
    }
    r.today = NaiveDate::from_ymd_opt(2025, 7, 1).unwrap();
    lagesbild::walks::report::to_html(&r)
}

fn walk_record(store: &dyn Backend) -> WalkRecord {
    WalkRecord::read(store, store.walks().unwrap().remove(0)).unwrap()
}

#[test]
fn copy_store_moves_a_walk_with_its_findings_and_photo_both_ways() {
    let pg = PgCluster::start();
    let dir = tempfile::tempdir().unwrap();
    let gpkg = GpkgStore::new(dir.path().join("from.gpkg"));
    imports_read_back_the_same(&gpkg, dir.path());
    walk_with_findings(&gpkg);
    let original = walk_record(&gpkg);
    let o1 = original.observations.iter().find(|o| o.observation.id == "o1").unwrap();
    assert_eq!((original.walk.version, original.observations.len(), o1.history.len()), (2, 2, 2), "the fixture has an edited walk and finding");
    assert_eq!(o1.photo.as_ref().map(|p| p.1.as_slice()), Some(PHOTO));

    let to_pg = PgStore::connect(&pg.database("walkcopy")).unwrap();
    let report = copy_store(&gpkg, &to_pg, &mut |_| {}).unwrap();
    assert_eq!((report.imports, report.walks, report.observations, report.photos), (3, 1, 2, 1));
    assert_eq!(walk_record(&to_pg), original, "ids, versions, history and photo survive the copy into PostGIS");
    assert_eq!(printed_report(&to_pg), printed_report(&gpkg));
    assert!(printed_report(&gpkg).contains("data:image/png;base64,"), "the report shows the photo");

    let back = GpkgStore::new(dir.path().join("back.gpkg"));
    copy_store(&to_pg, &back, &mut |_| {}).unwrap();
    assert_eq!(walk_record(&back), original, "and back into a GeoPackage");
    assert_eq!(printed_report(&back), printed_report(&gpkg));
    // The copy keeps the version rule: a stale write still loses.
    assert!(matches!(back.replace_walk(&walk(3, "x"), 1), Err(WriteError::Conflict { expected: 1, current: 2 })));
    let only_walks = GpkgStore::new(dir.path().join("walks.gpkg"));
    walk_with_findings(&only_walks);
    assert!(copy_store(&gpkg, &only_walks, &mut |_| {}).is_err(), "a store holding walks is not a copy target");
}

/// C1 inside 0163C9001; C2 on the border of 0163C9001 and 0163C9002 at E 661 000 (ambiguous, the
/// smaller code wins); C3 inside 0163C9003; C4 100 m east of every area (in no area, still
/// within the 200 m import margin); C5 of area precision (left out of point counts).
/// 2025-03-14/15 fall in ISO week 2025-W11 (10–16 March), 2025-03-24 in 2025-W13.
const COUNTED: &str = "id;kategori;datum;e;n;noggrannhet\n\
                       C1;Klotter;2025-03-14;660500;6590500;exact\n\
                       C2;Klotter;2025-03-15;661000;6590500;exact\n\
                       C3;Inbrott;2025-03-24;662500;6590900;address\n\
                       C4;Inbrott;2025-03-24;663100;6590500;exact\n\
                       C5;Klotter;2025-03-14;661500;6590500;area\n";

fn summary_of(store: &dyn Backend, dir: &Path) -> (lagesbild::summary::Summary, usize) {
    let opts = ImportOptions { deso_version: Some("2025".into()), ..Default::default() };
    run_import(store, ImportKind::Areas, &write(dir, "areas.geojson", AREAS_3006), &opts, &|_, _| {}).unwrap();
    run_import(store, ImportKind::Incidents, &write(dir, "counted.csv", COUNTED), &crs3006(), &|_, _| {}).unwrap();
    let areas = store.areas().unwrap();
    let sel = lagesbild::summary::select_edition(&areas, None);
    let pop = lagesbild::summary::population_by_area(&areas, &store.indicators().unwrap());
    lagesbild::summary::summarise_store(store, &sel, &pop).unwrap()
}

#[test]
fn the_summary_counted_in_sql_on_postgis_equals_the_one_joined_in_rust_on_the_geopackage() {
    let pg = PgCluster::start();
    let dir = tempfile::tempdir().unwrap();
    let gpkg = GpkgStore::new(dir.path().join("s.gpkg"));
    let (g, g_total) = summary_of(&gpkg, dir.path());
    let to = PgStore::connect(&pg.database("counts")).unwrap();
    assert!(to.incident_counts("2025").unwrap().is_some(), "PostGIS counts in SQL");
    assert!(gpkg.incident_counts("2025").unwrap().is_none(), "the GeoPackage leaves counting to Rust");
    let (p, p_total) = summary_of(&to, dir.path());
    let rows =
        |s: &lagesbild::summary::Summary| s.rows.iter().map(|r| format!("{} {} {} {}", r.deso, r.category.as_str(), r.iso_week, r.count)).collect::<Vec<_>>();
    assert_eq!(rows(&g), ["0163C9001 klotter 2025-W11 2", "0163C9003 inbrott 2025-W13 1"], "the hand-derived counts above");
    assert_eq!((g.unassigned, g.ambiguous, g.excluded_imprecise, g_total), (1, 1, 1, 5));
    assert_eq!(rows(&p), rows(&g));
    assert_eq!((p.unassigned, p.ambiguous, p.excluded_imprecise, p_total), (g.unassigned, g.ambiguous, g.excluded_imprecise, g_total));
    assert_eq!(p.rows, g.rows, "rates and populations too");
    assert_eq!(p.area_totals, g.area_totals);
}

//! The streaming incident import: physical line numbers whatever the line ends, the "in
//! Sweden" rule that trusts stored DeSO polygons, files larger than one batch, the rejects of
//! a refused file, and a store that stays a valid GeoPackage after the bulk write.

mod common;

use common::{crs3006, problems, Fixture};
use lagesbild::import::{run_import_with_rejects, ImportKind, ImportOptions};
use lagesbild::store::Store;
use std::fmt::Write as _;
use std::process::Command;

const HEADER: &str = "id;kategori;datum;rapportör;e;n";

fn rows_with(end: &str, rows: &[&str]) -> String {
    std::iter::once(HEADER).chain(rows.iter().copied()).map(|r| format!("{r}{end}")).collect()
}

#[test]
fn a_crlf_file_reports_the_physical_line_of_a_bad_row() {
    let f = Fixture::with_areas();
    let csv = rows_with("\r\n", &["A1;Klotter;2025-03-14;polis;660500;6590500", "A2;Klotter;igår;polis;660500;6590500"]);
    let p = f.write("excel.csv", &csv);
    let e = f.import(ImportKind::Incidents, &p, &crs3006()).expect_err("bad date");
    assert_eq!(problems(e), vec!["excel.csv:3: date 'igår' cannot be read (use 2025-03-14 or 2025-03-14 18:30)"]);
}

#[test]
fn a_file_with_bare_cr_line_ends_reports_the_physical_line_too() {
    let f = Fixture::with_areas();
    let csv = rows_with(
        "\r",
        &["A1;Klotter;2025-03-14;polis;660500;6590500", "A2;Klotter;2025-03-14;polis;660500;6590500", "A3;Ufo;2025-03-14;polis;660500;6590500"],
    );
    let p = f.write("mac.csv", &csv);
    let e = f.import(ImportKind::Incidents, &p, &crs3006()).expect_err("unknown category");
    assert_eq!(problems(e), vec!["mac.csv:4: unknown category label 'Ufo' (add it to a --category-map file or use a canonical name)"]);
}

#[test]
fn a_quoted_field_over_two_lines_and_blank_lines_count_as_physical_lines() {
    let f = Fixture::with_areas();
    let csv = "id;kategori;datum;beskrivning;e;n\r\nA1;Klotter;2025-03-14;\"två\r\nrader\";660500;6590500\r\n\r\nA2;Klotter;igår;;660500;6590500\r\n\nA3;Klotter;2025-03-14;;0;0\n";
    let p = f.write("multi.csv", csv);
    let e = f.import(ImportKind::Incidents, &p, &crs3006()).expect_err("bad date");
    // Header 1, A1 on 2–3, blank 4, A2 on 5, blank 6 (LF alone), A3 on 7.
    let p = problems(e);
    assert_eq!(p[0], "multi.csv:5: date 'igår' cannot be read (use 2025-03-14 or 2025-03-14 18:30)");
    assert!(p[1].starts_with("multi.csv:7: "), "{p:?}");
}

/// DeSO 2062A0010 (Rättvik), cut from SCB's DeSO 2018 (tests/fixtures/deso2018_2062A0010_siljan.geojson,
/// simplified to 50 m), holds part of lake Siljan. E 487 000 N 6 746 600 is on the lake, inside
/// the polygon, and 5.6 km from the generalised county outline (shapely's distance to
/// geodata/lan_sverige.geojson), so the county rule alone calls it outside Sweden.
const SILJAN_ROW: &str = "S1;Klotter;2025-06-01;kommun;487000;6746600";

#[test]
fn a_point_on_a_lake_inside_a_stored_deso_is_in_sweden() {
    let f = Fixture::empty();
    let areas = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/deso2018_2062A0010_siljan.geojson");
    f.import(ImportKind::Areas, &areas, &ImportOptions::default()).expect("Siljan DeSO");
    let p = f.write("siljan.csv", &rows_with("\n", &[SILJAN_ROW]));
    let r = f.import(ImportKind::Incidents, &p, &crs3006()).expect("a point inside a stored DeSO is in Sweden");
    assert_eq!(r.record.accepted, 1);
}

#[test]
fn the_same_lake_point_without_its_deso_in_the_store_is_outside_sweden() {
    let f = Fixture::with_areas();
    let p = f.write("siljan.csv", &rows_with("\n", &[SILJAN_ROW]));
    let e = f.import(ImportKind::Incidents, &p, &crs3006()).expect_err("only the county outline applies");
    assert_eq!(problems(e), vec!["siljan.csv:2: point (487000, 6746600) lies outside Sweden (E 487000 N 6746600 in EPSG:3006)"]);
}

#[test]
fn a_point_150_m_outside_a_stored_area_is_in_sweden_and_one_259_m_out_is_not() {
    let f = Fixture::empty();
    let areas = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/deso2018_2062A0010_siljan.geojson");
    f.import(ImportKind::Areas, &areas, &ImportOptions::default()).expect("Siljan DeSO");
    // The fixture's vertex (487841, 6746573) is its easternmost point. Distances from shapely:
    // E 487991 is 150 m from the polygon and 5,457 m from the county outline; E 488100 is 259 m
    // from the polygon and 5,380 m from the outline.
    let p = f.write("near.csv", &rows_with("\n", &["N1;Klotter;2025-06-01;kommun;487991;6746573"]));
    f.import(ImportKind::Incidents, &p, &crs3006()).expect("within 200 m of a stored DeSO");
    let p = f.write("far.csv", &rows_with("\n", &["F1;Klotter;2025-06-01;kommun;488100;6746573"]));
    let e = f.import(ImportKind::Incidents, &p, &crs3006()).expect_err("259 m from the DeSO, 5.4 km from the outline");
    assert_eq!(problems(e), vec!["far.csv:2: point (488100, 6746573) lies outside Sweden (E 488100 N 6746573 in EPSG:3006)"]);
}

/// `n` valid rows inside fixture area 0163C9001 (E 660000–661000, N 6590000–6591000).
fn many_rows(n: usize) -> String {
    let mut s = String::from("id,category,date,e,n\n");
    for i in 0..n {
        let _ = writeln!(s, "R{i},klotter,2025-01-{:02},{},{}", 1 + i % 28, 660_001 + (i % 997), 6_590_001 + (i / 997) % 997);
    }
    s
}

#[test]
fn a_duplicate_id_across_batches_names_the_first_line() {
    let f = Fixture::with_areas();
    // 40,000 rows cross two batch boundaries; the last row repeats the id on line 12.
    let mut csv = many_rows(40_000);
    csv.push_str("R10,klotter,2025-02-01,660500,6590500\n");
    let p = f.write("big.csv", &csv);
    let e = f.import(ImportKind::Incidents, &p, &crs3006()).expect_err("duplicate");
    assert_eq!(problems(e), vec!["big.csv:40002: duplicate id 'R10'; first at big.csv:12"]);
}

#[test]
fn a_large_import_lands_whole_in_a_valid_geopackage_with_its_spatial_index() {
    let f = Fixture::with_areas();
    let p = f.write("big.csv", &many_rows(40_000));
    let r = f.import(ImportKind::Incidents, &p, &crs3006()).expect("import");
    assert_eq!(r.record.accepted, 40_000);
    assert_eq!(f.store.incidents().unwrap().len(), 40_000);
    let db = rusqlite::Connection::open(f.store.path()).unwrap();
    let q = |sql: &str| -> i64 { db.query_row(sql, [], |r| r.get(0)).unwrap() };
    assert_eq!(q("SELECT count(*) FROM rtree_incidents_geom"), 40_000);
    let check: String = db.query_row("SELECT rtreecheck('rtree_incidents_geom')", [], |r| r.get(0)).unwrap();
    assert_eq!(check, "ok");
    assert_eq!(q("SELECT count(*) FROM sqlite_master WHERE type = 'trigger' AND name = 'rtree_incidents_geom_insert'"), 1);
    assert_eq!(q("SELECT CAST(min_x AS INTEGER) FROM gpkg_contents WHERE table_name = 'incidents'"), 660_001);
    assert_eq!(q("SELECT CAST(max_x AS INTEGER) FROM gpkg_contents WHERE table_name = 'incidents'"), 660_997);
    drop(db);
    // ogrinfo validates the GeoPackage and answers a spatial filter through the R-tree:
    // 0163C9001's south-west 10 m square holds the rows with i % 997 < 10 and i / 997 % 997 < 10.
    let out = Command::new("ogrinfo")
        .args(["-ro", "-so", "-spat", "660000", "6590000", "660010.5", "6590010.5"])
        .arg(f.store.path())
        .arg("incidents")
        .output()
        .expect("ogrinfo");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(text.contains("Feature Count: 100"), "{text}");
    // A second import adds to the packed tree.
    let p = f.write("more.csv", "id,category,date,e,n\nM1,klotter,2025-01-01,660005,6590005\n");
    f.import(ImportKind::Incidents, &p, &crs3006()).expect("second import");
    let db = rusqlite::Connection::open(f.store.path()).unwrap();
    let n: i64 = db
        .query_row("SELECT count(*) FROM rtree_incidents_geom WHERE minx <= 660006 AND maxx >= 660004 AND miny <= 6590006 AND maxy >= 6590004", [], |r| {
            r.get(0)
        })
        .unwrap();
    // M1, and the grid rows with E and N each one of 3 whole metres in the window: 3 × 3.
    assert_eq!(n, 10);
    let check: String = db.query_row("SELECT rtreecheck('rtree_incidents_geom')", [], |r| r.get(0)).unwrap();
    assert_eq!(check, "ok");
}

#[test]
fn a_refused_file_writes_every_problem_to_the_rejects_file_and_changes_nothing() {
    let f = Fixture::with_areas();
    let before = f.store_hash();
    let mut csv = many_rows(20_000);
    for i in 0..120 {
        let _ = writeln!(csv, "B{i},klotter,inte ett datum,660500,6590500");
    }
    let p = f.write("bad.csv", &csv);
    let rejects = f.dir.path().join("bad.rejects.csv");
    let e = run_import_with_rejects(&f.store, ImportKind::Incidents, &p, &crs3006(), Some(&rejects), &|_, _| {}).expect_err("refused");
    assert_eq!(problems(e).len(), 120);
    let text = std::fs::read_to_string(&rejects).unwrap();
    // Header plus one line per problem row.
    assert_eq!(text.lines().count(), 121, "{}", &text[..200.min(text.len())]);
    assert!(text.contains("bad.csv:20121;date 'inte ett datum' cannot be read"));
    assert_eq!(f.store_hash(), before);
}

#[test]
fn a_refused_import_into_a_missing_store_leaves_no_store_behind() {
    let f = Fixture::empty();
    let p = f.write("bad.csv", "id,category,date,e,n\nA1,klotter,igår,660500,6590500\n");
    f.import(ImportKind::Incidents, &p, &crs3006()).expect_err("refused");
    assert!(!f.store.path().exists());
}

//! Every bad-input case of the import: the error names the file and line (or feature) and the
//! reason, and the store is byte-for-byte unchanged afterwards.

mod common;

use common::{crs3006, problems, Fixture};
use lagesbild::import::{ImportError, ImportKind, ImportOptions};
use lagesbild::store::Store;

const GOOD_HEADER: &str = "id;kategori;datum;rapportör;e;n\n";

fn assert_rejected_and_unchanged(f: &Fixture, name: &str, content: &str, opts: &ImportOptions, expect: &[&str]) {
    let before = f.store_hash();
    let p = f.write(name, content);
    let err = f.import(ImportKind::Incidents, &p, opts).expect_err("import must fail");
    let text = match &err {
        ImportError::Invalid { .. } => format!("{err}"),
        other => other.to_string(),
    };
    for e in expect {
        assert!(text.contains(e), "message should contain {e:?}, was:\n{text}");
    }
    assert_eq!(f.store_hash(), before, "the store must be unchanged after a failed import");
}

#[test]
fn a_good_swedish_excel_csv_imports_with_decimal_commas_and_bom() {
    let f = Fixture::with_areas();
    let csv = format!("\u{feff}{GOOD_HEADER}A1;Klotter;2025-03-14 18:30;Sollentunahem;660500,5;6590500,25\nA2;Otrygghetsskapande samlingar;2025-03-15;Polisen;661500;6590500\n");
    let p = f.write("est.csv", &csv);
    let r = f.import(ImportKind::Incidents, &p, &crs3006()).expect("import");
    assert_eq!(r.record.accepted, 2);
    let inc = f.store.incidents().unwrap();
    let a1 = inc.iter().find(|i| i.id == "A1").unwrap();
    assert_eq!((a1.location.x(), a1.location.y()), (660500.5, 6590500.25));
    assert_eq!(a1.category.as_str(), "klotter");
    assert_eq!(a1.reported_by, "bostadsbolag");
    assert_eq!(a1.occurred_at.format("%Y-%m-%d %H:%M").to_string(), "2025-03-14 18:30");
    let a2 = inc.iter().find(|i| i.id == "A2").unwrap();
    assert_eq!(a2.occurred_at.format("%H:%M").to_string(), "00:00", "a date-only value becomes midnight");
    assert_eq!(f.store.imports().unwrap().iter().filter(|r| r.kind == "incidents").count(), 1);
}

#[test]
fn lon_lat_columns_are_reprojected_to_sweref99tm() {
    let f = Fixture::with_areas();
    // 17.9489 E 59.4281 N in SWEREF 99 TM: E 667 277.696, N 6 591 430.355
    // (value from `gdaltransform -s_srs EPSG:4326 -t_srs EPSG:3006`, GDAL 3.6.2).
    let p = f.write("ll.csv", "id,category,date,lon,lat\nP1,klotter,2025-01-01,17.9489,59.4281\n");
    f.import(ImportKind::Incidents, &p, &ImportOptions::default()).expect("import");
    let i = &f.store.incidents().unwrap()[0];
    assert!((i.location.x() - 667_277.696).abs() < 0.01 && (i.location.y() - 6_591_430.355).abs() < 0.01, "{:?}", i.location);
}

#[test]
fn an_explicit_column_mapping_overrides_detection() {
    let f = Fixture::with_areas();
    let p = f.write("m.csv", "Nr;Händelse;När;Östlig;Nordlig\nM1;Inbrott;2025-02-01;660100;6590100\n");
    let mut opts = crs3006();
    for (k, v) in [("id", "Nr"), ("category", "Händelse"), ("date", "När"), ("x", "Östlig"), ("y", "Nordlig")] {
        opts.columns.insert(k.into(), v.into());
    }
    f.import(ImportKind::Incidents, &p, &opts).expect("import");
    assert_eq!(f.store.incidents().unwrap()[0].id, "M1");
}

#[test]
fn import_rejects_an_empty_file_and_keeps_the_store() {
    let f = Fixture::with_areas();
    assert_rejected_and_unchanged(&f, "empty.csv", "", &crs3006(), &["empty.csv", "empty"]);
}

#[test]
fn import_rejects_a_truncated_geojson_and_keeps_the_store() {
    let f = Fixture::with_areas();
    let content = r#"{"type":"FeatureCollection","features":[{"type":"Feature","properties":{"category":"klotter","date":"2025-01-01"},"geometry":{"type":"Point","coordinates":[17.9,59.4"#;
    assert_rejected_and_unchanged(&f, "cut.geojson", content, &ImportOptions::default(), &["cut.geojson", "cannot read"]);
}

#[test]
fn import_rejects_a_file_that_is_not_gis_data() {
    let f = Fixture::with_areas();
    assert_rejected_and_unchanged(&f, "photo.gpkg", "\u{89}PNG not a geopackage", &ImportOptions::default(), &["photo.gpkg", "GDAL cannot open"]);
}

#[test]
fn import_rejects_a_truncated_csv_row_with_its_line() {
    let f = Fixture::with_areas();
    let csv = format!("{GOOD_HEADER}A1;Klotter;2025-03-14;polis;660500;6590500\nA2;Klotter;2025-03-14;polis;660500\n");
    assert_rejected_and_unchanged(&f, "t.csv", &csv, &crs3006(), &["t.csv:3: expected 6 columns, found 5"]);
}

#[test]
fn import_rejects_a_csv_without_coordinate_columns() {
    let f = Fixture::with_areas();
    assert_rejected_and_unchanged(&f, "nocoord.csv", "id;kategori;datum\n1;Klotter;2025-01-01\n", &crs3006(), &["nocoord.csv", "no coordinate columns"]);
}

#[test]
fn import_rejects_non_numeric_coordinates_with_their_line() {
    let f = Fixture::with_areas();
    let csv = format!("{GOOD_HEADER}A1;Klotter;2025-03-14;polis;660500;6590500\nA2;Klotter;2025-03-14;polis;sexhundra;6590500\n");
    assert_rejected_and_unchanged(&f, "nn.csv", &csv, &crs3006(), &["nn.csv:3: coordinates are not numbers (e='sexhundra'"]);
}

#[test]
fn import_rejects_swapped_latitude_and_longitude() {
    let f = Fixture::with_areas();
    let csv = "id,category,date,lon,lat\nS1,klotter,2025-01-01,59.4281,17.9489\n";
    assert_rejected_and_unchanged(&f, "sw.csv", csv, &ImportOptions::default(), &["sw.csv:2: latitude and longitude look swapped"]);
}

#[test]
fn import_rejects_swapped_easting_and_northing() {
    let f = Fixture::with_areas();
    let csv = format!("{GOOD_HEADER}A1;Klotter;2025-03-14;polis;6590500;660500\n");
    assert_rejected_and_unchanged(&f, "swn.csv", &csv, &crs3006(), &["swn.csv:2: easting and northing look swapped"]);
}

#[test]
fn import_rejects_a_point_outside_sweden() {
    let f = Fixture::with_areas();
    // Copenhagen.
    let csv = "id,category,date,lon,lat\nK1,klotter,2025-01-01,12.5683,55.6761\n";
    assert_rejected_and_unchanged(&f, "dk.csv", csv, &ImportOptions::default(), &["dk.csv:2: point (12.5683, 55.6761) lies outside Sweden"]);
}

#[test]
fn import_rejects_projected_coordinates_without_a_crs() {
    let f = Fixture::with_areas();
    let csv = format!("{GOOD_HEADER}A1;Klotter;2025-03-14;polis;660500;6590500\n");
    assert_rejected_and_unchanged(&f, "nocrs.csv", &csv, &ImportOptions::default(), &["nocrs.csv", "have no CRS; pass --crs"]);
}

#[test]
fn import_rejects_duplicate_ids_within_the_file() {
    let f = Fixture::with_areas();
    let csv = format!("{GOOD_HEADER}A1;Klotter;2025-03-14;polis;660500;6590500\nA1;Inbrott;2025-03-15;polis;660600;6590600\n");
    assert_rejected_and_unchanged(&f, "dup.csv", &csv, &crs3006(), &["dup.csv:3: duplicate id 'A1'; first at dup.csv:2"]);
}

#[test]
fn import_rejects_ids_already_in_the_store() {
    let f = Fixture::with_areas();
    let first = f.write("first.csv", &format!("{GOOD_HEADER}A1;Klotter;2025-03-14;polis;660500;6590500\n"));
    f.import(ImportKind::Incidents, &first, &crs3006()).expect("first import");
    let csv = format!("{GOOD_HEADER}B1;Klotter;2025-03-14;polis;660500;6590500\nA1;Klotter;2025-03-16;polis;660500;6590500\n");
    assert_rejected_and_unchanged(&f, "second.csv", &csv, &crs3006(), &["second.csv:3: id 'A1' is already in the store"]);
}

#[test]
fn import_refuses_the_same_file_twice() {
    let f = Fixture::with_areas();
    let csv = format!("{GOOD_HEADER}A1;Klotter;2025-03-14;polis;660500;6590500\n");
    let p = f.write("once.csv", &csv);
    f.import(ImportKind::Incidents, &p, &crs3006()).expect("first import");
    let before = f.store_hash();
    let err = f.import(ImportKind::Incidents, &p, &crs3006()).expect_err("second import of the same bytes");
    assert!(err.to_string().contains("was already imported"), "{err}");
    assert_eq!(f.store_hash(), before);
}

#[test]
fn import_rejects_unparseable_dates_with_their_line() {
    let f = Fixture::with_areas();
    let csv = format!("{GOOD_HEADER}A1;Klotter;igår kväll;polis;660500;6590500\n");
    assert_rejected_and_unchanged(&f, "date.csv", &csv, &crs3006(), &["date.csv:2: date 'igår kväll' cannot be read"]);
}

#[test]
fn import_reports_unknown_category_labels() {
    let f = Fixture::with_areas();
    let csv = format!("{GOOD_HEADER}A1;Ufo-observation;2025-03-14;polis;660500;6590500\n");
    assert_rejected_and_unchanged(&f, "cat.csv", &csv, &crs3006(), &["cat.csv:2: unknown category label 'Ufo-observation'"]);
}

#[test]
fn a_category_map_file_teaches_new_labels() {
    let f = Fixture::with_areas();
    let map = f.write("map.csv", "label;category\nUfo-observation;ovrigt\n");
    let p = f.write("cat.csv", &format!("{GOOD_HEADER}A1;Ufo-observation;2025-03-14;polis;660500;6590500\n"));
    let mut opts = crs3006();
    opts.category_map = Some(lagesbild::model::CategoryMap::with_file(&map).unwrap());
    f.import(ImportKind::Incidents, &p, &opts).expect("import with map");
    let i = &f.store.incidents().unwrap()[0];
    assert_eq!((i.category.as_str(), i.source_label.as_str()), ("ovrigt", "Ufo-observation"));
}

#[test]
fn a_feature_without_geometry_is_named_by_its_index() {
    let f = Fixture::with_areas();
    let gj = r#"{"type":"FeatureCollection","features":[
      {"type":"Feature","properties":{"category":"klotter","date":"2025-01-01"},"geometry":{"type":"Point","coordinates":[17.9489,59.4281]}},
      {"type":"Feature","properties":{"category":"klotter","date":"2025-01-02"},"geometry":null}]}"#;
    assert_rejected_and_unchanged(&f, "nogeom.geojson", gj, &ImportOptions::default(), &["nogeom.geojson:feature 2: missing geometry"]);
}

#[test]
fn skip_invalid_imports_the_good_rows_and_returns_the_rejects() {
    let f = Fixture::with_areas();
    let csv = format!(
        "{GOOD_HEADER}A1;Klotter;2025-03-14;polis;660500;6590500\nA2;Klotter;inte ett datum;polis;660500;6590500\nA3;Inbrott;2025-03-16;polis;661500;6590500\n"
    );
    let p = f.write("mixed.csv", &csv);
    let mut opts = crs3006();
    opts.skip_invalid = true;
    let r = f.import(ImportKind::Incidents, &p, &opts).expect("import with skip");
    assert_eq!((r.record.accepted, r.record.rejected), (2, 1));
    assert_eq!(r.rejects[0].1.location, "mixed.csv:3");
    let rej = f.dir.path().join("rejects.csv");
    lagesbild::import::write_rejects(&rej, &r.rejects).unwrap();
    let text = std::fs::read_to_string(rej).unwrap();
    assert!(text.contains("mixed.csv:3;date 'inte ett datum' cannot be read"), "{text}");
}

#[test]
fn area_import_needs_an_edition_and_rejects_bad_codes_and_duplicates() {
    let f = Fixture::empty();
    let p = f.write("a.geojson", common::AREAS_3006);
    let err = f.import(ImportKind::Areas, &p, &ImportOptions::default()).expect_err("no edition");
    assert!(err.to_string().contains("--deso-version"), "{err}");
    assert!(!f.store.path().exists(), "no store is created by a failed import");

    let dup = common::AREAS_3006.replace("0163C9002", "0163C9001").replace("0163C9003", "0163X9003");
    let p = f.write("dup.geojson", &dup);
    let opts = ImportOptions { deso_version: Some("2025".into()), ..Default::default() };
    let msgs = problems(f.import(ImportKind::Areas, &p, &opts).expect_err("bad areas"));
    assert_eq!(
        msgs,
        vec![
            "dup.geojson:feature 2: duplicate DeSO 0163C9001 (edition 2025); first seen at dup.geojson:feature 1".to_string(),
            "dup.geojson:feature 3: '0163X9003' is not a DeSO code (like 0163C1170)".to_string(),
        ]
    );
}

#[test]
fn areas_already_in_the_store_are_rejected() {
    let f = Fixture::with_areas();
    let before = f.store_hash();
    let p = f.write("again.geojson", &common::AREAS_3006.replace("\"population\":500", "\"population\":501"));
    let opts = ImportOptions { deso_version: Some("2025".into()), ..Default::default() };
    let msgs = problems(f.import(ImportKind::Areas, &p, &opts).expect_err("duplicates against store"));
    assert_eq!(msgs.len(), 3);
    assert!(msgs[0].ends_with("DeSO 0163C9001 (edition 2025) is already in the store"), "{msgs:?}");
    assert_eq!(f.store_hash(), before);
}

/// A bow-tie ring crosses itself.
const BOWTIE: &str = r#"{"type":"FeatureCollection","crs":{"type":"name","properties":{"name":"urn:ogc:def:crs:EPSG::3006"}},"features":[
{"type":"Feature","properties":{"deso":"0163C9100"},"geometry":{"type":"Polygon","coordinates":[[[660000,6590000],[661000,6591000],[661000,6590000],[660000,6591000],[660000,6590000]]]}}]}"#;

#[test]
fn a_self_intersecting_polygon_is_repaired_with_a_warning() {
    let f = Fixture::empty();
    let p = f.write("bowtie.geojson", BOWTIE);
    let opts = ImportOptions { deso_version: Some("2025".into()), ..Default::default() };
    let r = f.import(ImportKind::Areas, &p, &opts).expect("repaired import");
    assert!(r.warnings[0].contains("bowtie.geojson:feature 1: invalid polygon"), "{:?}", r.warnings);
    let a = &f.store.areas().unwrap()[0];
    use geo::{Area, Validation};
    assert!(a.geometry.is_valid());
    assert!((a.geometry.unsigned_area() - 500_000.0).abs() < 1.0, "two triangles of 250 000 m²");
}

#[test]
fn a_self_intersecting_polygon_is_rejected_when_asked() {
    let f = Fixture::with_areas();
    let before = f.store_hash();
    let p = f.write("bowtie.geojson", BOWTIE);
    let opts = ImportOptions { deso_version: Some("2025".into()), reject_invalid_polygons: true, ..Default::default() };
    let msgs = problems(f.import(ImportKind::Areas, &p, &opts).expect_err("rejected"));
    assert!(msgs[0].starts_with("bowtie.geojson:feature 1: invalid polygon"), "{msgs:?}");
    assert_eq!(f.store_hash(), before);
}

#[test]
fn indicator_import_rejects_unknown_deso_codes_and_impossible_shares() {
    let f = Fixture::with_areas();
    let before = f.store_hash();
    let p = f.write("ind.csv", "deso;year;renters;pop\n0163C9001;2024;45,5;1000\n0163C1170;2024;20;1500\n0163C9002;2024;120;2000\n0163C9003;2024;abc;500\n");
    let msgs = problems(f.import(ImportKind::Indicators, &p, &ImportOptions::default()).expect_err("bad indicators"));
    assert_eq!(
        msgs,
        vec![
            "ind.csv:3: unknown DeSO code '0163C1170': not in the store's areas (another DeSO edition?)".to_string(),
            "ind.csv:4: renters: 120 is a share in percent and must lie in 0–100".to_string(),
            "ind.csv:5: renters: 'abc' is not a number".to_string(),
        ]
    );
    assert_eq!(f.store_hash(), before);
}

#[test]
fn tenure_counts_give_shares_and_missing_values_stay_missing() {
    let f = Fixture::with_areas();
    let p = f.write("ten.csv", "code;pop;tenure_hyresratt;tenure_bostadsratt;tenure_aganderatt;tenure_uppgift_saknas;flats\n0163C9001;1000;50;30;20;0;\n");
    let opts = ImportOptions { year: Some(2024), source_label: Some("SCB".into()), ..Default::default() };
    f.import(ImportKind::Indicators, &p, &opts).expect("import");
    let v = f.store.indicators().unwrap();
    let get = |n: &str| v.iter().find(|x| x.indicator == n).map(|x| x.value);
    assert_eq!(get("share_hyresratt"), Some(50.0));
    assert_eq!(get("share_aganderatt"), Some(20.0));
    assert_eq!(get("population"), Some(1000.0));
    assert_eq!(get("flats"), None, "an empty cell is missing, not zero");
    assert!(v.iter().all(|x| x.year == 2024));
}

#[test]
fn areas_import_from_shapefile_flatgeobuf_and_geopackage_alike() {
    // ogr2ogr (GDAL) writes the fixture in each format; the import reads them through OGR.
    for (driver, ext) in [("ESRI Shapefile", "shp"), ("FlatGeobuf", "fgb"), ("GPKG", "gpkg")] {
        let f = Fixture::empty();
        let src = f.write("areas.geojson", common::AREAS_3006);
        let dst = f.dir.path().join(format!("areas.{ext}"));
        let out = std::process::Command::new("ogr2ogr").args(["-f", driver]).arg(&dst).arg(&src).output().expect("ogr2ogr (gdal-bin)");
        assert!(out.status.success(), "{driver}: {}", String::from_utf8_lossy(&out.stderr));
        let opts = ImportOptions { deso_version: Some("2025".into()), ..Default::default() };
        let r = f.import(ImportKind::Areas, &dst, &opts).unwrap_or_else(|e| panic!("{driver}: {e}"));
        assert_eq!(r.record.accepted, 3, "{driver}");
        let areas = f.store.areas().unwrap();
        let a = areas.iter().find(|a| a.deso == "0163C9002").unwrap();
        use geo::Area;
        assert!((a.geometry.unsigned_area() - 1_000_000.0).abs() < 1e-3, "{driver}: 1 km² in EPSG:3006");
        assert_eq!(a.population, Some(2000.0), "{driver}");
    }
}

//! Områdestyp inheritance on the shipped tables, and the social area profile from the demo data.

use lagesbild::classify::omradestyp::{inherit, read_types};
use lagesbild::io::scb::read_key;
use std::path::{Path, PathBuf};
use std::process::Command;

fn geodata(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("geodata").join(name)
}

/// Expected type of every Sollentuna DeSO 2025, read by hand from the shipped SCB tables:
/// `koppling-deso2018-regso2020.csv` (DeSO 2018 → RegSO name; 2025 splits use their 2018 parent)
/// and `regso_socioekonomisk_index_2023.csv` ("Sollentuna (RegSO)",typ).
const SOLLENTUNA: &[(&str, &str, u8)] = &[
    ("0163C1011", "Tegelhagen-Silverdal", 5),
    ("0163C1012", "Tegelhagen-Silverdal", 5),
    ("0163C1020", "Tegelhagen-Silverdal", 5),
    ("0163C1030", "Helenelunds centrum", 4),
    ("0163C1040", "Eriksberg-Fågelsången", 4),
    ("0163C1050", "Edsviken-Kummelby", 5),
    ("0163C1060", "Eriksberg-Fågelsången", 4),
    ("0163C1070", "Töjnan", 5),
    ("0163C1080", "Edsviken-Kummelby", 5),
    ("0163C1090", "Bagarby", 2),
    ("0163C1100", "Bagarby", 2),
    ("0163C1110", "Töjnan", 5),
    ("0163C1120", "Bagarby", 2),
    ("0163C1130", "Falkberget-Södra Sjöberg", 5),
    ("0163C1140", "Nytorp-Hersby-Skansen", 5),
    ("0163C1150", "Sollentuna centrum", 4),
    ("0163C1160", "Knista", 4),
    ("0163C1170", "Sjöbergs centrum", 4),
    ("0163C1180", "Knista", 4),
    ("0163C1190", "Falkberget-Södra Sjöberg", 5),
    ("0163C1200", "Nytorp-Hersby-Skansen", 5),
    ("0163C1210", "Landsnora-Kvarnskogen", 4),
    ("0163C1220", "Häggvik-Klasro", 4),
    ("0163C1230", "Landsnora-Kvarnskogen", 4),
    ("0163C1240", "Häggvik-Klasro", 4),
    ("0163C1250", "Edsberg", 3),
    ("0163C1260", "Edsberg", 3),
    ("0163C1270", "Edsberg", 3),
    ("0163C1280", "Viby-Järvafältet", 5),
    ("0163C1290", "Vaxmora-Väsjön", 4),
    ("0163C1300", "Norrviken", 4),
    ("0163C1311", "Vaxmora-Väsjön", 4),
    ("0163C1312", "Vaxmora-Väsjön", 4),
    ("0163C1320", "Viby-Järvafältet", 5),
    ("0163C1330", "Norrviken", 4),
    ("0163C1340", "Viby-Järvafältet", 5),
    ("0163C1350", "Rotebro centrum", 3),
    ("0163C1360", "Gillbo-Gillberga", 5),
    ("0163C1370", "Rotsunda", 3),
    ("0163C1380", "Gillbo-Gillberga", 5),
    ("0163C1390", "Rotsunda", 3),
    ("0163C1400", "Rotsunda", 3),
];

#[test]
fn every_sollentuna_deso_inherits_its_regso_type_from_the_shipped_tables() {
    let (types, year) = read_types(&geodata("regso_socioekonomisk_index_2023.csv")).unwrap();
    assert_eq!(types.len(), 3363);
    assert_eq!(year, Some(2023));
    let key = read_key(&geodata("koppling-deso2018-regso2020.csv")).unwrap();
    let desos: Vec<&str> = SOLLENTUNA.iter().map(|x| x.0).collect();
    let inh = inherit(&types, &key, &desos);
    assert!(inh.unmatched_regso.is_empty() && inh.unmatched_deso.is_empty(), "{inh:?}");
    for (d, regso, typ) in SOLLENTUNA {
        let got = &inh.per_deso[*d];
        assert_eq!((got.regso_name.as_str(), got.typ), (*regso, *typ), "{d}");
    }
}

#[test]
fn a_renamed_regso_is_reported_as_unmatched() {
    let (mut types, _) = read_types(&geodata("regso_socioekonomisk_index_2023.csv")).unwrap();
    for t in types.iter_mut().filter(|t| t.regso_name == "Edsberg") {
        t.regso_name = "Edsbergs centrum".into();
    }
    let key = read_key(&geodata("koppling-deso2018-regso2020.csv")).unwrap();
    let inh = inherit(&types, &key, &["0163C1250", "0163C1090"]);
    assert_eq!(inh.unmatched_regso, vec!["Sollentuna (Edsberg)".to_string()]);
    assert!(inh.unused_type_rows.contains(&"Sollentuna (Edsbergs centrum)".to_string()));
    assert_eq!(inh.per_deso["0163C1090"].typ, 2);
}

fn lagesbild(store: &Path, args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_lagesbild")).arg("--store").arg(store).args(args).current_dir(env!("CARGO_MANIFEST_DIR")).output().unwrap();
    assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn demo(dir: &Path) -> PathBuf {
    let s = dir.join("demo.gpkg");
    lagesbild(&s, &["import", "areas", "geodata/sollentuna_deso2025.geojson"]);
    lagesbild(
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
    lagesbild(&s, &["import", "indicators", "geodata/sollentuna_crowding_ILLUSTRATIVE.csv", "--source", "ILLUSTRATIV, ej SCB-data"]);
    lagesbild(&s, &["import", "incidents", "geodata/incidents_synthetic_sollentuna.csv", "--crs", "EPSG:3006"]);
    let out = lagesbild(
        &s,
        &["classify", "omradestyp", "--key", "geodata/koppling-deso2018-regso2020.csv", "--types", "geodata/regso_socioekonomisk_index_2023.csv"],
    );
    assert!(out.contains("stored for 42 of 42 DeSO (type 1: 0, 2: 3, 3: 7, 4: 16, 5: 16)"), "{out}");
    s
}

#[test]
fn the_profiles_of_edsberg_and_bagarby_render_and_the_csv_round_trips() {
    let dir = tempfile::tempdir().unwrap();
    let s = demo(dir.path());
    let html = lagesbild(&s, &["profile", "Edsberg", "--uso", "geodata/uso2025_sollentuna_jarva_subset.geojson", "--goals", "geodata/goals_sollentuna.json"]);
    assert!(html.starts_with("<!doctype html>") && html.contains("lang=\"sv\""));
    assert!(html.contains("Områdesprofil: Edsberg") && html.contains("Områdestyp: <b>3 – Socioekonomiskt blandade områden</b>"), "{}", &html[..1500]);
    assert!(html.contains("Trångbodda hushåll (%)") && html.contains("<svg"), "indicators and a chart");
    assert!(html.contains("illustrativa värden"), "illustrative data is labelled");

    let out = dir.path().join("bagarby.csv");
    lagesbild(
        &s,
        &[
            "profile",
            "Bagarby",
            "--format",
            "csv",
            "--output",
            out.to_str().unwrap(),
            "--uso",
            "geodata/uso2025_sollentuna_jarva_subset.geojson",
            "--goals",
            "geodata/goals_sollentuna.json",
        ],
    );
    let text = std::fs::read_to_string(&out).unwrap();
    assert!(text.starts_with('\u{feff}'), "UTF-8 BOM for Excel");
    let mut rdr = csv::ReaderBuilder::new().delimiter(b';').from_reader(text.trim_start_matches('\u{feff}').as_bytes());
    assert_eq!(rdr.headers().unwrap().iter().collect::<Vec<_>>(), vec!["avsnitt", "post", "värde", "kommun", "län", "år", "not"]);
    let rows: Vec<csv::StringRecord> = rdr.records().map(|r| r.unwrap()).collect();
    let find = |a: &str, b: &str| rows.iter().find(|r| &r[0] == a && &r[1] == b).unwrap_or_else(|| panic!("row {a}/{b}")).clone();
    assert_eq!(&find("områdestyp", "områdestyp")[2], "2");
    // Crowding: Bagarby's three DeSO all carry the illustrative 24 %.
    let crowd = find("indikator", "Trångbodda hushåll (%)");
    assert_eq!(lagesbild::io::parse_number(&crowd[2]), Some(24.0));
    // Rental share from summed dwelling counts of the three DeSO: 1282 / (1282 + 1115 + 0 + 0).
    let rent = find("indikator", "Andel hyresrätt av bostäderna (%)");
    let v = lagesbild::io::parse_number(&rent[2]).unwrap();
    assert!((v - 100.0 * 1282.0 / 2397.0).abs() < 0.01, "{v}");
    assert!(rent[2].contains(','), "decimal comma: {}", &rent[2]);
    let tureberg = find("polisens områden", "Tureberg");
    assert!(lagesbild::io::parse_number(&tureberg[2]).unwrap() > 10.0);
    assert!(rows.iter().any(|r| &r[0] == "EST-veckor"));
    assert!(rows.iter().any(|r| &r[0] == "mål" && r[6].contains("basåret 2021")), "goals without a 2021 baseline say so");

    let json = lagesbild(&s, &["profile", "0163C1120", "--format", "json"]);
    let p: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(p["area"]["level"], "deso");
    assert!(p["incidents_total"].as_u64().unwrap() > 0);
}

#[test]
fn the_socioeconomic_index_is_the_mean_of_its_parts_and_missing_parts_are_never_imputed() {
    let dir = tempfile::tempdir().unwrap();
    let s = dir.path().join("se.gpkg");
    let areas = dir.path().join("a.geojson");
    std::fs::write(&areas, r#"{"type":"FeatureCollection","crs":{"type":"name","properties":{"name":"urn:ogc:def:crs:EPSG::3006"}},"features":[
{"type":"Feature","properties":{"deso":"0163C9001"},"geometry":{"type":"Polygon","coordinates":[[[660000,6590000],[661000,6590000],[661000,6591000],[660000,6591000],[660000,6590000]]]}},
{"type":"Feature","properties":{"deso":"0163C9002"},"geometry":{"type":"Polygon","coordinates":[[[661000,6590000],[662000,6590000],[662000,6591000],[661000,6591000],[661000,6590000]]]}},
{"type":"Feature","properties":{"deso":"0163C9003"},"geometry":{"type":"Polygon","coordinates":[[[662000,6590000],[663000,6590000],[663000,6591000],[662000,6591000],[662000,6590000]]]}}]}"#).unwrap();
    let ind = dir.path().join("i.csv");
    // Index = (low_econ + low_education + long_support) / 3: 30, 10 and (missing) for the three.
    std::fs::write(&ind, "deso;low_econ;low_education;long_support\n0163C9001;45;30;15\n0163C9002;12;10;8\n0163C9003;20;;10\n").unwrap();
    lagesbild(&s, &["import", "areas", a_str(&areas), "--deso-version", "2025"]);
    lagesbild(&s, &["import", "indicators", a_str(&ind), "--year", "2024"]);
    let out = dir.path().join("se.csv");
    let msg = lagesbild(&s, &["classify", "socioeconomic", "--output", a_str(&out)]);
    assert!(msg.contains("index for 2 of 3 DeSO (mean 20.00, SD 10.00"), "{msg}");
    let text = std::fs::read_to_string(&out).unwrap();
    let rows: Vec<&str> = text.lines().skip(1).collect();
    // Mean 20, SD 10: 30 lies in [20 + 0.5·10, 20 + 1.5·10) → type 2; 10 in [20 − 1.5·10, 20 − 0.5·10) → type 4.
    assert!(rows[0].starts_with("0163C9001;;30;2;derived"), "{}", rows[0]);
    assert!(rows[1].starts_with("0163C9002;;10;4;derived"), "{}", rows[1]);
    assert!(rows[2].starts_with("0163C9003;;;;"), "no index without all parts: {}", rows[2]);
}

fn a_str(p: &Path) -> &str {
    p.to_str().unwrap()
}

//! `lagesbild stats …` on real files: fields added, errors named, parameters recorded.

use std::path::PathBuf;
use std::process::Command;

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_lagesbild"))
}

fn columbus() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/columbus/columbus.shp")
}

fn run(args: &[&str]) -> (bool, String, String) {
    let out = bin().args(args).output().unwrap();
    (out.status.success(), String::from_utf8_lossy(&out.stdout).into_owned(), String::from_utf8_lossy(&out.stderr).into_owned())
}

#[test]
fn gi_star_on_columbus_writes_the_esda_values_into_a_geopackage() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("gi.gpkg");
    let (ok, _, err) = run(&[
        "stats",
        "gi",
        columbus().to_str().unwrap(),
        "--field",
        "CRIME",
        "--weights",
        "queen",
        "--star",
        "--transform",
        "B",
        "--permutations",
        "99",
        "--output",
        out.to_str().unwrap(),
    ]);
    assert!(ok, "{err}");
    let data = lagesbild::io::read_source(&out, &Default::default()).unwrap();
    for c in ["CRIME", "gi_g", "gi_z", "gi_p", "gi_p_sim", "gi_bin"] {
        assert!(data.columns.iter().any(|x| x == c), "missing {c} in {:?}", data.columns);
    }
    // Reference: tests/fixtures/reference/columbus.json getis_ord_local.queen_B_star.Zs_esda[0]
    // (esda.G_Local(y, w, transform='B', star=True)); y there is columbus CRIME.
    let reference: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/reference/columbus.json")).unwrap())
            .unwrap();
    let want = reference["getis_ord_local"]["queen_B_star"]["Zs_esda"][0].as_f64().unwrap();
    let got: f64 = data.records[0].get("gi_z").unwrap().parse().unwrap();
    assert!((got - want).abs() < 1e-9 * want.abs(), "{got} vs {want}");
    let params = std::fs::read_to_string(dir.path().join("gi.gpkg.params.json")).unwrap();
    assert!(params.contains("\"star\": true") && params.contains("\"permutations\": 99"), "{params}");
}

#[test]
fn an_unknown_field_lists_the_fields_that_exist() {
    let (ok, _, err) = run(&["stats", "moran", columbus().to_str().unwrap(), "--field", "CRIM", "--weights", "rook"]);
    assert!(!ok);
    assert!(err.contains("no field 'CRIM' (fields: ") && err.contains("CRIME"), "{err}");
}

#[test]
fn non_numeric_values_are_reported_by_feature() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("a.geojson");
    std::fs::write(
        &p,
        r#"{"type":"FeatureCollection","features":[
 {"type":"Feature","properties":{"v":"1"},"geometry":{"type":"Point","coordinates":[17.9,59.4]}},
 {"type":"Feature","properties":{"v":"många"},"geometry":{"type":"Point","coordinates":[17.91,59.4]}},
 {"type":"Feature","properties":{"v":null},"geometry":{"type":"Point","coordinates":[17.92,59.4]}}]}"#,
    )
    .unwrap();
    let (ok, _, err) = run(&["stats", "moran", p.to_str().unwrap(), "--field", "v", "--weights", "knn=1"]);
    assert!(!ok);
    assert!(err.contains("a.geojson:feature 2: v = 'många'") && err.contains("a.geojson:feature 3: v = ''"), "{err}");
}

#[test]
fn distance_weights_on_lon_lat_are_refused_unless_reprojected() {
    let g = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("geodata/sollentuna_deso2025.geojson");
    let (ok, _, err) = run(&["stats", "moran", g.to_str().unwrap(), "--field", "population", "--weights", "band=1500"]);
    assert!(!ok);
    assert!(err.contains("geographic EPSG:4326; pass --crs EPSG:3006"), "{err}");
    let (ok, out, err) =
        run(&["stats", "moran", g.to_str().unwrap(), "--field", "population", "--weights", "band=1500", "--crs", "EPSG:3006", "--permutations", "99"]);
    assert!(ok, "{err}");
    let m: serde_json::Value = serde_json::from_str(&out).unwrap();
    for k in ["I", "EI", "VI_norm", "z_norm", "p_norm", "VI_rand", "z_rand", "p_rand", "p_sim"] {
        assert!(m[k].is_number(), "{k} missing in {out}");
    }
}

#[test]
fn lisa_writes_a_swedish_csv_with_clusters() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("lisa.csv");
    let (ok, _, err) =
        run(&["stats", "lisa", columbus().to_str().unwrap(), "--field", "CRIME", "--weights", "queen", "--transform", "R", "--output", out.to_str().unwrap()]);
    assert!(ok, "{err}");
    let text = std::fs::read_to_string(&out).unwrap();
    let header = text.lines().next().unwrap();
    assert!(header.contains(";lisa_i;lisa_q;lisa_p_sim;lisa_cluster;"), "{header}");
    assert!(text.contains(";High-High;") && text.contains(";Low-Low;"), "{}", &text[..500]);
}

#[test]
fn rates_on_columbus_equal_esda_smoothing() {
    // columbus.json "rates" uses e = synthetic events and b = synthetic population; here we give
    // the CLI the same numbers through a GeoJSON built from the shapefile's polygons.
    let reference: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/reference/columbus.json")).unwrap())
            .unwrap();
    let e: Vec<f64> = reference["rates"]["e_events"].as_array().unwrap().iter().map(|v| v.as_f64().unwrap()).collect();
    let b: Vec<f64> = reference["rates"]["b_population"].as_array().unwrap().iter().map(|v| v.as_f64().unwrap()).collect();
    let data = lagesbild::io::read_source(&columbus(), &Default::default()).unwrap();
    let feats: Vec<serde_json::Value> = data
        .records
        .iter()
        .enumerate()
        .map(|(i, r)| {
            let g = geojson::Geometry::new(geojson::Value::from(r.geometry.as_ref().unwrap()));
            serde_json::json!({"type": "Feature", "properties": {"e": e[i], "b": b[i]}, "geometry": g})
        })
        .collect();
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("col.geojson");
    std::fs::write(&input, serde_json::json!({"type": "FeatureCollection", "features": feats}).to_string()).unwrap();
    let out = dir.path().join("rates.csv");
    let (ok, _, err) =
        run(&["stats", "rates", input.to_str().unwrap(), "--events", "e", "--population", "b", "--weights", "queen", "--output", out.to_str().unwrap()]);
    assert!(ok, "{err}");
    let text = std::fs::read_to_string(&out).unwrap();
    let mut rdr = csv::ReaderBuilder::new().delimiter(b';').from_reader(text.trim_start_matches('\u{feff}').as_bytes());
    let h = rdr.headers().unwrap().clone();
    let col = |n: &str| h.iter().position(|x| x == n).unwrap();
    let rows: Vec<csv::StringRecord> = rdr.records().map(|r| r.unwrap()).collect();
    let want_eb: Vec<f64> = reference["rates"]["empirical_bayes_esda"].as_array().unwrap().iter().map(|v| v.as_f64().unwrap()).collect();
    let want_seb: Vec<f64> = reference["rates"]["spatial_empirical_bayes_queen"].as_array().unwrap().iter().map(|v| v.as_f64().unwrap()).collect();
    for (i, r) in rows.iter().enumerate() {
        let got = lagesbild::io::parse_number(&r[col("rate_eb_per_1000")]).unwrap() / 1000.0;
        assert!((got - want_eb[i]).abs() < 1e-12, "EB[{i}] {got} vs esda {}", want_eb[i]);
        let got = lagesbild::io::parse_number(&r[col("rate_seb_per_1000")]).unwrap() / 1000.0;
        assert!((got - want_seb[i]).abs() < 1e-12, "SEB[{i}] {got} vs esda {}", want_seb[i]);
    }
}

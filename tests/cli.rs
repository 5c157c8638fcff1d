//! The binary end to end: demo import, ogrinfo on the store, a failed import's exit code and
//! message, export, and the server on a real port.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_lagesbild"))
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn run(store: &Path, args: &[&str]) -> Output {
    let out = bin().arg("--store").arg(store).args(args).current_dir(root()).output().expect("run lagesbild");
    out
}

fn ok(store: &Path, args: &[&str]) -> String {
    let out = run(store, args);
    assert!(out.status.success(), "{args:?} failed:\n{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The same imports as `.ci/demo`, so the README's demo command is tested too.
fn demo_store(dir: &Path) -> PathBuf {
    let store = dir.join("demo.gpkg");
    ok(&store, &["import", "areas", "geodata/sollentuna_deso2025.geojson"]);
    // Stockholm county DeSO 2018, archipelago areas whose centroids lie at sea included.
    ok(&store, &["import", "areas", "geodata/stockholm_lan_deso2018.geojson"]);
    ok(&store, &["import", "indicators", "geodata/sollentuna_deso2025_indicators.csv", "--year", "2024", "--column-year", "pop=2025", "--source", "SCB"]);
    ok(&store, &["import", "incidents", "geodata/incidents_synthetic_sollentuna.csv", "--crs", "EPSG:3006"]);
    ok(&store, &["import", "incidents", "geodata/polisen_events_sollentuna.geojson", "--reported-by", "polis"]);
    store
}

#[test]
fn ogrinfo_lists_the_store_layers_after_the_demo_import() {
    let dir = tempfile::tempdir().unwrap();
    let store = demo_store(dir.path());
    let out = Command::new("ogrinfo").arg("-ro").arg("-so").arg(&store).output().expect("ogrinfo (gdal-bin) must be installed");
    let text = String::from_utf8_lossy(&out.stdout);
    for layer in ["areas (Multi Polygon)", "incidents (Point)", "indicators (None)", "imports (None)"] {
        assert!(text.contains(layer), "ogrinfo output lacks {layer}:\n{text}");
    }
    let out = Command::new("ogrinfo").args(["-ro", "-so", "-al"]).arg(&store).arg("areas").output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("Feature Count: 1329"), "42 DeSO 2025 + 1,287 DeSO 2018: {text}");
    assert!(text.contains("SWEREF99 TM"), "{text}");
}

#[test]
fn a_failed_import_exits_non_zero_names_file_and_line_and_keeps_the_store() {
    let dir = tempfile::tempdir().unwrap();
    let store = demo_store(dir.path());
    let before = std::fs::read(&store).unwrap();
    let bad = dir.path().join("bad.csv");
    std::fs::write(&bad, "id;kategori;datum;e;n\nX1;Klotter;2025-01-01;667000;6591000\nX2;Klotter;30 februari;667000;6591000\n").unwrap();
    let out = run(&store, &["import", "incidents", bad.to_str().unwrap(), "--crs", "EPSG:3006"]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("bad.csv:3: date '30 februari' cannot be read"), "{err}");
    assert!(err.contains("nothing was imported"), "{err}");
    assert_eq!(std::fs::read(&store).unwrap(), before, "store bytes unchanged");
}

#[test]
fn summary_and_exports_write_files_that_gdal_and_a_csv_reader_read_back() {
    let dir = tempfile::tempdir().unwrap();
    let store = demo_store(dir.path());
    let text = ok(&store, &["summary", "--csv", dir.path().join("s.csv").to_str().unwrap()]);
    assert!(text.contains("DeSO 2025: 42 areas"), "{text}");
    assert!(text.contains("165 with area/municipality precision left out"), "{text}");
    let csv = std::fs::read_to_string(dir.path().join("s.csv")).unwrap();
    assert!(csv.starts_with("\u{feff}deso;regso;regso_name;category;iso_week;count;population;rate_per_1000"), "{}", &csv[..100]);
    let mut rdr = csv::ReaderBuilder::new().delimiter(b';').from_reader(csv.trim_start_matches('\u{feff}').as_bytes());
    let mut total = 0u64;
    for r in rdr.records() {
        let r = r.unwrap();
        total += r[5].parse::<u64>().unwrap();
        if !r[7].is_empty() {
            assert!(r[7].replace(',', ".").parse::<f64>().is_ok(), "rate with decimal comma: {}", &r[7]);
        }
    }
    assert!(total > 1000, "{total}");

    for (fmt, name) in [("gpkg", "areas.gpkg"), ("geojson", "areas.geojson"), ("csv", "areas.csv")] {
        let out = dir.path().join(name);
        ok(&store, &["export", "areas", "--format", fmt, "--output", out.to_str().unwrap()]);
        assert!(out.exists());
    }
    let info = Command::new("ogrinfo").args(["-ro", "-so", "-al"]).arg(dir.path().join("areas.geojson")).output().unwrap();
    let text = String::from_utf8_lossy(&info.stdout);
    assert!(text.contains("Feature Count: 1329") && text.contains("WGS 84"), "both DeSO editions: {text}");
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

fn http_get(port: u16, path: &str) -> Option<String> {
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(std::time::Duration::from_secs(10))).ok()?;
    write!(s, "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n").ok()?;
    let mut buf = String::new();
    s.read_to_string(&mut buf).ok()?;
    Some(buf)
}

#[test]
fn serve_answers_on_a_real_port() {
    let dir = tempfile::tempdir().unwrap();
    let store = demo_store(dir.path());
    let port = free_port();
    let mut child = bin().arg("--store").arg(&store).args(["serve", "--bind", &format!("127.0.0.1:{port}")]).spawn().unwrap();
    let mut answer = None;
    for _ in 0..100 {
        // The port opens before the data is loaded; "ok" means the data is in service.
        if let Some(a) = http_get(port, "/health").filter(|a| a.contains("\"status\":\"ok\"")) {
            answer = Some(a);
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let areas = http_get(port, "/api/areas");
    let _ = child.kill();
    let _ = child.wait();
    let health = answer.expect("server answered /health");
    assert!(health.starts_with("HTTP/1.1 200"), "{health}");
    assert!(health.contains("\"areas\":42"), "{health}");
    let areas = areas.expect("server answered /api/areas");
    assert!(areas.contains("application/geo+json") && areas.contains("0163C1170"), "{}", &areas[..300.min(areas.len())]);
}

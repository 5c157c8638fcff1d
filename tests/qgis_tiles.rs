//! QGIS itself (Debian's python3-qgis, 3.22, headless) draws the DeSO vector tiles over
//! Sollentuna as completely as the same collection through OGC API Features. Before MVT 2.1
//! ring orientation QGIS dropped about half of the DeSO (those whose source rings ran the
//! other way), so the tile drawing covered roughly half the pixels.

use std::path::{Path, PathBuf};
use std::process::{Child, Command};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

struct Server(Child, u16);
impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn start(dir: &Path) -> Server {
    let store = dir.join("demo.gpkg");
    let out = Command::new(env!("CARGO_BIN_EXE_lagesbild"))
        .arg("--store")
        .arg(&store)
        .args(["import", "areas", "geodata/sollentuna_deso2025.geojson"])
        .current_dir(root())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let child = Command::new(env!("CARGO_BIN_EXE_lagesbild"))
        .arg("--store")
        .arg(&store)
        .args(["serve", "--bind", &format!("127.0.0.1:{port}")])
        .current_dir(root())
        .spawn()
        .unwrap();
    for _ in 0..200 {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    Server(child, port)
}

#[test]
fn qgis_draws_the_deso_tiles_as_completely_as_the_features() {
    let dir = tempfile::tempdir().unwrap();
    let srv = start(dir.path());
    let shots = root().join("target/screenshots");
    std::fs::create_dir_all(&shots).unwrap();
    // Debian's interpreter: python3-qgis installs into its dist-packages.
    let out = Command::new("/usr/bin/python3")
        .arg(root().join("tests/qgis/deso_coverage.py"))
        .arg(format!("http://127.0.0.1:{}", srv.1))
        .arg(&shots)
        .env("QT_QPA_PLATFORM", "offscreen")
        .output()
        .expect("/usr/bin/python3 with python3-qgis (.ci/setup installs it)");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "QGIS script failed: {text}\n{}", String::from_utf8_lossy(&out.stderr));
    let line = text.lines().find(|l| l.starts_with("tiles=")).unwrap_or_else(|| panic!("no result line: {text}"));
    let num = |k: &str| -> f64 { line.split_whitespace().find_map(|w| w.strip_prefix(&format!("{k}="))).unwrap().parse().unwrap() };
    // Sollentuna has 42 DeSO 2025 (geodata/README.md).
    assert_eq!(num("features"), 42.0, "{line}");
    assert!(num("oapif") > 100_000.0, "the features fill much of the 800 × 800 image: {line}");
    let ratio = num("tiles") / num("oapif");
    assert!((0.99..=1.01).contains(&ratio), "tiles cover {:.1} % of what the features cover: {line}", 100.0 * ratio);
}

//! A real client: GDAL's OGC API Features driver (as QGIS uses it) against the running server.

use std::path::{Path, PathBuf};
use std::process::{Child, Command};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn lagesbild(store: &Path, args: &[&str]) {
    let out = Command::new(env!("CARGO_BIN_EXE_lagesbild")).arg("--store").arg(store).args(args).current_dir(root()).output().unwrap();
    assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
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
    lagesbild(&store, &["import", "areas", "geodata/sollentuna_deso2025.geojson"]);
    lagesbild(&store, &["import", "incidents", "geodata/incidents_synthetic_sollentuna.csv", "--crs", "EPSG:3006"]);
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let child = Command::new(env!("CARGO_BIN_EXE_lagesbild"))
        .arg("--store")
        .arg(&store)
        .args(["serve", "--bind", &format!("127.0.0.1:{port}"), "--uso", "geodata/uso2025_sollentuna_jarva_subset.geojson"])
        .env("LAGESBILD_TOKENS", "analyst:gdal-analyst")
        .current_dir(root())
        .spawn()
        .unwrap();
    for _ in 0..200 {
        // The port opens before the data is loaded; "ok" means the data is in service.
        let ready = std::net::TcpStream::connect(("127.0.0.1", port)).ok().and_then(|mut s| {
            use std::io::{Read, Write};
            write!(s, "GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").ok()?;
            let mut b = String::new();
            s.read_to_string(&mut b).ok()?;
            Some(b.contains("\"status\":\"ok\""))
        });
        if ready == Some(true) {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    Server(child, port)
}

#[test]
fn gdal_lists_the_collections_and_copies_them_to_a_geopackage() {
    let dir = tempfile::tempdir().unwrap();
    let srv = start(dir.path());
    let url = format!("OAPIF:http://127.0.0.1:{}/", srv.1);
    let out = Command::new("ogrinfo").args(["-ro", "-q", &url]).output().expect("ogrinfo (gdal-bin)");
    let text = String::from_utf8_lossy(&out.stdout);
    for c in ["deso", "regso", "incident_counts", "hotspots_grid", "police_areas", "incidents"] {
        assert!(text.contains(&format!(": {c} ")), "ogrinfo lacks {c}:\n{text}");
    }
    // Copy every DeSO (42) through the paging links to a GeoPackage, as QGIS would.
    let gpkg = dir.path().join("deso.gpkg");
    let out = Command::new("ogr2ogr").args(["-f", "GPKG"]).arg(&gpkg).args([&url, "deso", "-oo", "PAGE_SIZE=10"]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let info = Command::new("ogrinfo").args(["-ro", "-so", "-al"]).arg(&gpkg).output().unwrap();
    let text = String::from_utf8_lossy(&info.stdout);
    assert!(text.contains("Feature Count: 42"), "{text}");
    assert!(text.contains("WGS 84"), "CRS84 output: {text}");
    // Restricted incidents with a token: all 1,867 synthetic points, in pages.
    let inc = dir.path().join("inc.gpkg");
    let out = Command::new("ogr2ogr")
        .args(["--config", "GDAL_HTTP_HEADERS", "Authorization: Bearer gdal-analyst", "-f", "GPKG"])
        .arg(&inc)
        .args([&url, "incidents", "-oo", "PAGE_SIZE=500"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let info = Command::new("ogrinfo").args(["-ro", "-so", "-al"]).arg(&inc).output().unwrap();
    assert!(String::from_utf8_lossy(&info.stdout).contains("Feature Count: 1867"), "{}", String::from_utf8_lossy(&info.stdout));
    // Without the token GDAL gets the 401 and copies nothing.
    let none = dir.path().join("none.gpkg");
    let out = Command::new("ogr2ogr").args(["-f", "GPKG"]).arg(&none).args([&url, "incidents"]).output().unwrap();
    assert!(String::from_utf8_lossy(&out.stderr).contains("401"), "{}", String::from_utf8_lossy(&out.stderr));
}

//! `lagesbild export tiles` as a municipality would run it, read back by GDAL (the MBTiles as
//! QGIS and `ogrinfo` open it) and by the PMTiles v3 header layout from the specification.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::Command;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn lagesbild(store: &Path, args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_lagesbild")).arg("--store").arg(store).args(args).current_dir(root()).output().unwrap()
}

fn demo_store(dir: &Path) -> PathBuf {
    let store = dir.join("demo.gpkg");
    for args in [
        vec!["import", "areas", "geodata/sollentuna_deso2025.geojson"],
        vec!["import", "incidents", "geodata/incidents_synthetic_sollentuna.csv", "--crs", "EPSG:3006"],
    ] {
        let out = lagesbild(&store, &args);
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    }
    store
}

const LAYERS: &str = "deso,regso,incident_counts,incidents,hotspots_grid,police_areas";

fn export(store: &Path, format: &str, out: &Path) {
    let o = lagesbild(
        store,
        &[
            "export",
            "tiles",
            "--layers",
            LAYERS,
            "--format",
            format,
            "--minzoom",
            "8",
            "--maxzoom",
            "14",
            "--uso",
            "geodata/uso2025_sollentuna_jarva_subset.geojson",
            "--output",
            out.to_str().unwrap(),
        ],
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
}

#[test]
fn gdal_opens_the_exported_mbtiles_and_finds_every_layer_with_features() {
    let dir = tempfile::tempdir().unwrap();
    let store = demo_store(dir.path());
    let mb = dir.path().join("sollentuna.mbtiles");
    export(&store, "mbtiles", &mb);
    let info = Command::new("ogrinfo").args(["-ro", "-so", "-al"]).arg(&mb).output().expect("ogrinfo (gdal-bin)");
    let text = String::from_utf8_lossy(&info.stdout);
    assert!(info.status.success(), "{}", String::from_utf8_lossy(&info.stderr));
    for layer in LAYERS.split(',') {
        let at = text.find(&format!("Layer name: {layer}\n")).unwrap_or_else(|| panic!("ogrinfo lacks layer {layer}:\n{text}"));
        let count: i64 = text[at..].lines().find_map(|l| l.strip_prefix("Feature Count: ")).unwrap().trim().parse().unwrap();
        assert!(count > 0, "{layer} has no features");
    }
    for key in ["minzoom=8", "maxzoom=14", "format=pbf", "attribution=Källa: SCB, Polisen", "bounds=", "center="] {
        assert!(text.contains(key), "metadata lacks {key}:\n{text}");
    }
    // The public view: incidents only as counted grid cells, never raw points or ids.
    let inc = Command::new("ogrinfo").args(["-ro", "-al", "-q"]).arg(&mb).arg("incidents").output().unwrap();
    let inc = String::from_utf8_lossy(&inc.stdout);
    assert!(inc.contains("cell_id") && inc.contains("POLYGON"), "{}", &inc[..inc.len().min(2000)]);
    assert!(!inc.contains("POINT ("), "raw incident points in the public export");
    // Tiles are gzip-compressed, rows counted from the south as MBTiles wants.
    let db = rusqlite::Connection::open(&mb).unwrap();
    let (z, row, data): (u8, u32, Vec<u8>) =
        db.query_row("SELECT zoom_level, tile_row, tile_data FROM tiles WHERE zoom_level = 12 LIMIT 1", [], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?))).unwrap();
    assert_eq!(&data[..2], &[0x1f, 0x8b], "gzip magic");
    // Sollentuna (59.4 N) lies in the northern half: XYZ rows below 2^11 are TMS rows above it.
    assert!(row >= 1 << (z - 1), "TMS row {row} at z{z}");
    let json: String = db.query_row("SELECT value FROM metadata WHERE name = 'json'", [], |r| r.get(0)).unwrap();
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    let ids: Vec<&str> = v["vector_layers"].as_array().unwrap().iter().map(|l| l["id"].as_str().unwrap()).collect();
    assert_eq!(ids, LAYERS.split(',').collect::<Vec<_>>());
    let deso = &v["vector_layers"][0];
    assert_eq!(deso["fields"]["deso"], "String");
    assert_eq!(deso["fields"]["population"], "Number");
    assert_eq!((deso["minzoom"].as_u64(), deso["maxzoom"].as_u64()), (Some(8), Some(14)));
    assert_eq!(v["vector_layers"][4]["minzoom"], 10, "hotspot cells start at zoom 10");
}

#[test]
fn the_pmtiles_header_is_valid_and_lists_the_requested_zoom_range() {
    let dir = tempfile::tempdir().unwrap();
    let store = demo_store(dir.path());
    let pm = dir.path().join("sollentuna.pmtiles");
    export(&store, "pmtiles", &pm);
    let bytes = std::fs::read(&pm).unwrap();
    // PMTiles v3 header (127 bytes, little-endian): magic, version, offsets and lengths of the
    // root directory, metadata, leaves and data, counts, then flags, zooms, bounds and centre.
    assert_eq!(&bytes[0..7], b"PMTiles");
    assert_eq!(bytes[7], 3, "spec version");
    let u64_at = |o: usize| u64::from_le_bytes(bytes[o..o + 8].try_into().unwrap());
    let i32_at = |o: usize| i32::from_le_bytes(bytes[o..o + 4].try_into().unwrap());
    let (meta_off, meta_len) = (u64_at(24) as usize, u64_at(32) as usize);
    let (data_off, data_len) = (u64_at(56) as usize, u64_at(64) as usize);
    assert!(meta_off + meta_len <= bytes.len() && data_off + data_len <= bytes.len());
    assert!(u64_at(72) > 0 && u64_at(80) > 0 && u64_at(88) > 0, "addressed tiles, entries, contents");
    assert_eq!(bytes[97], 2, "internal compression gzip");
    assert_eq!(bytes[98], 2, "tile compression gzip");
    assert_eq!(bytes[99], 1, "tile type MVT");
    assert_eq!((bytes[100], bytes[101]), (8, 14), "min and max zoom");
    let (w, s, e, n) = (i32_at(102) as f64 / 1e7, i32_at(106) as f64 / 1e7, i32_at(110) as f64 / 1e7, i32_at(114) as f64 / 1e7);
    // Sollentuna and the neighbouring utsatta områden lie within 17.7–18.2 E, 59.2–59.6 N.
    assert!(w > 17.7 && e < 18.2 && s > 59.1 && n < 59.6 && w < e && s < n, "bounds {w} {s} {e} {n}");
    assert!((8..=14).contains(&bytes[118]), "centre zoom");
    let mut meta = String::new();
    flate2::read::GzDecoder::new(&bytes[meta_off..meta_off + meta_len]).read_to_string(&mut meta).unwrap();
    let v: serde_json::Value = serde_json::from_str(&meta).unwrap();
    assert_eq!(v["vector_layers"].as_array().unwrap().len(), 6);
    assert_eq!((v["minzoom"].as_u64(), v["maxzoom"].as_u64()), (Some(8), Some(14)));
    assert_eq!(v["attribution"], "Källa: SCB, Polisen");
    assert_eq!(&bytes[data_off..data_off + 2], &[0x1f, 0x8b], "the first tile is gzip");
}

#[test]
fn an_unknown_layer_is_a_clear_error_and_leaves_no_file() {
    let dir = tempfile::tempdir().unwrap();
    let store = demo_store(dir.path());
    let out = dir.path().join("x.pmtiles");
    let o = lagesbild(&store, &["export", "tiles", "--layers", "deso,gator", "--format", "pmtiles", "--output", out.to_str().unwrap()]);
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("okänt lager 'gator'") && err.contains("deso"), "{err}");
    let left: Vec<_> = std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    assert!(!left.iter().any(|n| n.contains("x.pmtiles")), "{left:?}");
    let o = lagesbild(&store, &["export", "tiles", "--layers", "deso", "--format", "mbtiles", "--maxzoom", "18", "--output", out.to_str().unwrap()]);
    assert!(!o.status.success() && String::from_utf8_lossy(&o.stderr).contains("16"), "{}", String::from_utf8_lossy(&o.stderr));
}

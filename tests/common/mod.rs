//! Shared helpers for integration tests: a temporary store with a few tiny areas.
#![allow(dead_code)]

pub mod pg;

use lagesbild::import::{run_import, ImportError, ImportKind, ImportOptions, ImportReport};
use lagesbild::store::GpkgStore;
use std::path::{Path, PathBuf};

pub struct Fixture {
    pub dir: tempfile::TempDir,
    pub store: GpkgStore,
}

/// Three 1 km squares in SWEREF 99 TM inside Sollentuna, side by side west to east:
/// 0163C9001 [660000–661000], 0163C9002 [661000–662000], 0163C9003 [662000–663000],
/// all N 6590000–6591000, with 1000, 2000 and 500 residents.
pub const AREAS_3006: &str = r#"{"type":"FeatureCollection",
"crs":{"type":"name","properties":{"name":"urn:ogc:def:crs:EPSG::3006"}},
"features":[
{"type":"Feature","properties":{"deso":"0163C9001","regso":"0163R901","regso_name":"Väst","population":1000},
 "geometry":{"type":"Polygon","coordinates":[[[660000,6590000],[661000,6590000],[661000,6591000],[660000,6591000],[660000,6590000]]]}},
{"type":"Feature","properties":{"deso":"0163C9002","regso":"0163R901","regso_name":"Väst","population":2000},
 "geometry":{"type":"Polygon","coordinates":[[[661000,6590000],[662000,6590000],[662000,6591000],[661000,6591000],[661000,6590000]]]}},
{"type":"Feature","properties":{"deso":"0163C9003","regso":"0163R902","regso_name":"Öst","population":500},
 "geometry":{"type":"Polygon","coordinates":[[[662000,6590000],[663000,6590000],[663000,6591000],[662000,6591000],[662000,6590000]]]}}
]}"#;

impl Fixture {
    /// An empty temporary directory and a store path in it (the store file does not exist yet).
    pub fn empty() -> Fixture {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = GpkgStore::new(dir.path().join("store.gpkg"));
        Fixture { dir, store }
    }

    /// A store holding the three fixture areas (DeSO edition 2025).
    pub fn with_areas() -> Fixture {
        let f = Fixture::empty();
        let p = f.write("areas.geojson", AREAS_3006);
        let opts = ImportOptions { deso_version: Some("2025".into()), ..Default::default() };
        run_import(&f.store, ImportKind::Areas, &p, &opts, &|_, _| {}).expect("fixture areas import");
        f
    }

    pub fn write(&self, name: &str, content: &str) -> PathBuf {
        let p = self.dir.path().join(name);
        std::fs::write(&p, content).expect("write fixture");
        p
    }

    pub fn import(&self, kind: ImportKind, path: &Path, opts: &ImportOptions) -> Result<ImportReport, ImportError> {
        run_import(&self.store, kind, path, opts, &|_, _| {})
    }

    /// SHA-256 of the store file, to prove a failed import changed nothing.
    pub fn store_hash(&self) -> String {
        lagesbild::io::sha256_file(self.store.path()).expect("hash store")
    }
}

/// Options with a CRS, as `--crs EPSG:3006` gives.
pub fn crs3006() -> ImportOptions {
    ImportOptions { source: lagesbild::io::SourceOptions { crs_epsg: Some(3006), ..Default::default() }, ..Default::default() }
}

/// The problems of an invalid import, as `location: reason` strings.
pub fn problems(e: ImportError) -> Vec<String> {
    match e {
        ImportError::Invalid { problems, .. } => problems.into_iter().map(|p| p.to_string()).collect(),
        other => panic!("expected row problems, got: {other}"),
    }
}

//! `lagesbild export tiles`: the public view of chosen layers as one PMTiles or MBTiles file
//! for static hosting. Every tile is built by the same function the tile routes use, for the
//! role `public`, so the file holds exactly what an anonymous caller would get; the layers of
//! one tile are concatenated (an MVT tile is a sequence of layer messages).

use super::{tile_range, TILESET_MAX_ZOOM};
use crate::api::auth::Role;
use crate::api::AppState;
use geozero::mvt::{Message, Tile};
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Container {
    Pmtiles,
    Mbtiles,
}

#[derive(Debug, Clone)]
pub struct ExportOptions {
    pub layers: Vec<String>,
    pub container: Container,
    pub minzoom: u8,
    pub maxzoom: u8,
    pub output: PathBuf,
}

#[derive(Debug, thiserror::Error)]
pub enum TileExportError {
    #[error("okänt lager '{name}' (lager: {known})")]
    UnknownLayer { name: String, known: String },
    #[error("inga lager angivna (--layers deso,incident_counts,…)")]
    NoLayers,
    #[error("zoomnivåerna {0}–{1} är ogiltiga: minzoom ≤ maxzoom ≤ {TILESET_MAX_ZOOM}")]
    Zoom(u8, u8),
    #[error("tile {0}: {1}")]
    Tile(String, String),
    #[error("{0}: {1}")]
    Io(PathBuf, std::io::Error),
    #[error("MBTiles: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("PMTiles: {0}")]
    Pmtiles(#[from] pmtiles::PmtError),
}

/// What an export wrote.
#[derive(Debug, Clone)]
pub struct ExportReport {
    pub tiles: u64,
    pub bytes: u64,
    pub layers: Vec<String>,
}

/// One layer's part of the metadata: its zoom range and the fields seen in its tiles.
struct LayerMeta {
    minzoom: u8,
    maxzoom: u8,
    description: String,
    fields: BTreeMap<String, &'static str>,
}

/// The collections named, as the public sees them, or the first name that is not in the catalog.
pub fn check_layers(state: &AppState, names: &[String]) -> Result<Vec<std::sync::Arc<crate::catalog::Collection>>, TileExportError> {
    let walks = state.walks.as_ref().map(|w| w.store.as_ref());
    names
        .iter()
        .map(|name| {
            state
                .layers
                .find(name, Role::Public, walks)
                .ok_or_else(|| TileExportError::UnknownLayer { name: name.clone(), known: state.layers.ids(walks).join(", ") })
        })
        .collect()
}

/// Writes the export. `progress(done, total)` is called after every tile position. The file
/// appears only when complete: it is written beside the target and renamed at the end, and
/// removed on any error.
pub fn export(state: &AppState, opts: &ExportOptions, progress: &dyn Fn(u64, u64)) -> Result<ExportReport, TileExportError> {
    if opts.layers.is_empty() {
        return Err(TileExportError::NoLayers);
    }
    if opts.minzoom > opts.maxzoom || opts.maxzoom > TILESET_MAX_ZOOM {
        return Err(TileExportError::Zoom(opts.minzoom, opts.maxzoom));
    }
    let collections = check_layers(state, &opts.layers)?;
    let bounds = collections.iter().filter_map(|c| c.extent_wgs84()).reduce(|a, b| [a[0].min(b[0]), a[1].min(b[1]), a[2].max(b[2]), a[3].max(b[3])]);
    let bounds = bounds.unwrap_or([10.0, 55.0, 25.0, 69.5]);
    // Tile positions in PMTiles order (Hilbert tile ids), which MBTiles does not mind.
    let mut coords: Vec<(u8, u32, u32)> = Vec::new();
    for z in opts.minzoom..=opts.maxzoom {
        let (c0, r0, c1, r1) = tile_range(bounds, z);
        for x in c0..=c1 {
            for y in r0..=r1 {
                coords.push((z, x, y));
            }
        }
    }
    coords.sort_by_key(|&(z, x, y)| pmtiles::TileId::from(pmtiles::TileCoord::new(z, x, y).expect("tile inside its zoom level")).value());
    let mut meta: Vec<(String, LayerMeta)> = collections
        .iter()
        .map(|c| {
            let (z0, z1) = state.layers.zoom_range(c.id);
            (
                c.id.to_string(),
                LayerMeta { minzoom: z0.max(opts.minzoom), maxzoom: z1.min(opts.maxzoom), description: c.title.to_string(), fields: BTreeMap::new() },
            )
        })
        .collect();

    let tmp = temp_path(&opts.output);
    let result = (|| {
        let mut sink = Sink::create(opts.container, &tmp)?;
        let total = coords.len() as u64;
        let mut tiles = 0u64;
        for (done, &(z, x, y)) in coords.iter().enumerate() {
            let mut bytes = Vec::new();
            for (c, (_, m)) in collections.iter().zip(meta.iter_mut()) {
                if z < m.minzoom || z > m.maxzoom {
                    continue;
                }
                let t = crate::api::tiles::build_tile(state, c, Role::Public, z, x, y)
                    .map_err(|e| TileExportError::Tile(format!("{z}/{x}/{y}"), format!("{e:?}")))?;
                let decoded = Tile::decode(t.as_slice()).map_err(|e| TileExportError::Tile(format!("{z}/{x}/{y}"), e.to_string()))?;
                if decoded.layers.iter().all(|l| l.features.is_empty()) {
                    continue;
                }
                note_fields(&decoded, &mut m.fields);
                bytes.extend_from_slice(&t);
            }
            if !bytes.is_empty() {
                sink.add(z, x, y, &bytes)?;
                tiles += 1;
            }
            progress(done as u64 + 1, total);
        }
        let metadata = metadata(&meta, bounds, opts);
        sink.finish(&metadata, bounds, opts)?;
        Ok(tiles)
    })();
    match result {
        Ok(tiles) => {
            std::fs::rename(&tmp, &opts.output).map_err(|e| TileExportError::Io(opts.output.clone(), e))?;
            let bytes = std::fs::metadata(&opts.output).map(|m| m.len()).unwrap_or(0);
            Ok(ExportReport { tiles, bytes, layers: opts.layers.clone() })
        }
        Err(e) => {
            let _ = std::fs::remove_file(&tmp);
            Err(e)
        }
    }
}

fn temp_path(output: &Path) -> PathBuf {
    let name = output.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| "tiles".into());
    output.with_file_name(format!(".{name}.{}.partial", std::process::id()))
}

/// Field names and TileJSON types ("String", "Number", "Boolean") of a decoded tile's features.
fn note_fields(t: &Tile, fields: &mut BTreeMap<String, &'static str>) {
    for l in &t.layers {
        for f in &l.features {
            for kv in f.tags.chunks(2) {
                let (Some(k), Some(v)) = (l.keys.get(kv[0] as usize), kv.get(1).and_then(|i| l.values.get(*i as usize))) else { continue };
                let ty = if v.string_value.is_some() {
                    "String"
                } else if v.bool_value.is_some() {
                    "Boolean"
                } else {
                    "Number"
                };
                fields.entry(k.clone()).or_insert(ty);
            }
        }
    }
}

const ATTRIBUTION: &str = "Källa: SCB, Polisen";

fn metadata(meta: &[(String, LayerMeta)], b: [f64; 4], opts: &ExportOptions) -> Value {
    let layers: Vec<Value> = meta
        .iter()
        .map(|(id, m)| {
            let fields: Map<String, Value> = m.fields.iter().map(|(k, t)| (k.clone(), Value::from(*t))).collect();
            json!({"id": id, "description": m.description, "minzoom": m.minzoom, "maxzoom": m.maxzoom, "fields": fields})
        })
        .collect();
    json!({
        "name": "lagesbild",
        "description": "Lägesbild, offentlig vy (samma som en anonym besökare ser)",
        "attribution": ATTRIBUTION,
        "bounds": b,
        "center": center(b, opts),
        "minzoom": opts.minzoom,
        "maxzoom": opts.maxzoom,
        "vector_layers": layers
    })
}

fn center(b: [f64; 4], opts: &ExportOptions) -> [f64; 3] {
    [(b[0] + b[2]) / 2.0, (b[1] + b[3]) / 2.0, f64::from(11u8.clamp(opts.minzoom, opts.maxzoom))]
}

enum Sink {
    Pmtiles(pmtiles::PmTilesStreamWriter<std::io::BufWriter<std::fs::File>>),
    Mbtiles(rusqlite::Connection),
}

impl Sink {
    fn create(container: Container, path: &Path) -> Result<Sink, TileExportError> {
        let _ = std::fs::remove_file(path);
        Ok(match container {
            Container::Pmtiles => {
                let f = std::fs::File::create(path).map_err(|e| TileExportError::Io(path.to_path_buf(), e))?;
                let w = pmtiles::PmTilesWriter::new(pmtiles::TileType::Mvt)
                    .tile_compression(pmtiles::Compression::Gzip)
                    .internal_compression(pmtiles::Compression::Gzip)
                    .create(std::io::BufWriter::new(f))?;
                Sink::Pmtiles(w)
            }
            Container::Mbtiles => {
                let db = rusqlite::Connection::open(path)?;
                // One transaction for the whole file: an export is all or nothing anyway.
                db.execute_batch(
                    "PRAGMA journal_mode = OFF;
                     CREATE TABLE metadata (name TEXT, value TEXT);
                     CREATE TABLE tiles (zoom_level INTEGER, tile_column INTEGER, tile_row INTEGER, tile_data BLOB);
                     CREATE UNIQUE INDEX tile_index ON tiles (zoom_level, tile_column, tile_row);
                     BEGIN;",
                )?;
                Sink::Mbtiles(db)
            }
        })
    }

    fn add(&mut self, z: u8, x: u32, y: u32, raw: &[u8]) -> Result<(), TileExportError> {
        match self {
            // The writer gzips each tile itself (tile compression set above).
            Sink::Pmtiles(w) => w.add_tile(pmtiles::TileCoord::new(z, x, y)?, raw)?,
            Sink::Mbtiles(db) => {
                let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
                enc.write_all(raw).map_err(|e| TileExportError::Io(PathBuf::from("gzip"), e))?;
                let gz = enc.finish().map_err(|e| TileExportError::Io(PathBuf::from("gzip"), e))?;
                // MBTiles rows count from the south (TMS), XYZ rows from the north.
                let row = (1u32 << z) - 1 - y;
                db.execute("INSERT INTO tiles VALUES (?1, ?2, ?3, ?4)", rusqlite::params![z, x, row, gz])?;
            }
        }
        Ok(())
    }

    fn finish(self, metadata: &Value, b: [f64; 4], opts: &ExportOptions) -> Result<(), TileExportError> {
        let c = center(b, opts);
        match self {
            Sink::Pmtiles(mut w) => {
                w.set_metadata(metadata.to_string());
                w.set_zoom_range(opts.minzoom, opts.maxzoom);
                w.set_bounds(b[0], b[1], b[2], b[3]);
                w.set_center(c[0], c[1], c[2] as u8);
                w.finalize()?;
            }
            Sink::Mbtiles(db) => {
                let json = json!({"vector_layers": metadata["vector_layers"]});
                let rows = [
                    ("name", "lagesbild".to_string()),
                    ("format", "pbf".to_string()),
                    ("type", "overlay".to_string()),
                    ("version", "1".to_string()),
                    ("description", metadata["description"].as_str().unwrap_or_default().to_string()),
                    ("attribution", ATTRIBUTION.to_string()),
                    ("bounds", format!("{},{},{},{}", b[0], b[1], b[2], b[3])),
                    ("center", format!("{},{},{}", c[0], c[1], c[2])),
                    ("minzoom", opts.minzoom.to_string()),
                    ("maxzoom", opts.maxzoom.to_string()),
                    ("json", json.to_string()),
                ];
                for (k, v) in rows {
                    db.execute("INSERT INTO metadata VALUES (?1, ?2)", rusqlite::params![k, v])?;
                }
                db.execute_batch("COMMIT;")?;
                db.close().map_err(|(_, e)| e)?;
            }
        }
        Ok(())
    }
}

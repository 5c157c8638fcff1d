//! The map's basemap, chosen with `serve --basemap SPEC`:
//!
//! * a raster tile template (`https://…/{z}/{x}/{y}.png`) or a WMTS KVP/REST template
//!   (`{TileMatrix}`, `{TileCol}`, `{TileRow}`), drawn as a raster layer;
//! * a MapLibre style JSON, a URL (the map loads it from there) or a file (served as it is);
//! * a local MBTiles file that lagesbild serves itself at `/basemap/{z}/{x}/{y}`
//!   with `/basemap/tilejson.json`: raster tiles as a raster layer, vector tiles (OpenMapTiles-
//!   style Protomaps schema) with the vendored Protomaps style.
//!
//! Without `--basemap` the style has only a background: the map orients from our own layers.
//! `/basemap/style.json` is the style the web map starts from in every case; it names our glyph
//! endpoint (`/fonts/{fontstack}/{range}.pbf`) and carries the basemap's attribution.

use super::error::ApiError;
use super::features::base_url;
use super::AppState;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};
use std::path::{Path as FsPath, PathBuf};
use std::sync::Mutex;

/// Protomaps' light style, generated from `@protomaps/basemaps` (web/vendor/protomaps-basemaps).
const PROTOMAPS_LAYERS: &str = include_str!("../../web/vendor/protomaps-basemaps/layers-light-sv.json");
const BACKGROUND: &str = "#eef0ea";
/// The deepest zoom a tile request may name.
const MAX_Z: u8 = 24;

#[derive(Debug, thiserror::Error)]
pub enum BasemapError {
    #[error(
        "--basemap '{0}': not a tile template with {{z}}/{{x}}/{{y}} (or WMTS {{TileMatrix}}/{{TileCol}}/{{TileRow}}), a style .json, or an .mbtiles file"
    )]
    Unknown(String),
    #[error("--basemap {path}: {reason}")]
    File { path: String, reason: String },
}

/// Tile payload kinds a local file may hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TileFormat {
    Png,
    Jpeg,
    Webp,
    Mvt,
}

impl TileFormat {
    fn from_name(s: &str) -> Option<TileFormat> {
        match s.to_ascii_lowercase().as_str() {
            "png" => Some(TileFormat::Png),
            "jpg" | "jpeg" => Some(TileFormat::Jpeg),
            "webp" => Some(TileFormat::Webp),
            "pbf" | "mvt" => Some(TileFormat::Mvt),
            _ => None,
        }
    }
    fn mime(self) -> &'static str {
        match self {
            TileFormat::Png => "image/png",
            TileFormat::Jpeg => "image/jpeg",
            TileFormat::Webp => "image/webp",
            TileFormat::Mvt => "application/vnd.mapbox-vector-tile",
        }
    }
    fn is_raster(self) -> bool {
        self != TileFormat::Mvt
    }
}

/// A tile file lagesbild reads.
pub enum LocalTiles {
    /// The SQLite connection is not shareable between threads; requests take turns.
    Mbtiles(Mutex<rusqlite::Connection>),
}

pub struct Local {
    pub tiles: LocalTiles,
    pub format: TileFormat,
    pub minzoom: u8,
    pub maxzoom: u8,
    pub bounds: Option<[f64; 4]>,
    pub name: String,
    pub attribution: Option<String>,
}

pub enum Basemap {
    None,
    Raster { template: String, attribution: Option<String> },
    StyleUrl(String),
    StyleFile(Value),
    Local(Box<Local>),
}

fn file_err(path: &FsPath, reason: impl ToString) -> BasemapError {
    BasemapError::File { path: path.display().to_string(), reason: reason.to_string() }
}

/// WMTS templates name the tile matrix, column and row; with a Web Mercator (Google) matrix set
/// they are zoom, x and y.
fn normalise_template(t: &str) -> String {
    let mut s = t.to_string();
    for (from, to) in [("{TileMatrix}", "{z}"), ("{TileCol}", "{x}"), ("{TileRow}", "{y}")] {
        s = s.replace(from, to);
    }
    s
}

impl Basemap {
    /// Reads `--basemap SPEC`; files are opened and checked now so that a bad one stops the start.
    pub fn open(spec: Option<&str>, attribution: Option<String>) -> Result<Basemap, BasemapError> {
        let Some(spec) = spec.map(str::trim).filter(|s| !s.is_empty()) else { return Ok(Basemap::None) };
        let lower = spec.to_ascii_lowercase();
        let remote = lower.starts_with("http://") || lower.starts_with("https://");
        let path_part = lower.split(['?', '#']).next().unwrap_or("");
        let templ = normalise_template(spec);
        if remote && templ.contains("{z}") && templ.contains("{x}") && templ.contains("{y}") {
            return Ok(Basemap::Raster { template: templ, attribution });
        }
        if path_part.ends_with(".json") {
            if remote {
                return Ok(Basemap::StyleUrl(spec.to_string()));
            }
            let p = PathBuf::from(spec);
            let text = std::fs::read_to_string(&p).map_err(|e| file_err(&p, e))?;
            let mut v: Value = serde_json::from_str(&text).map_err(|e| file_err(&p, format!("not JSON: {e}")))?;
            if v.get("version").and_then(Value::as_i64) != Some(8) || !v.get("layers").is_some_and(Value::is_array) {
                return Err(file_err(&p, "not a MapLibre style (version 8 with layers)"));
            }
            if let (Some(a), Some(srcs)) = (&attribution, v.get_mut("sources").and_then(Value::as_object_mut)) {
                for s in srcs.values_mut().filter_map(Value::as_object_mut) {
                    s.entry("attribution").or_insert_with(|| a.clone().into());
                }
            }
            return Ok(Basemap::StyleFile(v));
        }
        if !remote && path_part.ends_with(".mbtiles") {
            let p = PathBuf::from(spec);
            let local = open_mbtiles(&p)?;
            let attribution = attribution.or(local.attribution.clone());
            return Ok(Basemap::Local(Box::new(Local { attribution, ..local })));
        }
        Err(BasemapError::Unknown(spec.to_string()))
    }

    fn attribution(&self) -> Option<&str> {
        match self {
            Basemap::Raster { attribution, .. } => attribution.as_deref(),
            Basemap::Local(l) => l.attribution.as_deref(),
            _ => None,
        }
    }
}

fn open_mbtiles(p: &FsPath) -> Result<Local, BasemapError> {
    use rusqlite::OpenFlags;
    if !p.is_file() {
        return Err(file_err(p, "no such file"));
    }
    let conn = rusqlite::Connection::open_with_flags(p, OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX).map_err(|e| file_err(p, e))?;
    let mut meta = std::collections::HashMap::new();
    {
        let mut st = conn.prepare("SELECT name, value FROM metadata").map_err(|e| file_err(p, format!("not an MBTiles file: {e}")))?;
        let rows = st.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))).map_err(|e| file_err(p, e))?;
        for r in rows.flatten() {
            meta.insert(r.0, r.1);
        }
    }
    let format = meta.get("format").and_then(|f| TileFormat::from_name(f)).ok_or_else(|| file_err(p, "metadata 'format' is not png, jpg, webp or pbf"))?;
    let (zmin, zmax): (Option<u8>, Option<u8>) = conn
        .query_row("SELECT MIN(zoom_level), MAX(zoom_level) FROM tiles", [], |r| Ok((r.get(0)?, r.get(1)?)))
        .map_err(|e| file_err(p, format!("no tiles table: {e}")))?;
    let (Some(minzoom), Some(maxzoom)) = (zmin, zmax) else { return Err(file_err(p, "holds no tiles")) };
    let bounds = meta.get("bounds").and_then(|b| {
        let v: Vec<f64> = b.split(',').filter_map(|x| x.trim().parse().ok()).collect();
        (v.len() == 4).then(|| [v[0], v[1], v[2], v[3]])
    });
    Ok(Local {
        tiles: LocalTiles::Mbtiles(Mutex::new(conn)),
        format,
        minzoom,
        maxzoom,
        bounds,
        name: meta.get("name").cloned().unwrap_or_else(|| "basemap".into()),
        attribution: meta.get("attribution").cloned(),
    })
}

impl Local {
    /// The tile at z/x/y (XYZ scheme), as stored (vector tiles may be gzip-compressed).
    fn tile(&self, z: u8, x: u32, y: u32) -> Result<Option<Vec<u8>>, String> {
        match &self.tiles {
            LocalTiles::Mbtiles(c) => {
                let c = c.lock().map_err(|e| e.to_string())?;
                // MBTiles rows count from the south (TMS).
                let row = (1u32 << z) - 1 - y;
                match c.query_row(
                    "SELECT tile_data FROM tiles WHERE zoom_level = ?1 AND tile_column = ?2 AND tile_row = ?3",
                    rusqlite::params![z, x, row],
                    |r| r.get::<_, Vec<u8>>(0),
                ) {
                    Ok(b) => Ok(Some(b)),
                    Err(rusqlite::Error::QueryReturnedNoRows) => Ok(None),
                    Err(e) => Err(e.to_string()),
                }
            }
        }
    }
}

fn tilejson_value(l: &Local, base: &str) -> Value {
    let mut tj = json!({
        "tilejson": "3.0.0",
        "name": l.name,
        "tiles": [format!("{base}/basemap/{{z}}/{{x}}/{{y}}")],
        "minzoom": l.minzoom,
        "maxzoom": l.maxzoom,
        "scheme": "xyz",
        "format": match l.format { TileFormat::Png => "png", TileFormat::Jpeg => "jpg", TileFormat::Webp => "webp", TileFormat::Mvt => "pbf" },
    });
    if let Some(b) = l.bounds {
        tj["bounds"] = json!(b);
    }
    if let Some(a) = &l.attribution {
        tj["attribution"] = a.clone().into();
    }
    tj
}

/// The style the web map starts from.
pub fn style(b: &Basemap, base: &str) -> Value {
    let glyphs = format!("{base}/fonts/{{fontstack}}/{{range}}.pbf");
    let background = json!({"id": "background", "type": "background", "paint": {"background-color": BACKGROUND}});
    let mut style = json!({"version": 8, "name": "lagesbild", "glyphs": glyphs, "sources": {}, "layers": [background],
        "metadata": {"lagesbild:basemap": "none"}});
    match b {
        Basemap::None | Basemap::StyleUrl(_) | Basemap::StyleFile(_) => {}
        Basemap::Raster { template, attribution } => {
            let mut src = json!({"type": "raster", "tiles": [template], "tileSize": 256});
            if let Some(a) = attribution {
                src["attribution"] = a.clone().into();
            }
            style["sources"]["basemap"] = src;
            style["layers"].as_array_mut().map(|l| l.push(json!({"id": "basemap", "type": "raster", "source": "basemap"})));
            style["metadata"]["lagesbild:basemap"] = "raster".into();
        }
        Basemap::Local(l) if l.format.is_raster() => {
            let mut src = json!({"type": "raster", "url": format!("{base}/basemap/tilejson.json"), "tileSize": 256});
            if let Some(a) = &l.attribution {
                src["attribution"] = a.clone().into();
            }
            style["sources"]["basemap"] = src;
            style["layers"].as_array_mut().map(|v| v.push(json!({"id": "basemap", "type": "raster", "source": "basemap"})));
            style["metadata"]["lagesbild:basemap"] = "local-raster".into();
        }
        Basemap::Local(l) => {
            let mut src = json!({"type": "vector", "url": format!("{base}/basemap/tilejson.json")});
            src["attribution"] = l.attribution.clone().unwrap_or_else(|| "© OpenStreetMap".into()).into();
            style["sources"]["protomaps"] = src;
            let layers: Vec<Value> = serde_json::from_str(PROTOMAPS_LAYERS).unwrap_or_default();
            style["layers"] = layers.into();
            style["metadata"]["lagesbild:basemap"] = "local-vector".into();
        }
    }
    style
}

/// `GET /basemap/style.json`.
pub async fn style_handler(State(s): State<AppState>, headers: HeaderMap) -> Result<Response, ApiError> {
    let b = &s.basemap;
    let v = match b.as_ref() {
        Basemap::StyleUrl(u) => return Ok((StatusCode::FOUND, [(header::LOCATION, u.clone())]).into_response()),
        Basemap::StyleFile(v) => {
            // Our label layers need glyphs; a style without any gets ours.
            let mut v = v.clone();
            if v.get("glyphs").is_none() {
                v["glyphs"] = format!("{}/fonts/{{fontstack}}/{{range}}.pbf", base_url(&headers)).into();
            }
            v
        }
        other => style(other, &base_url(&headers)),
    };
    Ok(Json(v).into_response())
}

/// `GET /basemap/tilejson.json`: TileJSON 3.0 of a raster template or a local tile file.
pub async fn tilejson_handler(State(s): State<AppState>, headers: HeaderMap) -> Result<Json<Value>, ApiError> {
    match s.basemap.as_ref() {
        Basemap::Local(l) => Ok(Json(tilejson_value(l, &base_url(&headers)))),
        Basemap::Raster { template, .. } => {
            let mut tj = json!({"tilejson": "3.0.0", "name": "basemap", "tiles": [template], "scheme": "xyz", "format": "png"});
            if let Some(a) = s.basemap.attribution() {
                tj["attribution"] = a.into();
            }
            Ok(Json(tj))
        }
        _ => Err(ApiError::NotFound("no tiled basemap is configured (serve --basemap)".into())),
    }
}

fn parse_zxy(z: &str, x: &str, y: &str) -> Result<(u8, u32, u32), ApiError> {
    let y = y.split('.').next().unwrap_or(y);
    let bad = || ApiError::BadRequest(format!("tile {z}/{x}/{y} is not z/x/y with z at most {MAX_Z} and x, y below 2^z"));
    let z: u8 = z.parse().map_err(|_| bad())?;
    if z > MAX_Z {
        return Err(bad());
    }
    let (x, y): (u32, u32) = (x.parse().map_err(|_| bad())?, y.parse().map_err(|_| bad())?);
    if x >= 1 << z || y >= 1 << z {
        return Err(bad());
    }
    Ok((z, x, y))
}

/// `GET /basemap/{z}/{x}/{y}` from the local file.
pub async fn tile_handler(State(s): State<AppState>, Path((z, x, y)): Path<(String, String, String)>) -> Result<Response, ApiError> {
    let (z, x, y) = parse_zxy(&z, &x, &y)?;
    let Basemap::Local(_) = s.basemap.as_ref() else { return Err(ApiError::NotFound("no local basemap file is configured (serve --basemap FILE)".into())) };
    let st = s.clone();
    let data = tokio::task::spawn_blocking(move || match st.basemap.as_ref() {
        Basemap::Local(l) => l.tile(z, x, y).map(|t| (t, l.format)),
        _ => Ok((None, TileFormat::Png)),
    })
    .await
    .map_err(|e| ApiError::Internal(e.into()))?
    .map_err(|e| ApiError::Internal(e.into()))?;
    let (Some(bytes), format) = data else { return Err(ApiError::NotFound(format!("no basemap tile {z}/{x}/{y}"))) };
    let mut r = ([(header::CONTENT_TYPE, format.mime())], bytes.clone()).into_response();
    if bytes.starts_with(&[0x1f, 0x8b]) {
        r.headers_mut().insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
    }
    r.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=3600"));
    Ok(r)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wmts_rest_templates_become_xyz_templates() {
        let b = Basemap::open(Some("https://maps.example.se/wmts/topowebb/default/3857/{TileMatrix}/{TileRow}/{TileCol}.png"), Some("© Lantmäteriet".into()))
            .unwrap();
        match b {
            Basemap::Raster { template, attribution } => {
                assert_eq!(template, "https://maps.example.se/wmts/topowebb/default/3857/{z}/{y}/{x}.png");
                assert_eq!(attribution.as_deref(), Some("© Lantmäteriet"));
            }
            _ => panic!("not a raster basemap"),
        }
    }

    #[test]
    fn an_unknown_spec_is_refused_and_no_spec_is_no_basemap() {
        assert!(matches!(Basemap::open(Some("karta.tif"), None), Err(BasemapError::Unknown(_))));
        assert!(matches!(Basemap::open(None, None), Ok(Basemap::None)));
        assert!(matches!(Basemap::open(Some("https://example.se/style.json"), None), Ok(Basemap::StyleUrl(_))));
    }

    #[test]
    fn tile_coordinates_outside_the_zoom_level_are_refused() {
        assert_eq!(parse_zxy("3", "7", "7.png").unwrap(), (3, 7, 7));
        assert!(parse_zxy("3", "8", "0").is_err());
        assert!(parse_zxy("25", "0", "0").is_err());
        assert!(parse_zxy("a", "0", "0").is_err());
    }

    #[test]
    fn the_default_style_names_our_glyphs_and_has_no_remote_source() {
        let s = style(&Basemap::None, "http://127.0.0.1:1");
        assert_eq!(s["glyphs"], "http://127.0.0.1:1/fonts/{fontstack}/{range}.pbf");
        assert_eq!(s["sources"], json!({}));
    }
}

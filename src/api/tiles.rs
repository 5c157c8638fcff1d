//! Vector tiles (Mapbox Vector Tile 2.1) and TileJSON 3.0 per collection. Features are clipped
//! to the tile plus a buffer and simplified to one pixel of the 4096 extent. Incident points are
//! aggregated to grid cells below zoom 13, and shown as points only to roles that may see them.

use super::auth::{Caller, Role};
use super::error::{check_params, ApiError};
use super::features::{authorise, base_url, find};
use super::layers::{view, Access, Collection};
use super::AppState;
use crate::privacy::{cache_control, Resource};
use crate::tiles::{inv_merc, merc, tile_bounds};
use axum::extract::{Path, RawQuery, State};
use axum::http::{header, HeaderMap, HeaderValue};
use axum::response::Response;
use axum::Json;
use geo::{BooleanOps, BoundingRect, MapCoords, Simplify};
use geozero::mvt::{tile, Message, TagsBuilder, Tile, TileValue};
use geozero::ToMvt;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::{Arc, RwLock};

pub const EXTENT: u32 = 4096;
const BUFFER_PX: f64 = 64.0;
pub const MAX_ZOOM: u8 = 20;
/// Below this zoom incident points are shown as grid aggregates for every role.
pub const POINT_ZOOM: u8 = 13;

/// A tile, plain and gzip-compressed once (most clients accept gzip; compressing per request
/// would cost more than building the tile).
#[derive(Clone)]
pub struct CachedTile {
    pub raw: bytes::Bytes,
    pub gzip: bytes::Bytes,
}

impl CachedTile {
    fn new(raw: Vec<u8>) -> CachedTile {
        use std::io::Write;
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        let _ = enc.write_all(&raw);
        let gzip = enc.finish().unwrap_or_default();
        CachedTile { raw: raw.into(), gzip: gzip.into() }
    }
}

/// (collection, role bucket, z, x, y). A cache lives as long as its data generation (a reload
/// starts a new one), so the generation is part of every key without being stored.
type TileKey = (&'static str, Role, u8, u32, u32);

/// Tiles by [`TileKey`]. A hit is a read lock and two `Bytes` reference counts: no allocation.
#[derive(Default)]
pub struct TileCache {
    map: RwLock<HashMap<TileKey, CachedTile>>,
}

impl TileCache {
    const MAX: usize = 20_000;
    fn get(&self, k: &TileKey) -> Option<CachedTile> {
        self.map.read().ok()?.get(k).cloned()
    }
    fn put(&self, k: TileKey, v: CachedTile) {
        if let Ok(mut m) = self.map.write() {
            if m.len() >= Self::MAX {
                m.clear(); // simple and bounded; tiles are cheap to rebuild
            }
            m.insert(k, v);
        }
    }
}

/// Whether the client takes gzip (`Accept-Encoding`), read without copying the request's headers.
pub struct AcceptsGzip(pub bool);

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for AcceptsGzip {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut axum::http::request::Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(AcceptsGzip(accepts_gzip(&parts.headers)))
    }
}

fn accepts_gzip(headers: &HeaderMap) -> bool {
    headers.get_all(header::ACCEPT_ENCODING).iter().filter_map(|v| v.to_str().ok()).any(|v| v.split(',').any(|e| e.trim().starts_with("gzip")))
}

/// Clips and simplifies a WGS84 geometry for a tile; None when nothing is left.
fn prepare(g: &geo::Geometry<f64>, b: [f64; 4]) -> Option<geo::Geometry<f64>> {
    let size = b[2] - b[0];
    let buf = size * BUFFER_PX / EXTENT as f64;
    let clip = geo::Rect::new(geo::coord! {x: b[0] - buf, y: b[1] - buf}, geo::coord! {x: b[2] + buf, y: b[3] + buf});
    let m = g.map_coords(|c| {
        let (x, y) = merc(c.x, c.y);
        geo::coord! {x: x, y: y}
    });
    let tol = size / EXTENT as f64;
    match m {
        geo::Geometry::Point(p) => clip.to_polygon().contains_point(p).then_some(geo::Geometry::Point(p)),
        geo::Geometry::Polygon(p) => clip_polys(geo::MultiPolygon(vec![p]), &clip, tol),
        geo::Geometry::MultiPolygon(mp) => clip_polys(mp, &clip, tol),
        geo::Geometry::LineString(l) => {
            let r = l.bounding_rect()?;
            intersects(&r, &clip).then(|| geo::Geometry::LineString(l.simplify(&tol)))
        }
        other => Some(other),
    }
}

trait ContainsPoint {
    fn contains_point(&self, p: geo::Point<f64>) -> bool;
}
impl ContainsPoint for geo::Polygon<f64> {
    fn contains_point(&self, p: geo::Point<f64>) -> bool {
        use geo::Intersects;
        self.intersects(&p)
    }
}

fn intersects(a: &geo::Rect<f64>, b: &geo::Rect<f64>) -> bool {
    a.min().x <= b.max().x && a.max().x >= b.min().x && a.min().y <= b.max().y && a.max().y >= b.min().y
}

fn clip_polys(mp: geo::MultiPolygon<f64>, clip: &geo::Rect<f64>, tol: f64) -> Option<geo::Geometry<f64>> {
    let r = mp.bounding_rect()?;
    if !intersects(&r, clip) {
        return None;
    }
    let inside = r.min().x >= clip.min().x && r.max().x <= clip.max().x && r.min().y >= clip.min().y && r.max().y <= clip.max().y;
    let clipped = if inside { mp } else { mp.intersection(&geo::MultiPolygon(vec![clip.to_polygon()])) };
    let s = clipped.simplify(&tol);
    let s = geo::MultiPolygon(s.0.into_iter().filter(|p| p.exterior().0.len() >= 4).collect());
    (!s.0.is_empty()).then_some(geo::Geometry::MultiPolygon(s))
}

fn tag_value(v: &Value) -> Option<TileValue> {
    match v {
        Value::String(s) => Some(TileValue::Str(s.clone())),
        Value::Bool(b) => Some(TileValue::Bool(*b)),
        Value::Number(n) => n.as_i64().map(TileValue::Sint).or_else(|| n.as_u64().map(TileValue::Uint)).or_else(|| n.as_f64().map(TileValue::Double)),
        _ => None,
    }
}

/// Grid cell size (metres, SWEREF 99 TM) used to aggregate incident points at a zoom.
pub fn aggregate_cell_m(z: u8) -> f64 {
    match z {
        0..=8 => 4000.0,
        9..=10 => 2000.0,
        11 => 1000.0,
        _ => 500.0,
    }
}

/// Encodes features (WGS84) into one MVT layer.
fn encode(layer: &str, feats: Vec<(geo::Geometry<f64>, serde_json::Map<String, Value>)>, z: u8, x: u32, y: u32) -> Result<Vec<u8>, ApiError> {
    let b = tile_bounds(z, x, y);
    let mut tags = TagsBuilder::new();
    let mut out = Vec::new();
    for (k, (g, props)) in feats.into_iter().enumerate() {
        let Some(g) = prepare(&g, b) else { continue };
        let f = match &g {
            // Polygons follow MVT 2.1's ring rules on the integer grid; points and lines as before.
            geo::Geometry::MultiPolygon(mp) => match crate::tiles::mvt::tile_polygons(mp, b, EXTENT) {
                Some(t) => geo::Geometry::MultiPolygon(t).to_mvt_unscaled(),
                None => continue,
            },
            other => other.to_mvt(EXTENT, b[0], b[1], b[2], b[3]),
        };
        let mut f = f?;
        if f.geometry.is_empty() {
            continue;
        }
        f.id = Some(k as u64 + 1);
        for (key, v) in &props {
            if let Some(tv) = tag_value(v) {
                let (ki, vi) = tags.insert_ref(key, tv);
                f.tags.push(ki);
                f.tags.push(vi);
            }
        }
        out.push(f);
    }
    let (keys, values) = tags.into_tags();
    let tile = Tile {
        layers: vec![tile::Layer {
            version: 2,
            name: layer.to_string(),
            features: out,
            keys,
            values: values.into_iter().map(Into::into).collect(),
            extent: Some(EXTENT),
        }],
    };
    Ok(tile.encode_to_vec())
}

fn role_bucket(r: Role) -> Role {
    match r {
        Role::Public => Role::Public,
        Role::Partner => Role::Partner,
        _ => Role::Analyst,
    }
}

fn parse_zxy(z: &str, x: &str, y: &str) -> Result<(u8, u32, u32), ApiError> {
    let z: u8 = z.parse().map_err(|_| ApiError::BadRequest(format!("zoom '{z}' is not a number")))?;
    if z > MAX_ZOOM {
        return Err(ApiError::BadRequest(format!("zoom {z} is out of range 0–{MAX_ZOOM}")));
    }
    let y = y.strip_suffix(".mvt").or_else(|| y.strip_suffix(".pbf")).ok_or_else(|| ApiError::NotFound("tiles end in .mvt".into()))?;
    let n = 1u64 << z;
    let x: u64 = x.parse().map_err(|_| ApiError::BadRequest(format!("tile column '{x}' is not a number")))?;
    let y: u64 = y.parse().map_err(|_| ApiError::BadRequest(format!("tile row '{y}' is not a number")))?;
    if x >= n || y >= n {
        return Err(ApiError::BadRequest(format!("tile {z}/{x}/{y} is outside the zoom level (0–{})", n - 1)));
    }
    Ok((z, x as u32, y as u32))
}

pub async fn tile(
    State(s): State<Arc<AppState>>,
    caller: Caller,
    AcceptsGzip(gzip): AcceptsGzip,
    Path((id, z, x, y)): Path<(String, String, String, String)>,
    RawQuery(q): RawQuery,
) -> Result<Response, ApiError> {
    check_params(q.as_deref(), &[])?;
    let (z, x, y) = parse_zxy(&z, &x, &y)?;
    // Aggregated incident tiles count the shared incidents directly; only point tiles need the
    // incident features (a million of them at county scale).
    let c = if id == "incidents" && (z < POINT_ZOOM || caller.role == Role::Public) {
        s.layers.peek(&id).ok_or_else(|| ApiError::NotFound(format!("no collection '{id}'")))?
    } else {
        find(&s, &id, caller.role)?
    };
    respond(&s, &caller, gzip, c, z, x, y).await
}

const MVT: HeaderValue = HeaderValue::from_static("application/vnd.mapbox-vector-tile");
const GZIP: HeaderValue = HeaderValue::from_static("gzip");
const VARY: HeaderValue = HeaderValue::from_static("Authorization, Accept-Encoding");

/// One tile as the caller may see it, from the cache or built: shared by `/tiles/…` and OGC API
/// – Tiles, so both answer the same bytes with the same privacy and caching.
pub(crate) async fn respond(s: &Arc<AppState>, caller: &Caller, gzip: bool, c: Arc<Collection>, z: u8, x: u32, y: u32) -> Result<Response, ApiError> {
    let bucket = role_bucket(caller.role);
    let key = (c.id, bucket, z, x, y);
    let raw_points = c.access == Access::Incidents && z >= POINT_ZOOM && bucket == Role::Analyst;
    let bytes = match s.tiles.get(&key) {
        Some(b) => b,
        None => {
            let st = s.clone();
            let c2 = c.clone();
            let role = caller.role;
            let b = tokio::task::spawn_blocking(move || build_tile(&st, &c2, role, z, x, y)).await??;
            let t = CachedTile::new(b);
            s.tiles.put(key, t.clone());
            t
        }
    };
    if raw_points {
        // Raw points left the server: audited even when the tile came from the cache.
        s.audit.record(caller, c.id, &format!("tile {z}/{x}/{y}"), 1);
    }
    let mut resp = Response::new(axum::body::Body::from(if gzip { bytes.gzip } else { bytes.raw }));
    let h = resp.headers_mut();
    h.insert(header::CONTENT_TYPE, MVT);
    if gzip {
        h.insert(header::CONTENT_ENCODING, GZIP);
    }
    let what = if c.access == Access::Incidents { Resource::Restricted } else { Resource::Tile };
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache_control(bucket, what)));
    h.insert(header::VARY, VARY);
    Ok(resp)
}

/// Builds one tile as the role may see it (also used by the benchmark and tests).
pub fn build_tile(s: &AppState, c: &Collection, role: Role, z: u8, x: u32, y: u32) -> Result<Vec<u8>, ApiError> {
    let b = tile_bounds(z, x, y);
    let (w0, s0) = inv_merc(b[0], b[1]);
    let (e0, n0) = inv_merc(b[2], b[3]);
    let pad = (e0 - w0) * 0.05;
    let tb = [w0 - pad, s0 - pad, e0 + pad, n0 + pad];
    let in_tile = |bb: &[f64; 4]| bb[2] >= tb[0] && bb[0] <= tb[2] && bb[3] >= tb[1] && bb[1] <= tb[3];
    if c.access == Access::Incidents && (z < POINT_ZOOM || role == Role::Public) {
        // Aggregates: counts per grid cell; small counts left out for public and partner.
        let cell = if z < POINT_ZOOM { aggregate_cell_m(z) } else { 250.0 };
        let grid = crate::spatial::grid::GridSpec::square(cell);
        let mut counts: std::collections::BTreeMap<crate::spatial::grid::CellKey, u64> = Default::default();
        for i in s.layers.picture.point_incidents() {
            *counts.entry(grid.key_of(i.location.x(), i.location.y())).or_default() += 1;
        }
        let mut feats = Vec::new();
        for (k, n) in counts {
            if role.min_count(s.config.min_public_count).is_some_and(|m| crate::privacy::is_small(n, m)) {
                continue;
            }
            let cellg = grid.cell(&k);
            let g = crate::crs::to_wgs84(&cellg.polygon.clone().into())?;
            let bb = g.bounding_rect().map(|r| [r.min().x, r.min().y, r.max().x, r.max().y]).unwrap_or([0.0; 4]);
            if !in_tile(&bb) {
                continue;
            }
            let mut p = serde_json::Map::new();
            p.insert("cell_id".into(), cellg.id.into());
            p.insert("count".into(), n.into());
            p.insert("cell_size_m".into(), cell.into());
            feats.push((g, p));
        }
        return encode(c.id, feats, z, x, y);
    }
    let feats: Vec<_> = c
        .features
        .iter()
        .filter(|f| in_tile(&f.bbox_wgs))
        .filter_map(|f| view(c, f, role, s.config.min_public_count))
        .map(|(p, _, gwgs, _)| (gwgs, p))
        .collect();
    encode(c.id, feats, z, x, y)
}

pub async fn tilejson(
    State(s): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    Path(id): Path<String>,
    RawQuery(q): RawQuery,
) -> Result<Json<Value>, ApiError> {
    check_params(q.as_deref(), &[])?;
    let c = find(&s, &id, caller.role)?;
    if c.access == Access::Incidents {
        // Aggregated tiles are open to every role; the TileJSON says what the caller gets.
        let _ = authorise(&c, &caller).is_ok();
    }
    let b = base_url(&headers);
    let bounds = c.extent_wgs84().unwrap_or([10.0, 55.0, 25.0, 69.5]);
    let (minzoom, maxzoom) = s.layers.zoom_range(c.id);
    let fields: serde_json::Map<String, Value> = c.property_names().into_iter().map(|n| (n, Value::String("".into()))).collect();
    Ok(Json(json!({
        "tilejson": "3.0.0",
        "name": c.title,
        "description": c.description,
        "attribution": "Källa: SCB, Polisen",
        "tiles": [format!("{b}/tiles/{}/{{z}}/{{x}}/{{y}}.mvt", c.id)],
        "minzoom": minzoom,
        "maxzoom": maxzoom,
        "bounds": bounds,
        "center": [(bounds[0] + bounds[2]) / 2.0, (bounds[1] + bounds[3]) / 2.0, 11],
        "vector_layers": [{"id": c.id, "fields": fields, "minzoom": minzoom, "maxzoom": maxzoom}],
        "scheme": "xyz"
    })))
}

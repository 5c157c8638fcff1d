//! OGC API – Tiles, Part 1 (core, tileset, tilesets-list, geodata-tilesets, mvt) beside the
//! `/tiles/{id}/{z}/{x}/{y}.mvt` routes: the WebMercatorQuad tile matrix set, each collection's
//! tileset with its limits, and tiles addressed as `{tileMatrix}/{tileRow}/{tileCol}` (row
//! before column). Tiles come from the same builder, cache, roles and privacy as `/tiles/…`.

use super::auth::{Caller, Role};
use super::error::{check_params, ApiError};
use super::features::{base_url, find};
use super::AppState;
use crate::catalog::{Access, Collection};
use crate::tiles::{tile_range, HALF_WORLD, TMS_MAX_ZOOM};
use axum::extract::{Path, RawQuery, State};
use axum::http::HeaderMap;
use axum::response::Response;
use axum::Json;
use serde_json::{json, Value};

pub const TMS_ID: &str = "WebMercatorQuad";
pub const TMS_URI: &str = "http://www.opengis.net/def/tilematrixset/OGC/1.0/WebMercatorQuad";
pub const REL_TILESETS_VECTOR: &str = "http://www.opengis.net/def/rel/ogc/1.0/tilesets-vector";
const REL_TILING_SCHEME: &str = "http://www.opengis.net/def/rel/ogc/1.0/tiling-scheme";
const CRS_3857: &str = "http://www.opengis.net/def/crs/EPSG/0/3857";
const MVT: &str = "application/vnd.mapbox-vector-tile";

/// The conformance classes of OGC API – Tiles Part 1 this service implements.
pub const CONFORMANCE: &[&str] = &[
    "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/tileset",
    "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/tilesets-list",
    "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/geodata-tilesets",
    "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/mvt",
    "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/oas30",
];

/// `GET /tileMatrixSets`
pub async fn tile_matrix_sets(headers: HeaderMap, RawQuery(q): RawQuery) -> Result<Json<Value>, ApiError> {
    check_params(q.as_deref(), &["f"])?;
    let b = base_url(&headers);
    Ok(Json(json!({
        "tileMatrixSets": [{
            "id": TMS_ID,
            "title": "Google Maps Compatible for the World",
            "uri": TMS_URI,
            "links": [{"href": format!("{b}/tileMatrixSets/{TMS_ID}"), "rel": "self", "type": "application/json", "title": TMS_ID}]
        }],
        "links": [{"href": format!("{b}/tileMatrixSets"), "rel": "self", "type": "application/json"}]
    })))
}

/// `GET /tileMatrixSets/{id}`: the OGC Two Dimensional Tile Matrix Set definition (17-083r4).
/// GDAL 3.6 (Debian 12) recognises a definition only with `identifier` and `boundingBox` and
/// reads `supportedCRS` and each matrix's `identifier` and `topLeftCorner` (the 2017 encoding,
/// 17-083r2), so those
/// members stand beside the current ones.
pub async fn tile_matrix_set(headers: HeaderMap, Path(id): Path<String>, RawQuery(q): RawQuery) -> Result<Json<Value>, ApiError> {
    check_params(q.as_deref(), &["f"])?;
    if id != TMS_ID {
        return Err(ApiError::NotFound(format!("no tile matrix set '{id}' (tile matrix sets: {TMS_ID})")));
    }
    let b = base_url(&headers);
    // 0.28 mm pixels (the OGC standardized rendering pixel size), 256 pixels per tile.
    let matrices: Vec<Value> = (0..=TMS_MAX_ZOOM)
        .map(|z| {
            let n = 1u64 << z;
            let cell = 2.0 * HALF_WORLD / 256.0 / n as f64;
            json!({
                "id": z.to_string(),
                "identifier": z.to_string(),
                "scaleDenominator": cell / 0.00028,
                "cellSize": cell,
                "cornerOfOrigin": "topLeft",
                "pointOfOrigin": [-HALF_WORLD, HALF_WORLD],
                "topLeftCorner": [-HALF_WORLD, HALF_WORLD],
                "tileWidth": 256,
                "tileHeight": 256,
                "matrixWidth": n,
                "matrixHeight": n
            })
        })
        .collect();
    Ok(Json(json!({
        "id": TMS_ID,
        "identifier": TMS_ID,
        "title": "Google Maps Compatible for the World",
        "uri": TMS_URI,
        "crs": CRS_3857,
        "supportedCRS": CRS_3857,
        "boundingBox": {"crs": CRS_3857, "lowerCorner": [-HALF_WORLD, -HALF_WORLD], "upperCorner": [HALF_WORLD, HALF_WORLD]},
        "orderedAxes": ["X", "Y"],
        "wellKnownScaleSet": "http://www.opengis.net/def/wkss/OGC/1.0/GoogleMapsCompatible",
        "tileMatrices": matrices,
        "links": [{"href": format!("{b}/tileMatrixSets/{TMS_ID}"), "rel": "self", "type": "application/json"}]
    })))
}

/// The WGS84 box a collection's tiles cover (Sweden when it is empty). Incident tiles draw grid
/// cells around the points, so their box grows by the largest cell.
fn extent(c: &Collection) -> [f64; 4] {
    let e = c.extent_wgs84().unwrap_or([10.0, 55.0, 25.0, 69.5]);
    if c.access != Access::Incidents {
        return e;
    }
    let m = super::tiles::aggregate_cell_m(0);
    let dlat = m / 111_320.0;
    let dlon = dlat / e[3].max(e[1]).to_radians().cos();
    [e[0] - dlon, e[1] - dlat, e[2] + dlon, e[3] + dlat]
}

fn geometry_type(c: &Collection) -> &'static str {
    if c.access == Access::Incidents {
        // Grid cells for the public and below the point zoom, which is most of the tileset.
        return "polygons";
    }
    match c.features.first().map(|f| &f.g3006) {
        Some(geo::Geometry::Point(_) | geo::Geometry::MultiPoint(_)) => "points",
        Some(geo::Geometry::LineString(_) | geo::Geometry::MultiLineString(_)) => "lines",
        _ => "polygons",
    }
}

fn tileset_summary(c: &Collection, b: &str) -> Value {
    json!({
        "title": c.title,
        "dataType": "vector",
        "crs": CRS_3857,
        "tileMatrixSetURI": TMS_URI,
        "links": [
            {"href": format!("{b}/collections/{}/tiles/{TMS_ID}", c.id), "rel": "self", "type": "application/json", "title": format!("{} ({TMS_ID})", c.title)},
            {"href": format!("{b}/tileMatrixSets/{TMS_ID}"), "rel": REL_TILING_SCHEME, "type": "application/json", "title": TMS_ID}
        ]
    })
}

/// `GET /collections/{id}/tiles`: the tilesets of a collection (one, WebMercatorQuad).
pub async fn tilesets(State(s): State<AppState>, headers: HeaderMap, Path(id): Path<String>, RawQuery(q): RawQuery) -> Result<Json<Value>, ApiError> {
    check_params(q.as_deref(), &["f"])?;
    let c = find(&s, &id, Role::Public)?;
    let b = base_url(&headers);
    Ok(Json(json!({
        "tilesets": [tileset_summary(&c, &b)],
        "links": [
            {"href": format!("{b}/collections/{}/tiles", c.id), "rel": "self", "type": "application/json"},
            {"href": format!("{b}/collections/{}", c.id), "rel": "http://www.opengis.net/def/rel/ogc/1.0/geodata", "type": "application/json", "title": c.title}
        ]
    })))
}

/// Tile limits of a collection per zoom within its zoom range: (z, min col, min row, max col, max row).
fn limits(s: &AppState, c: &Collection) -> Vec<(u8, u32, u32, u32, u32)> {
    let (z0, z1) = s.layers.zoom_range(c.id);
    let e = extent(c);
    (z0..=z1)
        .map(|z| {
            let (c0, r0, c1, r1) = tile_range(e, z);
            (z, c0, r0, c1, r1)
        })
        .collect()
}

/// `GET /collections/{id}/tiles/WebMercatorQuad`: the tileset with its limits and links.
pub async fn tileset(
    State(s): State<AppState>,
    headers: HeaderMap,
    Path((id, tms)): Path<(String, String)>,
    RawQuery(q): RawQuery,
) -> Result<Json<Value>, ApiError> {
    check_params(q.as_deref(), &["f"])?;
    let c = find(&s, &id, Role::Public)?;
    check_tms(&tms)?;
    let b = base_url(&headers);
    let (z0, z1) = s.layers.zoom_range(c.id);
    let e = extent(&c);
    let mut doc = tileset_summary(&c, &b);
    let limits: Vec<Value> = limits(&s, &c)
        .into_iter()
        .map(|(z, c0, r0, c1, r1)| json!({"tileMatrix": z.to_string(), "minTileRow": r0, "maxTileRow": r1, "minTileCol": c0, "maxTileCol": c1}))
        .collect();
    let fields: serde_json::Map<String, Value> = c.property_names().into_iter().map(|n| (n, json!({}))).collect();
    doc["tileMatrixSetLimits"] = json!(limits);
    doc["boundingBox"] = json!({"lowerLeft": [e[0], e[1]], "upperRight": [e[2], e[3]], "crs": super::features::CRS84});
    doc["centerPoint"] =
        json!({"coordinates": [(e[0] + e[2]) / 2.0, (e[1] + e[3]) / 2.0], "tileMatrix": z0.max(11).min(z1).to_string(), "crs": super::features::CRS84});
    doc["layers"] = json!([{
        "id": c.id,
        "title": c.title,
        "dataType": "vector",
        "geometryType": geometry_type(&c),
        "minTileMatrix": z0.to_string(),
        "maxTileMatrix": z1.to_string(),
        "propertiesSchema": {"type": "object", "properties": fields}
    }]);
    if let Some(links) = doc["links"].as_array_mut() {
        links.push(json!({"href": format!("{b}/collections/{}/tiles/{TMS_ID}/{{tileMatrix}}/{{tileRow}}/{{tileCol}}", c.id), "rel": "item", "type": MVT, "templated": true, "title": "Vektortiler (MVT)"}));
        links.push(json!({"href": format!("{b}/collections/{}", c.id), "rel": "http://www.opengis.net/def/rel/ogc/1.0/geodata", "type": "application/json", "title": c.title}));
        links.push(json!({"href": format!("{b}/tiles/{}/tilejson.json", c.id), "rel": "describedby", "type": "application/json", "title": "TileJSON"}));
    }
    Ok(Json(doc))
}

fn check_tms(tms: &str) -> Result<(), ApiError> {
    if tms != TMS_ID {
        return Err(ApiError::NotFound(format!("no tile matrix set '{tms}' (tile matrix sets: {TMS_ID})")));
    }
    Ok(())
}

/// `GET /collections/{id}/tiles/WebMercatorQuad/{tileMatrix}/{tileRow}/{tileCol}`: the same tile
/// as `/tiles/{id}/{tileMatrix}/{tileCol}/{tileRow}.mvt`. A number that is not one is a bad
/// request; a tile outside the tileset's limits does not exist.
pub async fn tile(
    State(s): State<std::sync::Arc<AppState>>,
    caller: Caller,
    super::tiles::AcceptsGzip(gzip): super::tiles::AcceptsGzip,
    Path((id, tms, m, row, col)): Path<(String, String, String, String, String)>,
    RawQuery(q): RawQuery,
) -> Result<Response, ApiError> {
    check_params(q.as_deref(), &["f"])?;
    let c = find(&s, &id, caller.role)?;
    check_tms(&tms)?;
    let num = |v: &str, what: &str| v.parse::<u64>().map_err(|_| ApiError::BadRequest(format!("{what} '{v}' is not a non-negative integer")));
    let (z, y, x) = (num(&m, "tileMatrix")?, num(&row, "tileRow")?, num(&col, "tileCol")?);
    let inside = limits(&s, &c)
        .into_iter()
        .find(|l| u64::from(l.0) == z)
        .filter(|&(_, c0, r0, c1, r1)| (u64::from(c0)..=u64::from(c1)).contains(&x) && (u64::from(r0)..=u64::from(r1)).contains(&y));
    if inside.is_none() {
        return Err(ApiError::NotFound(format!("tile {z}/{y}/{x} (matrix/row/column) is outside the limits of tileset {}/{TMS_ID}", c.id)));
    }
    super::tiles::respond(&s, &caller, gzip, c, z as u8, x as u32, y as u32).await
}

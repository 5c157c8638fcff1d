//! OGC API – Features Part 1 (core, GeoJSON, OpenAPI 3.0) and Part 2 (CRS by reference).

use super::auth::{Caller, Role};
use super::error::{check_params, ApiError};
use super::AppState;
use crate::catalog::{view, Access, Collection};
use crate::privacy::{cache_control, Resource};
use axum::extract::{Path, RawQuery, State};
use axum::http::{header, HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Map, Value};

pub const CRS84: &str = "http://www.opengis.net/def/crs/OGC/1.3/CRS84";
pub const EPSG3006: &str = "http://www.opengis.net/def/crs/EPSG/0/3006";
const MAX_LIMIT: usize = 10_000;

/// The two CRSs we serve. EPSG:3006 is northing-first in its authority axis order.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Crs {
    Crs84,
    Sweref99Tm,
}

impl Crs {
    pub fn parse(s: &str) -> Result<Crs, ApiError> {
        let t = s.trim().trim_start_matches('[').trim_end_matches(']');
        match t {
            CRS84 | "CRS84" | "OGC:CRS84" => Ok(Crs::Crs84),
            EPSG3006 | "EPSG:3006" | "urn:ogc:def:crs:EPSG::3006" => Ok(Crs::Sweref99Tm),
            other => Err(ApiError::BadRequest(format!("unsupported CRS '{other}' (supported: {CRS84}, {EPSG3006})"))),
        }
    }
    pub fn uri(self) -> &'static str {
        match self {
            Crs::Crs84 => CRS84,
            Crs::Sweref99Tm => EPSG3006,
        }
    }
}

pub fn base_url(headers: &HeaderMap) -> String {
    let host = headers.get(header::HOST).and_then(|h| h.to_str().ok()).unwrap_or("127.0.0.1:8080");
    let proto = headers.get("x-forwarded-proto").and_then(|h| h.to_str().ok()).unwrap_or("http");
    format!("{proto}://{host}")
}

pub async fn landing(headers: HeaderMap, RawQuery(q): RawQuery) -> Result<Json<Value>, ApiError> {
    check_params(q.as_deref(), &["f"])?;
    let b = base_url(&headers);
    Ok(Json(json!({
        "title": "lagesbild",
        "description": "Lägesbild: DeSO-områden, indikatorer, hotspots och händelser för kommuner. OGC API – Features.",
        "links": [
            {"href": format!("{b}/"), "rel": "self", "type": "application/json", "title": "Denna sida"},
            {"href": format!("{b}/api"), "rel": "service-desc", "type": super::openapi::MEDIA_TYPE, "title": "OpenAPI"},
            {"href": format!("{b}/conformance"), "rel": "conformance", "type": "application/json", "title": "Konformitetsklasser"},
            {"href": format!("{b}/collections"), "rel": "data", "type": "application/json", "title": "Samlingar"},
            {"href": format!("{b}/tileMatrixSets"), "rel": "http://www.opengis.net/def/rel/ogc/1.0/tiling-schemes", "type": "application/json", "title": "Rutnät för tiler"},
            {"href": format!("{b}/map/"), "rel": "alternate", "type": "text/html", "title": "Webbkarta"}
        ]
    })))
}

pub async fn conformance(RawQuery(q): RawQuery) -> Result<Json<Value>, ApiError> {
    check_params(q.as_deref(), &["f"])?;
    let features = [
        "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
        "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
        "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/oas30",
        "http://www.opengis.net/spec/ogcapi-features-2/1.0/conf/crs",
    ];
    let all: Vec<&str> = features.iter().chain(super::ogc_tiles::CONFORMANCE).copied().collect();
    Ok(Json(json!({ "conformsTo": all })))
}

fn collection_json(c: &Collection, b: &str, role: Role) -> Value {
    let mut extent = json!({});
    if let Some(e) = c.extent_wgs84() {
        extent["spatial"] = json!({"bbox": [e], "crs": CRS84});
    }
    if let Some((t0, t1)) = c.time_extent() {
        extent["temporal"] = json!({"interval": [[format!("{}Z", t0.format("%Y-%m-%dT%H:%M:%S")), format!("{}Z", t1.format("%Y-%m-%dT%H:%M:%S"))]], "trs": "http://www.opengis.net/def/uom/ISO-8601/0/Gregorian"});
    }
    let access = match (c.access, role) {
        (Access::Open, _) => "open",
        (Access::Incidents, r) if r.raw_points() => "raw",
        (Access::Incidents, Role::Partner) => "snapped_250m",
        (Access::Incidents, _) => "denied",
    };
    json!({
        "id": c.id,
        "title": c.title,
        "description": c.description,
        "itemType": "feature",
        "crs": [CRS84, EPSG3006],
        "storageCrs": EPSG3006,
        "extent": extent,
        "access": access,
        "parameters": c.parameters,
        "links": [
            {"href": format!("{b}/collections/{}", c.id), "rel": "self", "type": "application/json"},
            {"href": format!("{b}/collections/{}/items", c.id), "rel": "items", "type": "application/geo+json"},
            {"href": format!("{b}/collections/{}/tiles", c.id), "rel": super::ogc_tiles::REL_TILESETS_VECTOR, "type": "application/json", "title": "Vektortiler (OGC API – Tiles)"},
            {"href": format!("{b}/tiles/{}/tilejson.json", c.id), "rel": "describedby", "type": "application/json", "title": "TileJSON"},
            {"href": format!("{b}/collections/{}/download?format=gpkg", c.id), "rel": "enclosure", "type": "application/geopackage+sqlite3", "title": "GeoPackage"},
            {"href": format!("{b}/collections/{}/download?format=csv", c.id), "rel": "enclosure", "type": "text/csv", "title": "CSV"}
        ]
    })
}

pub async fn collections(State(s): State<AppState>, caller: Caller, headers: HeaderMap, RawQuery(q): RawQuery) -> Result<Json<Value>, ApiError> {
    check_params(q.as_deref(), &["f"])?;
    let b = base_url(&headers);
    // Listing does not build lazy layers (at county scale that is a million incident features).
    let cols: Vec<Value> = s.layers.listing(caller.role, walk_store(&s)).iter().map(|c| collection_json(c, &b, caller.role)).collect();
    Ok(Json(json!({
        "links": [{"href": format!("{b}/collections"), "rel": "self", "type": "application/json"}],
        "collections": cols
    })))
}

/// The walk store, when the walk collections are on.
fn walk_store(s: &AppState) -> Option<&dyn crate::store::WalkStore> {
    s.walks.as_ref().map(|w| w.store.as_ref())
}

/// A collection of the catalog as `role` may see it (the walk collections differ by role; the
/// others are filtered later, per request).
pub fn find(s: &AppState, id: &str, role: Role) -> Result<std::sync::Arc<Collection>, ApiError> {
    s.layers.find(id, role, walk_store(s)).ok_or_else(|| ApiError::NotFound(format!("no collection '{id}' (collections: {})", all_ids(s).join(", "))))
}

/// Every collection id of the catalog, the walk collections included when the walk store is on.
pub fn all_ids(s: &AppState) -> Vec<&'static str> {
    s.layers.ids(walk_store(s))
}

pub async fn collection(
    State(s): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    Path(id): Path<String>,
    RawQuery(q): RawQuery,
) -> Result<Json<Value>, ApiError> {
    check_params(q.as_deref(), &["f"])?;
    let c = find(&s, &id, caller.role)?;
    Ok(Json(collection_json(&c, &base_url(&headers), caller.role)))
}

/// Refuses a role that may not read a collection: 401 without a token, 403 with one.
pub fn authorise(c: &Collection, caller: &Caller) -> Result<(), ApiError> {
    if c.access == Access::Incidents && caller.role == Role::Public {
        return Err(if caller.fingerprint.is_none() {
            ApiError::Unauthorized(format!("collection '{}' needs a token (role partner or higher)", c.id))
        } else {
            ApiError::Forbidden(format!("collection '{}' needs role partner or higher", c.id))
        });
    }
    Ok(())
}

fn parse_bbox(s: &str, crs: Crs) -> Result<[f64; 4], ApiError> {
    let v: Vec<f64> = s
        .split(',')
        .map(|x| x.trim().parse::<f64>())
        .collect::<Result<_, _>>()
        .map_err(|_| ApiError::BadRequest(format!("bbox '{s}' must be four numbers")))?;
    if v.len() != 4 {
        return Err(ApiError::BadRequest(format!("bbox '{s}' must have four numbers (6 for 3D is not supported)")));
    }
    if v.iter().any(|x| !x.is_finite()) {
        return Err(ApiError::BadRequest(format!("bbox '{s}' has a non-finite number")));
    }
    // EPSG:3006 axis order is northing, easting.
    let [a, b, c, d] = [v[0], v[1], v[2], v[3]];
    let (minx, miny, maxx, maxy) = match crs {
        Crs::Crs84 => (a, b, c, d),
        Crs::Sweref99Tm => (b, a, d, c),
    };
    if minx > maxx || miny > maxy {
        return Err(ApiError::BadRequest(format!("bbox '{s}': the lower corner must come first")));
    }
    if crs == Crs::Crs84 && (minx < -180.0 || maxx > 180.0 || miny < -90.0 || maxy > 90.0) {
        return Err(ApiError::BadRequest(format!("bbox '{s}' is outside longitude −180…180 / latitude −90…90")));
    }
    Ok([minx, miny, maxx, maxy])
}

/// `2025-01-01`, `2025-01-01T00:00:00Z`, `A/B`, `../B`, `A/..`.
fn parse_datetime(s: &str) -> Result<(Option<chrono::NaiveDateTime>, Option<chrono::NaiveDateTime>), ApiError> {
    let one = |t: &str, end: bool| -> Result<Option<chrono::NaiveDateTime>, ApiError> {
        if t.is_empty() || t == ".." {
            return Ok(None);
        }
        let d = crate::model::parse_datetime(t).ok_or_else(|| ApiError::BadRequest(format!("datetime '{t}' is not RFC 3339")))?;
        // A date-only end includes the whole day.
        Ok(Some(if end && t.len() == 10 { d + chrono::Duration::days(1) - chrono::Duration::seconds(1) } else { d }))
    };
    match s.split_once('/') {
        Some((a, b)) => Ok((one(a, false)?, one(b, true)?)),
        None => {
            let a = one(s, false)?;
            let b = if s.len() == 10 { one(s, true)? } else { a };
            Ok((a, b))
        }
    }
}

pub struct Query {
    pub limit: usize,
    pub offset: usize,
    pub bbox: Option<[f64; 4]>,
    pub bbox_crs: Crs,
    pub crs: Crs,
    pub time: Option<(Option<chrono::NaiveDateTime>, Option<chrono::NaiveDateTime>)>,
    pub filters: Vec<(String, String)>,
    pub passthrough: Vec<(String, String)>,
}

pub fn parse_query(q: Option<&str>, c: &Collection) -> Result<Query, ApiError> {
    let props = c.property_names();
    let mut allowed: Vec<&str> = vec!["limit", "offset", "bbox", "bbox-crs", "crs", "datetime", "f"];
    allowed.extend(props.iter().map(|s| s.as_str()));
    let pairs = check_params(q, &allowed)?;
    let mut out = Query { limit: 100, offset: 0, bbox: None, bbox_crs: Crs::Crs84, crs: Crs::Crs84, time: None, filters: vec![], passthrough: vec![] };
    let mut bbox_raw = None;
    for (k, v) in &pairs {
        match k.as_str() {
            "limit" => {
                let n: usize = v.parse().map_err(|_| ApiError::BadRequest(format!("limit '{v}' is not a whole number")))?;
                if n == 0 || n > MAX_LIMIT {
                    return Err(ApiError::BadRequest(format!("limit must be 1–{MAX_LIMIT}, got {n}")));
                }
                out.limit = n;
            }
            "offset" => out.offset = v.parse().map_err(|_| ApiError::BadRequest(format!("offset '{v}' is not a whole number")))?,
            "bbox" => bbox_raw = Some(v.clone()),
            "bbox-crs" => out.bbox_crs = Crs::parse(v)?,
            "crs" => out.crs = Crs::parse(v)?,
            "datetime" => {
                if !c.temporal {
                    return Err(ApiError::BadRequest(format!("collection '{}' has no time; datetime is not supported", c.id)));
                }
                out.time = Some(parse_datetime(v)?);
            }
            "f" => {
                if v != "json" && v != "geojson" {
                    return Err(ApiError::BadRequest(format!("f='{v}' is not supported (json)")));
                }
            }
            _ => out.filters.push((k.clone(), v.clone())),
        }
        if k != "offset" {
            out.passthrough.push((k.clone(), v.clone()));
        }
    }
    if let Some(b) = bbox_raw {
        out.bbox = Some(parse_bbox(&b, out.bbox_crs)?);
    }
    Ok(out)
}

fn value_matches(v: Option<&Value>, want: &str) -> bool {
    match v {
        Some(Value::String(s)) => s == want,
        Some(Value::Number(n)) => want.parse::<f64>().ok().zip(n.as_f64()).is_some_and(|(a, b)| a == b),
        Some(Value::Bool(b)) => want == b.to_string(),
        Some(Value::Null) | None => want.is_empty() || want == "null",
        _ => false,
    }
}

/// Geometry as GeoJSON in the requested CRS (EPSG:3006 written northing first).
pub fn geometry_json(g3006: &geo::Geometry<f64>, gwgs: &geo::Geometry<f64>, crs: Crs) -> Value {
    match crs {
        Crs::Crs84 => serde_json::to_value(geojson::Geometry::new(geojson::Value::from(gwgs))).unwrap_or(Value::Null),
        Crs::Sweref99Tm => {
            use geo::MapCoords;
            let swapped = g3006.map_coords(|c| geo::coord! { x: (c.y * 1000.0).round() / 1000.0, y: (c.x * 1000.0).round() / 1000.0 });
            serde_json::to_value(geojson::Geometry::new(geojson::Value::from(&swapped))).unwrap_or(Value::Null)
        }
    }
}

/// A selected feature: the feature and, when the role changes it, its viewed form.
pub struct Selected<'a> {
    pub feat: &'a crate::catalog::Feat,
    pub viewed: Option<(Map<String, Value>, geo::Geometry<f64>, geo::Geometry<f64>, String)>,
}

impl Selected<'_> {
    pub fn parts(&self) -> (&str, &Map<String, Value>, &geo::Geometry<f64>, &geo::Geometry<f64>) {
        match &self.viewed {
            Some((p, g, w, id)) => (id, p, g, w),
            None => (&self.feat.id, &self.feat.props, &self.feat.g3006, &self.feat.gwgs),
        }
    }
    /// Geometry JSON in the CRS, reusing the pre-serialised WGS84 text when nothing changed.
    pub fn geometry_text(&self, crs: Crs) -> std::borrow::Cow<'_, str> {
        match (&self.viewed, crs) {
            (None, Crs::Crs84) => std::borrow::Cow::Borrowed(&self.feat.gwgs_json),
            _ => {
                let (_, _, g, w) = self.parts();
                std::borrow::Cow::Owned(geometry_json(g, w, crs).to_string())
            }
        }
    }
}

/// Whether a role sees a collection's features unchanged (no suppression or snapping to apply).
fn unchanged(c: &Collection, f: &crate::catalog::Feat, role: Role, min: u64) -> bool {
    match c.access {
        Access::Open => {
            !role.suppresses_small_counts()
                || c.count_fields.iter().all(|k| f.props.get(*k).and_then(|v| v.as_f64()).is_none_or(|v| v == 0.0 || v >= min as f64))
        }
        Access::Incidents => role.raw_points(),
    }
}

/// Selected features after bbox, time, role view and filters; `page` = (offset, limit) applied
/// before the (costlier) role view when no property filter needs the viewed values.
pub fn select_page<'a>(
    s: &AppState,
    c: &'a Collection,
    caller: &Caller,
    q: &Query,
    page: Option<(usize, usize)>,
) -> Result<(usize, Vec<Selected<'a>>), ApiError> {
    authorise(c, caller)?;
    let bbox_wgs = match (q.bbox, q.bbox_crs) {
        (Some(b), Crs::Crs84) => Some(b),
        (Some(b), Crs::Sweref99Tm) => {
            let r = geo::Rect::new(geo::coord! {x: b[0], y: b[1]}, geo::coord! {x: b[2], y: b[3]});
            let w = crate::crs::to_wgs84(&r.to_polygon().into())?;
            use geo::BoundingRect;
            w.bounding_rect().map(|r| [r.min().x, r.min().y, r.max().x, r.max().y])
        }
        (None, _) => None,
    };
    let min = s.config.min_public_count;
    let candidates = c.features.iter().filter(|f| {
        if let Some(b) = bbox_wgs {
            if f.bbox_wgs[2] < b[0] || f.bbox_wgs[0] > b[2] || f.bbox_wgs[3] < b[1] || f.bbox_wgs[1] > b[3] {
                return false;
            }
        }
        if let (Some((a, z)), Some(t)) = (q.time, f.time) {
            if a.is_some_and(|a| t < a) || z.is_some_and(|z| t > z) {
                return false;
            }
        }
        true
    });
    let make = |f: &'a crate::catalog::Feat| -> Option<Selected<'a>> {
        if unchanged(c, f, caller.role, min) {
            Some(Selected { feat: f, viewed: None })
        } else {
            view(c, f, caller.role, min).map(|v| Selected { feat: f, viewed: Some(v) })
        }
    };
    if q.filters.is_empty() {
        let all: Vec<&crate::catalog::Feat> = candidates.collect();
        let total = all.len();
        let (off, lim) = page.unwrap_or((0, usize::MAX));
        return Ok((total, all.into_iter().skip(off).take(lim).filter_map(make).collect()));
    }
    let mut out: Vec<Selected<'a>> = candidates.filter_map(make).filter(|sel| q.filters.iter().all(|(k, v)| value_matches(sel.parts().1.get(k), v))).collect();
    let total = out.len();
    if let Some((off, lim)) = page {
        out = out.into_iter().skip(off).take(lim).collect();
    }
    Ok((total, out))
}

/// All selected features, owned (downloads).
pub fn select(
    s: &AppState,
    c: &Collection,
    caller: &Caller,
    q: &Query,
) -> Result<Vec<(String, Map<String, Value>, geo::Geometry<f64>, geo::Geometry<f64>)>, ApiError> {
    let (_, v) = select_page(s, c, caller, q, None)?;
    Ok(v.iter()
        .map(|sel| {
            let (id, p, g, w) = sel.parts();
            (id.to_string(), p.clone(), g.clone(), w.clone())
        })
        .collect())
}

pub fn audit(s: &AppState, caller: &Caller, c: &Collection, what: &str, n: usize) {
    if c.access == Access::Incidents && caller.role.raw_points() && n > 0 {
        s.audit.record(caller, c.id, what, n);
    }
}

fn link(b: &str, id: &str, pairs: &[(String, String)], offset: usize) -> String {
    let mut q: Vec<String> = pairs.iter().map(|(k, v)| format!("{}={}", enc(k), enc(v))).collect();
    q.push(format!("offset={offset}"));
    format!("{b}/collections/{id}/items?{}", q.join("&"))
}

fn enc(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

fn restricted_headers(resp: &mut Response, c: &Collection, role: Role, crs: Crs) {
    let h = resp.headers_mut();
    h.insert("Content-Crs", HeaderValue::from_str(&format!("<{}>", crs.uri())).expect("ASCII"));
    let what = if c.access == Access::Incidents { Resource::Restricted } else { Resource::Aggregate };
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache_control(role, what)));
    h.insert(header::VARY, HeaderValue::from_static("Authorization"));
}

pub async fn items(State(s): State<AppState>, caller: Caller, headers: HeaderMap, Path(id): Path<String>, RawQuery(q): RawQuery) -> Result<Response, ApiError> {
    let c = find(&s, &id, caller.role)?;
    let query = parse_query(q.as_deref(), &c)?;
    let (matched, page) = select_page(&s, &c, &caller, &query, Some((query.offset, query.limit)))?;
    audit(&s, &caller, &c, &format!("items offset={} limit={}", query.offset, query.limit), page.len());
    let b = base_url(&headers);
    // Written by hand around pre-serialised geometries: the hot path of every map and QGIS client.
    let mut body = String::with_capacity(256 + page.len() * 512);
    body.push_str(r#"{"type":"FeatureCollection","features":["#);
    for (k, sel) in page.iter().enumerate() {
        let (fid, props, _, _) = sel.parts();
        if k > 0 {
            body.push(',');
        }
        body.push_str(r#"{"type":"Feature","id":"#);
        body.push_str(&serde_json::to_string(fid).unwrap_or_default());
        body.push_str(r#","geometry":"#);
        body.push_str(&sel.geometry_text(query.crs));
        body.push_str(r#","properties":"#);
        body.push_str(&serde_json::to_string(props).unwrap_or_else(|_| "{}".into()));
        body.push('}');
    }
    let mut links = vec![json!({"href": link(&b, &c.id, &query.passthrough, query.offset), "rel": "self", "type": "application/geo+json"})];
    if query.offset + page.len() < matched {
        links.push(json!({"href": link(&b, &c.id, &query.passthrough, query.offset + query.limit), "rel": "next", "type": "application/geo+json"}));
    }
    if query.offset > 0 {
        links.push(
            json!({"href": link(&b, &c.id, &query.passthrough, query.offset.saturating_sub(query.limit)), "rel": "prev", "type": "application/geo+json"}),
        );
    }
    links.push(json!({"href": format!("{b}/collections/{}", c.id), "rel": "collection", "type": "application/json"}));
    body.push_str(&format!(
        r#"],"numberMatched":{matched},"numberReturned":{},"timeStamp":"{}","links":{}}}"#,
        page.len(),
        chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ"),
        Value::Array(links)
    ));
    let mut resp = ([(header::CONTENT_TYPE, "application/geo+json")], body).into_response();
    restricted_headers(&mut resp, &c, caller.role, query.crs);
    Ok(resp)
}

pub async fn item(
    State(s): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    Path((id, fid)): Path<(String, String)>,
    RawQuery(q): RawQuery,
) -> Result<Response, ApiError> {
    let c = find(&s, &id, caller.role)?;
    let pairs = check_params(q.as_deref(), &["crs", "f"])?;
    let crs = match pairs.iter().find(|(k, _)| k == "crs") {
        Some((_, v)) => Crs::parse(v)?,
        None => Crs::Crs84,
    };
    authorise(&c, &caller)?;
    let found = c.features.iter().filter_map(|f| view(&c, f, caller.role, s.config.min_public_count)).find(|(_, _, _, vid)| *vid == fid);
    let Some((props, g3006, gwgs, vid)) = found else {
        return Err(ApiError::NotFound(format!("no feature '{fid}' in collection '{id}'")));
    };
    audit(&s, &caller, &c, &format!("item {fid}"), 1);
    let b = base_url(&headers);
    let body = json!({
        "type": "Feature", "id": vid, "geometry": geometry_json(&g3006, &gwgs, crs), "properties": props,
        "links": [
            {"href": format!("{b}/collections/{id}/items/{fid}"), "rel": "self", "type": "application/geo+json"},
            {"href": format!("{b}/collections/{id}"), "rel": "collection", "type": "application/json"}
        ]
    });
    let mut resp = ([(header::CONTENT_TYPE, "application/geo+json")], body.to_string()).into_response();
    restricted_headers(&mut resp, &c, caller.role, crs);
    Ok(resp)
}

/// `GET /collections/{id}/download?format=gpkg|geojson|csv`: the whole collection as the role sees it.
pub async fn download(State(s): State<AppState>, caller: Caller, Path(id): Path<String>, RawQuery(q): RawQuery) -> Result<Response, ApiError> {
    let c = find(&s, &id, caller.role)?;
    let pairs = check_params(q.as_deref(), &["format"])?;
    let format = pairs.iter().find(|(k, _)| k == "format").map(|(_, v)| v.as_str()).unwrap_or("gpkg").to_string();
    let (mime, ext) = match format.as_str() {
        "gpkg" => ("application/geopackage+sqlite3", "gpkg"),
        "geojson" => ("application/geo+json", "geojson"),
        "csv" => ("text/csv; charset=utf-8", "csv"),
        other => return Err(ApiError::BadRequest(format!("format '{other}' is not one of gpkg, geojson, csv"))),
    };
    let q = parse_query(None, &c)?;
    let rows = select(&s, &c, &caller, &Query { limit: usize::MAX, ..q })?;
    audit(&s, &caller, &c, &format!("download {format}"), rows.len());
    let table = table_of(&c, &rows);
    let dir = tempfile_dir()?;
    let path = dir.join(format!("{}.{ext}", c.id));
    let p2 = path.clone();
    tokio::task::spawn_blocking(move || crate::io::write_table_as(&p2, &table, ext)).await??;
    let bytes = std::fs::read(&path)?;
    let _ = std::fs::remove_dir_all(&dir);
    let mut resp = ([(header::CONTENT_TYPE, mime)], bytes).into_response();
    resp.headers_mut()
        .insert(header::CONTENT_DISPOSITION, HeaderValue::from_str(&format!("attachment; filename=\"lagesbild-{}.{ext}\"", c.id)).expect("ASCII"));
    restricted_headers(&mut resp, &c, caller.role, Crs::Sweref99Tm);
    Ok(resp)
}

fn tempfile_dir() -> Result<std::path::PathBuf, std::io::Error> {
    static N: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let d = std::env::temp_dir().join(format!("lagesbild-dl-{}-{}", std::process::id(), N.fetch_add(1, std::sync::atomic::Ordering::Relaxed)));
    std::fs::create_dir_all(&d)?;
    Ok(d)
}

/// Features as a table in EPSG:3006 with one column per property.
pub fn table_of(c: &Collection, rows: &[(String, Map<String, Value>, geo::Geometry<f64>, geo::Geometry<f64>)]) -> crate::io::Table {
    use crate::io::{Column, ColumnKind, TableRow, Value as V};
    let mut names: Vec<String> = rows.iter().flat_map(|r| r.1.keys().cloned()).collect();
    names.sort();
    names.dedup();
    let kind = |n: &str| {
        let mut k = ColumnKind::Integer;
        for r in rows {
            match r.1.get(n) {
                Some(Value::Number(x)) if x.is_i64() || x.is_u64() => {}
                Some(Value::Number(_)) => k = if k == ColumnKind::Text { k } else { ColumnKind::Real },
                Some(Value::Null) | None => {}
                _ => return ColumnKind::Text,
            }
        }
        k
    };
    let kinds: Vec<ColumnKind> = names.iter().map(|n| kind(n)).collect();
    let mut columns = vec![Column::new("fid_text", ColumnKind::Text)];
    columns.extend(names.iter().zip(&kinds).map(|(n, k)| Column::new(n, *k)));
    crate::io::Table {
        name: c.id.to_string(),
        epsg: Some(3006),
        columns,
        rows: rows
            .iter()
            .map(|(id, p, g, _)| {
                let mut values = vec![V::Text(id.clone())];
                for (n, k) in names.iter().zip(&kinds) {
                    values.push(match (p.get(n), k) {
                        (None | Some(Value::Null), _) => V::Null,
                        (Some(Value::Number(x)), ColumnKind::Integer) => x.as_i64().map(V::Int).unwrap_or(V::Null),
                        (Some(Value::Number(x)), ColumnKind::Real) => x.as_f64().map(V::Real).unwrap_or(V::Null),
                        (Some(Value::String(s)), _) => V::Text(s.clone()),
                        (Some(other), _) => V::Text(other.to_string()),
                    });
                }
                TableRow { values, geometry: Some(g.clone()) }
            })
            .collect(),
    }
}

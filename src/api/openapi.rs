//! The OpenAPI 3.1 document, built from one table, [`OPERATIONS`]: every method and path the
//! router serves, its parameters with their schemas, request body, responses with their media
//! types and schemas, and the role it needs. The same table drives the query guard
//! ([`super::input::query_guard`]), so what the document declares is what the service accepts;
//! `tests/api_contract.rs` checks that every route of the router is in it.

use serde_json::{json, Map, Value};

/// Served as `application/vnd.oai.openapi+json;version=3.1` (the OAI's media type, versioned as
/// OGC API – Features names it for 3.0).
pub const MEDIA_TYPE: &str = "application/vnd.oai.openapi+json;version=3.1";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum In {
    Path,
    Query,
    Header,
}

#[derive(Debug)]
pub struct Param {
    pub name: &'static str,
    pub location: In,
    pub required: bool,
    /// JSON Schema (text, so the table stays `const`).
    pub schema: &'static str,
    pub description: &'static str,
}

const fn p(name: &'static str, schema: &'static str) -> Param {
    Param { name, location: In::Path, required: true, schema, description: "" }
}

const fn q(name: &'static str, schema: &'static str, description: &'static str) -> Param {
    Param { name, location: In::Query, required: false, schema, description }
}

const fn if_match() -> Param {
    Param {
        name: "If-Match",
        location: In::Header,
        required: true,
        schema: r#"{"type":"string","pattern":"^(W/)?\"v[0-9]+\"$"}"#,
        description: "ETag från senaste läsningen (\"v3\"); saknas: 428, inaktuell: 412",
    }
}

/// One response: status, description and (media type, schema) pairs.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub description: &'static str,
    pub content: &'static [(&'static str, &'static str)],
}

const fn ok(content: &'static [(&'static str, &'static str)]) -> Reply {
    Reply { status: 200, description: "OK", content }
}

#[derive(Debug)]
pub struct Operation {
    pub method: &'static str,
    pub path: &'static str,
    pub id: &'static str,
    pub summary: &'static str,
    /// The least role that gets an answer (see `privacy.rs`).
    pub role: &'static str,
    pub params: &'static [Param],
    /// Items take property filters (`?deso=0163C1170`) whose names depend on the collection.
    pub open_query: bool,
    pub body: Option<(&'static str, &'static str)>,
    pub replies: &'static [Reply],
    /// Error statuses besides 400, 401, 404, 429 and 503, which every operation may answer.
    pub errors: &'static [u16],
}

impl Operation {
    /// The values `f` takes on this operation (the enum of its schema).
    pub fn formats(&self) -> Vec<String> {
        let Some(f) = self.params.iter().find(|p| p.name == "f" && p.location == In::Query) else {
            return vec![];
        };
        let schema: Value = serde_json::from_str(f.schema).unwrap_or(Value::Null);
        schema["enum"].as_array().map(|a| a.iter().filter_map(|v| v.as_str().map(String::from)).collect()).unwrap_or_default()
    }
}

const COLLECTION: &str = r#"{"type":"string","pattern":"^[a-z_]+$","examples":["deso","regso","incident_counts","police_areas"]}"#;
const F_JSON: &str = r#"{"type":"string","enum":["json"]}"#;
const TMS: &str = r#"{"type":"string","enum":["WebMercatorQuad"]}"#;
const ID: &str = r#"{"type":"string","minLength":1,"maxLength":64}"#;
const DATE: &str = r#"{"type":"string","format":"date"}"#;
const DATE_OR_WEEK: &str = r#"{"type":"string","pattern":"^[0-9]{4}-(W(0[1-9]|[1-4][0-9]|5[0-3])|(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01]))$","description":"datum (2025-03-14) eller ISO-vecka (2025-W11)"}"#;
const CATEGORIES: &str = r#"{"type":"string","pattern":"^[a-z_]+(,[a-z_]+)*$","description":"kommaseparerade EST-kategorier (skadegorelse,klotter,…)"}"#;
const ZOOM: &str = r#"{"type":"integer","minimum":0,"maximum":20}"#;
const TILE_INDEX: &str = r#"{"type":"integer","minimum":0}"#;
const CRS: &str = r#"{"type":"string","enum":["http://www.opengis.net/def/crs/OGC/1.3/CRS84","http://www.opengis.net/def/crs/EPSG/0/3006"]}"#;

const JSON: &[(&str, &str)] = &[("application/json", "#Object")];
const GEOJSON: &[(&str, &str)] = &[("application/geo+json", "#FeatureCollection")];
const FEATURE: &[(&str, &str)] = &[("application/geo+json", "#Feature")];
const MVT: &[(&str, &str)] = &[("application/vnd.mapbox-vector-tile", "#Binary")];
const HTML: &[(&str, &str)] = &[("text/html; charset=utf-8", "#Text")];
const WALK_PARAMS: &[Param] = &[p("walkId", ID)];
const OBS_PARAMS: &[Param] = &[p("observationId", ID)];
const OBS_WRITE: &[Param] = &[p("observationId", ID), if_match()];
const WALK_WRITE: &[Param] = &[p("walkId", ID), if_match()];
const ANY: &str = "public";
const ACTION_STATUS: &str = r#"{"type":"string","enum":["planned","ongoing","done","cancelled"]}"#;
const ACTION_PARAMS: &[Param] = &[p("id", ID)];
const ACTION_WRITE: &[Param] = &[p("id", ID), if_match()];
const WEEK: &str = r#"{"type":"string","pattern":"^[0-9]{4}-W(0[1-9]|[1-4][0-9]|5[0-3])$","examples":["2026-W12"]}"#;
const EST_PARAMS: &[Param] = &[p("area", r#"{"type":"string","minLength":1,"maxLength":100,"examples":["0163C1170"]}"#), p("week", WEEK)];
const YEAR_PARAMS: &[Param] = &[p("year", r#"{"type":"integer","minimum":2000,"maximum":2100}"#)];

/// Every operation the router serves. A route added to `api::routes` needs its line here
/// (`tests/api_contract.rs` names the ones missing).
pub const OPERATIONS: &[Operation] = &[
    Operation { method: "get", path: "/", id: "getLandingPage", summary: "Startsida (OGC API)", role: ANY, params: &[q("f", F_JSON, "format")], open_query: false, body: None, replies: &[ok(JSON)], errors: &[] },
    Operation { method: "get", path: "/conformance", id: "getConformance", summary: "Konformitetsklasser", role: ANY, params: &[q("f", F_JSON, "format")], open_query: false, body: None, replies: &[ok(JSON)], errors: &[] },
    Operation { method: "get", path: "/api", id: "getOpenApi", summary: "Detta OpenAPI-dokument", role: ANY, params: &[q("f", F_JSON, "format")], open_query: false, body: None, replies: &[ok(&[(MEDIA_TYPE, "#Object")])], errors: &[] },
    Operation { method: "get", path: "/openapi.json", id: "getOpenApiJson", summary: "Detta OpenAPI-dokument", role: ANY, params: &[q("f", F_JSON, "format")], open_query: false, body: None, replies: &[ok(&[(MEDIA_TYPE, "#Object")])], errors: &[] },
    Operation { method: "get", path: "/collections", id: "getCollections", summary: "Samlingar", role: ANY, params: &[q("f", F_JSON, "format")], open_query: false, body: None, replies: &[ok(JSON)], errors: &[] },
    Operation { method: "get", path: "/collections/{collectionId}", id: "describeCollection", summary: "En samling", role: ANY, params: &[p("collectionId", COLLECTION), q("f", F_JSON, "format")], open_query: false, body: None, replies: &[ok(JSON)], errors: &[403] },
    Operation {
        method: "get",
        path: "/collections/{collectionId}/items",
        id: "getFeatures",
        summary: "Objekt i en samling (GeoJSON); egenskapsfilter som ?deso=0163C1170; incidents kräver analyst",
        role: ANY,
        params: &[
            p("collectionId", COLLECTION),
            q("limit", r#"{"type":"integer","minimum":1,"maximum":10000,"default":100}"#, "antal objekt"),
            q("offset", r#"{"type":"integer","minimum":0,"maximum":100000000}"#, "hoppa över"),
            q("bbox", r#"{"type":"string","pattern":"^-?[0-9]+(\\.[0-9]+)?(,-?[0-9]+(\\.[0-9]+)?){3}$"}"#, "minx,miny,maxx,maxy i bbox-crs"),
            q("bbox-crs", CRS, ""),
            q("crs", CRS, ""),
            q("datetime", r#"{"type":"string","pattern":"^([0-9]{4}-[0-9]{2}-[0-9]{2}(T[0-9:]+Z?)?|\\.\\.)(/([0-9]{4}-[0-9]{2}-[0-9]{2}(T[0-9:]+Z?)?|\\.\\.))?$"}"#, "tidpunkt eller intervall (incidents)"),
            q("f", r#"{"type":"string","enum":["json","geojson"]}"#, "format"),
        ],
        open_query: true,
        body: None,
        replies: &[ok(GEOJSON)],
        errors: &[403],
    },
    Operation {
        method: "get",
        path: "/collections/{collectionId}/items/{featureId}",
        id: "getFeature",
        summary: "Ett objekt",
        role: ANY,
        params: &[p("collectionId", COLLECTION), p("featureId", ID), q("crs", CRS, ""), q("f", r#"{"type":"string","enum":["json","geojson"]}"#, "format")],
        open_query: false,
        body: None,
        replies: &[ok(FEATURE)],
        errors: &[403],
    },
    Operation {
        method: "get",
        path: "/collections/{collectionId}/download",
        id: "downloadCollection",
        summary: "Hela samlingen som GeoPackage, GeoJSON eller CSV",
        role: ANY,
        params: &[p("collectionId", COLLECTION), q("format", r#"{"type":"string","enum":["gpkg","geojson","csv"]}"#, "")],
        open_query: false,
        body: None,
        replies: &[ok(&[("application/geopackage+sqlite3", "#Binary"), ("application/geo+json", "#FeatureCollection"), ("text/csv; charset=utf-8", "#Text")])],
        errors: &[403],
    },
    Operation { method: "get", path: "/tiles/{collectionId}/tilejson.json", id: "getTileJson", summary: "TileJSON 3.0", role: ANY, params: &[p("collectionId", COLLECTION)], open_query: false, body: None, replies: &[ok(JSON)], errors: &[403] },
    Operation {
        method: "get",
        path: "/tiles/{collectionId}/{z}/{x}/{y}",
        id: "getTile",
        summary: "Vektortile (MVT); y slutar på .mvt",
        role: ANY,
        params: &[p("collectionId", COLLECTION), p("z", ZOOM), p("x", TILE_INDEX), p("y", r#"{"type":"string","pattern":"^[0-9]{1,7}\\.(mvt|pbf)$"}"#)],
        open_query: false,
        body: None,
        replies: &[ok(MVT)],
        errors: &[403],
    },
    Operation { method: "get", path: "/tileMatrixSets", id: "getTileMatrixSets", summary: "Rutnät för tiler (OGC API – Tiles)", role: ANY, params: &[q("f", F_JSON, "format")], open_query: false, body: None, replies: &[ok(JSON)], errors: &[] },
    Operation { method: "get", path: "/tileMatrixSets/{tileMatrixSetId}", id: "getTileMatrixSet", summary: "Definition av ett rutnät", role: ANY, params: &[p("tileMatrixSetId", TMS), q("f", F_JSON, "format")], open_query: false, body: None, replies: &[ok(JSON)], errors: &[] },
    Operation { method: "get", path: "/collections/{collectionId}/tiles", id: "getTilesets", summary: "En samlings tilesets", role: ANY, params: &[p("collectionId", COLLECTION), q("f", F_JSON, "format")], open_query: false, body: None, replies: &[ok(JSON)], errors: &[403] },
    Operation {
        method: "get",
        path: "/collections/{collectionId}/tiles/{tileMatrixSetId}",
        id: "getTileset",
        summary: "Ett tileset med gränser och länkar",
        role: ANY,
        params: &[p("collectionId", COLLECTION), p("tileMatrixSetId", TMS), q("f", F_JSON, "format")],
        open_query: false,
        body: None,
        replies: &[ok(JSON)],
        errors: &[403],
    },
    Operation {
        method: "get",
        path: "/collections/{collectionId}/tiles/{tileMatrixSetId}/{tileMatrix}/{tileRow}/{tileCol}",
        id: "getCollectionTile",
        summary: "En vektortile (MVT); rad före kolumn",
        role: ANY,
        params: &[p("collectionId", COLLECTION), p("tileMatrixSetId", TMS), p("tileMatrix", ZOOM), p("tileRow", TILE_INDEX), p("tileCol", TILE_INDEX), q("f", r#"{"type":"string","enum":["mvt"]}"#, "format")],
        open_query: false,
        body: None,
        replies: &[ok(MVT)],
        errors: &[403],
    },
    Operation {
        method: "get",
        path: "/analysis/{kind}",
        id: "runAnalysis",
        summary: "Analys på begäran (hotspots: from,to,categories,cell,band; density: radius; emerging: cell,step_days; lisa, gi, moran, rates: indicator,tolerance,permutations,seed,alpha,star,fdr)",
        role: ANY,
        params: &[
            p("kind", r#"{"type":"string","enum":["hotspots","density","emerging","lisa","gi","rates","moran"]}"#),
            q("from", DATE_OR_WEEK, "från"),
            q("to", DATE_OR_WEEK, "till"),
            q("categories", CATEGORIES, ""),
            q("cell", r#"{"type":"number","minimum":25,"maximum":5000}"#, "cellstorlek i meter (för stor mängd celler: 400)"),
            q("band", r#"{"type":"number","minimum":25,"maximum":20000}"#, "avståndsband i meter (för många grannpar: 400)"),
            q("radius", r#"{"type":"number","minimum":10,"maximum":20000}"#, "sökradie i meter"),
            q("step_days", r#"{"type":"integer","minimum":1,"maximum":365}"#, ""),
            q("indicator", r#"{"type":"string","pattern":"^[a-z0-9_]+$"}"#, "LISA: indikator"),
            q("tolerance", r#"{"type":"number","minimum":0,"maximum":1000}"#, ""),
            q("permutations", r#"{"type":"integer","minimum":0,"maximum":9999}"#, ""),
            q("seed", r#"{"type":"integer","minimum":0,"maximum":4294967295}"#, ""),
            q("alpha", r#"{"type":"number","exclusiveMinimum":0,"maximum":0.5}"#, ""),
            q("star", r#"{"type":"boolean"}"#, "gi: Gi* (med egen vikt)"),
            q("fdr", r#"{"type":"boolean"}"#, "gi: FDR-korrigerade klasser"),
        ],
        open_query: false,
        body: None,
        replies: &[ok(GEOJSON)],
        errors: &[403],
    },
    Operation {
        method: "get",
        path: "/api/profile/{area}",
        id: "getProfile",
        summary: "Områdesprofil (social lägesbild) för en DeSO- eller RegSO-kod eller ett RegSO-namn",
        role: ANY,
        params: &[p("area", r#"{"type":"string","minLength":1,"maxLength":100,"examples":["0163C1170"]}"#), q("format", r#"{"type":"string","enum":["json","html","csv"]}"#, "")],
        open_query: false,
        body: None,
        replies: &[ok(&[("application/json", "#Object"), ("text/html; charset=utf-8", "#Text"), ("text/csv; charset=utf-8", "#Text")])],
        errors: &[],
    },
    Operation { method: "get", path: "/api/areas", id: "getAreas", summary: "DeSO med indikatorer (GeoJSON)", role: ANY, params: &[q("kommun", r#"{"type":"string","pattern":"^[0-9]{4}$"}"#, "kommunkod")], open_query: false, body: None, replies: &[ok(GEOJSON)], errors: &[] },
    Operation {
        method: "get",
        path: "/api/search",
        id: "search",
        summary: "Sök plats: RegSO, DeSO-kod, polisens område, kommun, vandring",
        role: ANY,
        params: &[Param { required: true, ..q("q", r#"{"type":"string","minLength":1,"maxLength":100}"#, "söktext") }, q("limit", r#"{"type":"integer","minimum":1,"maximum":50}"#, "")],
        open_query: false,
        body: None,
        replies: &[ok(JSON)],
        errors: &[],
    },
    Operation { method: "get", path: "/api/labels", id: "getLabels", summary: "Etikettpunkter och länsgräns (GeoJSON)", role: ANY, params: &[], open_query: false, body: None, replies: &[ok(GEOJSON)], errors: &[] },
    Operation {
        method: "get",
        path: "/fonts/{fontstack}/{range}",
        id: "getGlyphs",
        summary: "Glyfer för kartetiketter (SDF, protobuf)",
        role: ANY,
        params: &[p("fontstack", r#"{"type":"string","minLength":1,"examples":["DejaVu Sans Book"]}"#), p("range", r#"{"type":"string","pattern":"^[0-9]+-[0-9]+\\.pbf$"}"#)],
        open_query: false,
        body: None,
        replies: &[ok(&[("application/x-protobuf", "#Binary")])],
        errors: &[],
    },
    Operation { method: "get", path: "/basemap/style.json", id: "getBasemapStyle", summary: "Kartstil med bakgrundskarta, glyfer och attribution", role: ANY, params: &[], open_query: false, body: None, replies: &[ok(JSON)], errors: &[] },
    Operation { method: "get", path: "/basemap/tilejson.json", id: "getBasemapTileJson", summary: "TileJSON för bakgrundskartan", role: ANY, params: &[], open_query: false, body: None, replies: &[ok(JSON)], errors: &[] },
    Operation {
        method: "get",
        path: "/basemap/{z}/{x}/{y}",
        id: "getBasemapTile",
        summary: "Tiler ur en lokal MBTiles-bakgrundskarta",
        role: ANY,
        params: &[p("z", ZOOM), p("x", TILE_INDEX), p("y", r#"{"type":"string","pattern":"^[0-9]{1,7}(\\.[a-z]+)?$"}"#)],
        open_query: false,
        body: None,
        replies: &[ok(&[("image/png", "#Binary"), ("image/jpeg", "#Binary"), ("image/webp", "#Binary"), ("application/vnd.mapbox-vector-tile", "#Binary")])],
        errors: &[],
    },
    Operation { method: "get", path: "/api/imports", id: "listImports", summary: "Importhistorik", role: "analyst", params: &[], open_query: false, body: None, replies: &[ok(JSON)], errors: &[403] },
    Operation {
        method: "post",
        path: "/api/imports/{kind}",
        id: "uploadImport",
        summary: "Importera en fil (multipart: file, och valfria fält som columns, crs, deso_version); allt eller inget",
        role: "editor",
        params: &[p("kind", r#"{"type":"string","enum":["areas","indicators","incidents"]}"#)],
        open_query: false,
        body: Some(("multipart/form-data", "#Upload")),
        replies: &[Reply { status: 201, description: "Importerad", content: JSON }],
        errors: &[403, 409, 413, 422],
    },
    Operation {
        method: "delete",
        path: "/api/imports/{kind}",
        id: "undoImport",
        summary: "Ångra en import (sökvägens segment är importens id)",
        role: "editor",
        params: &[p("kind", ID)],
        open_query: false,
        body: None,
        replies: &[ok(JSON)],
        errors: &[403, 409],
    },
    Operation {
        method: "post",
        path: "/api/imports/{kind}/preview",
        id: "previewImport",
        summary: "Förhandsgranska en fil: kolumner, första raderna, problem",
        role: "editor",
        params: &[p("kind", r#"{"type":"string","enum":["areas","indicators","incidents"]}"#)],
        open_query: false,
        body: Some(("multipart/form-data", "#Upload")),
        replies: &[ok(JSON)],
        errors: &[403, 413, 422],
    },
    Operation { method: "get", path: "/health", id: "getHealth", summary: "Hälsa", role: ANY, params: &[], open_query: false, body: None, replies: &[ok(JSON)], errors: &[] },
    Operation { method: "get", path: "/api/auth/me", id: "getMe", summary: "Den inloggades roll och namn", role: ANY, params: &[], open_query: false, body: None, replies: &[ok(JSON)], errors: &[] },
    Operation { method: "get", path: "/api/auth/config", id: "getAuthConfig", summary: "Inloggningsinställningar för kartan (endast publik information)", role: ANY, params: &[], open_query: false, body: None, replies: &[ok(JSON)], errors: &[] },
    Operation {
        method: "get",
        path: "/walks",
        id: "listWalks",
        summary: "Trygghetsvandringar",
        role: ANY,
        params: &[q("status", r#"{"type":"string","enum":["planerad","genomford","uppfoljd"]}"#, ""), q("area", r#"{"type":"string","maxLength":100}"#, ""), q("from", DATE, ""), q("to", DATE, "")],
        open_query: false,
        body: None,
        replies: &[ok(GEOJSON)],
        errors: &[],
    },
    Operation {
        method: "post",
        path: "/walks",
        id: "createWalk",
        summary: "Ny vandring",
        role: "editor",
        params: &[],
        open_query: false,
        body: Some(("application/json", "#WalkInput")),
        replies: &[Reply { status: 201, description: "Skapad; ETag och Location", content: FEATURE }],
        errors: &[403, 422],
    },
    Operation {
        method: "get",
        path: "/walks/suggest",
        id: "suggestStops",
        summary: "Föreslagna stopp för en vandring",
        role: ANY,
        params: &[
            Param { required: true, ..q("area", r#"{"type":"string","minLength":1,"maxLength":100}"#, "RegSO-namn eller DeSO/RegSO-kod") },
            q("start", r#"{"type":"string","pattern":"^-?[0-9]+(\\.[0-9]+)?,-?[0-9]+(\\.[0-9]+)?$"}"#, "lon,lat"),
            q("from", DATE, ""),
            q("to", DATE, ""),
        ],
        open_query: false,
        body: None,
        replies: &[ok(JSON)],
        errors: &[],
    },
    Operation { method: "get", path: "/walks/{walkId}", id: "getWalk", summary: "En vandring (ETag)", role: ANY, params: WALK_PARAMS, open_query: false, body: None, replies: &[ok(FEATURE)], errors: &[] },
    Operation {
        method: "put",
        path: "/walks/{walkId}",
        id: "updateWalk",
        summary: "Ändra en vandring",
        role: "editor",
        params: WALK_WRITE,
        open_query: false,
        body: Some(("application/json", "#WalkInput")),
        replies: &[ok(FEATURE)],
        errors: &[403, 412, 422, 428],
    },
    Operation { method: "delete", path: "/walks/{walkId}", id: "deleteWalk", summary: "Ta bort en vandring", role: "editor", params: WALK_WRITE, open_query: false, body: None, replies: &[Reply { status: 204, description: "Borttagen", content: &[] }], errors: &[403, 412, 428] },
    Operation { method: "get", path: "/walks/{walkId}/observations", id: "listWalkObservations", summary: "Observationer längs en vandring", role: ANY, params: WALK_PARAMS, open_query: false, body: None, replies: &[ok(GEOJSON)], errors: &[] },
    Operation {
        method: "post",
        path: "/walks/{walkId}/observations",
        id: "createObservation",
        summary: "Ny observation",
        role: "editor",
        params: WALK_PARAMS,
        open_query: false,
        body: Some(("application/json", "#ObservationInput")),
        replies: &[Reply { status: 201, description: "Skapad; ETag och Location", content: FEATURE }],
        errors: &[403, 422],
    },
    Operation {
        method: "get",
        path: "/walks/{walkId}/report",
        id: "getWalkReport",
        summary: "Rapport för en vandring (råa punkter bara för analyst)",
        role: ANY,
        params: &[
            p("walkId", ID),
            q("format", r#"{"type":"string","enum":["json","html","gpx","geojson","invitation"]}"#, "invitation: utskrivbar inbjudan med karta"),
            q("buffer", r#"{"type":"number","minimum":1,"maximum":2000}"#, "meter"),
            q("from", DATE, ""),
            q("to", DATE, ""),
        ],
        open_query: false,
        body: None,
        replies: &[ok(&[("application/json", "#Object"), ("text/html; charset=utf-8", "#Text"), ("application/gpx+xml", "#Text"), ("application/geo+json", "#FeatureCollection")])],
        errors: &[],
    },
    Operation {
        method: "get",
        path: "/observations",
        id: "listObservations",
        summary: "Observationer att följa upp",
        role: ANY,
        params: &[
            q("status", r#"{"type":"string","enum":["ny","tilldelad","planerad","atgardad","avslutad","ej_atgardas"]}"#, ""),
            q("responsible", r#"{"type":"string","maxLength":100}"#, ""),
            q("open", r#"{"type":"string","enum":["true","false"]}"#, ""),
            q("overdue", r#"{"type":"string","enum":["true","false"]}"#, "försenade (förfallodatum passerat, ej åtgärdade)"),
        ],
        open_query: false,
        body: None,
        replies: &[ok(GEOJSON)],
        errors: &[],
    },
    Operation { method: "get", path: "/observations/{observationId}", id: "getObservation", summary: "En observation (ETag)", role: ANY, params: OBS_PARAMS, open_query: false, body: None, replies: &[ok(FEATURE)], errors: &[] },
    Operation {
        method: "put",
        path: "/observations/{observationId}",
        id: "updateObservation",
        summary: "Ändra en observation (delvis; varje ändring loggas)",
        role: "editor",
        params: OBS_WRITE,
        open_query: false,
        body: Some(("application/json", "#ObservationPatch")),
        replies: &[ok(FEATURE)],
        errors: &[403, 412, 422, 428],
    },
    Operation { method: "delete", path: "/observations/{observationId}", id: "deleteObservation", summary: "Ta bort en observation", role: "editor", params: OBS_WRITE, open_query: false, body: None, replies: &[Reply { status: 204, description: "Borttagen", content: &[] }], errors: &[403, 412, 428] },
    Operation { method: "get", path: "/observations/{observationId}/history", id: "getObservationHistory", summary: "Ändringslogg för en observation", role: ANY, params: OBS_PARAMS, open_query: false, body: None, replies: &[ok(JSON)], errors: &[] },
    Operation {
        method: "get",
        path: "/observations/{observationId}/photo",
        id: "getPhoto",
        summary: "Foto (partner eller högre)",
        role: "partner",
        params: OBS_PARAMS,
        open_query: false,
        body: None,
        replies: &[ok(&[("image/jpeg", "#Binary"), ("image/png", "#Binary")])],
        errors: &[403],
    },
    Operation {
        method: "put",
        path: "/observations/{observationId}/photo",
        id: "putPhoto",
        summary: "Lägg till foto (JPEG/PNG, högst 5 MB, metadata tas bort)",
        role: "editor",
        params: OBS_WRITE,
        open_query: false,
        body: Some(("image/jpeg", "#Binary")),
        replies: &[ok(FEATURE)],
        errors: &[403, 412, 413, 422, 428],
    },
    Operation {
        method: "post",
        path: "/api/profile",
        id: "postPlanProfile",
        summary: "Social bild av ett planområde (GeoJSON Polygon/MultiPolygon i WGS84, GeoPackage eller zippad Shapefile)",
        role: ANY,
        params: &[q("format", r#"{"type":"string","enum":["json","html","csv"]}"#, ""), q("name", r#"{"type":"string","maxLength":200}"#, "planområdets namn")],
        open_query: false,
        body: Some(("application/geo+json", "#PlanArea")),
        replies: &[ok(&[("application/json", "#Object"), ("text/html; charset=utf-8", "#Text"), ("text/csv; charset=utf-8", "#Text")])],
        errors: &[413, 422],
    },
    Operation { method: "get", path: "/api/indicators", id: "getIndicators", summary: "Indikatorkatalog: etikett, enhet, aggregering och år för varje indikator i lagret", role: ANY, params: &[], open_query: false, body: None, replies: &[ok(JSON)], errors: &[] },
    Operation {
        method: "get",
        path: "/api/surveys",
        id: "getSurveys",
        summary: "Enkätresultat med konfidensintervall, kvinnor och män sida vid sida",
        role: ANY,
        params: &[q("area", r#"{"type":"string","maxLength":100}"#, ""), q("question", r#"{"type":"string","maxLength":200}"#, "")],
        open_query: false,
        body: None,
        replies: &[ok(JSON)],
        errors: &[],
    },
    Operation {
        method: "get",
        path: "/api/actions",
        id: "listActions",
        summary: "Åtgärdsplanens insatser",
        role: "analyst",
        params: &[q("status", ACTION_STATUS, ""), q("area", r#"{"type":"string","maxLength":100}"#, "")],
        open_query: false,
        body: None,
        replies: &[ok(JSON)],
        errors: &[403],
    },
    Operation { method: "post", path: "/api/actions", id: "createAction", summary: "Ny insats", role: "editor", params: &[], open_query: false, body: Some(("application/json", "#ActionInput")), replies: &[Reply { status: 201, description: "Skapad (ETag)", content: JSON }], errors: &[403, 422] },
    Operation { method: "get", path: "/api/actions/{id}", id: "getAction", summary: "En insats (ETag)", role: "analyst", params: ACTION_PARAMS, open_query: false, body: None, replies: &[ok(JSON)], errors: &[403] },
    Operation { method: "put", path: "/api/actions/{id}", id: "updateAction", summary: "Ändra en insats", role: "editor", params: ACTION_WRITE, open_query: false, body: Some(("application/json", "#ActionInput")), replies: &[ok(JSON)], errors: &[403, 412, 422, 428] },
    Operation { method: "delete", path: "/api/actions/{id}", id: "deleteAction", summary: "Ta bort en insats", role: "editor", params: ACTION_WRITE, open_query: false, body: None, replies: &[Reply { status: 204, description: "Borttagen", content: &[] }], errors: &[403, 412, 428] },
    Operation { method: "get", path: "/api/actions/{id}/followup", id: "getActionFollowup", summary: "Händelser i insatsens område före och efter start", role: "analyst", params: ACTION_PARAMS, open_query: false, body: None, replies: &[ok(JSON)], errors: &[403] },
    Operation {
        method: "get",
        path: "/api/est",
        id: "getEstWeek",
        summary: "Läget vecka N (EST): beräknad status och bedömning per område",
        role: ANY,
        params: &[q("week", WEEK, "ISO-vecka"), q("level", r#"{"type":"string","enum":["deso","regso","place"]}"#, "")],
        open_query: false,
        body: None,
        replies: &[ok(JSON)],
        errors: &[],
    },
    Operation { method: "get", path: "/api/est/{area}/{week}", id: "getEstArea", summary: "Ett områdes vecka: beräknad status, bedömning och historik", role: ANY, params: EST_PARAMS, open_query: false, body: None, replies: &[ok(JSON)], errors: &[] },
    Operation { method: "put", path: "/api/est/{area}/{week}", id: "putEstAssessment", summary: "EST-gruppens bedömning (läggs till, skrivs aldrig över)", role: "editor", params: EST_PARAMS, open_query: false, body: Some(("application/json", "#AssessmentInput")), replies: &[ok(JSON), Reply { status: 201, description: "Sparad", content: JSON }], errors: &[403, 422] },
    Operation { method: "get", path: "/api/orsaksanalys/{year}", id: "getCauseAnalysis", summary: "Årets orsaksanalys", role: "analyst", params: YEAR_PARAMS, open_query: false, body: None, replies: &[ok(JSON)], errors: &[403] },
    Operation { method: "put", path: "/api/orsaksanalys/{year}", id: "putCauseAnalysis", summary: "Ny version av årets orsaksanalys", role: "editor", params: YEAR_PARAMS, open_query: false, body: Some(("application/json", "#CauseAnalysisInput")), replies: &[ok(JSON), Reply { status: 201, description: "Sparad", content: JSON }], errors: &[403, 422] },
    Operation {
        method: "get",
        path: "/api/reports/{kind}",
        id: "getReport",
        summary: "Rapporter: est (period) och lagesbild (år), HTML, PDF eller JSON",
        role: "analyst",
        params: &[
            p("kind", r#"{"type":"string","enum":["est","lagesbild"]}"#),
            q("period", r#"{"type":"string","pattern":"^[0-9]{4}-(W[0-9]{2}|[0-9]{2}|T[1-3])$","examples":["2026-W12","2026-03","2026-T1"]}"#, "est: vecka, månad eller tertial"),
            q("year", r#"{"type":"integer","minimum":2000,"maximum":2100}"#, "lagesbild: år"),
            q("format", r#"{"type":"string","enum":["html","pdf","json"]}"#, ""),
        ],
        open_query: false,
        body: None,
        replies: &[ok(&[("text/html; charset=utf-8", "#Text"), ("application/pdf", "#Binary"), ("application/json", "#Object")])],
        errors: &[403, 422],
    },
    Operation {
        method: "get",
        path: "/api/privacy-report",
        id: "getPrivacyReport",
        summary: "Förteckning över personuppgifter i lagret (admin)",
        role: "admin",
        params: &[q("format", r#"{"type":"string","enum":["json","html"]}"#, "")],
        open_query: false,
        body: None,
        replies: &[ok(&[("application/json", "#Object"), ("text/html; charset=utf-8", "#Text")])],
        errors: &[403],
    },
    Operation { method: "get", path: "/map", id: "getMapRedirect", summary: "Till webbkartan", role: ANY, params: &[], open_query: true, body: None, replies: &[Reply { status: 308, description: "Till /map/", content: &[] }], errors: &[] },
    Operation { method: "get", path: "/map/", id: "getMap", summary: "Webbkartan", role: ANY, params: &[], open_query: true, body: None, replies: &[ok(HTML)], errors: &[] },
    Operation {
        method: "get",
        path: "/map/{asset}",
        id: "getMapAsset",
        summary: "Webbkartans filer",
        role: ANY,
        params: &[p("asset", r#"{"type":"string","pattern":"^[a-z0-9_.-]+$","examples":["app.js"]}"#)],
        open_query: true,
        body: None,
        replies: &[ok(&[("*/*", "#Binary")])],
        errors: &[],
    },
];

/// The operation a request is for: its method and a path that fits the template segment by
/// segment (`{name}` matches one non-empty segment).
pub fn operation(method: &axum::http::Method, path: &str) -> Option<&'static Operation> {
    // Runs on every request (the query guard): compared in place, nothing allocated.
    // Only operations with as many segments as the path can fit it; grouped once, in table order.
    static BY_SEGMENTS: std::sync::LazyLock<Vec<Vec<&'static Operation>>> = std::sync::LazyLock::new(|| {
        let mut groups: Vec<Vec<&'static Operation>> = vec![];
        for op in OPERATIONS {
            let n = op.path.split('/').count();
            groups.resize_with(groups.len().max(n + 1), Vec::new);
            groups[n].push(op);
        }
        groups
    });
    let m = if method == axum::http::Method::HEAD { "get" } else { method.as_str() };
    let group = BY_SEGMENTS.get(path.split('/').count())?;
    group.iter().copied().find(|op| op.method.eq_ignore_ascii_case(m) && fits(op.path, path))
}

fn fits(template: &str, path: &str) -> bool {
    let (mut t, mut p) = (template.split('/'), path.split('/'));
    loop {
        match (t.next(), p.next()) {
            (None, None) => return true,
            (Some(a), Some(b)) if a.starts_with('{') && a.ends_with('}') => {
                if b.is_empty() {
                    return false;
                }
            }
            (Some(a), Some(b)) if a == b => {}
            _ => return false,
        }
    }
}

fn schema(text: &str) -> Value {
    match text.strip_prefix('#') {
        Some(name) => json!({ "$ref": format!("#/components/schemas/{name}") }),
        None => serde_json::from_str(text).unwrap_or_else(|e| panic!("schema in OPERATIONS is not JSON ({e}): {text}")),
    }
}

fn parameter(p: &Param) -> Value {
    let mut v = json!({
        "name": p.name,
        "in": match p.location { In::Path => "path", In::Query => "query", In::Header => "header" },
        "required": p.required,
        "schema": schema(p.schema),
    });
    if !p.description.is_empty() {
        v["description"] = p.description.into();
    }
    v
}

fn reply_content(content: &[(&str, &str)]) -> Value {
    Value::Object(content.iter().map(|(mt, s)| (mt.to_string(), json!({ "schema": schema(s) }))).collect())
}

fn error_reply(status: u16) -> Value {
    let description = match status {
        400 => "Felaktig parameter eller okänd parameter",
        401 => "Token krävs eller är ogiltig",
        403 => "Rollen räcker inte",
        404 => "Finns inte",
        409 => "Konflikt (t.ex. samma fil importerad två gånger)",
        412 => "Inaktuell version (If-Match)",
        413 => "För stor",
        422 => "Ogiltigt innehåll; errors anger fältet",
        428 => "If-Match saknas",
        429 => "För många anrop utan token från samma adress (Retry-After)",
        503 => "Laddar, kön är full eller identitetsleverantören svarar inte (Retry-After)",
        _ => "Fel",
    };
    let problem = super::error::PROBLEM_JSON;
    json!({ "description": description, "content": { problem: { "schema": { "$ref": "#/components/schemas/Problem" } } } })
}

/// Stateful links: a created walk or observation can be read, changed and removed with its id
/// and ETag.
fn links(op: &Operation) -> Option<Value> {
    let (param, read, update, delete) = match op.id {
        "createWalk" => ("walkId", "getWalk", "updateWalk", "deleteWalk"),
        "createObservation" => ("observationId", "getObservation", "updateObservation", "deleteObservation"),
        _ => return None,
    };
    let id = json!({ param: "$response.body#/id" });
    let with_etag = json!({ param: "$response.body#/id", "header.If-Match": "$response.header.ETag" });
    Some(json!({
        "Read": { "operationId": read, "parameters": id },
        "Update": { "operationId": update, "parameters": with_etag },
        "Delete": { "operationId": delete, "parameters": with_etag },
    }))
}

fn operation_json(op: &Operation) -> Value {
    let mut responses = Map::new();
    for r in op.replies {
        let mut v = json!({ "description": r.description });
        if !r.content.is_empty() {
            v["content"] = reply_content(r.content);
        }
        if let Some(l) = links(op).filter(|_| r.status == 201) {
            v["links"] = l;
        }
        responses.insert(r.status.to_string(), v);
    }
    for s in [400, 401, 404, 429, 503].iter().chain(op.errors) {
        responses.insert(s.to_string(), error_reply(*s));
    }
    let role = if op.role == ANY { "alla (vad som syns beror på rollen)".to_string() } else { format!("{} eller högre", op.role) };
    let mut v = json!({
        "operationId": op.id,
        "summary": op.summary,
        "description": format!("Roll: {role}."),
        "parameters": op.params.iter().map(parameter).collect::<Vec<_>>(),
        "responses": responses,
        // Anonymous calls are allowed where the role is public; a token raises what is shown.
        "security": if op.role == ANY { json!([{}, { "bearer": [] }]) } else { json!([{ "bearer": [] }]) },
    });
    if let Some((mt, s)) = op.body {
        v["requestBody"] = json!({ "required": true, "content": { mt: { "schema": schema(s) } } });
    }
    v
}

fn components(oidc_issuer: Option<&str>) -> Value {
    let mut schemes = json!({
        "bearer": { "type": "http", "scheme": "bearer", "description": "Statisk token (lagesbild hash-token) eller JWT från OpenID Connect-leverantören" },
    });
    if let Some(issuer) = oidc_issuer {
        schemes["oidc"] = json!({ "type": "openIdConnect", "openIdConnectUrl": format!("{}/.well-known/openid-configuration", issuer.trim_end_matches('/')) });
    }
    json!({ "securitySchemes": schemes, "schemas": schemas() })
}

fn schemas() -> Value {
    let mut all = json!({
        "Object": { "type": "object" },
        "Text": { "type": "string" },
        "Binary": { "type": "string", "contentMediaType": "application/octet-stream" },
        "Problem": {
            "type": "object",
            "description": "RFC 9457 problem details; code och description som i OGC API",
            "required": ["type", "title", "status", "detail", "code", "description"],
            "properties": {
                "type": { "type": "string" }, "title": { "type": "string" }, "status": { "type": "integer" },
                "detail": { "type": "string" }, "code": { "type": "string" }, "description": { "type": "string" },
                "errors": { "type": "array", "items": { "type": "object", "required": ["field", "detail"], "properties": { "field": { "type": "string" }, "detail": { "type": "string" } } } },
                "problems": { "type": "array", "items": { "type": "object" } },
                "total": { "type": "integer" }
            }
        },
        "Feature": {
            "type": "object",
            "required": ["type"],
            "properties": { "type": { "const": "Feature" }, "geometry": { "type": ["object", "null"] }, "properties": { "type": ["object", "null"] } }
        },
        "FeatureCollection": {
            "type": "object",
            "required": ["type", "features"],
            "properties": { "type": { "const": "FeatureCollection" }, "features": { "type": "array", "items": { "$ref": "#/components/schemas/Feature" } } }
        },
        "LineString": {
            "type": "object",
            "required": ["type", "coordinates"],
            "properties": { "type": { "const": "LineString" }, "coordinates": { "type": "array", "minItems": 2, "items": { "type": "array", "minItems": 2, "maxItems": 3, "items": { "type": "number" } } } }
        },
        "Point": {
            "type": "object",
            "required": ["type", "coordinates"],
            "properties": { "type": { "const": "Point" }, "coordinates": { "type": "array", "minItems": 2, "maxItems": 3, "items": { "type": "number" } } }
        },
        "Ratings": {
            "type": "object",
            "description": "0–3 per parameter: lighting, openness, visibility, people, security, walk_path, public_transport, gender_usage, feeling",
            "additionalProperties": { "type": "integer", "minimum": 0, "maximum": 3 }
        }
    });
    if let (Some(a), Value::Object(b)) = (all.as_object_mut(), body_schemas()) {
        a.extend(b);
    }
    all
}

/// The request bodies: what `walks.rs` deserialises and `input.rs` validates.
fn body_schemas() -> Value {
    let text = |max: usize| json!({ "type": "string", "maxLength": max });
    let categories: Vec<&str> = crate::walks::OBSERVATION_CATEGORIES.iter().map(|c| c.0).collect();
    // A new observation and a change to one take the same fields.
    let observation = json!({
        "point": { "$ref": "#/components/schemas/Point" },
        "category": { "type": "string", "enum": categories },
        "ratings": { "$ref": "#/components/schemas/Ratings" },
        "description": text(super::input::LONG), "responsible": text(super::input::SHORT),
        "status": { "type": "string", "enum": ["ny", "tilldelad", "planerad", "atgardad", "avslutad", "ej_atgardas"] },
        "off_route": { "type": "boolean" },
        "due": { "type": ["string", "null"], "format": "date" },
        "insats": text(super::input::SHORT),
        "client_id": text(64)
    });
    json!({
        "WalkInput": {
            "type": "object",
            "additionalProperties": false,
            "required": ["title", "planned_at", "route"],
            // A walk in Sollentuna centrum (the demo data), so a fuzzer's first create succeeds and
            // its stateful links reach read, update and delete.
            "examples": [{
                "title": "Kvällsvandring Centrum", "planned_at": "2025-11-20T18:00", "area": "Sollentuna centrum",
                "route": { "type": "LineString", "coordinates": [[17.9480, 59.4275], [17.9530, 59.4285]] }
            }],
            "properties": {
                "title": { "type": "string", "minLength": 1, "maxLength": super::input::SHORT },
                "planned_at": { "type": "string", "maxLength": super::input::SHORT, "examples": ["2025-11-20T18:00"] },
                "area": text(super::input::SHORT), "organiser": text(super::input::SHORT),
                "organisations": { "type": "array", "items": text(super::input::SHORT) },
                "route": { "$ref": "#/components/schemas/LineString" },
                "status": { "type": "string", "enum": ["planerad", "genomford", "uppfoljd"] },
                "notes": text(super::input::LONG),
                "participants": { "type": "array", "maxItems": 100, "items": { "type": "object", "additionalProperties": false, "required": ["organisation"], "properties": { "organisation": text(super::input::SHORT), "name": { "type": ["string", "null"], "maxLength": super::input::SHORT } } } },
                "meeting_point": text(super::input::SHORT),
                "stops": { "type": "array", "maxItems": 100, "items": { "type": "object", "required": ["lon", "lat"], "properties": { "lon": { "type": "number" }, "lat": { "type": "number" }, "look_at": text(super::input::SHORT) } } },
                "dark_hours": { "type": "boolean" },
                "notes_before": text(super::input::LONG),
                "notes_after": text(super::input::LONG)
            }
        },
        "ActionInput": {
            "type": "object",
            "additionalProperties": false,
            "required": ["title", "area", "responsible", "start"],
            "properties": {
                "title": { "type": "string", "minLength": 1, "maxLength": super::input::SHORT },
                "area": text(super::input::SHORT), "problem": text(super::input::LONG), "responsible": text(super::input::SHORT),
                "start": { "type": "string", "format": "date" }, "end": { "type": ["string", "null"], "format": "date" },
                "desired_result": text(super::input::LONG), "outcome": text(super::input::LONG),
                "status": { "type": ["string", "null"], "enum": ["planned", "ongoing", "done", "cancelled", null] },
                "level": { "type": ["string", "null"], "enum": ["general", "group", "individual", null] },
                "finding": { "type": ["string", "null"], "maxLength": 64 }, "hotspot": { "type": ["string", "null"], "maxLength": 64 }
            }
        },
        "AssessmentInput": {
            "type": "object",
            "additionalProperties": false,
            "required": ["status"],
            "properties": { "status": { "type": "string", "enum": ["green", "yellow", "red", "grön", "gul", "röd"] }, "comment": text(super::input::LONG) }
        },
        "CauseAnalysisInput": {
            "type": "object",
            "additionalProperties": false,
            "required": ["text"],
            "properties": { "text": { "type": "string", "maxLength": 100000 } }
        },
        "PlanArea": {
            "type": "object",
            "description": "GeoJSON Polygon eller MultiPolygon (WGS84), som geometri, Feature eller FeatureCollection",
            "required": ["type"],
            "properties": { "type": { "type": "string", "enum": ["Polygon", "MultiPolygon", "Feature", "FeatureCollection"] } }
        },
        "ObservationInput": {
            "type": "object",
            "additionalProperties": false,
            "required": ["point", "category"],
            "examples": [{ "point": { "type": "Point", "coordinates": [17.9505, 59.4280] }, "category": "belysning", "description": "Trasig lampa" }],
            "properties": observation,
        },
        "ObservationPatch": {
            "type": "object",
            "additionalProperties": false,
            "properties": observation,
        },
        "Upload": {
            "type": "object",
            "required": ["file"],
            "properties": { "file": { "type": "string", "contentMediaType": "application/octet-stream" } },
            "additionalProperties": { "type": "string" }
        }
    })
}

/// The whole document; `oidc_issuer` adds the OpenID Connect security scheme when sign-in is on.
pub fn document_for(oidc_issuer: Option<&str>) -> Value {
    let mut paths = Map::new();
    for op in OPERATIONS {
        let item = paths.entry(op.path.to_string()).or_insert_with(|| json!({}));
        item[op.method] = operation_json(op);
    }
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "lagesbild",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "Lägesbild för kommuner: OGC API – Features (del 1 och 2), OGC API – Tiles, vektortiler, analyser och trygghetsvandringar. Skicka 'Authorization: Bearer TOKEN' för begränsade data. Fel är RFC 9457 problem details (application/problem+json)."
        },
        "servers": [{ "url": "/" }],
        "paths": paths,
        "components": components(oidc_issuer),
    })
}

/// The document without OpenID Connect (what the tests and Swagger UI use).
pub fn document() -> Value {
    document_for(None)
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::Method;

    #[test]
    fn a_request_finds_its_operation_by_method_and_path_shape() {
        assert_eq!(operation(&Method::GET, "/tiles/deso/12/2250/1200.mvt").map(|o| o.id), Some("getTile"));
        assert_eq!(operation(&Method::HEAD, "/tiles/deso/12/2250/1200.mvt").map(|o| o.id), Some("getTile"));
        assert!(operation(&Method::POST, "/tiles/deso/12/2250/1200.mvt").is_none());
        assert!(operation(&Method::GET, "/tiles/deso/12/2250").is_none(), "one segment short");
        assert!(operation(&Method::GET, "/tiles/deso/12/2250/1200.mvt/x").is_none(), "one segment too many");
        assert!(operation(&Method::GET, "/tiles//12/2250/1200.mvt").is_none(), "a parameter is never empty");
    }
}

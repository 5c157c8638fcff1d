//! OGC API – Tiles Part 1 through the router (no port): the tile matrix set, each collection's
//! tileset, links and conformance, and tiles that are byte for byte today's `/tiles/…` tiles with
//! the same privacy and caching.

mod common;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use common::{crs3006, Fixture};
use http_body_util::BodyExt;
use lagesbild::api::auth::Tokens;
use lagesbild::import::ImportKind;
use lagesbild::tiles::{tile_of, tile_range};
use serde_json::Value;
use tower::ServiceExt;

const ANALYST: &str = "analyst-token";
const WMQ: &str = "WebMercatorQuad";

/// The three 1 km fixture squares and 40 incidents in the first one (SWEREF 99 TM).
fn fixture() -> (Fixture, axum::Router) {
    let f = Fixture::with_areas();
    let mut csv = String::from("id;kategori;datum;e;n\n");
    for k in 0..40 {
        csv.push_str(&format!("R{k};Klotter;2025-03-{:02};{};{}\n", 1 + k % 28, 660_100.0 + (k % 8) as f64 * 97.0, 6_590_100.0 + (k / 8) as f64 * 151.0));
    }
    let p = f.write("inc.csv", &csv);
    f.import(ImportKind::Incidents, &p, &crs3006()).unwrap();
    let tokens = Tokens::from_env_value(&format!("analyst:{ANALYST}")).unwrap();
    let cfg = lagesbild::api::ServiceConfig { audit_log: Some(f.dir.path().join("audit.log")), ..Default::default() };
    let app = lagesbild::app(lagesbild::AppState::new(&f.store, cfg, tokens).unwrap());
    (f, app)
}

async fn get(app: &axum::Router, uri: &str, token: Option<&str>) -> (StatusCode, axum::http::HeaderMap, Vec<u8>) {
    let mut req = Request::get(uri);
    if let Some(t) = token {
        req = req.header("Authorization", format!("Bearer {t}"));
    }
    let resp = app.clone().oneshot(req.body(Body::empty()).unwrap()).await.unwrap();
    let (parts, body) = resp.into_parts();
    (parts.status, parts.headers, body.collect().await.unwrap().to_bytes().to_vec())
}

async fn json(app: &axum::Router, uri: &str) -> Value {
    let (s, _, b) = get(app, uri, None).await;
    assert_eq!(s, StatusCode::OK, "{uri}: {}", String::from_utf8_lossy(&b));
    serde_json::from_slice(&b).unwrap()
}

/// The fixture's centre, 661500 E 6590500 N in SWEREF 99 TM (`gdaltransform -s_srs EPSG:3006
/// -t_srs EPSG:4326`: 17.84649 E, 59.42201 N).
const LON: f64 = 17.84649;
const LAT: f64 = 59.42201;

#[tokio::test]
async fn an_ogc_tile_is_the_same_bytes_as_todays_tile_with_row_before_column() {
    let (_f, app) = fixture();
    for id in ["deso", "regso", "incident_counts", "incidents"] {
        for z in [8u8, 11, 13, 14, 16] {
            let (x, y) = tile_of(LON, LAT, z);
            for token in [None, Some(ANALYST)] {
                let (s1, h1, old) = get(&app, &format!("/tiles/{id}/{z}/{x}/{y}.mvt"), token).await;
                let (s2, h2, new) = get(&app, &format!("/collections/{id}/tiles/{WMQ}/{z}/{y}/{x}"), token).await;
                assert_eq!((s1, s2), (StatusCode::OK, StatusCode::OK), "{id} {z}/{x}/{y}: {}", String::from_utf8_lossy(&new));
                assert_eq!(h2["content-type"], "application/vnd.mapbox-vector-tile");
                assert_eq!(h1["cache-control"], h2["cache-control"], "{id}: same caching");
                assert_eq!(old, new, "{id} {z}/{x}/{y} as {token:?}");
                assert!(!new.is_empty(), "{id} {z}: the fixture lies in this tile");
            }
        }
    }
    // The public gets incident aggregates there too (no raw ids), and a shared cache may keep
    // public tiles while an analyst's stay private.
    // The incidents' middle, 660440 E 6590400 N (gdaltransform: 17.82776 E, 59.42152 N).
    let (x, y) = tile_of(17.82776, 59.42152, 14);
    let (_, h, b) = get(&app, &format!("/collections/incidents/tiles/{WMQ}/14/{y}/{x}"), None).await;
    assert!(!String::from_utf8_lossy(&b).contains("R1"), "raw incident ids in a public tile");
    assert!(String::from_utf8_lossy(&b).contains("cell_id"));
    // Tiles carry the data generation's ETag and are revalidated (`no-cache`), so an import or an
    // undo never leaves a stale tile in any cache; incident tiles stay private all the same.
    assert_eq!(h["cache-control"], "private, no-cache", "incidents are never publicly cached");
    let (_, h, _) = get(&app, &format!("/collections/deso/tiles/{WMQ}/14/{y}/{x}"), None).await;
    assert_eq!(h["cache-control"], "public, no-cache");
}

#[tokio::test]
async fn the_tileset_lists_its_limits_layers_and_links() {
    let (_f, app) = fixture();
    let list = json(&app, "/collections/deso/tiles").await;
    let ts = &list["tilesets"][0];
    assert_eq!(ts["dataType"], "vector");
    assert_eq!(ts["tileMatrixSetURI"], "http://www.opengis.net/def/tilematrixset/OGC/1.0/WebMercatorQuad");
    let self_href = ts["links"].as_array().unwrap().iter().find(|l| l["rel"] == "self").unwrap()["href"].as_str().unwrap().to_string();
    assert!(self_href.ends_with("/collections/deso/tiles/WebMercatorQuad"), "{self_href}");

    let t = json(&app, "/collections/deso/tiles/WebMercatorQuad").await;
    let links = t["links"].as_array().unwrap();
    let rel = |r: &str| links.iter().find(|l| l["rel"] == r).unwrap_or_else(|| panic!("no {r} link: {links:?}"));
    assert!(rel("http://www.opengis.net/def/rel/ogc/1.0/tiling-scheme")["href"].as_str().unwrap().ends_with("/tileMatrixSets/WebMercatorQuad"));
    let item = rel("item");
    assert_eq!(item["type"], "application/vnd.mapbox-vector-tile");
    assert!(item["href"].as_str().unwrap().ends_with("/collections/deso/tiles/WebMercatorQuad/{tileMatrix}/{tileRow}/{tileCol}"));
    assert!(rel("http://www.opengis.net/def/rel/ogc/1.0/geodata")["href"].as_str().unwrap().ends_with("/collections/deso"));
    // DeSO make sense from zoom 8; tiles stop at 16 (clients overzoom).
    let limits = t["tileMatrixSetLimits"].as_array().unwrap();
    let zooms: Vec<&str> = limits.iter().map(|l| l["tileMatrix"].as_str().unwrap()).collect();
    assert_eq!(zooms, (8..=16).map(|z| z.to_string()).collect::<Vec<_>>().iter().map(String::as_str).collect::<Vec<_>>());
    // The fixture's corners 660000/6590000 and 663000/6591000 (gdaltransform as above), padded
    // by 0.002° since the other two corners of a square in SWEREF 99 TM stick out a little.
    let extent = [17.81772, 59.41610, 17.87528, 59.42793];
    for l in limits {
        let z: u8 = l["tileMatrix"].as_str().unwrap().parse().unwrap();
        let (x, y) = tile_of(LON, LAT, z);
        assert!(l["minTileCol"].as_u64().unwrap() <= x as u64 && x as u64 <= l["maxTileCol"].as_u64().unwrap(), "{l}");
        assert!(l["minTileRow"].as_u64().unwrap() <= y as u64 && y as u64 <= l["maxTileRow"].as_u64().unwrap(), "{l}");
        let (c0, r0, c1, r1) = tile_range(extent, z);
        assert!(l["minTileCol"].as_u64().unwrap() >= c0 as u64 && l["maxTileCol"].as_u64().unwrap() <= c1 as u64, "limits fit the data: {l}");
        assert!(l["minTileRow"].as_u64().unwrap() >= r0 as u64 && l["maxTileRow"].as_u64().unwrap() <= r1 as u64, "limits fit the data: {l}");
    }
    assert_eq!(t["layers"][0]["id"], "deso");
    assert_eq!(t["layers"][0]["geometryType"], "polygons");
    assert_eq!(t["layers"][0]["minTileMatrix"], "8");
    assert_eq!(t["layers"][0]["maxTileMatrix"], "16");

    let tms = json(&app, "/tileMatrixSets/WebMercatorQuad").await;
    assert_eq!(tms["crs"], "http://www.opengis.net/def/crs/EPSG/0/3857");
    let m = tms["tileMatrices"].as_array().unwrap();
    assert_eq!(m.len(), 25, "zoom 0–24 as in the OGC definition");
    // OGC 17-083r4 Annex D, WebMercatorQuad level 0: scale 559082264.0287178, cell 156543.0339280410 m.
    assert!((m[0]["scaleDenominator"].as_f64().unwrap() - 559_082_264.028_717_8).abs() < 1e-3);
    assert!((m[0]["cellSize"].as_f64().unwrap() - 156_543.033_928_041).abs() < 1e-6);
    assert_eq!(m[12]["matrixWidth"], 4096);
    let sets = json(&app, "/tileMatrixSets").await;
    assert_eq!(sets["tileMatrixSets"][0]["id"], "WebMercatorQuad");
}

#[tokio::test]
async fn collections_link_their_tilesets_and_conformance_and_openapi_name_tiles() {
    let (_f, app) = fixture();
    let c = json(&app, "/collections/deso").await;
    let link =
        c["links"].as_array().unwrap().iter().find(|l| l["rel"] == "http://www.opengis.net/def/rel/ogc/1.0/tilesets-vector").expect("tilesets-vector link");
    assert!(link["href"].as_str().unwrap().ends_with("/collections/deso/tiles"));
    assert_eq!(link["type"], "application/json");
    let conf = json(&app, "/conformance").await;
    let classes: Vec<&str> = conf["conformsTo"].as_array().unwrap().iter().map(|v| v.as_str().unwrap()).collect();
    for cls in ["core", "tileset", "tilesets-list", "geodata-tilesets", "mvt"] {
        let uri = format!("http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/{cls}");
        assert!(classes.contains(&uri.as_str()), "{uri} missing");
    }
    assert!(classes.contains(&"http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core"), "Features classes stay");
    let api = json(&app, "/api").await;
    for p in [
        "/tileMatrixSets",
        "/tileMatrixSets/{tileMatrixSetId}",
        "/collections/{collectionId}/tiles",
        "/collections/{collectionId}/tiles/{tileMatrixSetId}",
        "/collections/{collectionId}/tiles/{tileMatrixSetId}/{tileMatrix}/{tileRow}/{tileCol}",
    ] {
        assert!(api["paths"][p].is_object(), "OpenAPI lacks {p}");
    }
    let tj = json(&app, "/tiles/deso/tilejson.json").await;
    assert_eq!((tj["minzoom"].as_u64(), tj["maxzoom"].as_u64()), (Some(8), Some(16)), "TileJSON gives the layer's own range");
    assert_eq!(tj["vector_layers"][0]["maxzoom"], 16);
}

#[tokio::test]
async fn tiles_outside_the_limits_are_404_and_bad_numbers_400_both_as_json() {
    let (_f, app) = fixture();
    let (x, y) = tile_of(LON, LAT, 12);
    for (uri, status) in [
        (format!("/collections/deso/tiles/{WMQ}/12/{y}/{}", x + 50), StatusCode::NOT_FOUND),
        (format!("/collections/deso/tiles/{WMQ}/12/0/0"), StatusCode::NOT_FOUND),
        (format!("/collections/deso/tiles/{WMQ}/3/0/0"), StatusCode::NOT_FOUND),
        (format!("/collections/deso/tiles/{WMQ}/17/0/0"), StatusCode::NOT_FOUND),
        (format!("/collections/deso/tiles/{WMQ}/99999999999999999999/0/0"), StatusCode::BAD_REQUEST),
        (format!("/collections/deso/tiles/{WMQ}/12/x/0"), StatusCode::BAD_REQUEST),
        (format!("/collections/deso/tiles/{WMQ}/12/{y}/-1"), StatusCode::BAD_REQUEST),
        (format!("/collections/deso/tiles/{WMQ}/12/{y}/{x}?bogus=1"), StatusCode::BAD_REQUEST),
        (format!("/collections/deso/tiles/WorldCRS84Quad/12/{y}/{x}"), StatusCode::NOT_FOUND),
        ("/collections/deso/tiles/WorldCRS84Quad".to_string(), StatusCode::NOT_FOUND),
        (format!("/collections/nope/tiles/{WMQ}/12/{y}/{x}"), StatusCode::NOT_FOUND),
        ("/tileMatrixSets/nope".to_string(), StatusCode::NOT_FOUND),
    ] {
        let (s, h, b) = get(&app, &uri, None).await;
        assert_eq!(s, status, "{uri}: {}", String::from_utf8_lossy(&b));
        assert_eq!(h["content-type"], "application/problem+json", "{uri}");
        let v: Value = serde_json::from_slice(&b).unwrap();
        assert!(v["code"].is_string() && v["description"].is_string(), "{uri}: {v}");
    }
}

/// GDAL's MVT driver reads an OGC tile as it is: the three squares, each a valid polygon, with
/// their true area.
#[tokio::test]
async fn gdal_reads_an_ogc_tile_as_three_valid_squares_of_the_right_area() {
    let (f, app) = fixture();
    // At zoom 11 one tile (19.6 km of Web Mercator, about 10 km on the ground) holds the whole
    // 3 km × 1 km fixture.
    let z = 11u8;
    let (x, y) = tile_of(LON, LAT, z);
    assert_eq!(tile_of(17.8180, 59.4261, z), (x, y), "north-west corner in the same tile");
    assert_eq!(tile_of(17.8750, 59.4180, z), (x, y), "south-east corner in the same tile");
    let (_, _, b) = get(&app, &format!("/collections/deso/tiles/{WMQ}/{z}/{y}/{x}"), None).await;
    let path = f.dir.path().join("tile.mvt");
    std::fs::write(&path, &b).unwrap();
    let out = std::process::Command::new("ogrinfo")
        .args(["-ro", "-q", "-oo", &format!("X={x}"), "-oo", &format!("Y={y}"), "-oo", &format!("Z={z}"), "-dialect", "SQLite", "-sql"])
        .arg("SELECT COUNT(*) AS n, SUM(ST_IsValid(geometry)) AS valid, SUM(ST_Area(geometry)) AS area FROM deso")
        .arg(&path)
        .output()
        .expect("ogrinfo (gdal-bin)");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let field = |name: &str| -> f64 {
        text.lines().find_map(|l| l.trim().strip_prefix(&format!("{name} ("))).and_then(|r| r.split("= ").nth(1)).unwrap().trim().parse().unwrap()
    };
    assert_eq!(field("n"), 3.0, "{text}");
    assert_eq!(field("valid"), 3.0, "every polygon valid: {text}");
    // Three 1 km² squares; Web Mercator stretches areas by 1/cos²(latitude) (SWEREF 99 TM's own
    // scale there, 0.99992, is far below the tolerance).
    let want = 3.0e6 / LAT.to_radians().cos().powi(2);
    assert!((field("area") - want).abs() < 0.01 * want, "area {} against {want}", field("area"));
}

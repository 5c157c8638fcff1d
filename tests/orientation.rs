//! Map orientation through the router (no port): place search, label points, glyphs for the
//! labels and the basemap style/TileJSON/tiles, with bad input answered as 4xx JSON.

mod common;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use common::Fixture;
use http_body_util::BodyExt;
use lagesbild::api::auth::Tokens;
use pbf_font_tools::prost::Message;
use serde_json::{json, Value};
use std::process::Command;
use std::sync::Arc;
use tower::ServiceExt;

const EDITOR: &str = "editor-token";

/// A police area "Södra Tureberg" over the two western fixture squares (SWEREF 99 TM) and the
/// municipality "Sollentuna" around all three.
const USO: &str = r#"{"type":"FeatureCollection","crs":{"type":"name","properties":{"name":"urn:ogc:def:crs:EPSG::3006"}},
"features":[{"type":"Feature","properties":{"name":"Södra Tureberg","class":"utsatt","since":"2025-01-01"},
"geometry":{"type":"Polygon","coordinates":[[[660200,6590200],[661800,6590200],[661800,6590800],[660200,6590800],[660200,6590200]]]}}]}"#;
const KOMMUN: &str = r#"{"type":"FeatureCollection","crs":{"type":"name","properties":{"name":"urn:ogc:def:crs:EPSG::3006"}},
"features":[{"type":"Feature","properties":{"kommun_kod":"0163","kommun":"Sollentuna"},
"geometry":{"type":"Polygon","coordinates":[[[659000,6589000],[664000,6589000],[664000,6592000],[659000,6592000],[659000,6589000]]]}}]}"#;

fn app_with(f: &Fixture, basemap: Option<String>, attribution: Option<&str>) -> Result<axum::Router, lagesbild::api::StartError> {
    let uso = f.write("uso.geojson", USO);
    let kommun = f.write("kommun.geojson", KOMMUN);
    let cfg = lagesbild::api::ServiceConfig {
        police_areas: Some(uso),
        boundaries: Some(kommun),
        audit_log: Some(f.dir.path().join("audit.log")),
        basemap,
        basemap_attribution: attribution.map(String::from),
        ..Default::default()
    };
    let tokens = Tokens::from_env_value(&format!("editor:{EDITOR}")).unwrap();
    let state = lagesbild::AppState::new(&f.store, cfg, tokens)?.with_walks(Arc::new(f.store.clone()));
    Ok(lagesbild::app(state))
}

async fn get(app: &axum::Router, uri: &str) -> (StatusCode, String, Vec<u8>) {
    let r = app.clone().oneshot(Request::get(uri).header("host", "127.0.0.1:9").body(Body::empty()).unwrap()).await.unwrap();
    let status = r.status();
    let ct = r.headers().get("content-type").map(|v| v.to_str().unwrap().to_string()).unwrap_or_default();
    (status, ct, r.into_body().collect().await.unwrap().to_bytes().to_vec())
}

async fn get_json(app: &axum::Router, uri: &str) -> (StatusCode, Value) {
    let (s, _, b) = get(app, uri).await;
    (s, serde_json::from_slice(&b).unwrap_or_else(|e| panic!("{uri}: not JSON ({e}): {}", String::from_utf8_lossy(&b))))
}

fn names(v: &Value) -> Vec<(String, String)> {
    v["hits"].as_array().unwrap().iter().map(|h| (h["kind"].as_str().unwrap().to_string(), h["name"].as_str().unwrap().to_string())).collect()
}

#[tokio::test]
async fn search_finds_places_by_folded_prefix_with_kind_id_name_and_a_wgs84_bbox() {
    let f = Fixture::with_areas();
    let app = app_with(&f, None, None).unwrap();

    // "sodra" finds "Södra Tureberg": case and Swedish letters folded.
    let (s, v) = get_json(&app, "/api/search?q=sodra").await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(names(&v), [("police_area".to_string(), "Södra Tureberg".to_string())]);
    let hit = &v["hits"][0];
    assert_eq!(hit["id"], "uso1");
    // The polygon spans E 660200–661800, N 6590200–6590800 in SWEREF 99 TM, which is near
    // 17.8° E, 59.4° N (central meridian 15° E, 160 km east); the bbox must be in degrees there.
    let b: Vec<f64> = hit["bbox"].as_array().unwrap().iter().map(|x| x.as_f64().unwrap()).collect();
    assert!(b[0] < b[2] && b[1] < b[3], "{b:?}");
    assert!(b[0] > 17.5 && b[2] < 18.2 && b[1] > 59.2 && b[3] < 59.6, "{b:?}");

    // A word inside a name matches too ("tur" → "Södra Tureberg"), and RegSO names with Ö by "ost".
    assert_eq!(names(&get_json(&app, "/api/search?q=tur").await.1)[0].1, "Södra Tureberg");
    assert_eq!(names(&get_json(&app, "/api/search?q=ost").await.1), [("regso".to_string(), "Öst".to_string())]);
    assert_eq!(names(&get_json(&app, "/api/search?q=%C3%96st").await.1), [("regso".to_string(), "Öst".to_string())]);
    assert_eq!(names(&get_json(&app, "/api/search?q=sollen").await.1), [("kommun".to_string(), "Sollentuna".to_string())]);

    // DeSO codes by prefix, bounded by limit.
    let (_, v) = get_json(&app, "/api/search?q=0163c900").await;
    assert_eq!(v["hits"].as_array().unwrap().len(), 3);
    assert!(v["hits"].as_array().unwrap().iter().all(|h| h["kind"] == "deso"));
    let (_, v) = get_json(&app, "/api/search?q=0163C900&limit=2").await;
    assert_eq!(v["hits"].as_array().unwrap().len(), 2);
    assert_eq!(get_json(&app, "/api/search?q=nowhere").await.1, json!({"hits": []}));
}

#[tokio::test]
async fn search_finds_a_walk_by_its_title() {
    let f = Fixture::with_areas();
    let app = app_with(&f, None, None).unwrap();
    // A route across the western square, in degrees taken from that square's search bbox.
    let (_, v) = get_json(&app, "/api/search?q=0163C9001").await;
    let b: Vec<f64> = v["hits"][0]["bbox"].as_array().unwrap().iter().map(|x| x.as_f64().unwrap()).collect();
    let route = json!({"type": "LineString", "coordinates": [[b[0] + 0.002, b[1] + 0.002], [b[2] - 0.002, b[3] - 0.002]]});
    let body = json!({"title": "Kvällsvandring Åsvägen", "planned_at": "2026-11-26T18:00", "route": route}).to_string();
    let r = app
        .clone()
        .oneshot(
            Request::post("/walks")
                .header("authorization", format!("Bearer {EDITOR}"))
                .header("content-type", "application/json")
                .body(Body::from(body))
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let (_, v) = get_json(&app, "/api/search?q=asvag").await;
    assert_eq!(names(&v), [("walk".to_string(), "Kvällsvandring Åsvägen".to_string())]);
    let wb: Vec<f64> = v["hits"][0]["bbox"].as_array().unwrap().iter().map(|x| x.as_f64().unwrap()).collect();
    assert!((wb[0] - (b[0] + 0.002)).abs() < 1e-5 && (wb[3] - (b[3] - 0.002)).abs() < 1e-5, "{wb:?} from {b:?}");
}

#[tokio::test]
async fn search_refuses_missing_long_or_unknown_parameters_with_json() {
    let f = Fixture::with_areas();
    let app = app_with(&f, None, None).unwrap();
    let long = "a".repeat(101);
    for uri in [
        "/api/search",
        "/api/search?q=",
        "/api/search?q=%20",
        &format!("/api/search?q={long}"),
        "/api/search?q=a&limit=0",
        "/api/search?q=a&limit=51",
        "/api/search?q=a&limit=x",
        "/api/search?q=a&bbox=1",
    ] {
        let (s, v) = get_json(&app, uri).await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{uri}");
        assert!(v["description"].is_string(), "{uri}: {v}");
    }
}

#[tokio::test]
async fn labels_give_a_point_per_place_and_the_county_outline() {
    let f = Fixture::with_areas();
    let app = app_with(&f, None, None).unwrap();
    let (s, v) = get_json(&app, "/api/labels").await;
    assert_eq!(s, StatusCode::OK);
    let feats = v["features"].as_array().unwrap();
    let find = |kind: &str, name: &str| feats.iter().find(|f| f["properties"]["kind"] == kind && f["properties"]["name"] == name).cloned();
    let t = find("police_area", "Södra Tureberg").expect("police label");
    assert_eq!(t["geometry"]["type"], "Point");
    assert!(find("regso", "Väst").is_some() && find("regso", "Öst").is_some() && find("deso", "0163C9002").is_some());
    assert!(find("kommun", "Sollentuna").is_some());
    assert_eq!(find("lan", "Länsgräns").expect("county outline")["geometry"]["type"], "MultiPolygon");
    // Fixture: 3 DeSO + 2 RegSO + 1 police area + 1 municipality points, and the outline.
    assert_eq!(feats.len(), 8);
}

#[tokio::test]
async fn glyphs_are_served_for_known_fontstacks_and_ranges_only() {
    let f = Fixture::with_areas();
    let app = app_with(&f, None, None).unwrap();
    let (s, ct, body) = get(&app, "/fonts/DejaVu%20Sans%20Book/0-255.pbf").await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(ct, "application/x-protobuf");
    let g = pbf_font_tools::Glyphs::decode(body.as_slice()).unwrap();
    assert_eq!(g.stacks[0].range, "0-255");
    for c in ['Å', 'Ä', 'Ö', 'a'] {
        assert!(g.stacks[0].glyphs.iter().any(|x| x.id == c as u32 && x.width > 0), "{c}");
    }
    // MapLibre asks with the whole text-font list; the first known stack answers.
    assert_eq!(get(&app, "/fonts/Noto%20Sans%20Regular,Arial%20Unicode%20MS%20Regular/256-511.pbf").await.0, StatusCode::OK);
    let (s, v) = get_json(&app, "/fonts/Comic%20Sans/0-255.pbf").await;
    assert_eq!(s, StatusCode::NOT_FOUND, "{v}");
    for uri in ["/fonts/DejaVu%20Sans%20Book/1-256.pbf", "/fonts/DejaVu%20Sans%20Book/65536-65791.pbf", "/fonts/DejaVu%20Sans%20Book/0-255.png"] {
        let (s, v) = get_json(&app, uri).await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{uri}: {v}");
    }
}

#[tokio::test]
async fn without_a_basemap_the_style_has_only_our_glyphs_and_a_background() {
    let f = Fixture::with_areas();
    let app = app_with(&f, None, None).unwrap();
    let (s, v) = get_json(&app, "/basemap/style.json").await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(v["glyphs"], "http://127.0.0.1:9/fonts/{fontstack}/{range}.pbf");
    assert_eq!(v["sources"], json!({}));
    assert_eq!(v["metadata"]["lagesbild:basemap"], "none");
    assert_eq!(get_json(&app, "/basemap/tilejson.json").await.0, StatusCode::NOT_FOUND);
    assert_eq!(get_json(&app, "/basemap/3/1/1").await.0, StatusCode::NOT_FOUND);
    assert_eq!(get_json(&app, "/basemap/3/8/1").await.0, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn a_raster_template_shows_in_the_style_with_its_attribution() {
    let f = Fixture::with_areas();
    let app =
        app_with(&f, Some("https://karta.example.se/wmts/1.0.0/topowebb/default/3857/{TileMatrix}/{TileRow}/{TileCol}.png".into()), Some("© Lantmäteriet"))
            .unwrap();
    let (_, v) = get_json(&app, "/basemap/style.json").await;
    assert_eq!(v["sources"]["basemap"]["tiles"][0], "https://karta.example.se/wmts/1.0.0/topowebb/default/3857/{z}/{y}/{x}.png");
    assert_eq!(v["sources"]["basemap"]["attribution"], "© Lantmäteriet");
    assert_eq!(get_json(&app, "/basemap/tilejson.json").await.1["attribution"], "© Lantmäteriet");
    assert!(matches!(app_with(&f, Some("karta.tif".into()), None), Err(lagesbild::api::StartError::Basemap(_))));
}

/// A 256 × 256 blue GeoTIFF near Sollentuna in Web Mercator, turned into MBTiles by GDAL.
fn mbtiles_fixture(f: &Fixture) -> std::path::PathBuf {
    let tif = f.dir.path().join("blue.tif");
    let mbt = f.dir.path().join("blue.mbtiles");
    // 1,995,000–2,005,000 E, 8,270,000–8,280,000 N (EPSG:3857) is about 17.92–18.01° E, 59.4° N.
    let ok = Command::new("gdal_create")
        .args(["-of", "GTiff", "-outsize", "256", "256", "-bands", "3", "-burn", "30", "-burn", "120", "-burn", "200", "-a_srs", "EPSG:3857"])
        .args(["-a_ullr", "1995000", "8280000", "2005000", "8270000"])
        .arg(&tif)
        .status()
        .expect("gdal_create (gdal-bin) must be installed");
    assert!(ok.success());
    let ok = Command::new("gdal_translate").args(["-q", "-of", "MBTILES"]).arg(&tif).arg(&mbt).status().expect("gdal_translate");
    assert!(ok.success());
    mbt
}

#[tokio::test]
async fn a_local_mbtiles_basemap_is_served_with_tilejson_style_and_tiles() {
    let f = Fixture::with_areas();
    let mbt = mbtiles_fixture(&f);
    let app = app_with(&f, Some(mbt.display().to_string()), Some("© Testkarta")).unwrap();
    let (s, tj) = get_json(&app, "/basemap/tilejson.json").await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(tj["tiles"][0], "http://127.0.0.1:9/basemap/{z}/{x}/{y}");
    assert_eq!(tj["attribution"], "© Testkarta");
    assert_eq!(tj["format"], "png");
    let (_, style) = get_json(&app, "/basemap/style.json").await;
    assert_eq!(style["metadata"]["lagesbild:basemap"], "local-raster");
    assert_eq!(style["sources"]["basemap"]["url"], "http://127.0.0.1:9/basemap/tilejson.json");
    assert_eq!(style["sources"]["basemap"]["attribution"], "© Testkarta");
    // The tile under the raster's centre at the file's deepest zoom.
    let z = tj["maxzoom"].as_u64().unwrap() as u32;
    let b: Vec<f64> = tj["bounds"].as_array().unwrap().iter().map(|x| x.as_f64().unwrap()).collect();
    let (lon, lat) = ((b[0] + b[2]) / 2.0, (b[1] + b[3]) / 2.0);
    let n = f64::from(1u32 << z);
    let x = ((lon + 180.0) / 360.0 * n) as u32;
    let y = ((1.0 - (lat.to_radians().tan() + 1.0 / lat.to_radians().cos()).ln() / std::f64::consts::PI) / 2.0 * n) as u32;
    let (s, ct, body) = get(&app, &format!("/basemap/{z}/{x}/{y}")).await;
    assert_eq!(s, StatusCode::OK, "{z}/{x}/{y}");
    assert_eq!(ct, "image/png");
    assert!(body.starts_with(b"\x89PNG"));
    // A tile on the other side of the world is not in the file.
    let (s, v) = get_json(&app, &format!("/basemap/{z}/0/0")).await;
    assert_eq!(s, StatusCode::NOT_FOUND, "{v}");
}

#[tokio::test]
async fn a_vector_mbtiles_basemap_is_drawn_with_the_vendored_openstreetmap_style() {
    let f = Fixture::with_areas();
    // One road in the Protomaps schema's `roads` layer, written as vector MBTiles by GDAL.
    let road = f.write(
        "roads.geojson",
        r#"{"type":"FeatureCollection","features":[{"type":"Feature","properties":{"kind":"major_road","name":"Sollentunavägen"},
        "geometry":{"type":"LineString","coordinates":[[17.93,59.42],[17.95,59.44]]}}]}"#,
    );
    let mbt = f.dir.path().join("osm.mbtiles");
    let ok = Command::new("ogr2ogr")
        .args(["-f", "MBTILES", "-dsco", "MINZOOM=10", "-dsco", "MAXZOOM=12", "-nln", "roads"])
        .arg(&mbt)
        .arg(&road)
        .status()
        .expect("ogr2ogr (gdal-bin)");
    assert!(ok.success());
    let app = app_with(&f, Some(mbt.display().to_string()), None).unwrap();
    let (_, style) = get_json(&app, "/basemap/style.json").await;
    assert_eq!(style["metadata"]["lagesbild:basemap"], "local-vector");
    assert_eq!(style["sources"]["protomaps"]["url"], "http://127.0.0.1:9/basemap/tilejson.json");
    let layers = style["layers"].as_array().unwrap();
    assert!(layers.iter().any(|l| l["source-layer"] == "roads"), "Protomaps road layers");
    // Every font the style asks for is one /fonts serves.
    let fonts = style.to_string();
    assert!(fonts.contains("Noto Sans Regular") && !fonts.contains("icon-image"));
    let (_, tj) = get_json(&app, "/basemap/tilejson.json").await;
    assert_eq!(tj["format"], "pbf");
    // 17.94° E, 59.43° N lies in tile 11/1126/601 (x = floor((17.94 + 180) / 360 · 2¹¹), y from
    // the Web Mercator formula).
    let r = app.clone().oneshot(Request::get("/basemap/11/1126/601").header("host", "127.0.0.1:9").body(Body::empty()).unwrap()).await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.headers()["content-type"], "application/vnd.mapbox-vector-tile");
    assert_eq!(r.headers()["content-encoding"], "gzip", "MBTiles vector tiles are stored gzip-compressed");
}

#[tokio::test]
async fn a_style_file_is_served_as_it_is_with_our_glyphs_where_it_has_none() {
    let f = Fixture::with_areas();
    let style = f.write("stil.json", r#"{"version": 8, "sources": {"kommunkarta": {"type": "raster", "tiles": ["https://karta.example.se/{z}/{x}/{y}.png"]}}, "layers": [{"id": "k", "type": "raster", "source": "kommunkarta"}]}"#);
    let app = app_with(&f, Some(style.display().to_string()), Some("© Kommunen")).unwrap();
    let (_, v) = get_json(&app, "/basemap/style.json").await;
    assert_eq!(v["layers"][0]["id"], "k");
    assert_eq!(v["sources"]["kommunkarta"]["attribution"], "© Kommunen");
    assert_eq!(v["glyphs"], "http://127.0.0.1:9/fonts/{fontstack}/{range}.pbf");
    let bad = f.write("inte-stil.json", r#"{"version": 7}"#);
    assert!(matches!(app_with(&f, Some(bad.display().to_string()), None), Err(lagesbild::api::StartError::Basemap(_))));
}

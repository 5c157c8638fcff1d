//! The catalog is the one list of collections: every layer in it appears in `/collections`, has
//! a TileJSON and an OGC API tileset, and is accepted by `export tiles --layers`; an id not in
//! it appears nowhere. Over the real router (no port) with a GeoPackage store holding areas,
//! incidents, a place and the walk store.

mod common;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use common::{crs3006, Fixture};
use http_body_util::BodyExt;
use lagesbild::api::auth::Tokens;
use lagesbild::import::ImportKind;
use lagesbild::tiles::export::{check_layers, TileExportError};
use serde_json::Value;
use std::sync::Arc;
use tower::ServiceExt;

const ANALYST: &str = "analyst-token";

/// The three fixture DeSO, five incidents inside them, one imported place (the western half of
/// 0163C9001) and, with `walks`, the walk store on the same GeoPackage.
fn state(walks: bool) -> (Fixture, lagesbild::AppState) {
    let f = Fixture::with_areas();
    let csv = "id;kategori;datum;e;n\n\
               a1;Inbrott;2025-03-08;660200;6590500\n\
               a2;Inbrott;2025-03-05;660700;6590500\n\
               b1;Klotter;2025-03-11;661500;6590500\n\
               b2;Skjutning;2025-03-12;660300;6590400\n\
               c1;Klotter;2025-02-25;662100;6590100\n";
    let p = f.write("inc.csv", csv);
    f.import(ImportKind::Incidents, &p, &crs3006()).unwrap();
    let place = r#"{"type":"FeatureCollection","crs":{"type":"name","properties":{"name":"urn:ogc:def:crs:EPSG::3006"}},
      "features":[{"type":"Feature","properties":{"name":"Torget"},
      "geometry":{"type":"Polygon","coordinates":[[[660000,6590000],[660500,6590000],[660500,6591000],[660000,6591000],[660000,6590000]]]}}]}"#;
    let pp = f.write("torget.geojson", place);
    lagesbild::import::places::import_places(&f.store, &pp, "plats", "test").unwrap();
    let tokens = Tokens::from_env_value(&format!("analyst:{ANALYST}")).unwrap();
    let mut s = lagesbild::AppState::new(&f.store, Default::default(), tokens).unwrap();
    if walks {
        s = s.with_walks(Arc::new(f.store.clone()));
    }
    (f, s)
}

async fn get(app: &axum::Router, uri: &str) -> (StatusCode, Value) {
    let req = Request::get(uri).header("Authorization", format!("Bearer {ANALYST}")).body(Body::empty()).unwrap();
    let resp = app.clone().oneshot(req).await.unwrap();
    let status = resp.status();
    let body = resp.into_body().collect().await.unwrap().to_bytes();
    (status, serde_json::from_slice(&body).unwrap_or(Value::Null))
}

fn walk_store(s: &lagesbild::AppState) -> Option<&dyn lagesbild::store::WalkStore> {
    s.walks.as_ref().map(|w| w.store.as_ref())
}

async fn listed(app: &axum::Router) -> Vec<String> {
    let (status, cols) = get(app, "/collections").await;
    assert_eq!(status, StatusCode::OK);
    cols["collections"].as_array().unwrap().iter().map(|c| c["id"].as_str().unwrap().to_string()).collect()
}

#[tokio::test]
async fn every_catalog_layer_is_listed_tiled_and_exportable_and_nothing_else_is() {
    let (_f, s) = state(true);
    let app = lagesbild::app(s.clone());
    let ids: Vec<String> = s.layers.ids(walk_store(&s)).into_iter().map(String::from).collect();
    // Every layer of the catalog is present here: the store has a place and the walk store is on.
    let all: Vec<&str> = s.layers.layers().map(|l| l.info().id).collect();
    assert_eq!(ids, all);
    for id in [
        "deso",
        "regso",
        "incidents",
        "incident_counts",
        "police_areas",
        "municipalities",
        "places",
        "hotspots_grid",
        "density",
        "emerging",
        "walks",
        "observations",
    ] {
        assert!(ids.iter().any(|i| i == id), "{id} missing from the catalog: {ids:?}");
    }
    assert_eq!(listed(&app).await, ids, "/collections lists exactly the catalog, in its order");
    for id in &ids {
        let info = s.layers.layer(id).unwrap().info();
        let (status, tj) = get(&app, &format!("/tiles/{id}/tilejson.json")).await;
        assert_eq!(status, StatusCode::OK, "TileJSON of {id}");
        assert_eq!(tj["vector_layers"][0]["id"], id.as_str());
        assert_eq!(tj["minzoom"], info.min_zoom, "{id}: the catalog's zoom range");
        assert_eq!(tj["maxzoom"], info.max_zoom, "{id}: the catalog's zoom range");
        let (status, ts) = get(&app, &format!("/collections/{id}/tiles")).await;
        assert_eq!(status, StatusCode::OK, "OGC tilesets of {id}");
        assert_eq!(ts["tilesets"].as_array().map(Vec::len), Some(1));
        let (status, set) = get(&app, &format!("/collections/{id}/tiles/WebMercatorQuad")).await;
        assert_eq!(status, StatusCode::OK, "OGC tileset of {id}");
        assert_eq!(set["layers"][0]["minTileMatrix"], info.min_zoom.to_string());
    }
    let exported = check_layers(&s, &ids).expect("export tiles accepts every catalog layer");
    assert_eq!(exported.iter().map(|c| c.id.to_string()).collect::<Vec<_>>(), ids, "each name gives its own collection");
}

#[tokio::test]
async fn an_id_outside_the_catalog_is_refused_by_every_route_and_by_the_export() {
    let (_f, s) = state(true);
    let app = lagesbild::app(s.clone());
    for id in ["gator", "snapshot", "layers"] {
        for uri in [format!("/collections/{id}"), format!("/collections/{id}/items"), format!("/tiles/{id}/tilejson.json"), format!("/collections/{id}/tiles")]
        {
            let (status, body) = get(&app, &uri).await;
            assert_eq!(status, StatusCode::NOT_FOUND, "{uri}: {body}");
        }
        match check_layers(&s, &[id.to_string()]) {
            Err(TileExportError::UnknownLayer { name, known }) => {
                assert_eq!(name, id);
                assert_eq!(known, s.layers.ids(walk_store(&s)).join(", "), "the export names the catalog's layers");
            }
            other => panic!("{id}: {:?}", other.map(|c| c.len())),
        }
    }
}

#[tokio::test]
async fn without_a_walk_store_the_walk_layers_are_nowhere() {
    let (_f, s) = state(false);
    let app = lagesbild::app(s.clone());
    let ids = s.layers.ids(None);
    assert!(!ids.contains(&"walks") && !ids.contains(&"observations"), "{ids:?}");
    assert!(ids.contains(&"places"), "the store has a place: {ids:?}");
    assert_eq!(listed(&app).await, ids);
    for id in ["walks", "observations"] {
        assert_eq!(get(&app, &format!("/tiles/{id}/tilejson.json")).await.0, StatusCode::NOT_FOUND);
        assert!(check_layers(&s, &[id.to_string()]).is_err(), "{id} exported without a walk store");
    }
}

//! The API contract: the OpenAPI document describes every route the router serves, with a
//! schema for every parameter and a 2xx response with content; write routes validate their
//! bodies in one place (control characters, empty titles) so POST and PUT agree; unknown query
//! parameters and `f` are handled alike on every route; errors are problem details.

mod common;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use common::Fixture;
use http_body_util::BodyExt;
use lagesbild::api::auth::Tokens;
use serde_json::{json, Value};
use std::collections::BTreeSet;
use std::sync::Arc;
use tower::ServiceExt;

const EDITOR: &str = "editor-token";

fn app() -> (Fixture, axum::Router) {
    let f = Fixture::with_areas();
    let tokens = Tokens::from_env_value(&format!("editor:{EDITOR}")).unwrap();
    let state = lagesbild::AppState::new(&f.store, Default::default(), tokens).unwrap().with_walks(Arc::new(f.store.clone()));
    (f, lagesbild::app(state))
}

async fn call(app: &axum::Router, method: &str, uri: &str, if_match: Option<&str>, body: Option<Value>) -> (StatusCode, axum::http::HeaderMap, Vec<u8>) {
    let mut req = Request::builder().method(method).uri(uri).header("Authorization", format!("Bearer {EDITOR}")).header("Content-Type", "application/json");
    if let Some(m) = if_match {
        req = req.header("If-Match", m);
    }
    let req = req.body(body.map(|b| Body::from(b.to_string())).unwrap_or_else(Body::empty)).unwrap();
    let resp = app.clone().oneshot(req).await.unwrap();
    let (parts, b) = resp.into_parts();
    (parts.status, parts.headers, b.collect().await.unwrap().to_bytes().to_vec())
}

/// `{id}`, `{*path}` and `{collectionId}` alike: only the shape of a path counts.
fn shape(path: &str) -> String {
    path.split('/').map(|s| if s.starts_with('{') { "{}" } else { s }).collect::<Vec<_>>().join("/")
}

fn document() -> Value {
    lagesbild::api::openapi::document()
}

#[test]
fn every_route_of_the_router_is_in_the_openapi_document() {
    let doc = document();
    let documented: BTreeSet<String> = doc["paths"].as_object().unwrap().keys().map(|p| shape(p)).collect();
    let missing: Vec<&str> = lagesbild::api::routes(1).paths.into_iter().filter(|p| !documented.contains(&shape(p))).collect();
    assert!(missing.is_empty(), "routes served but missing from api::openapi::OPERATIONS (add a line for each): {missing:?}");
}

#[test]
fn every_documented_path_is_served_by_the_router() {
    let served: BTreeSet<String> = lagesbild::api::routes(1).paths.into_iter().map(shape).collect();
    let doc = document();
    let stale: Vec<&String> = doc["paths"].as_object().unwrap().keys().filter(|p| !served.contains(&shape(p))).collect();
    assert!(stale.is_empty(), "documented but not routed: {stale:?}");
}

/// The methods the document lists for each path are the ones the router takes: any other gets
/// 405, and a listed one never does.
#[tokio::test]
async fn each_documented_path_takes_exactly_the_documented_methods() {
    let (_f, app) = app();
    let doc = document();
    for (path, item) in doc["paths"].as_object().unwrap() {
        let uri: String = path.split('/').map(|s| if s.starts_with('{') { "x1" } else { s }).collect::<Vec<_>>().join("/");
        for method in ["get", "post", "put", "delete"] {
            let (s, _, b) = call(&app, &method.to_uppercase(), &uri, None, None).await;
            let documented = item.get(method).is_some();
            assert_eq!(s == StatusCode::METHOD_NOT_ALLOWED, !documented, "{} {uri} ({path}): {s} {}", method.to_uppercase(), String::from_utf8_lossy(&b));
        }
    }
}

fn resolve<'a>(doc: &'a Value, v: &'a Value) -> &'a Value {
    match v["$ref"].as_str().and_then(|r| r.strip_prefix("#/components/schemas/")) {
        Some(name) => &doc["components"]["schemas"][name],
        None => v,
    }
}

#[test]
fn every_operation_has_a_schema_for_every_parameter_and_a_success_response_with_content() {
    let doc = document();
    assert_eq!(doc["openapi"], "3.1.0");
    let mut operations = 0;
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            operations += 1;
            let here = format!("{} {path}", method.to_uppercase());
            for p in op["parameters"].as_array().unwrap() {
                assert!(p["schema"].is_object(), "{here}: parameter {} has no schema", p["name"]);
                let s = resolve(&doc, &p["schema"]);
                assert!(s["type"].is_string() || s["enum"].is_array(), "{here}: parameter {} has no type", p["name"]);
                if p["in"] == "path" {
                    assert!(path.contains(&format!("{{{}}}", p["name"].as_str().unwrap())), "{here}: path parameter {} is not in the path", p["name"]);
                }
            }
            let responses = op["responses"].as_object().unwrap();
            let success: Vec<&String> = responses.keys().filter(|s| s.starts_with('2')).collect();
            assert!(!success.is_empty() || method == "get" && path == "/map", "{here}: no 2xx response");
            let with_content = success.iter().any(|s| responses[s.as_str()]["content"].as_object().is_some_and(|c| !c.is_empty()));
            assert!(
                with_content || op["operationId"].as_str().is_some_and(|id| id.starts_with("delete") || id == "getMapRedirect"),
                "{here}: no 2xx response with content"
            );
            for (status, r) in responses.iter().filter(|(s, _)| s.starts_with('4') || s.starts_with('5')) {
                assert!(r["content"]["application/problem+json"]["schema"].is_object(), "{here} {status}: errors are problem details");
            }
            assert!(op["security"].is_array(), "{here}: no security");
            assert!(op["description"].as_str().unwrap().starts_with("Roll: "), "{here}: the role it needs is not stated");
        }
    }
    assert!(operations >= 45, "only {operations} operations");
    for s in ["201", "204", "412", "422", "428"] {
        assert!(
            doc["paths"].as_object().unwrap().values().flat_map(|i| i.as_object().unwrap().values()).any(|op| op["responses"][s].is_object()),
            "no operation declares {s}"
        );
    }
    assert_eq!(doc["components"]["securitySchemes"]["bearer"]["scheme"], "bearer");
    // POST /walks takes a walk, not the query of GET /walks.
    let post = &doc["paths"]["/walks"]["post"];
    assert_eq!(post["parameters"].as_array().unwrap().len(), 0);
    assert_eq!(post["requestBody"]["content"]["application/json"]["schema"]["$ref"], "#/components/schemas/WalkInput");
}

/// openapi-spec-validator (PyPI) when it is installed, as `.ci/fuzz` installs it; the structural
/// test above runs everywhere.
#[test]
fn the_document_passes_openapi_spec_validator_when_it_is_installed() {
    let validator = std::env::var("OPENAPI_SPEC_VALIDATOR").unwrap_or_else(|_| "openapi-spec-validator".into());
    let Ok(out) = std::process::Command::new(&validator).arg("--version").output() else {
        eprintln!("{validator} is not installed; .ci/fuzz runs it");
        return;
    };
    assert!(out.status.success());
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("openapi.json");
    std::fs::write(&path, document().to_string()).unwrap();
    let out = std::process::Command::new(&validator).arg(&path).output().unwrap();
    assert!(out.status.success(), "{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
}

#[tokio::test]
async fn the_document_is_served_at_api_and_openapi_json_with_its_media_type() {
    let (_f, app) = app();
    for uri in ["/api", "/openapi.json"] {
        let (s, h, b) = call(&app, "GET", uri, None, None).await;
        assert_eq!(s, StatusCode::OK, "{uri}");
        assert_eq!(h["content-type"], "application/vnd.oai.openapi+json;version=3.1", "{uri}");
        let v: Value = serde_json::from_slice(&b).unwrap();
        assert_eq!(v["openapi"], "3.1.0");
    }
    let (_, _, b) = call(&app, "GET", "/", None, None).await;
    let landing: Value = serde_json::from_slice(&b).unwrap();
    let desc = landing["links"].as_array().unwrap().iter().find(|l| l["rel"] == "service-desc").unwrap();
    assert_eq!(desc["type"], "application/vnd.oai.openapi+json;version=3.1");
}

/// A route inside the fixture's DeSO squares (E 660 000–663 000, N 6 590 000–6 591 000), in WGS84.
fn route() -> Value {
    let t = lagesbild::io::transform_between(3006, 4326).unwrap();
    let (mut x, mut y) = (vec![660_100.0, 660_900.0], vec![6_590_500.0, 6_590_500.0]);
    lagesbild::io::transform_coords(&t, &mut x, &mut y).unwrap();
    json!({"type": "LineString", "coordinates": [[x[0], y[0]], [x[1], y[1]]]})
}

fn walk() -> Value {
    json!({"title": "Kvällsvandring", "planned_at": "2025-11-20T18:00", "area": "Väst", "organiser": "Samordnare", "organisations": ["kommunen"], "notes": "rad 1\n\trad 2", "route": route()})
}

fn observation() -> Value {
    let t = lagesbild::io::transform_between(3006, 4326).unwrap();
    let (mut x, mut y) = (vec![660_500.0], vec![6_590_510.0]);
    lagesbild::io::transform_coords(&t, &mut x, &mut y).unwrap();
    json!({"point": {"type": "Point", "coordinates": [x[0], y[0]]}, "category": "belysning", "description": "Trasig lampa", "responsible": "Gatukontoret"})
}

/// A 422 problem that names `field` in `errors`.
fn assert_names_field(s: StatusCode, h: &axum::http::HeaderMap, b: &[u8], field: &str, what: &str) {
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{what}: {}", String::from_utf8_lossy(b));
    assert_eq!(h["content-type"], "application/problem+json", "{what}");
    let v: Value = serde_json::from_slice(b).unwrap();
    assert_eq!(v["status"], 422, "{what}");
    assert_eq!(v["errors"][0]["field"], field, "{what}: {v}");
    assert!(v["title"].is_string() && v["type"].is_string() && v["detail"].is_string() && v["code"].is_string(), "{what}: {v}");
}

fn with(mut v: Value, field: &str, value: Value) -> Value {
    v[field] = value;
    v
}

#[tokio::test]
async fn control_characters_in_each_string_field_of_each_write_route_get_422_naming_the_field_and_change_nothing() {
    let (f, app) = app();
    let (s, h, b) = call(&app, "POST", "/walks", None, Some(walk())).await;
    assert_eq!(s, StatusCode::CREATED, "{}", String::from_utf8_lossy(&b));
    let walk_id = serde_json::from_slice::<Value>(&b).unwrap()["id"].as_str().unwrap().to_string();
    let walk_etag = h["etag"].to_str().unwrap().to_string();
    let (s, h, b) = call(&app, "POST", &format!("/walks/{walk_id}/observations"), None, Some(observation())).await;
    assert_eq!(s, StatusCode::CREATED, "{}", String::from_utf8_lossy(&b));
    let obs_id = serde_json::from_slice::<Value>(&b).unwrap()["id"].as_str().unwrap().to_string();
    let obs_etag = h["etag"].to_str().unwrap().to_string();
    let before = f.store_hash();
    // NUL (which SQLite's C strings would cut), escape, carriage return, DEL and a C1 control.
    for bad in ["a\u{0}b", "\u{1b}[2J", "a\rb", "\u{7f}", "\u{85}"] {
        for field in ["title", "planned_at", "area", "organiser", "notes"] {
            let body = with(walk(), field, json!(bad));
            let (s, h, b) = call(&app, "POST", "/walks", None, Some(body.clone())).await;
            assert_names_field(s, &h, &b, field, &format!("POST /walks {field}={bad:?}"));
            let (s, h, b) = call(&app, "PUT", &format!("/walks/{walk_id}"), Some(&walk_etag), Some(body)).await;
            assert_names_field(s, &h, &b, field, &format!("PUT /walks {field}={bad:?}"));
        }
        let body = with(walk(), "organisations", json!(["kommunen", bad]));
        let (s, h, b) = call(&app, "POST", "/walks", None, Some(body)).await;
        assert_names_field(s, &h, &b, "organisations[1]", "POST /walks organisations");
        for field in ["category", "description", "responsible"] {
            let (s, h, b) = call(&app, "POST", &format!("/walks/{walk_id}/observations"), None, Some(with(observation(), field, json!(bad)))).await;
            assert_names_field(s, &h, &b, field, &format!("POST observation {field}={bad:?}"));
            let (s, h, b) = call(&app, "PUT", &format!("/observations/{obs_id}"), Some(&obs_etag), Some(json!({ field: bad }))).await;
            assert_names_field(s, &h, &b, field, &format!("PUT observation {field}={bad:?}"));
        }
        let (s, h, b) = call(&app, "PUT", &format!("/observations/{obs_id}"), Some(&obs_etag), Some(json!({"ratings": { bad: 1 }}))).await;
        assert_names_field(s, &h, &b, "ratings", "PUT observation ratings key");
    }
    assert_eq!(f.store_hash(), before, "a refused write left the store as it was");
}

#[tokio::test]
async fn an_empty_title_is_refused_by_put_as_by_post() {
    let (f, app) = app();
    let (_, h, b) = call(&app, "POST", "/walks", None, Some(walk())).await;
    let id = serde_json::from_slice::<Value>(&b).unwrap()["id"].as_str().unwrap().to_string();
    let etag = h["etag"].to_str().unwrap().to_string();
    let before = f.store_hash();
    for title in ["", "   ", "\n\t"] {
        let (s, h, b) = call(&app, "POST", "/walks", None, Some(with(walk(), "title", json!(title)))).await;
        assert_names_field(s, &h, &b, "title", &format!("POST title {title:?}"));
        let (s, h, b) = call(&app, "PUT", &format!("/walks/{id}"), Some(&etag), Some(with(walk(), "title", json!(title)))).await;
        assert_names_field(s, &h, &b, "title", &format!("PUT title {title:?}"));
    }
    assert_eq!(f.store_hash(), before);
    // Tab and newline are text: the walk with notes on two lines was stored as sent.
    let (s, _, b) = call(&app, "GET", &format!("/walks/{id}"), None, None).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(serde_json::from_slice::<Value>(&b).unwrap()["properties"]["notes"], "rad 1\n\trad 2");
}

#[tokio::test]
async fn unknown_body_fields_are_refused_by_post_and_put() {
    let (_f, app) = app();
    let (_, h, b) = call(&app, "POST", "/walks", None, Some(walk())).await;
    let id = serde_json::from_slice::<Value>(&b).unwrap()["id"].as_str().unwrap().to_string();
    let etag = h["etag"].to_str().unwrap().to_string();
    let (s, _, _) = call(&app, "POST", "/walks", None, Some(with(walk(), "bogus", json!(1)))).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    let (s, _, _) = call(&app, "PUT", &format!("/walks/{id}"), Some(&etag), Some(with(walk(), "bogus", json!(1)))).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn unknown_query_parameters_are_refused_with_400_on_every_route_and_method() {
    let (f, app) = app();
    let before = f.store_hash();
    for (method, uri) in [
        ("GET", "/walks?bogus=1"),
        ("POST", "/walks?bogus=1"),
        ("PUT", "/walks/w1?bogus=1"),
        ("DELETE", "/walks/w1?bogus=1"),
        ("POST", "/walks/w1/observations?bogus=1"),
        ("PUT", "/observations/o1?bogus=1"),
        ("GET", "/health?bogus=1"),
        ("GET", "/api?bogus=1"),
        ("GET", "/openapi.json?bogus=1"),
        ("GET", "/fonts/DejaVu%20Sans%20Book/0-255.pbf?bogus=1"),
        ("GET", "/basemap/style.json?bogus=1"),
        ("GET", "/observations/o1/history?bogus=1"),
        ("POST", "/api/imports/incidents?bogus=1"),
    ] {
        let (s, h, b) = call(&app, method, uri, Some("\"v1\""), Some(walk())).await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{method} {uri}: {}", String::from_utf8_lossy(&b));
        assert_eq!(h["content-type"], "application/problem+json", "{method} {uri}");
        let v: Value = serde_json::from_slice(&b).unwrap();
        assert!(v["detail"].as_str().unwrap().contains("bogus"), "{method} {uri}: {v}");
    }
    assert_eq!(f.store_hash(), before);
}

#[tokio::test]
async fn f_is_checked_the_same_way_on_every_route_that_takes_it() {
    let (_f, app) = app();
    for uri in ["/", "/conformance", "/collections", "/collections/deso", "/collections/deso/items", "/tileMatrixSets", "/api"] {
        let (s, _, b) = call(&app, "GET", &format!("{uri}?f=xyz"), None, None).await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{uri}?f=xyz: {}", String::from_utf8_lossy(&b));
        let (s, _, b) = call(&app, "GET", &format!("{uri}?f=json"), None, None).await;
        assert_eq!(s, StatusCode::OK, "{uri}?f=json: {}", String::from_utf8_lossy(&b));
    }
}

#[tokio::test]
async fn a_nul_in_a_path_or_query_is_a_400_not_a_server_error() {
    let (_f, app) = app();
    for (method, uri) in [("GET", "/walks/a%00b"), ("DELETE", "/api/imports/a%00b"), ("GET", "/walks?area=a%00b"), ("GET", "/api/profile/0163%00")] {
        let (s, h, b) = call(&app, method, uri, None, None).await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{method} {uri}: {}", String::from_utf8_lossy(&b));
        assert_eq!(h["content-type"], "application/problem+json");
    }
}

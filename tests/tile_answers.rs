//! What a tile answer carries once it comes from the cache through the whole middleware stack
//! (`lagesbild::app`, no port): the same bytes plain and gzip-compressed, the privacy rule, the
//! generation's ETag with a 304 on revalidation, and the security headers.

mod common;

use axum::body::Body;
use axum::http::{HeaderMap, Request, StatusCode};
use common::Fixture;
use http_body_util::BodyExt;
use lagesbild::api::auth::Tokens;
use lagesbild::tiles::tile_of;
use std::io::Read;
use tower::ServiceExt;

const ANALYST: &str = "analyst-token";

async fn get(app: &axum::Router, uri: &str, headers: &[(&str, &str)]) -> (StatusCode, HeaderMap, Vec<u8>) {
    let mut req = Request::get(uri);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let resp = app.clone().oneshot(req.body(Body::empty()).unwrap()).await.unwrap();
    let (parts, body) = resp.into_parts();
    (parts.status, parts.headers, body.collect().await.unwrap().to_bytes().to_vec())
}

fn gunzip(b: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(b).read_to_end(&mut out).expect("a gzip stream");
    out
}

#[tokio::test]
async fn a_cached_tile_is_the_same_plain_or_gzip_with_its_privacy_etag_and_security_headers() {
    let f = Fixture::with_areas();
    let tokens = Tokens::from_env_value(&format!("analyst:{ANALYST}")).unwrap();
    let app = lagesbild::app(lagesbild::AppState::new(&f.store, Default::default(), tokens).unwrap());
    // The fixture's centre, 661500 E 6590500 N in SWEREF 99 TM (`gdaltransform -s_srs EPSG:3006
    // -t_srs EPSG:4326`: 17.84649 E, 59.42201 N).
    let (x, y) = tile_of(17.84649, 59.42201, 14);
    let uri = format!("/tiles/deso/14/{x}/{y}.mvt");

    let (s, first, built) = get(&app, &uri, &[]).await;
    assert_eq!(s, StatusCode::OK);
    assert!(!built.is_empty(), "the fixture lies in this tile");
    let (_, h, cached) = get(&app, &uri, &[]).await;
    assert_eq!(cached, built, "the cached tile is the built one");
    assert_eq!(h["content-type"], "application/vnd.mapbox-vector-tile");
    assert!(h.get("content-encoding").is_none(), "no gzip unless asked for");
    assert_eq!(h["cache-control"], "public, no-cache");
    assert_eq!(h.get_all("vary").iter().next().unwrap(), "Authorization, Accept-Encoding");
    assert_eq!(h["x-content-type-options"], "nosniff");
    assert_eq!(h["referrer-policy"], "strict-origin-when-cross-origin");
    let etag = h["etag"].to_str().unwrap().to_string();
    assert!(etag.starts_with("\"g") && etag.ends_with('"'), "{etag}");
    assert_eq!(first["etag"], h["etag"], "one tile, one ETag");

    let (_, h, gz) = get(&app, &uri, &[("Accept-Encoding", "deflate, gzip;q=0.8")]).await;
    assert_eq!(h["content-encoding"], "gzip");
    assert_eq!(gunzip(&gz), built, "gzip holds the same tile");
    assert_eq!(h["etag"].to_str().unwrap(), etag);
    assert_eq!(h["cache-control"], "public, no-cache");

    let (s, h, body) = get(&app, &uri, &[("If-None-Match", &etag)]).await;
    assert_eq!(s, StatusCode::NOT_MODIFIED);
    assert!(body.is_empty());
    assert_eq!(h["etag"].to_str().unwrap(), etag);
    assert_eq!(h["x-content-type-options"], "nosniff");

    // A token is part of the ETag, and an analyst's tile is not for shared caches.
    let bearer = format!("Bearer {ANALYST}");
    let (s, h, _) = get(&app, &uri, &[("Authorization", &bearer)]).await;
    assert_eq!(s, StatusCode::OK);
    assert_ne!(h["etag"].to_str().unwrap(), etag);
    assert!(h["cache-control"].to_str().unwrap().starts_with("private"), "{:?}", h["cache-control"]);

    // Refused before the cache: an unknown parameter, a bad zoom and an unknown token.
    for (u, hs, want) in [
        (format!("{uri}?x=1"), vec![], StatusCode::BAD_REQUEST),
        (format!("/tiles/deso/21/{x}/{y}.mvt"), vec![], StatusCode::BAD_REQUEST),
        (uri.clone(), vec![("Authorization", "Bearer nobody")], StatusCode::UNAUTHORIZED),
    ] {
        let (s, h, b) = get(&app, &u, &hs).await;
        assert_eq!(s, want, "{u}: {}", String::from_utf8_lossy(&b));
        assert_eq!(h["content-type"], "application/problem+json", "{u}");
        assert_eq!(h["cache-control"], "no-store", "{u}");
        assert_eq!(h["x-content-type-options"], "nosniff", "{u}");
    }
}

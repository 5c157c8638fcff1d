//! The web map's files, embedded in the binary so that the service needs nothing else at run
//! time and loads nothing from the internet.

use axum::extract::Path;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

const FILES: &[(&str, &str, &[u8])] = &[
    ("index.html", "text/html; charset=utf-8", include_bytes!("../../web/index.html")),
    ("app.js", "text/javascript; charset=utf-8", include_bytes!("../../web/app.js")),
    ("dates.js", "text/javascript; charset=utf-8", include_bytes!("../../web/dates.js")),
    ("est.js", "text/javascript; charset=utf-8", include_bytes!("../../web/est.js")),
    ("orient.js", "text/javascript; charset=utf-8", include_bytes!("../../web/orient.js")),
    ("auth.js", "text/javascript; charset=utf-8", include_bytes!("../../web/auth.js")),
    ("plan.js", "text/javascript; charset=utf-8", include_bytes!("../../web/plan.js")),
    ("style.css", "text/css; charset=utf-8", include_bytes!("../../web/style.css")),
    ("field.html", "text/html; charset=utf-8", include_bytes!("../../web/field.html")),
    ("field.js", "text/javascript; charset=utf-8", include_bytes!("../../web/field.js")),
    ("field.css", "text/css; charset=utf-8", include_bytes!("../../web/field.css")),
    ("sw.js", "text/javascript; charset=utf-8", include_bytes!("../../web/sw.js")),
    ("vendor/maplibre-gl/maplibre-gl.js", "text/javascript; charset=utf-8", include_bytes!("../../web/vendor/maplibre-gl/maplibre-gl.js")),
    ("vendor/maplibre-gl/maplibre-gl.css", "text/css; charset=utf-8", include_bytes!("../../web/vendor/maplibre-gl/maplibre-gl.css")),
    ("vendor/maplibre-gl/LICENSE.txt", "text/plain; charset=utf-8", include_bytes!("../../web/vendor/maplibre-gl/LICENSE.txt")),
];

pub fn file(name: &str) -> Response {
    match FILES.iter().find(|(n, _, _)| *n == name) {
        Some((_, mime, bytes)) => {
            let mut r = ([(header::CONTENT_TYPE, *mime)], *bytes).into_response();
            r.headers_mut().insert(
                header::CACHE_CONTROL,
                HeaderValue::from_static(crate::privacy::cache_control(crate::privacy::Role::Public, crate::privacy::Resource::Static)),
            );
            r
        }
        None => super::error::ApiError::NotFound(format!("no file '{name}' in the web map")).into_response(),
    }
}

pub async fn index() -> Response {
    file("index.html")
}

pub async fn asset(Path(path): Path<String>) -> Response {
    file(&path)
}

pub async fn redirect() -> Response {
    (StatusCode::FOUND, [(header::LOCATION, "/map/")]).into_response()
}

//! Security headers on every response, set in one place with tower-http's header layers so that
//! no route can forget them: `X-Content-Type-Options`, `Referrer-Policy`, and on HTML pages a
//! `Content-Security-Policy` the web map satisfies and a `Permissions-Policy` that lets walks use
//! the device's position. `serve --public-url https://…` adds `Strict-Transport-Security`.

use axum::http::{header, HeaderName, HeaderValue, Response};
use axum::Router;
use tower_http::set_header::SetResponseHeaderLayer;

/// Origins the page may contact beside its own: the configured basemap and identity provider.
#[derive(Debug, Clone, Default)]
pub struct Policy {
    /// Origins (`https://host[:port]`) that tiles, styles and images may come from.
    pub basemap_origins: Vec<String>,
    /// Origins the page's sign-in code talks to (token endpoint, issuer).
    pub identity_origins: Vec<String>,
    /// `serve --public-url`: when it is https, browsers are told to keep to https.
    pub public_url: Option<String>,
}

/// `scheme://host[:port]` of an absolute http(s) URL; None for anything else (a file, a path).
pub fn origin_of(url: &str) -> Option<String> {
    let (scheme, rest) = url.split_once("://")?;
    if !matches!(scheme.to_ascii_lowercase().as_str(), "http" | "https") {
        return None;
    }
    let host = rest.split(['/', '?', '#']).next().filter(|h| !h.is_empty())?;
    // A template's placeholders (`{s}.tile…`) cannot be an origin; a wildcard host can.
    let host = host.replace("{s}", "*");
    if host.contains(['{', '}', ' ', '\'', ';', ',']) {
        return None;
    }
    Some(format!("{}://{host}", scheme.to_ascii_lowercase()))
}

impl Policy {
    /// The Content-Security-Policy of every HTML page.
    ///
    /// Scripts only from our own origin (no inline script, no eval). MapLibre runs its workers
    /// from `blob:` URLs and draws fetched tiles through `blob:` images. Inline *styles* stay
    /// allowed: the legend and lists set colours with style attributes, which cannot run code.
    pub fn csp(&self) -> String {
        fn extra(v: &[String]) -> String {
            v.iter().map(|o| format!(" {o}")).collect()
        }
        let connect = format!("'self'{}{}", extra(&self.basemap_origins), extra(&self.identity_origins));
        let img = format!("'self' data: blob:{}", extra(&self.basemap_origins));
        format!(
            "default-src 'self'; script-src 'self'; worker-src 'self' blob:; child-src 'self' blob:; style-src 'self' 'unsafe-inline'; \
             img-src {img}; connect-src {connect}; font-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; \
             frame-ancestors 'self'"
        )
    }

    /// `Strict-Transport-Security` when the service is reached over https.
    pub fn hsts(&self) -> Option<HeaderValue> {
        let https = self.public_url.as_deref().is_some_and(|u| u.to_ascii_lowercase().starts_with("https://"));
        https.then(|| HeaderValue::from_static("max-age=31536000; includeSubDomains"))
    }
}

/// Compared in place: this runs twice on every response.
fn is_html<B>(r: &Response<B>) -> bool {
    let v = r.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok());
    v.and_then(|v| v.trim_start().as_bytes().get(..9)).is_some_and(|p| p.eq_ignore_ascii_case(b"text/html"))
}

/// Adds the headers to every response of `router`.
pub fn apply<S: Clone + Send + Sync + 'static>(router: Router<S>, policy: &Policy) -> Router<S> {
    let csp = HeaderValue::from_str(&policy.csp()).unwrap_or_else(|_| HeaderValue::from_static("default-src 'self'; frame-ancestors 'self'"));
    let html_csp = move |r: &Response<axum::body::Body>| is_html(r).then(|| csp.clone());
    let html_permissions =
        |r: &Response<axum::body::Body>| is_html(r).then(|| HeaderValue::from_static("geolocation=(self), camera=(), microphone=(), payment=(), usb=()"));
    let hsts = policy.hsts().map(|v| SetResponseHeaderLayer::if_not_present(header::STRICT_TRANSPORT_SECURITY, v));
    // One layer for all of them: each `Router::layer` would box the service once more.
    router.layer(
        tower::ServiceBuilder::new()
            .layer(tower::util::option_layer(hsts))
            .layer(SetResponseHeaderLayer::overriding(HeaderName::from_static("permissions-policy"), html_permissions))
            .layer(SetResponseHeaderLayer::overriding(header::CONTENT_SECURITY_POLICY, html_csp))
            .layer(SetResponseHeaderLayer::if_not_present(header::REFERRER_POLICY, HeaderValue::from_static("strict-origin-when-cross-origin")))
            .layer(SetResponseHeaderLayer::if_not_present(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"))),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins_come_from_absolute_http_urls_only() {
        assert_eq!(origin_of("https://tiles.example.se/wmts/{z}/{x}/{y}.png").as_deref(), Some("https://tiles.example.se"));
        assert_eq!(origin_of("http://127.0.0.1:9000/realms/k").as_deref(), Some("http://127.0.0.1:9000"));
        assert_eq!(origin_of("https://{s}.tile.example.org/{z}/{x}/{y}.png").as_deref(), Some("https://*.tile.example.org"));
        assert_eq!(origin_of("basemap.mbtiles"), None);
        assert_eq!(origin_of("file:///tmp/style.json"), None);
    }

    #[test]
    fn the_policy_widens_connect_and_img_only_for_configured_origins() {
        let p = Policy { basemap_origins: vec!["https://maps.example.se".into()], identity_origins: vec!["https://login.example.se".into()], public_url: None };
        let csp = p.csp();
        assert!(csp.contains("script-src 'self';"), "{csp}");
        assert!(csp.contains("connect-src 'self' https://maps.example.se https://login.example.se;"), "{csp}");
        assert!(csp.contains("img-src 'self' data: blob: https://maps.example.se;"), "{csp}");
        assert!(csp.contains("frame-ancestors 'self'"), "{csp}");
        assert!(!Policy::default().csp().contains("example"));
        assert!(p.hsts().is_none());
        assert!(Policy { public_url: Some("https://lagesbild.kommun.se".into()), ..Default::default() }.hsts().is_some());
    }
}

//! The one place where errors become HTTP responses: RFC 9457 problem details
//! (`application/problem+json` with `type`, `title`, `status`, `detail`, and `errors` per field
//! for 422) that keep the OGC API exception members `code` and `description` (and `problems`,
//! `total` of a refused import), so clients of either convention read them.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

/// The media type of every error body (RFC 9457).
pub const PROBLEM_JSON: &str = "application/problem+json";

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{0}")]
    BadRequest(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Unauthorized(String),
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    PreconditionRequired(String),
    #[error("{0}")]
    PreconditionFailed(String),
    #[error("{0}")]
    Unprocessable(String),
    /// One named field of a request body breaks a rule (422 with `errors: [{field, detail}]`);
    /// the message names the field too.
    #[error("{message}")]
    Invalid { field: String, message: String },
    #[error("{0}")]
    ServiceUnavailable(String),
    /// What the request asks for was removed for good (raw points thinned out by gallring).
    #[error("{0}")]
    Gone(String),
    /// An upload whose rows fail validation: every problem, with its line (CSV) or feature (OGR).
    #[error("{total} problem(s); nothing was imported")]
    Rejected { problems: Vec<serde_json::Value>, total: usize },
    #[error("{0}")]
    PayloadTooLarge(String),
    /// Too much work queued already; the client should retry after the given seconds.
    #[error("{message}")]
    Busy { message: String, retry_after_s: u64 },
    /// More requests from one client than `--rate-limit-anonymous` allows.
    #[error("{message}")]
    TooManyRequests { message: String, retry_after_s: u64 },
    /// A fault of the service, not of the request: logged, never shown to the client.
    #[error("internal error: {0}")]
    Internal(#[source] Box<dyn std::error::Error + Send + Sync>),
}

impl ApiError {
    /// An internal fault described in words (an invariant that did not hold).
    pub fn internal(what: &str) -> ApiError {
        ApiError::Internal(what.into())
    }

    /// A versioned write that failed: stale version, missing record or store fault.
    pub fn from_write(e: crate::store::WriteError, what: &str) -> ApiError {
        use crate::store::WriteError;
        match e {
            WriteError::Conflict { expected, current } => {
                ApiError::PreconditionFailed(format!("{what} changed: you sent version {expected}, the current version is {current}; read it again"))
            }
            WriteError::NotFound => ApiError::NotFound(format!("no such {what}")),
            WriteError::Store(s) => s.into(),
        }
    }
}

/// Faults of the service's own machinery: a 500 whose detail goes to the log.
macro_rules! internal_from {
    ($($t:ty),*) => {$(
        impl From<$t> for ApiError {
            fn from(e: $t) -> ApiError {
                ApiError::Internal(Box::new(e))
            }
        }
    )*};
}

internal_from!(
    crate::store::StoreError,
    crate::crs::CrsError,
    crate::io::IoError,
    tokio::task::JoinError,
    serde_json::Error,
    std::io::Error,
    geozero::error::GeozeroError,
    crate::privacy_report::ReportError
);

/// A statistic that cannot be computed for what the request selected: the request's fault.
impl From<crate::stats::StatsError> for ApiError {
    fn from(e: crate::stats::StatsError) -> ApiError {
        ApiError::BadRequest(format!("cannot compute this analysis for the selection: {e}"))
    }
}

/// An unknown analysis is a missing resource; everything else wrong with a request for one
/// (parameters, too much work, a statistic undefined for the selection) is the request's fault.
impl From<crate::analysis::AnalysisError> for ApiError {
    fn from(e: crate::analysis::AnalysisError) -> ApiError {
        match e {
            crate::analysis::AnalysisError::Unknown(..) => ApiError::NotFound(e.to_string()),
            crate::analysis::AnalysisError::Stats(s) => s.into(),
            _ => ApiError::BadRequest(e.to_string()),
        }
    }
}

impl From<crate::profile::ProfileError> for ApiError {
    fn from(e: crate::profile::ProfileError) -> ApiError {
        match e {
            crate::profile::ProfileError::UnknownArea(a) => ApiError::NotFound(format!("no DeSO or RegSO matches '{a}'")),
        }
    }
}

/// A walk or observation that breaks a rule of its own (outside the municipality, bad rating).
impl From<crate::walks::Invalid> for ApiError {
    fn from(e: crate::walks::Invalid) -> ApiError {
        ApiError::Invalid { message: e.to_string(), field: e.field }
    }
}

/// A point analysis over a period whose raw points were thinned out: they are gone for good.
impl From<crate::picture::Thinned> for ApiError {
    fn from(e: crate::picture::Thinned) -> ApiError {
        ApiError::Gone(e.to_string())
    }
}

/// A request body that arrived too slowly is the client's fault.
impl From<super::limits::LimitError> for ApiError {
    fn from(e: super::limits::LimitError) -> ApiError {
        ApiError::BadRequest(e.to_string())
    }
}

impl From<super::oidc::OidcError> for ApiError {
    /// A bad token is the caller's fault (401); an unreachable identity provider is not (503).
    fn from(e: super::oidc::OidcError) -> ApiError {
        if e.is_unavailable() {
            tracing::warn!("OIDC: {e}");
            ApiError::ServiceUnavailable("the identity provider cannot be reached; try again shortly or continue without signing in".into())
        } else {
            ApiError::Unauthorized(e.to_string())
        }
    }
}

impl ApiError {
    fn parts(&self) -> (StatusCode, &'static str) {
        match self {
            ApiError::BadRequest(_) => (StatusCode::BAD_REQUEST, "InvalidParameterValue"),
            ApiError::NotFound(_) => (StatusCode::NOT_FOUND, "NotFound"),
            ApiError::Unauthorized(_) => (StatusCode::UNAUTHORIZED, "Unauthorized"),
            ApiError::Forbidden(_) => (StatusCode::FORBIDDEN, "Forbidden"),
            ApiError::Conflict(_) => (StatusCode::CONFLICT, "Conflict"),
            ApiError::PreconditionRequired(_) => (StatusCode::PRECONDITION_REQUIRED, "PreconditionRequired"),
            ApiError::PreconditionFailed(_) => (StatusCode::PRECONDITION_FAILED, "PreconditionFailed"),
            ApiError::Unprocessable(_) | ApiError::Invalid { .. } => (StatusCode::UNPROCESSABLE_ENTITY, "InvalidValue"),
            ApiError::ServiceUnavailable(_) => (StatusCode::SERVICE_UNAVAILABLE, "ServiceUnavailable"),
            ApiError::Gone(_) => (StatusCode::GONE, "Gone"),
            ApiError::Rejected { .. } => (StatusCode::UNPROCESSABLE_ENTITY, "InvalidValue"),
            ApiError::PayloadTooLarge(_) => (StatusCode::PAYLOAD_TOO_LARGE, "PayloadTooLarge"),
            ApiError::Busy { .. } => (StatusCode::SERVICE_UNAVAILABLE, "ServiceUnavailable"),
            ApiError::TooManyRequests { .. } => (StatusCode::TOO_MANY_REQUESTS, "TooManyRequests"),
            ApiError::Internal(_) => (StatusCode::INTERNAL_SERVER_ERROR, "ServerError"),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, code) = self.parts();
        let description = match &self {
            // Internal details go to the log, not to the client.
            ApiError::Internal(detail) => {
                tracing::error!(detail = %detail, "internal error");
                "internal error".to_string()
            }
            other => other.to_string(),
        };
        let mut body = problem_json(status, code, &description);
        if let ApiError::Rejected { problems, total } = &self {
            body["problems"] = serde_json::Value::Array(problems.clone());
            body["total"] = (*total).into();
        }
        if let ApiError::Invalid { field, message } = &self {
            body["errors"] = serde_json::json!([{ "field": field, "detail": message }]);
        }
        let mut resp = (status, [(axum::http::header::CONTENT_TYPE, PROBLEM_JSON)], body.to_string()).into_response();
        if let ApiError::Busy { retry_after_s, .. } | ApiError::TooManyRequests { retry_after_s, .. } = &self {
            resp.headers_mut().insert(axum::http::header::RETRY_AFTER, axum::http::HeaderValue::from(*retry_after_s));
        }
        if status == StatusCode::UNAUTHORIZED {
            resp.headers_mut().insert(axum::http::header::WWW_AUTHENTICATE, axum::http::HeaderValue::from_static("Bearer realm=\"lagesbild\""));
        }
        resp
    }
}

/// Errors the framework answers itself before a handler runs (a path segment that is not
/// UTF-8, a malformed multipart body, a body over the limit, a method the path does not take)
/// come as plain text; this turns them into problem details with the same status and headers,
/// so every error of the service has one shape.
pub async fn problem_bodies(req: axum::extract::Request, next: axum::middleware::Next) -> Response {
    let resp = next.run(req).await;
    let status = resp.status();
    let is_problem = resp.headers().get(axum::http::header::CONTENT_TYPE).is_some_and(|v| v.as_bytes().starts_with(PROBLEM_JSON.as_bytes()));
    if !(status.is_client_error() || status.is_server_error()) || is_problem {
        return resp;
    }
    let (mut parts, body) = resp.into_parts();
    // Framework messages are short; a larger body is not one of them and is not read.
    let text = axum::body::to_bytes(body, 16 * 1024).await.map(|b| String::from_utf8_lossy(&b).into_owned()).unwrap_or_default();
    let detail = if text.trim().is_empty() { status.canonical_reason().unwrap_or("error").to_string() } else { text.trim().to_string() };
    let code = match status {
        StatusCode::METHOD_NOT_ALLOWED => "MethodNotAllowed",
        StatusCode::PAYLOAD_TOO_LARGE => "PayloadTooLarge",
        StatusCode::UNSUPPORTED_MEDIA_TYPE => "UnsupportedMediaType",
        s if s.is_server_error() => "ServerError",
        _ => "InvalidParameterValue",
    };
    let body = problem_json(status, code, &detail);
    parts.headers.insert(axum::http::header::CONTENT_TYPE, axum::http::HeaderValue::from_static(PROBLEM_JSON));
    parts.headers.remove(axum::http::header::CONTENT_LENGTH);
    Response::from_parts(parts, axum::body::Body::from(body.to_string()))
}

fn problem_json(status: StatusCode, code: &str, detail: &str) -> serde_json::Value {
    serde_json::json!({
        "type": format!("urn:lagesbild:problem:{code}"),
        "title": status.canonical_reason().unwrap_or("Error"),
        "status": status.as_u16(),
        "detail": detail,
        "code": code,
        "description": detail,
    })
}

pub async fn not_found(uri: axum::http::Uri) -> ApiError {
    ApiError::NotFound(format!("no such resource: {}", uri.path()))
}

/// The decoded `key=value` pairs of a query string.
pub fn query_pairs(query: Option<&str>) -> Result<Vec<(String, String)>, ApiError> {
    match query {
        Some(q) => serde_urlencoded_pairs(q),
        None => Ok(vec![]),
    }
}

/// Rejects query parameters the endpoint does not know, so typos do not pass silently.
pub fn check_params(query: Option<&str>, allowed: &[&str]) -> Result<Vec<(String, String)>, ApiError> {
    let pairs = query_pairs(query)?;
    for (k, _) in &pairs {
        if !allowed.contains(&k.as_str()) {
            return Err(ApiError::BadRequest(format!(
                "unknown query parameter '{k}' (allowed: {})",
                if allowed.is_empty() { "none".to_string() } else { allowed.join(", ") }
            )));
        }
    }
    Ok(pairs)
}

fn serde_urlencoded_pairs(q: &str) -> Result<Vec<(String, String)>, ApiError> {
    let mut out = Vec::new();
    for part in q.split('&').filter(|p| !p.is_empty()) {
        let (k, v) = part.split_once('=').unwrap_or((part, ""));
        out.push((decode(k)?, decode(v)?));
    }
    Ok(out)
}

fn decode(s: &str) -> Result<String, ApiError> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => {
                let h = std::str::from_utf8(&bytes[i + 1..i + 3]).ok().and_then(|h| u8::from_str_radix(h, 16).ok());
                match h {
                    Some(b) => out.push(b),
                    None => return Err(ApiError::BadRequest(format!("bad percent-encoding in '{s}'"))),
                }
                i += 2;
            }
            b'%' => return Err(ApiError::BadRequest(format!("bad percent-encoding in '{s}'"))),
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8(out).map_err(|_| ApiError::BadRequest("query is not UTF-8".into()))
}

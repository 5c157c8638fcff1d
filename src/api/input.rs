//! Validation every route shares, so that the same input is accepted or refused the same way
//! whatever the route or method: text fields of request bodies (no control characters, titles
//! not empty), query parameters (only those the operation declares in the OpenAPI document, no
//! control characters) and `f`.

use super::error::ApiError;
use super::openapi;

#[derive(Debug, thiserror::Error)]
pub enum InputError {
    /// NUL and the other C0/C1 controls would reach the store (SQLite and GDAL take C strings) or
    /// a report unseen; tab and line feed are ordinary text in notes.
    #[error("{field}: control character U+{code:04X} at position {at}; only tab and line feed are allowed")]
    Control { field: String, code: u32, at: usize },
    #[error("{field}: must not be empty")]
    Empty { field: String },
    #[error("{field}: at most {max} characters")]
    TooLong { field: String, max: usize },
    #[error("unknown query parameter '{name}' (allowed: {allowed})")]
    UnknownParameter { name: String, allowed: String },
    #[error("query parameter '{name}': control characters are not allowed")]
    ControlInQuery { name: String },
    #[error("f='{value}' is not supported ({allowed})")]
    Format { value: String, allowed: String },
    #[error("the path contains a control character")]
    ControlInPath,
}

impl From<InputError> for ApiError {
    fn from(e: InputError) -> ApiError {
        match e {
            InputError::Control { ref field, .. } | InputError::Empty { ref field } | InputError::TooLong { ref field, .. } => {
                ApiError::Invalid { field: field.clone(), message: e.to_string() }
            }
            other => ApiError::BadRequest(other.to_string()),
        }
    }
}

/// A text field of a request body: anything but control characters other than tab and newline.
pub fn text(field: &str, value: &str) -> Result<(), InputError> {
    match value.chars().enumerate().find(|(_, c)| c.is_control() && *c != '\t' && *c != '\n') {
        Some((at, c)) => Err(InputError::Control { field: field.to_string(), code: c as u32, at }),
        None => Ok(()),
    }
}

/// Names, titles and other one-line fields (what the OpenAPI document states as `maxLength`).
pub const SHORT: usize = 200;
/// Notes and descriptions.
pub const LONG: usize = 5000;

/// Text of at most `max` characters.
pub fn text_max(field: &str, value: &str, max: usize) -> Result<(), InputError> {
    text(field, value)?;
    if value.chars().count() > max {
        return Err(InputError::TooLong { field: field.to_string(), max });
    }
    Ok(())
}

/// A title: short text that is not empty once trimmed.
pub fn title(field: &str, value: &str) -> Result<(), InputError> {
    text_max(field, value, SHORT)?;
    if value.trim().is_empty() {
        return Err(InputError::Empty { field: field.to_string() });
    }
    Ok(())
}

/// Every element of a list of short texts, named `field[i]`.
pub fn texts(field: &str, values: &[String]) -> Result<(), InputError> {
    values.iter().enumerate().try_for_each(|(i, v)| text_max(&format!("{field}[{i}]"), v, SHORT))
}

/// An input type that checks itself in one place, used by both its create and its update route.
pub trait Validate {
    fn validate(&self) -> Result<(), InputError>;
}

/// Checks a request's path and query against the operation the OpenAPI document declares for
/// it: unknown parameters, control characters and `f` values are refused the same way on
/// every route. Requests that match no declared operation are left to the router (404, 405).
pub fn check_request(method: &axum::http::Method, path: &str, query: Option<&str>) -> Result<(), ApiError> {
    // Without a `%` the path is its own decoding: nothing to allocate on the common path.
    let control_in_path =
        if path.contains('%') { percent_decode(path).is_some_and(|p| p.chars().any(char::is_control)) } else { path.chars().any(char::is_control) };
    if control_in_path {
        return Err(InputError::ControlInPath.into());
    }
    let Some(op) = openapi::operation(method, path) else {
        return Ok(());
    };
    let pairs = super::error::query_pairs(query)?;
    if pairs.is_empty() {
        return Ok(());
    }
    let allowed: Vec<&str> = op.params.iter().filter(|p| p.location == openapi::In::Query).map(|p| p.name).collect();
    let formats = op.formats();
    for (k, v) in &pairs {
        if !allowed.contains(&k.as_str()) && !op.open_query {
            let allowed = if allowed.is_empty() { "none".to_string() } else { allowed.join(", ") };
            return Err(InputError::UnknownParameter { name: k.clone(), allowed }.into());
        }
        if k.chars().chain(v.chars()).any(char::is_control) {
            return Err(InputError::ControlInQuery { name: k.escape_debug().to_string() }.into());
        }
        if k == "f" && allowed.contains(&"f") && !formats.contains(v) {
            return Err(InputError::Format { value: v.escape_debug().to_string(), allowed: formats.join(", ") }.into());
        }
    }
    Ok(())
}

fn percent_decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes.get(i + 1..i + 3).and_then(|h| std::str::from_utf8(h).ok()).and_then(|h| u8::from_str_radix(h, 16).ok());
        match hex {
            Some(b) if bytes[i] == b'%' => {
                out.push(b);
                i += 3;
            }
            _ => {
                out.push(bytes[i]);
                i += 1;
            }
        }
    }
    Some(String::from_utf8_lossy(&out).into_owned())
}

/// The middleware form of [`check_request`], run before any handler.
pub async fn query_guard(req: axum::extract::Request, next: axum::middleware::Next) -> axum::response::Response {
    use axum::response::IntoResponse;
    match check_request(req.method(), req.uri().path(), req.uri().query()) {
        Ok(()) => next.run(req).await,
        Err(e) => e.into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_refuses_nul_and_escape_but_keeps_tab_and_newline() {
        assert!(text("notes", "rad 1\n\trad 2").is_ok());
        assert!(matches!(text("notes", "a\u{0}b"), Err(InputError::Control { code: 0, at: 1, .. })));
        assert!(matches!(text("notes", "\u{1b}[31m"), Err(InputError::Control { code: 0x1b, .. })));
        assert!(matches!(text("notes", "a\rb"), Err(InputError::Control { code: 0x0d, .. })));
        assert!(matches!(text("notes", "\u{85}"), Err(InputError::Control { code: 0x85, .. })));
    }

    #[test]
    fn a_blank_title_is_empty() {
        assert!(matches!(title("title", "  \n"), Err(InputError::Empty { .. })));
        assert!(title("title", "Kvällsvandring").is_ok());
    }

    #[test]
    fn percent_decoding_reveals_a_nul_in_a_path() {
        assert_eq!(percent_decode("/walks/a%00b").as_deref(), Some("/walks/a\u{0}b"));
        assert_eq!(percent_decode("/walks/100%").as_deref(), Some("/walks/100%"));
    }
}

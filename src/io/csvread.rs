//! CSV as Swedish offices write it: Excel's semicolon, decimal comma and UTF-8 BOM, or plain
//! comma-separated UTF-8. We read CSV ourselves rather than through OGR so that every problem
//! names its physical line and so that decimal commas parse.

use super::{IoError, Record};
use std::path::Path;

/// Reads a delimited text file into records (no geometry; coordinates stay in their columns).
/// Returns the header names as written and one record per data line.
pub fn read_csv(path: &Path) -> Result<(Vec<String>, Vec<Record>), IoError> {
    let bytes = std::fs::read(path).map_err(|e| IoError::Unreadable { path: path.into(), reason: e.to_string() })?;
    if bytes.iter().all(|b| b.is_ascii_whitespace()) {
        return Err(IoError::Empty { path: path.into() });
    }
    let text = match String::from_utf8(bytes) {
        Ok(s) => s,
        // Older Excel saves "CSV (semikolonavgränsad)" as Windows-1252; Latin-1 covers å, ä, ö.
        Err(e) => e.into_bytes().iter().map(|&b| b as char).collect(),
    };
    let text = text.trim_start_matches('\u{feff}');
    let first_line = text.lines().next().unwrap_or("");
    let delimiter = sniff_delimiter(first_line);
    let mut rdr = csv::ReaderBuilder::new().delimiter(delimiter).flexible(true).has_headers(true).from_reader(text.as_bytes());
    let headers: Vec<String> = rdr
        .headers()
        .map_err(|e| IoError::Format { path: path.into(), reason: format!("bad header line: {e}") })?
        .iter()
        .map(|h| h.trim().to_string())
        .collect();
    if headers.iter().all(|h| h.is_empty()) {
        return Err(IoError::Format { path: path.into(), reason: "the header line is empty".into() });
    }
    let name = file_name(path);
    let mut records = Vec::new();
    for row in rdr.records() {
        let row = row.map_err(|e| IoError::Format { path: path.into(), reason: e.to_string() })?;
        let line = row.position().map(|p| p.line()).unwrap_or(0);
        if row.iter().all(|v| v.trim().is_empty()) {
            continue;
        }
        let mut problem = None;
        if row.len() != headers.len() {
            problem = Some(format!("expected {} columns, found {} (truncated or unquoted delimiter?)", headers.len(), row.len()));
        }
        let fields = headers.iter().enumerate().map(|(i, h)| (h.clone(), row.get(i).unwrap_or("").trim().to_string())).collect();
        records.push(Record { location: format!("{name}:{line}"), fields, geometry: None, problem });
    }
    Ok((headers, records))
}

pub(crate) fn file_name(path: &Path) -> String {
    path.file_name().map(|s| s.to_string_lossy().into_owned()).unwrap_or_else(|| path.display().to_string())
}

pub(crate) fn sniff_delimiter(header: &str) -> u8 {
    let count = |c: char| header.chars().filter(|&x| x == c).count();
    let candidates = [(b';', count(';')), (b'\t', count('\t')), (b',', count(','))];
    candidates.iter().max_by_key(|(_, n)| *n).filter(|(_, n)| *n > 0).map(|(d, _)| *d).unwrap_or(b',')
}

/// Parses a number written the Swedish or the international way: `1 234,5`, `1234.5`, `−3,2`.
/// Returns `None` for anything else (including the empty string).
pub fn parse_number(s: &str) -> Option<f64> {
    // Plain `6589123.25` is by far the common case: parse it without building a new string.
    if let Ok(v) = s.trim().parse::<f64>() {
        return v.is_finite().then_some(v);
    }
    let t: String = s.trim().chars().filter(|c| !matches!(c, ' ' | '\u{a0}' | '\u{202f}')).map(|c| if c == '\u{2212}' { '-' } else { c }).collect();
    if t.is_empty() {
        return None;
    }
    let t = if t.contains(',') && !t.contains('.') { t.replace(',', ".") } else { t };
    let v: f64 = t.parse().ok()?;
    v.is_finite().then_some(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_parse_with_decimal_comma_and_thousand_spaces() {
        assert_eq!(parse_number("1 234,5"), Some(1234.5));
        assert_eq!(parse_number("6589123.25"), Some(6589123.25));
        assert_eq!(parse_number("\u{2212}3,25"), Some(-3.25));
        assert_eq!(parse_number("abc"), None);
        assert_eq!(parse_number(""), None);
        assert_eq!(parse_number("NaN"), None);
    }

    #[test]
    fn delimiter_is_sniffed_from_the_header() {
        assert_eq!(sniff_delimiter("id;kategori;datum;x;y"), b';');
        assert_eq!(sniff_delimiter("id,category,date"), b',');
        assert_eq!(sniff_delimiter("id"), b',');
    }
}

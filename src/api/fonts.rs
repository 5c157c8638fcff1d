//! Map label glyphs: `/fonts/{fontstack}/{start}-{end}.pbf`, signed distance fields in the
//! Mapbox glyph protobuf, rendered from a font installed from Debian (`fonts-dejavu-core`) with
//! FreeType. A range is rendered the first time it is asked for and then kept: there are at most
//! a few fontstacks × 256 ranges, so the cache is bounded by construction.

use super::error::ApiError;
use axum::extract::Path;
use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use pbf_font_tools::prost::Message;
use pbf_font_tools::{Fontstack, Glyph, Glyphs};
use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};

/// Where Debian's `fonts-dejavu-core` puts its files.
const FONT_DIR: &str = "/usr/share/fonts/truetype/dejavu";

/// Fontstacks we answer, and the file each is drawn from. The Noto names are those the vendored
/// OpenStreetMap style asks for; DejaVu covers the same Latin letters (Å, Ä, Ö included).
const STACKS: &[(&str, &str)] = &[
    ("DejaVu Sans Book", "DejaVuSans.ttf"),
    ("DejaVu Sans Bold", "DejaVuSans-Bold.ttf"),
    ("Noto Sans Regular", "DejaVuSans.ttf"),
    ("Noto Sans Medium", "DejaVuSans-Bold.ttf"),
    ("Noto Sans Italic", "DejaVuSans.ttf"),
];

/// The fontstack the map's own label layers use.
pub const LABEL_FONT: &str = "DejaVu Sans Book";
pub const LABEL_FONT_BOLD: &str = "DejaVu Sans Bold";

/// Glyph size, SDF buffer and radius as in Mapbox's fontnik; MapLibre assumes these.
const SIZE: isize = 24;
const BUFFER: usize = 3;
const RADIUS: usize = 8;
const CUTOFF: f64 = 0.25;

#[derive(Debug, thiserror::Error)]
pub enum FontError {
    #[error("unknown fontstack '{0}'")]
    UnknownStack(String),
    #[error("range '{0}' is not START-END.pbf with START a multiple of 256 and END = START + 255, at most 65535")]
    BadRange(String),
    #[error("font file {path}: {reason}")]
    Font { path: String, reason: String },
}

impl From<FontError> for ApiError {
    fn from(e: FontError) -> ApiError {
        match e {
            FontError::UnknownStack(_) => ApiError::NotFound(e.to_string()),
            FontError::BadRange(_) => ApiError::BadRequest(e.to_string()),
            FontError::Font { .. } => ApiError::Internal(e.into()),
        }
    }
}

/// Picks the first known fontstack of a comma-separated list (MapLibre sends `text-font` joined
/// by commas).
pub fn resolve_stack(requested: &str) -> Result<(&'static str, &'static str), FontError> {
    requested
        .split(',')
        .map(str::trim)
        .find_map(|name| STACKS.iter().find(|(n, _)| *n == name).copied())
        .ok_or_else(|| FontError::UnknownStack(requested.chars().take(100).collect()))
}

/// Parses `START-END.pbf`.
pub fn parse_range(s: &str) -> Result<u32, FontError> {
    let bad = || FontError::BadRange(s.chars().take(40).collect());
    let (a, b) = s.strip_suffix(".pbf").and_then(|r| r.split_once('-')).ok_or_else(bad)?;
    let (start, end): (u32, u32) = (a.parse().map_err(|_| bad())?, b.parse().map_err(|_| bad())?);
    if start % 256 != 0 || end != start + 255 || end > 65535 {
        return Err(bad());
    }
    Ok(start)
}

/// Renders one range of one font file into the glyph protobuf. The SDF is computed by
/// `sdf_glyph_renderer` from FreeType's anti-aliased bitmap, with the metrics node-fontnik uses.
pub fn render_range(stack_name: &str, file: &str, start: u32) -> Result<Vec<u8>, FontError> {
    use freetype::face::LoadFlag;
    let path = format!("{FONT_DIR}/{file}");
    let ferr = |reason: String| FontError::Font { path: path.clone(), reason };
    let lib = freetype::Library::init().map_err(|e| ferr(e.to_string()))?;
    let face = lib.new_face(&path, 0).map_err(|e| ferr(e.to_string()))?;
    face.set_char_size(0, SIZE << 6, 0, 0).map_err(|e| ferr(e.to_string()))?;
    let ascender = face.size_metrics().map(|m| (m.ascender >> 6) as i32).ok_or_else(|| ferr("no size metrics".into()))?;
    let end = start + 255;
    let mut stack = Fontstack { name: stack_name.to_string(), range: format!("{start}-{end}"), glyphs: Vec::new() };
    for code in start..=end {
        // Code points the font lacks are simply left out.
        let Some(index) = face.get_char_index(code as usize) else { continue };
        if face.load_glyph(index, LoadFlag::NO_HINTING | LoadFlag::RENDER).is_err() {
            continue;
        }
        let glyph = face.glyph();
        let bm = glyph.bitmap();
        let (w, h) = (bm.width() as usize, bm.rows() as usize);
        let sdf = sdf_glyph_renderer::BitmapGlyph::from_unbuffered(bm.buffer(), w, h, BUFFER).map_err(|e| ferr(e.to_string()))?.render_sdf(RADIUS);
        let bitmap = sdf_glyph_renderer::clamp_to_u8(&sdf, CUTOFF).map_err(|e| ferr(e.to_string()))?;
        stack.glyphs.push(Glyph {
            id: code,
            bitmap: Some(bitmap),
            width: w as u32,
            height: h as u32,
            left: glyph.bitmap_left(),
            top: glyph.bitmap_top() - ascender,
            advance: (glyph.metrics().horiAdvance >> 6) as u32,
        });
    }
    Ok(Glyphs { stacks: vec![stack] }.encode_to_vec())
}

type Cache = Mutex<HashMap<(&'static str, u32), bytes::Bytes>>;

fn cache() -> &'static Cache {
    static C: OnceLock<Cache> = OnceLock::new();
    C.get_or_init(Default::default)
}

/// One range is rendered at a time: the work per request is bounded (256 glyphs) and the number
/// of distinct requests is bounded (known stacks × 256 ranges).
fn render_lock() -> &'static Mutex<()> {
    static L: OnceLock<Mutex<()>> = OnceLock::new();
    L.get_or_init(Default::default)
}

fn cached_or_render(stack: &'static str, file: &'static str, start: u32) -> Result<bytes::Bytes, FontError> {
    if let Some(b) = cache().lock().ok().and_then(|m| m.get(&(stack, start)).cloned()) {
        return Ok(b);
    }
    let _guard = render_lock().lock().unwrap_or_else(|p| p.into_inner());
    // Another request may have rendered it while this one waited.
    if let Some(b) = cache().lock().ok().and_then(|m| m.get(&(stack, start)).cloned()) {
        return Ok(b);
    }
    let b = bytes::Bytes::from(render_range(stack, file, start)?);
    if let Ok(mut m) = cache().lock() {
        m.insert((stack, start), b.clone());
    }
    Ok(b)
}

/// `GET /fonts/{fontstack}/{range}`.
pub async fn glyphs(Path((fontstack, range)): Path<(String, String)>) -> Result<Response, ApiError> {
    let (stack, file) = resolve_stack(&fontstack)?;
    let start = parse_range(&range)?;
    let body = tokio::task::spawn_blocking(move || cached_or_render(stack, file, start)).await.map_err(|e| ApiError::Internal(e.into()))??;
    let mut r = ([(header::CONTENT_TYPE, "application/x-protobuf")], body).into_response();
    r.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=86400"));
    Ok(r)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_must_be_aligned_blocks_of_256() {
        assert_eq!(parse_range("0-255.pbf").unwrap(), 0);
        assert_eq!(parse_range("65280-65535.pbf").unwrap(), 65280);
        for bad in ["1-256.pbf", "0-256.pbf", "65536-65791.pbf", "0-255", "a-b.pbf", "-0-255.pbf"] {
            assert!(parse_range(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_first_known_fontstack_of_a_list_is_used() {
        assert_eq!(resolve_stack("Open Sans Regular,DejaVu Sans Book").unwrap().0, "DejaVu Sans Book");
        assert!(resolve_stack("Comic Sans").is_err());
    }

    #[test]
    fn swedish_letters_are_in_the_latin_1_range() {
        let bytes = render_range(LABEL_FONT, "DejaVuSans.ttf", 0).unwrap();
        let g = Glyphs::decode(bytes.as_slice()).unwrap();
        let ids: Vec<u32> = g.stacks[0].glyphs.iter().map(|g| g.id).collect();
        // Å Ä Ö å ä ö: U+00C5, U+00C4, U+00D6, U+00E5, U+00E4, U+00F6.
        for c in ['Å', 'Ä', 'Ö', 'å', 'ä', 'ö'] {
            let glyph = g.stacks[0].glyphs.iter().find(|x| x.id == c as u32).unwrap_or_else(|| panic!("{c} missing from {ids:?}"));
            assert!(glyph.width > 0 && glyph.bitmap.as_ref().is_some_and(|b| !b.is_empty()));
        }
    }
}

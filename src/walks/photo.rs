//! Photos for observations: JPEG or PNG only, checked by content (not by the name or the
//! declared type), limited in size, and stripped of metadata, GPS EXIF included.

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum PhotoError {
    #[error("the photo is {0} bytes; at most {1} bytes are allowed")]
    TooLarge(usize, usize),
    #[error("only JPEG and PNG photos are accepted (the content is neither)")]
    UnknownType,
    #[error("the {0} file is damaged: {1}")]
    Damaged(&'static str, String),
}

/// Returns (mime type, bytes without metadata).
pub fn sanitise(bytes: &[u8], max: usize) -> Result<(&'static str, Vec<u8>), PhotoError> {
    if bytes.len() > max {
        return Err(PhotoError::TooLarge(bytes.len(), max));
    }
    if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        return strip_jpeg(bytes).map(|b| ("image/jpeg", b));
    }
    if bytes.starts_with(&[0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A]) {
        return strip_png(bytes).map(|b| ("image/png", b));
    }
    Err(PhotoError::UnknownType)
}

/// Drops APP1–APP15 (EXIF with GPS, XMP, IPTC …) and COM segments; keeps APP0 (JFIF) and the
/// image data.
fn strip_jpeg(b: &[u8]) -> Result<Vec<u8>, PhotoError> {
    let dmg = |m: &str| PhotoError::Damaged("JPEG", m.to_string());
    let mut out = vec![0xFF, 0xD8];
    let mut i = 2;
    loop {
        if i + 4 > b.len() {
            return Err(dmg("ends before the image data"));
        }
        if b[i] != 0xFF {
            return Err(dmg("bad segment marker"));
        }
        let marker = b[i + 1];
        if marker == 0xD8 || (0xD0..=0xD7).contains(&marker) || marker == 0x01 || marker == 0xFF {
            i += if marker == 0xFF { 1 } else { 2 };
            continue;
        }
        let len = u16::from_be_bytes([b[i + 2], b[i + 3]]) as usize;
        if len < 2 || i + 2 + len > b.len() {
            return Err(dmg("a segment runs past the end"));
        }
        let seg = &b[i..i + 2 + len];
        let drop = (0xE1..=0xEF).contains(&marker) || marker == 0xFE;
        if !drop {
            out.extend_from_slice(seg);
        }
        i += 2 + len;
        if marker == 0xDA {
            // Start of scan: the rest is entropy-coded data up to EOI.
            let rest = &b[i..];
            if !rest.windows(2).any(|w| w == [0xFF, 0xD9]) {
                return Err(dmg("no end-of-image marker"));
            }
            out.extend_from_slice(rest);
            return Ok(out);
        }
    }
}

/// Keeps only the chunks needed to show the image; drops eXIf and text chunks.
fn strip_png(b: &[u8]) -> Result<Vec<u8>, PhotoError> {
    let dmg = |m: &str| PhotoError::Damaged("PNG", m.to_string());
    let mut out = b[..8].to_vec();
    let mut i = 8;
    let mut seen_end = false;
    while i + 12 <= b.len() {
        let len = u32::from_be_bytes([b[i], b[i + 1], b[i + 2], b[i + 3]]) as usize;
        let kind = &b[i + 4..i + 8];
        if i + 12 + len > b.len() {
            return Err(dmg("a chunk runs past the end"));
        }
        let keep = matches!(kind, b"IHDR" | b"PLTE" | b"IDAT" | b"IEND" | b"tRNS" | b"gAMA" | b"sRGB" | b"cHRM" | b"pHYs");
        if keep {
            out.extend_from_slice(&b[i..i + 12 + len]);
        }
        i += 12 + len;
        if kind == b"IEND" {
            seen_end = true;
            break;
        }
    }
    if !seen_end || &out[12..16] != b"IHDR" {
        return Err(dmg("missing IHDR or IEND"));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A minimal JPEG: SOI, APP0, APP1 "Exif" with a fake GPS tag, SOS, data, EOI.
    fn jpeg_with_exif() -> Vec<u8> {
        let mut v = vec![0xFF, 0xD8];
        v.extend_from_slice(&[0xFF, 0xE0, 0x00, 0x07, b'J', b'F', b'I', b'F', 0x00]);
        let exif = b"Exif\0\0GPSLatitude59.43";
        v.extend_from_slice(&[0xFF, 0xE1]);
        v.extend_from_slice(&((exif.len() + 2) as u16).to_be_bytes());
        v.extend_from_slice(exif);
        v.extend_from_slice(&[0xFF, 0xDA, 0x00, 0x04, 0x01, 0x02, 0x11, 0x22, 0x33, 0xFF, 0xD9]);
        v
    }

    #[test]
    fn gps_exif_is_stripped_from_a_jpeg() {
        let (mime, out) = sanitise(&jpeg_with_exif(), 1000).unwrap();
        assert_eq!(mime, "image/jpeg");
        assert!(!out.windows(4).any(|w| w == b"Exif"));
        assert!(!out.windows(3).any(|w| w == b"GPS"));
        assert!(out.ends_with(&[0xFF, 0xD9]));
        assert!(out.windows(4).any(|w| w == b"JFIF"));
    }

    #[test]
    fn other_types_truncation_and_size_are_refused() {
        assert_eq!(sanitise(b"GIF89a....", 1000), Err(PhotoError::UnknownType));
        assert!(matches!(sanitise(&jpeg_with_exif()[..20], 1000), Err(PhotoError::Damaged("JPEG", _))));
        assert!(matches!(sanitise(&jpeg_with_exif(), 10), Err(PhotoError::TooLarge(_, 10))));
    }
}

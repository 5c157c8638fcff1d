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

/// The GPS position (lon, lat in WGS84) in a JPEG's EXIF, when there is one: a phone's camera
/// writes where the photo was taken, which becomes the observation's point before the EXIF is
/// stripped. Anything malformed gives None (the photo is still accepted).
pub fn exif_position(b: &[u8]) -> Option<[f64; 2]> {
    if !b.starts_with(&[0xFF, 0xD8]) {
        return None;
    }
    let mut i = 2;
    while i + 4 <= b.len() && b[i] == 0xFF {
        let marker = b[i + 1];
        let len = u16::from_be_bytes([b[i + 2], b[i + 3]]) as usize;
        if marker == 0xDA || len < 2 || i + 2 + len > b.len() {
            return None;
        }
        let seg = &b[i + 4..i + 2 + len];
        if marker == 0xE1 && seg.starts_with(b"Exif\0\0") {
            return Tiff::new(&seg[6..])?.gps();
        }
        i += 2 + len;
    }
    None
}

/// A TIFF structure inside an EXIF segment, read with its own byte order.
struct Tiff<'a> {
    b: &'a [u8],
    le: bool,
}

impl<'a> Tiff<'a> {
    fn new(b: &'a [u8]) -> Option<Tiff<'a>> {
        let le = match b.get(..2)? {
            b"II" => true,
            b"MM" => false,
            _ => return None,
        };
        Some(Tiff { b, le })
    }
    fn u16(&self, at: usize) -> Option<u16> {
        let x: [u8; 2] = self.b.get(at..at + 2)?.try_into().ok()?;
        Some(if self.le { u16::from_le_bytes(x) } else { u16::from_be_bytes(x) })
    }
    fn u32(&self, at: usize) -> Option<u32> {
        let x: [u8; 4] = self.b.get(at..at + 4)?.try_into().ok()?;
        Some(if self.le { u32::from_le_bytes(x) } else { u32::from_be_bytes(x) })
    }
    /// The 12-byte entry of `tag` in the IFD at `ifd`: (type, count, offset of the value field).
    fn entry(&self, ifd: usize, tag: u16) -> Option<(u16, u32, usize)> {
        let n = self.u16(ifd)? as usize;
        (0..n.min(256)).map(|k| ifd + 2 + 12 * k).find(|e| self.u16(*e) == Some(tag)).and_then(|e| Some((self.u16(e + 2)?, self.u32(e + 4)?, e + 8)))
    }
    /// Degrees from three RATIONALs (degrees, minutes, seconds).
    fn dms(&self, ifd: usize, tag: u16) -> Option<f64> {
        let (ty, count, field) = self.entry(ifd, tag)?;
        if ty != 5 || count != 3 {
            return None;
        }
        let at = self.u32(field)? as usize;
        let r = |k: usize| -> Option<f64> {
            let d = self.u32(at + 8 * k + 4)?;
            (d != 0).then_some(self.u32(at + 8 * k)? as f64 / d as f64)
        };
        Some(r(0)? + r(1)? / 60.0 + r(2)? / 3600.0)
    }
    fn reference(&self, ifd: usize, tag: u16) -> Option<u8> {
        let (_, _, field) = self.entry(ifd, tag)?;
        self.b.get(field).copied()
    }
    fn gps(&self) -> Option<[f64; 2]> {
        let ifd0 = self.u32(4)? as usize;
        let (_, _, field) = self.entry(ifd0, 0x8825)?;
        let gps = self.u32(field)? as usize;
        let lat = self.dms(gps, 2)? * if self.reference(gps, 1)? == b'S' { -1.0 } else { 1.0 };
        let lon = self.dms(gps, 4)? * if self.reference(gps, 3)? == b'W' { -1.0 } else { 1.0 };
        ((-90.0..=90.0).contains(&lat) && (-180.0..=180.0).contains(&lon) && (lat, lon) != (0.0, 0.0)).then_some([lon, lat])
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

    /// An EXIF segment with a GPS IFD, little-endian, as a phone camera writes it.
    fn jpeg_with_gps(lat: f64, lon: f64) -> Vec<u8> {
        let mut t: Vec<u8> = b"II\x2a\x00\x08\x00\x00\x00".to_vec();
        let entry = |t: &mut Vec<u8>, tag: u16, ty: u16, count: u32, value: [u8; 4]| {
            t.extend_from_slice(&tag.to_le_bytes());
            t.extend_from_slice(&ty.to_le_bytes());
            t.extend_from_slice(&count.to_le_bytes());
            t.extend_from_slice(&value);
        };
        t.extend_from_slice(&1u16.to_le_bytes());
        entry(&mut t, 0x8825, 4, 1, 26u32.to_le_bytes());
        t.extend_from_slice(&0u32.to_le_bytes());
        t.extend_from_slice(&4u16.to_le_bytes());
        entry(&mut t, 1, 2, 2, [if lat < 0.0 { b'S' } else { b'N' }, 0, 0, 0]);
        entry(&mut t, 2, 5, 3, 80u32.to_le_bytes());
        entry(&mut t, 3, 2, 2, [if lon < 0.0 { b'W' } else { b'E' }, 0, 0, 0]);
        entry(&mut t, 4, 5, 3, 104u32.to_le_bytes());
        t.extend_from_slice(&0u32.to_le_bytes());
        for v in [lat.abs(), lon.abs()] {
            let (d, m) = (v.trunc(), (v.fract() * 60.0).trunc());
            let sec = ((v - d - m / 60.0) * 3600.0 * 10_000.0).round() as u32;
            for (num, den) in [(d as u32, 1u32), (m as u32, 1), (sec, 10_000)] {
                t.extend_from_slice(&num.to_le_bytes());
                t.extend_from_slice(&den.to_le_bytes());
            }
        }
        let mut seg = b"Exif\0\0".to_vec();
        seg.extend_from_slice(&t);
        let mut v = vec![0xFF, 0xD8, 0xFF, 0xE1];
        v.extend_from_slice(&((seg.len() + 2) as u16).to_be_bytes());
        v.extend_from_slice(&seg);
        v.extend_from_slice(&[0xFF, 0xDA, 0x00, 0x04, 0x01, 0x02, 0x11, 0x22, 0xFF, 0xD9]);
        v
    }

    #[test]
    fn the_gps_position_of_a_phone_photo_is_read_before_it_is_stripped() {
        let j = jpeg_with_gps(59.428_1, 17.950_9);
        let [lon, lat] = exif_position(&j).unwrap();
        // Seconds are stored to 1/10 000 s, about 3 mm: the round trip is exact to 1e-7 degrees.
        assert!((lat - 59.428_1).abs() < 1e-7 && (lon - 17.950_9).abs() < 1e-7, "{lat} {lon}");
        assert_eq!(exif_position(&jpeg_with_gps(-33.9, -70.6)).map(|p| (p[0] < 0.0, p[1] < 0.0)), Some((true, true)));
        assert_eq!(exif_position(&jpeg_with_exif()), None, "an EXIF without a GPS IFD");
        let (_, clean) = sanitise(&j, 10_000).unwrap();
        assert_eq!(exif_position(&clean), None);
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

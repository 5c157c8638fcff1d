//! Vector tile geometry and containers outside HTTP: Web Mercator tile math, the MVT 2.1
//! polygon rules (orientation, snapping, repair) in [`mvt`], and the
//! static export to PMTiles and MBTiles in [`export`].

pub mod export;
pub mod mvt;

/// Half the Web Mercator world width in metres (EPSG:3857).
pub const HALF_WORLD: f64 = 20_037_508.342_789_244;
/// Deepest zoom a tileset advertises; clients overzoom past it (a DeSO needs no finer detail).
pub const TILESET_MAX_ZOOM: u8 = 16;
/// Deepest zoom of the OGC WebMercatorQuad definition.
pub const TMS_MAX_ZOOM: u8 = 24;

/// Web Mercator metres of a WGS84 lon/lat (latitude clamped to the square world).
pub fn merc(lon: f64, lat: f64) -> (f64, f64) {
    let lat = lat.clamp(-85.051_128_78, 85.051_128_78);
    (lon.to_radians() * 6_378_137.0, ((std::f64::consts::FRAC_PI_4 + lat.to_radians() / 2.0).tan()).ln() * 6_378_137.0)
}

/// WGS84 lon/lat of Web Mercator metres.
pub fn inv_merc(x: f64, y: f64) -> (f64, f64) {
    ((x / 6_378_137.0).to_degrees(), (2.0 * (y / 6_378_137.0).exp().atan() - std::f64::consts::FRAC_PI_2).to_degrees())
}

/// Bounds of an XYZ tile in Web Mercator metres: [left, bottom, right, top].
pub fn tile_bounds(z: u8, x: u32, y: u32) -> [f64; 4] {
    let size = 2.0 * HALF_WORLD / f64::from(1u32 << z);
    let left = -HALF_WORLD + x as f64 * size;
    let top = HALF_WORLD - y as f64 * size;
    [left, top - size, left + size, top]
}

/// The XYZ tile (column, row) holding a lon/lat at a zoom.
pub fn tile_of(lon: f64, lat: f64, z: u8) -> (u32, u32) {
    let n = 1u64 << z;
    let (x, y) = merc(lon, lat);
    let size = 2.0 * HALF_WORLD / n as f64;
    let col = ((x + HALF_WORLD) / size).floor().clamp(0.0, (n - 1) as f64) as u32;
    let row = ((HALF_WORLD - y) / size).floor().clamp(0.0, (n - 1) as f64) as u32;
    (col, row)
}

/// Tile limits of a WGS84 box at a zoom: (min column, min row, max column, max row).
pub fn tile_range(bbox: [f64; 4], z: u8) -> (u32, u32, u32, u32) {
    let (c0, r1) = tile_of(bbox[0], bbox[1], z);
    let (c1, r0) = tile_of(bbox[2], bbox[3], z);
    (c0, r0, c1, r1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_point_lies_in_the_tile_whose_bounds_hold_it() {
        for z in [0u8, 8, 12, 15] {
            let (x, y) = tile_of(17.95, 59.43, z);
            let b = tile_bounds(z, x, y);
            let (mx, my) = merc(17.95, 59.43);
            assert!(b[0] <= mx && mx < b[2] && b[1] < my && my <= b[3], "z{z}: {b:?}");
        }
    }

    #[test]
    fn mercator_and_its_inverse_round_trip() {
        let (x, y) = merc(17.95, 59.43);
        let (lon, lat) = inv_merc(x, y);
        assert!((lon - 17.95).abs() < 1e-9 && (lat - 59.43).abs() < 1e-9);
    }
}

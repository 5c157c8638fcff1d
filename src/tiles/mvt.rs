//! Polygons as the Mapbox Vector Tile spec 2.1 (section 4.3.4.4) defines them: in tile
//! coordinates, with y pointing down, an exterior ring has positive area by the surveyor's formula
//! (clockwise on screen) and an interior ring negative area, each interior ring following its
//! exterior. QGIS and GDAL read polygons strictly by that rule and drop what breaks it, so every
//! polygon layer goes through [`tile_polygons`] whatever orientation its source file had.
//!
//! Snapping to the integer grid can fold a thin part onto itself, collapse a ring or make two
//! edges cross. The snapped rings are therefore rebuilt with an integer overlay (the `i_overlay`
//! engine behind geo's boolean operations), which works on exactly these integer coordinates and
//! returns simple rings without spikes, zero-area rings or self-intersections.

use geo::orient::{Direction, Orient};
use geo::MapCoords;
use i_overlay::core::fill_rule::FillRule;
use i_overlay::core::simplify::Simplify;
use i_overlay::i_float::int::point::IntPoint;
use i_overlay::i_shape::int::shape::IntContour;

/// Quantises a Web Mercator multipolygon, already clipped to the tile and its buffer, to the
/// tile grid (`extent` units across `bounds` = [left, bottom, right, top], y down) and returns it
/// ready for the encoder: integer coordinates, exterior rings with positive surveyor's area,
/// holes negative, no ring with fewer than three distinct points or zero area, no
/// self-intersection. Several parts stay one multipolygon (one feature with several exterior
/// rings). None when nothing with area is left.
pub fn tile_polygons(mp: &geo::MultiPolygon<f64>, bounds: [f64; 4], extent: u32) -> Option<geo::MultiPolygon<f64>> {
    let k = f64::from(extent) / (bounds[2] - bounds[0]);
    let mut contours: Vec<IntContour> = Vec::new();
    for poly in mp {
        let snapped = poly.map_coords(|c| geo::coord! { x: ((c.x - bounds[0]) * k).round(), y: ((bounds[3] - c.y) * k).round() });
        // The one place the source's orientation is normalised. In tile space y points down, so
        // geo's default direction (exterior counter-clockwise in the plane's own axes, i.e.
        // positive surveyor's area) is exactly MVT's exterior; the non-zero fill rule below then
        // unites overlapping parts and cuts the holes.
        let oriented = snapped.orient(Direction::Default);
        for ring in std::iter::once(oriented.exterior()).chain(oriented.interiors()) {
            let c = int_ring(ring);
            if c.len() >= 3 {
                contours.push(c);
            }
        }
    }
    if contours.is_empty() {
        return None;
    }
    let shapes = contours.simplify(FillRule::NonZero, 0);
    let polys: Vec<geo::Polygon<f64>> = shapes
        .into_iter()
        .filter_map(|shape| {
            let mut rings = shape.into_iter().map(|c| geo_ring(&c)).filter(|r| r.0.len() >= 4);
            let exterior = rings.next()?;
            // The overlay's own convention is the opposite one, so every polygon is oriented
            // again by area sign rather than trusting any library's habit.
            Some(geo::Polygon::new(exterior, rings.collect()).orient(Direction::Default))
        })
        .filter(|p| surveyor_area(p.exterior()) > 0.0)
        .collect();
    (!polys.is_empty()).then(|| geo::MultiPolygon(polys))
}

/// A ring's integer points without repeated neighbours and without the closing point.
fn int_ring(ring: &geo::LineString<f64>) -> IntContour {
    let mut pts: IntContour = Vec::with_capacity(ring.0.len());
    for c in &ring.0 {
        let p = IntPoint::new(c.x as i32, c.y as i32);
        if pts.last() != Some(&p) {
            pts.push(p);
        }
    }
    while pts.len() > 1 && pts.first() == pts.last() {
        pts.pop();
    }
    pts
}

fn geo_ring(c: &IntContour) -> geo::LineString<f64> {
    let mut pts: Vec<geo::Coord<f64>> = c.iter().map(|p| geo::coord! { x: f64::from(p.x), y: f64::from(p.y) }).collect();
    if let Some(first) = pts.first().copied() {
        pts.push(first);
    }
    geo::LineString(pts)
}

/// The surveyor's (shoelace) area of a closed ring in its own axes; positive for an
/// MVT exterior ring in tile coordinates.
pub fn surveyor_area(ring: &geo::LineString<f64>) -> f64 {
    ring.0.windows(2).map(|w| w[0].x * w[1].y - w[1].x * w[0].y).sum::<f64>() / 2.0
}

#[cfg(test)]
mod tests {
    use super::*;

    const B: [f64; 4] = [0.0, 0.0, 4096.0, 4096.0];

    /// A square in map coordinates (y up) with the given winding.
    fn square(x0: f64, y0: f64, s: f64, ccw: bool) -> geo::LineString<f64> {
        let mut c = vec![(x0, y0), (x0 + s, y0), (x0 + s, y0 + s), (x0, y0 + s), (x0, y0)];
        if !ccw {
            c.reverse();
        }
        geo::LineString::from(c)
    }

    #[test]
    fn exterior_rings_get_positive_area_and_holes_negative_whatever_the_source_winding() {
        for (outer_ccw, hole_ccw) in [(true, false), (false, true), (true, true), (false, false)] {
            let p = geo::Polygon::new(square(100.0, 100.0, 1000.0, outer_ccw), vec![square(400.0, 400.0, 200.0, hole_ccw)]);
            let t = tile_polygons(&geo::MultiPolygon(vec![p]), B, 4096).expect("polygon left");
            assert_eq!(t.0.len(), 1);
            let p = &t.0[0];
            // 1000 × 1000 units, one unit per map metre here.
            assert_eq!(surveyor_area(p.exterior()), 1_000_000.0);
            assert_eq!(p.interiors().len(), 1, "the hole stays a hole");
            assert_eq!(surveyor_area(&p.interiors()[0]), -40_000.0);
        }
    }

    #[test]
    fn a_multipolygon_stays_one_geometry_with_several_exterior_rings() {
        let mp =
            geo::MultiPolygon(vec![geo::Polygon::new(square(0.0, 0.0, 100.0, true), vec![]), geo::Polygon::new(square(500.0, 500.0, 100.0, false), vec![])]);
        let t = tile_polygons(&mp, B, 4096).unwrap();
        assert_eq!(t.0.len(), 2);
        assert!(t.0.iter().all(|p| surveyor_area(p.exterior()) == 10_000.0));
    }

    #[test]
    fn rings_that_snap_to_nothing_are_dropped() {
        // 0.3 units wide: every vertex snaps onto one of two grid points.
        let thin = geo::Polygon::new(geo::LineString::from(vec![(10.1, 10.0), (10.4, 10.0), (10.4, 200.0), (10.1, 200.0), (10.1, 10.0)]), vec![]);
        assert!(tile_polygons(&geo::MultiPolygon(vec![thin]), B, 4096).is_none());
    }

    #[test]
    fn a_self_touching_ring_made_by_snapping_comes_out_as_valid_polygons() {
        use geo::{Area, Validation};
        // The notch's tip is 0.4 units above the bottom edge: valid before snapping, on the
        // edge after it.
        let ring: Vec<(f64, f64)> = vec![(0.0, 0.0), (10.0, 0.0), (10.0, 10.0), (4.6, 0.4), (0.0, 10.0), (0.0, 0.0)];
        let p = geo::Polygon::new(geo::LineString::from(ring.clone()), vec![]);
        assert!(p.is_valid());
        let rounded = geo::Polygon::new(geo::LineString::from(ring.iter().map(|(x, y)| (x.round(), y.round())).collect::<Vec<_>>()), vec![]);
        assert!(!rounded.is_valid(), "the fixture must break when merely rounded");
        // Map y up: flip so the tile grid (y down) sees the same shape.
        let flipped = p.map_coords(|c| geo::coord! { x: c.x, y: 4096.0 - c.y });
        let t = tile_polygons(&geo::MultiPolygon(vec![flipped]), B, 4096).unwrap();
        assert!(t.is_valid(), "{t:?}");
        for p in &t.0 {
            assert!(surveyor_area(p.exterior()) > 0.0);
        }
        // 100 minus the notch triangle (0,10)-(10,10)-(5,0) of area 50.
        assert_eq!(t.unsigned_area(), 50.0);
    }
}

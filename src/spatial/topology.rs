//! One border between neighbours for a set of polygons that were simplified one by one (SCB's
//! generalised DeSO, the demo data). Where two neighbours drew their common border with
//! different vertices, the map shows thin gaps and overlaps ("slivers") between them at every
//! zoom.
//!
//! [`share_boundaries`] turns the set into a partition, once, when the layers are built:
//!
//! 1. overlaps go to the area whose key sorts first (the same rule as the point-in-polygon join):
//!    every area loses what earlier areas already cover;
//! 2. each thin gap enclosed by the areas (a hole of their union no wider on average than
//!    `max_gap_width` and smaller than `max_gap_area`) is given to the neighbour whose border
//!    runs along most of it (by length).
//!
//! Both steps are exact polygon operations, so afterwards two neighbours share the very same
//! border vertices: a boundary exists once and both sides draw it. Work is bounded by an R-tree
//! over the areas' boxes (each area is only compared with the areas it may touch).

use geo::orient::{Direction, Orient};
use geo::{Area, BooleanOps, BoundingRect, Distance, Euclidean, MultiPolygon, Point, Polygon};
use rstar::{primitives::GeomWithData, primitives::Rectangle, RTree, AABB};

/// What [`share_boundaries`] changed, in square units of the input (m² in SWEREF 99 TM).
#[derive(Debug, Default, Clone, PartialEq)]
pub struct TopologyReport {
    pub overlap_removed: f64,
    pub gaps_filled: usize,
    pub gap_area_filled: f64,
}

fn rect(mp: &MultiPolygon<f64>) -> Option<Rectangle<[f64; 2]>> {
    mp.bounding_rect().map(|r| Rectangle::from_corners([r.min().x, r.min().y], [r.max().x, r.max().y]))
}

/// Makes the polygons a partition without slivers (see the module documentation). `keys` rank
/// the areas for overlaps (the smallest key keeps an overlap), one per polygon.
pub fn share_boundaries(polys: &[MultiPolygon<f64>], keys: &[&str], max_gap_width: f64, max_gap_area: f64) -> (Vec<MultiPolygon<f64>>, TopologyReport) {
    let mut report = TopologyReport::default();
    let items: Vec<GeomWithData<Rectangle<[f64; 2]>, usize>> = polys.iter().enumerate().filter_map(|(k, p)| rect(p).map(|r| GeomWithData::new(r, k))).collect();
    let tree = RTree::bulk_load(items);
    let touching = |mp: &MultiPolygon<f64>| -> Vec<usize> {
        match mp.bounding_rect() {
            Some(r) => tree.locate_in_envelope_intersecting(&AABB::from_corners([r.min().x, r.min().y], [r.max().x, r.max().y])).map(|i| i.data).collect(),
            None => vec![],
        }
    };
    let ranks_before = |a: usize, b: usize| (keys[a], a) < (keys[b], b);

    // 1. Overlaps: subtract the earlier neighbours' original polygons (their union equals the
    //    union of their trimmed versions, so the order of processing does not matter).
    let mut out: Vec<MultiPolygon<f64>> = Vec::with_capacity(polys.len());
    for (k, p) in polys.iter().enumerate() {
        let earlier: Vec<&MultiPolygon<f64>> = touching(p).into_iter().filter(|j| *j != k && ranks_before(*j, k)).map(|j| &polys[j]).collect();
        if earlier.is_empty() {
            out.push(p.orient(Direction::Default));
            continue;
        }
        let cover = earlier.iter().skip(1).fold(earlier[0].clone(), |acc, m| acc.union(*m));
        // Polygon operations may return either winding; unions below need one.
        let trimmed = p.difference(&cover).orient(Direction::Default);
        report.overlap_removed += p.unsigned_area() - trimmed.unsigned_area();
        out.push(trimmed);
    }

    // 2. Gaps: holes of the union, each to the neighbour nearest to most of its vertices.
    let parts: Vec<Polygon<f64>> = out.iter().flat_map(|m| m.0.iter().cloned()).collect();
    let union = geo::unary_union(parts.iter());
    for hole in union.0.iter().flat_map(|p| p.interiors().iter()) {
        let gap = Polygon::new(hole.clone(), vec![]);
        let area = gap.unsigned_area();
        let perimeter: f64 = hole.lines().map(|l| Euclidean.distance(l.start_point(), l.end_point())).sum();
        if area <= 0.0 || area > max_gap_area || perimeter == 0.0 || 2.0 * area / perimeter > max_gap_width {
            continue;
        }
        let gap_mp = MultiPolygon(vec![gap]);
        let candidates = touching(&gap_mp);
        if candidates.is_empty() {
            continue;
        }
        // Each edge of the gap votes with its length for the area nearest to it (sampled at a
        // quarter, half and three quarters of the edge).
        let mut votes = vec![0.0f64; candidates.len()];
        for l in hole.lines() {
            let len = Euclidean.distance(l.start_point(), l.end_point());
            for t in [0.25, 0.5, 0.75] {
                let p = Point::new(l.start.x + t * (l.end.x - l.start.x), l.start.y + t * (l.end.y - l.start.y));
                let best =
                    candidates.iter().enumerate().map(|(i, k)| (i, Euclidean.distance(&p, &out[*k]))).min_by(|a, b| a.1.total_cmp(&b.1).then(a.0.cmp(&b.0)));
                if let Some((i, _)) = best {
                    votes[i] += len / 3.0;
                }
            }
        }
        let winner = (0..candidates.len()).max_by(|a, b| {
            votes[*a].total_cmp(&votes[*b]).then_with(|| {
                if ranks_before(candidates[*b], candidates[*a]) {
                    std::cmp::Ordering::Less
                } else {
                    std::cmp::Ordering::Greater
                }
            })
        });
        if let Some(i) = winner {
            let k = candidates[i];
            out[k] = out[k].union(&gap_mp).orient(Direction::Default);
            report.gaps_filled += 1;
            report.gap_area_filled += area;
        }
    }
    (out, report)
}

/// Gaps and overlaps of a polygon set, in square units: `gaps` is the area of the holes in
/// their union smaller than `max_hole`, `overlaps` the area covered twice or more.
pub fn slivers(polys: &[MultiPolygon<f64>], max_hole: f64) -> (f64, f64) {
    let parts: Vec<Polygon<f64>> = polys.iter().flat_map(|m| m.orient(Direction::Default).0).collect();
    let union = geo::unary_union(parts.iter());
    let sum: f64 = parts.iter().map(|p| p.unsigned_area()).sum();
    let gaps: f64 = union.0.iter().flat_map(|p| p.interiors().iter()).map(|h| Polygon::new(h.clone(), vec![]).unsigned_area()).filter(|a| *a < max_hole).sum();
    (gaps, (sum - union.unsigned_area()).max(0.0))
}

#[cfg(test)]
mod tests {
    use super::*;
    use geo::polygon;

    fn mp(p: Polygon<f64>) -> MultiPolygon<f64> {
        MultiPolygon(vec![p])
    }

    #[test]
    fn an_overlap_goes_to_the_first_key_and_the_border_is_shared() {
        // The west square's east border bends out to x = 1004 at y = 500 over the east square:
        // an overlap triangle of base 1000 m and height 4 m, 2,000 m².
        let west = polygon![(x: 0.0, y: 0.0), (x: 1000.0, y: 0.0), (x: 1004.0, y: 500.0), (x: 1000.0, y: 1000.0), (x: 0.0, y: 1000.0)];
        let east = polygon![(x: 1000.0, y: 0.0), (x: 2000.0, y: 0.0), (x: 2000.0, y: 1000.0), (x: 1000.0, y: 1000.0)];
        let input = vec![mp(west.clone()), mp(east)];
        let (g0, o0) = slivers(&input, 1e6);
        assert!(g0 == 0.0 && (o0 - 2000.0).abs() < 1e-6, "{g0} {o0}");
        let (out, report) = share_boundaries(&input, &["0163C0001", "0163C0002"], 100.0, 1e6);
        assert!((report.overlap_removed - 2000.0).abs() < 1e-6, "{report:?}");
        let (g1, o1) = slivers(&out, 1e6);
        assert!(g1 < 1e-6 && o1 < 1e-6, "{g1} {o1}");
        assert!((out[0].unsigned_area() - west.unsigned_area()).abs() < 1e-9, "the first key keeps its polygon");
        assert!((out[1].unsigned_area() - 998_000.0).abs() < 1e-6, "1 km² less the 2,000 m² overlap");
    }

    #[test]
    fn a_thin_gap_goes_to_the_neighbour_along_most_of_it_and_a_wide_hole_stays() {
        // A gap 6 m wide and 1 km tall between x = 1000 and x = 1006, closed at top and bottom
        // by strips. East borders it along its whole height, west and north-west along half
        // each, so east wins the vote.
        let west = polygon![(x: 0.0, y: 0.0), (x: 1000.0, y: 0.0), (x: 1000.0, y: 500.0), (x: 0.0, y: 500.0)];
        let northwest = polygon![(x: 0.0, y: 500.0), (x: 1000.0, y: 500.0), (x: 1000.0, y: 1000.0), (x: 0.0, y: 1000.0)];
        let east = polygon![(x: 1006.0, y: 0.0), (x: 2000.0, y: 0.0), (x: 2000.0, y: 1000.0), (x: 1006.0, y: 1000.0)];
        let bottom = polygon![(x: 0.0, y: -100.0), (x: 2000.0, y: -100.0), (x: 2000.0, y: 0.0), (x: 0.0, y: 0.0)];
        let top = polygon![(x: 0.0, y: 1000.0), (x: 2000.0, y: 1000.0), (x: 2000.0, y: 1100.0), (x: 0.0, y: 1100.0)];
        let input = vec![mp(west), mp(east), mp(bottom), mp(top), mp(northwest)];
        let (g0, _) = slivers(&input, 1e6);
        assert!((g0 - 6000.0).abs() < 1e-6, "a 6 m × 1 km gap: {g0}");
        let (out, report) = share_boundaries(&input, &["a", "b", "c", "d", "e"], 50.0, 1e6);
        assert_eq!(report.gaps_filled, 1);
        assert!((out[1].unsigned_area() - (994_000.0 + 6000.0)).abs() < 1e-6, "east took the gap: {}", out[1].unsigned_area());
        assert!(slivers(&out, 1e6).0 < 1e-6);
        // With a 2 m width limit the 6 m gap is a real hole and stays.
        let (_, r2) = share_boundaries(&input, &["a", "b", "c", "d", "e"], 2.0, 1e6);
        assert_eq!(r2.gaps_filled, 0);
    }
}

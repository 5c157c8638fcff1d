//! Point-in-polygon join of incidents to DeSO areas.
//!
//! Rule for ambiguous points (documented, deterministic): a point is assigned to the area that
//! contains it, boundary included. When several areas qualify (a point on a shared border, or in
//! a sliver where simplified neighbours overlap), the area whose DeSO code sorts first wins.
//! This equals GeoPandas `sjoin(points, areas, predicate="intersects")` followed by keeping the
//! smallest DeSO code per point.

use geo::{BoundingRect, Intersects, MultiPolygon, Point, Polygon};
use rayon::prelude::*;
use rstar::{primitives::GeomWithData, primitives::Rectangle, RTree, AABB};

/// An R-tree over the polygon parts of a set of areas. Each part is indexed by its own bounding
/// box, so a multipart archipelago DeSO does not swallow its neighbours' queries.
pub struct AreaIndex {
    tree: RTree<GeomWithData<Rectangle<[f64; 2]>, u32>>,
    parts: Vec<(u32, Polygon<f64>)>,
    /// Rank of each area when sorted by code: the tie-break for ambiguous points.
    rank: Vec<u32>,
}

/// Result of joining many points.
#[derive(Debug, Clone, PartialEq)]
pub struct JoinResult {
    /// Area index per point, or `None` for points in no area.
    pub area: Vec<Option<u32>>,
    /// Points in no area.
    pub unassigned: usize,
    /// Points that lay in more than one area (border or overlap) and were resolved by the rule.
    pub ambiguous: usize,
}

impl AreaIndex {
    /// `codes[i]` is the code of `polygons[i]`; it is only used to break ties.
    pub fn new(polygons: &[MultiPolygon<f64>], codes: &[&str]) -> AreaIndex {
        assert_eq!(polygons.len(), codes.len(), "one code per polygon");
        let mut parts = Vec::new();
        let mut boxes = Vec::new();
        for (i, mp) in polygons.iter().enumerate() {
            for p in &mp.0 {
                if let Some(r) = p.bounding_rect() {
                    let id = parts.len() as u32;
                    boxes.push(GeomWithData::new(Rectangle::from_corners([r.min().x, r.min().y], [r.max().x, r.max().y]), id));
                    parts.push((i as u32, p.clone()));
                }
            }
        }
        let mut order: Vec<usize> = (0..codes.len()).collect();
        order.sort_by(|&a, &b| codes[a].cmp(codes[b]).then(a.cmp(&b)));
        let mut rank = vec![0u32; codes.len()];
        for (r, &i) in order.iter().enumerate() {
            rank[i] = r as u32;
        }
        AreaIndex { tree: RTree::bulk_load(boxes), parts, rank }
    }

    /// The area containing a point (boundary included), by the tie rule above, and whether it
    /// was ambiguous.
    pub fn locate(&self, x: f64, y: f64) -> (Option<u32>, bool) {
        let pt = Point::new(x, y);
        let mut best: Option<u32> = None;
        let mut hits = 0u32;
        for cand in self.tree.locate_all_at_point(&[x, y]) {
            let (area, poly) = &self.parts[cand.data as usize];
            if best == Some(*area) {
                continue;
            }
            if poly.intersects(&pt) {
                hits += 1;
                best = match best {
                    Some(b) if self.rank[b as usize] <= self.rank[*area as usize] => Some(b),
                    _ => Some(*area),
                };
            }
        }
        (best, hits > 1)
    }

    /// Whether any area lies within `dist` of a point (boundary distance; 0 inside).
    pub fn within(&self, x: f64, y: f64, dist: f64) -> bool {
        use geo::{Distance, Euclidean};
        let pt = Point::new(x, y);
        let env = AABB::from_corners([x - dist, y - dist], [x + dist, y + dist]);
        self.tree.locate_in_envelope_intersecting(&env).any(|c| Euclidean.distance(&pt, &self.parts[c.data as usize].1) <= dist)
    }

    /// Joins many points in parallel. Output order follows input order, whatever the threads.
    pub fn join(&self, xy: &[(f64, f64)]) -> JoinResult {
        let located: Vec<(Option<u32>, bool)> = xy.par_iter().with_min_len(4096).map(|&(x, y)| self.locate(x, y)).collect();
        let unassigned = located.iter().filter(|(a, _)| a.is_none()).count();
        let ambiguous = located.iter().filter(|(_, amb)| *amb).count();
        JoinResult { area: located.into_iter().map(|(a, _)| a).collect(), unassigned, ambiguous }
    }

    /// Areas whose bounding boxes meet an envelope (for bbox queries).
    pub fn candidates_in(&self, min: [f64; 2], max: [f64; 2]) -> Vec<u32> {
        let mut v: Vec<u32> = self.tree.locate_in_envelope_intersecting(&AABB::from_corners(min, max)).map(|c| self.parts[c.data as usize].0).collect();
        v.sort_unstable();
        v.dedup();
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use geo::polygon;

    fn square(x0: f64, y0: f64, s: f64) -> MultiPolygon<f64> {
        MultiPolygon(vec![polygon![(x: x0, y: y0), (x: x0 + s, y: y0), (x: x0 + s, y: y0 + s), (x: x0, y: y0 + s)]])
    }

    #[test]
    fn a_point_on_a_shared_border_goes_to_the_smaller_code() {
        let idx = AreaIndex::new(&[square(10.0, 0.0, 10.0), square(0.0, 0.0, 10.0)], &["B", "A"]);
        assert_eq!(idx.locate(10.0, 5.0), (Some(1), true));
        assert_eq!(idx.locate(15.0, 5.0), (Some(0), false));
        assert_eq!(idx.locate(25.0, 5.0), (None, false));
    }

    #[test]
    fn a_point_near_an_area_is_within_that_distance_and_a_far_one_is_not() {
        let idx = AreaIndex::new(&[square(0.0, 0.0, 10.0)], &["A"]);
        assert!(idx.within(5.0, 5.0, 0.0));
        assert!(idx.within(13.0, 5.0, 3.0));
        assert!(!idx.within(13.5, 5.0, 3.0));
    }

    #[test]
    fn join_counts_unassigned_and_ambiguous_points() {
        let idx = AreaIndex::new(&[square(0.0, 0.0, 10.0), square(10.0, 0.0, 10.0)], &["A", "B"]);
        let r = idx.join(&[(1.0, 1.0), (10.0, 1.0), (11.0, 1.0), (50.0, 50.0)]);
        assert_eq!(r.area, vec![Some(0), Some(0), Some(1), None]);
        assert_eq!((r.unassigned, r.ambiguous), (1, 1));
    }
}

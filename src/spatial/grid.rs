//! Square and hexagonal grids in SWEREF 99 TM. Square cells align to multiples of the cell size
//! (SCB's statistics grid uses 250 m and 1 km cells aligned the same way), so a cell's id encodes
//! its lower-left corner: `250m_E667000N6591250`.

use geo::{coord, Contains, MultiPolygon, Polygon, Rect};
use serde::Serialize;
use std::collections::BTreeMap;

#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Shape {
    Square,
    /// Flat-topped hexagons; `cell_size_m` is the distance between opposite edges' centres
    /// along x (Esri's hexagon of "cell size" c has side c/√3).
    Hexagon,
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct GridSpec {
    pub cell_size_m: f64,
    pub shape: Shape,
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct CellKey(pub i64, pub i64);

#[derive(Debug, Clone, Serialize)]
pub struct Cell {
    pub id: String,
    pub key: CellKey,
    pub centre: [f64; 2],
    #[serde(skip)]
    pub polygon: Polygon<f64>,
}

impl GridSpec {
    pub fn square(cell_size_m: f64) -> GridSpec {
        GridSpec { cell_size_m, shape: Shape::Square }
    }

    fn hex_side(&self) -> f64 {
        self.cell_size_m / 3f64.sqrt()
    }

    /// The cell containing a point (lower-left inclusive for squares).
    pub fn key_of(&self, x: f64, y: f64) -> CellKey {
        let s = self.cell_size_m;
        match self.shape {
            Shape::Square => CellKey((x / s).floor() as i64, (y / s).floor() as i64),
            Shape::Hexagon => {
                // Axial coordinates of flat-topped hexagons, cube rounding.
                let a = self.hex_side();
                let q = (2.0 / 3.0 * x) / a;
                let r = (-1.0 / 3.0 * x + 3f64.sqrt() / 3.0 * y) / a;
                let (cx, cz) = (q, r);
                let cy = -cx - cz;
                let (mut rx, ry, mut rz) = (cx.round(), cy.round(), cz.round());
                let (dx, dy, dz) = ((rx - cx).abs(), (ry - cy).abs(), (rz - cz).abs());
                if dx > dy && dx > dz {
                    rx = -ry - rz;
                } else if dy <= dz {
                    rz = -rx - ry;
                }
                CellKey(rx as i64, rz as i64)
            }
        }
    }

    pub fn cell(&self, key: &CellKey) -> Cell {
        let s = self.cell_size_m;
        match self.shape {
            Shape::Square => {
                let (x0, y0) = (key.0 as f64 * s, key.1 as f64 * s);
                Cell {
                    id: format!("{}m_E{}N{}", fmt_m(s), fmt_m(x0), fmt_m(y0)),
                    key: key.clone(),
                    centre: [x0 + s / 2.0, y0 + s / 2.0],
                    polygon: Rect::new(coord! {x: x0, y: y0}, coord! {x: x0 + s, y: y0 + s}).to_polygon(),
                }
            }
            Shape::Hexagon => {
                let a = self.hex_side();
                let cx = a * 1.5 * key.0 as f64;
                let cy = a * 3f64.sqrt() * (key.1 as f64 + key.0 as f64 / 2.0);
                let ring: Vec<_> = (0..6)
                    .map(|k| {
                        let ang = std::f64::consts::PI / 3.0 * k as f64;
                        coord! {x: cx + a * ang.cos(), y: cy + a * ang.sin()}
                    })
                    .collect();
                Cell {
                    id: format!("hex{}m_q{}r{}", fmt_m(s), key.0, key.1),
                    key: key.clone(),
                    centre: [cx, cy],
                    polygon: Polygon::new(geo::LineString::from(ring), vec![]),
                }
            }
        }
    }

    /// Counts points per cell; only cells with points appear.
    pub fn count(&self, xy: &[[f64; 2]]) -> BTreeMap<CellKey, u64> {
        let mut m = BTreeMap::new();
        for p in xy {
            *m.entry(self.key_of(p[0], p[1])).or_insert(0) += 1;
        }
        m
    }

    /// Every cell whose centre lies in the extent (and, with a mask, inside a mask polygon):
    /// the fishnet of an analysis, zero cells included.
    pub fn cover(&self, extent: [f64; 4], mask: Option<&[MultiPolygon<f64>]>) -> Vec<Cell> {
        let [x0, y0, x1, y1] = extent;
        let s = self.cell_size_m;
        let mut keys = std::collections::BTreeSet::new();
        let step = if self.shape == Shape::Square { s } else { self.hex_side() };
        let mut y = (y0 / step).floor() * step;
        while y <= y1 + step {
            let mut x = (x0 / step).floor() * step;
            while x <= x1 + step {
                keys.insert(self.key_of(x + step / 2.0, y + step / 2.0));
                x += step;
            }
            y += step;
        }
        keys.into_iter()
            .map(|k| self.cell(&k))
            .filter(|c| c.centre[0] >= x0 && c.centre[0] <= x1 && c.centre[1] >= y0 && c.centre[1] <= y1)
            .filter(|c| mask.is_none_or(|m| m.iter().any(|p| p.contains(&geo::Point::new(c.centre[0], c.centre[1])))))
            .collect()
    }
}

fn fmt_m(v: f64) -> String {
    if v.fract() == 0.0 {
        format!("{}", v as i64)
    } else {
        format!("{v}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn square_cells_align_to_multiples_and_ids_encode_the_lower_left_corner() {
        let g = GridSpec::square(250.0);
        let k = g.key_of(667_123.0, 6_591_499.0);
        let c = g.cell(&k);
        assert_eq!(c.id, "250m_E667000N6591250");
        assert_eq!(c.centre, [667_125.0, 6_591_375.0]);
        assert_eq!(g.key_of(667_000.0, 6_591_250.0), k, "lower-left corner belongs to the cell");
    }

    #[test]
    fn a_hexagon_contains_the_points_assigned_to_it() {
        let g = GridSpec { cell_size_m: 300.0, shape: Shape::Hexagon };
        for (x, y) in [(667_123.0, 6_591_499.0), (10.0, 20.0), (-500.0, 730.0), (1234.5, -987.6)] {
            let c = g.cell(&g.key_of(x, y));
            assert!(
                c.polygon.contains(&geo::Point::new(x, y)) || geo::Distance::distance(&geo::Euclidean, &geo::Point::new(x, y), &c.polygon) < 1e-6,
                "{x} {y} -> {}",
                c.id
            );
        }
    }

    #[test]
    fn counts_go_to_the_right_cells() {
        let g = GridSpec::square(100.0);
        let m = g.count(&[[5.0, 5.0], [99.9, 0.0], [100.0, 0.0], [-1.0, -1.0]]);
        assert_eq!(m[&CellKey(0, 0)], 2);
        assert_eq!(m[&CellKey(1, 0)], 1);
        assert_eq!(m[&CellKey(-1, -1)], 1);
    }
}

/// Counts of timed points per grid cell and time step: the space-time cube of emerging hot
/// spot analysis. Steps start on the Monday of the first point's ISO week; only cells with at
/// least one point appear (as in ArcGIS, empty locations are left out).
#[derive(Debug, Clone)]
pub struct SpaceTimeCube {
    pub cells: Vec<Cell>,
    /// `counts[cell][step]`.
    pub counts: Vec<Vec<f64>>,
    pub start: chrono::NaiveDate,
    pub steps: usize,
}

pub fn space_time_cube(points: &[([f64; 2], chrono::NaiveDateTime)], grid: &GridSpec, step_days: i64) -> Option<SpaceTimeCube> {
    use chrono::Datelike;
    let t0 = points.iter().map(|p| p.1).min()?;
    let start = t0.date() - chrono::Duration::days(t0.date().weekday().num_days_from_monday() as i64);
    let step_of = |t: &chrono::NaiveDateTime| ((t.date() - start).num_days() / step_days.max(1)) as usize;
    let steps = points.iter().map(|p| step_of(&p.1)).max().unwrap_or(0) + 1;
    let mut cube: BTreeMap<CellKey, Vec<f64>> = BTreeMap::new();
    for (xy, t) in points {
        cube.entry(grid.key_of(xy[0], xy[1])).or_insert_with(|| vec![0.0; steps])[step_of(t)] += 1.0;
    }
    Some(SpaceTimeCube { cells: cube.keys().map(|k| grid.cell(k)).collect(), counts: cube.into_values().collect(), start, steps })
}

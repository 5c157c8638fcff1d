//! The rules every incident row is checked against, shared by the CSV stream and OGR sources,
//! in three stages: the row's own fields (parallel), reprojection and place (parallel, a batch
//! of coordinates at a time), then duplicate ids (in file order, on one thread).

use super::Problem;
use crate::io::{self, parse_number, Record};
use crate::model::parse_datetime;
use crate::model::{normalise_reporter, Category, CategoryMap, Incident, Precision, WORKING_EPSG};
use crate::spatial::AreaIndex;
use gdal::spatial_ref::CoordTransform;
use std::cell::RefCell;
use std::collections::HashMap;

/// Where the coordinates of a row are: the feature geometry, or two columns.
#[derive(Debug, Clone)]
pub(crate) enum Coords {
    Geometry,
    Columns { x: usize, y: usize },
}

/// Column positions (in the source's column list) of everything an incident row needs.
#[derive(Debug, Clone)]
pub(crate) struct Plan {
    pub id: Option<usize>,
    pub cat: usize,
    pub date: usize,
    pub rep: Option<usize>,
    pub prec: Option<usize>,
    pub desc: Option<usize>,
    pub coords: Coords,
    pub names: Vec<String>,
    pub src_epsg: u32,
    pub geographic: bool,
}

/// A row that passed its own checks; `x`, `y` in the source CRS until placed.
pub(crate) struct Checked {
    pub x: f64,
    pub y: f64,
    pub inc: Incident,
}

/// Why one row is refused, as shown beside its line.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub(crate) struct Refusal(pub String);

/// A batch that cannot be reprojected at all: the source CRS, not a row, is at fault.
#[derive(Debug, thiserror::Error)]
#[error("cannot reproject to EPSG:3006: {0}")]
pub(crate) struct ReprojectError(#[from] crate::crs::CrsError);

/// What the parallel stages make of one row.
pub(crate) enum Outcome {
    Bad(Refusal),
    Good { inc: Incident, src: (f64, f64), placed: bool },
}

pub(crate) struct Rules<'a> {
    pub plan: Plan,
    pub cmap: CategoryMap,
    pub default_precision: Precision,
    pub default_reporter: Option<&'a str>,
    pub import_id: &'a str,
}

impl Rules<'_> {
    fn coords<'s>(&self, get: &dyn Fn(usize) -> &'s str, geom: Option<&geo::Geometry<f64>>) -> Result<(f64, f64), Refusal> {
        match &self.plan.coords {
            Coords::Geometry => match geom {
                Some(geo::Geometry::Point(p)) => Ok((p.x(), p.y())),
                Some(geo::Geometry::MultiPoint(mp)) if mp.0.len() == 1 => Ok((mp.0[0].x(), mp.0[0].y())),
                Some(other) => Err(Refusal(format!("expected a point, found {}", super::geom_name(other)))),
                None => Err(Refusal("missing geometry".into())),
            },
            Coords::Columns { x, y } => {
                let (rx, ry) = (get(*x), get(*y));
                let (xn, yn) = (&self.plan.names[*x], &self.plan.names[*y]);
                if rx.is_empty() || ry.is_empty() {
                    return Err(Refusal(format!("missing coordinate ({xn}='{rx}', {yn}='{ry}')")));
                }
                match (parse_number(rx), parse_number(ry)) {
                    (Some(a), Some(b)) => Ok((a, b)),
                    _ => Err(Refusal(format!("coordinates are not numbers ({xn}='{rx}', {yn}='{ry}')"))),
                }
            }
        }
    }

    fn axes(&self, x: f64, y: f64) -> Result<(), Refusal> {
        if self.plan.geographic {
            // Sweden spans longitude 10.9–24.2 and latitude 55.3–69.1: no overlap, so a swap is certain.
            if (54.0..=70.0).contains(&x) && (10.0..=25.0).contains(&y) {
                return Err(Refusal(format!("latitude and longitude look swapped (lon={x}, lat={y})")));
            }
            if !(-180.0..=180.0).contains(&x) || !(-90.0..=90.0).contains(&y) {
                return Err(Refusal(format!("({x}, {y}) are not longitude/latitude degrees; wrong --crs?")));
            }
        } else if self.plan.src_epsg == WORKING_EPSG && !io::inside_sweden(x, y) && io::inside_sweden(y, x) {
            return Err(Refusal(format!(
                "easting and northing look swapped (E={x}, N={y}); in Swedish usage X is often the northing: map the columns explicitly"
            )));
        }
        Ok(())
    }

    /// Checks one row's own fields. `get(i)` is column `i`'s value, `seq` the 0-based record
    /// number (ids of rows without one are made from it), `cats` a per-batch label cache.
    pub fn check<'s>(
        &self,
        get: &dyn Fn(usize) -> &'s str,
        geom: Option<&geo::Geometry<f64>>,
        seq: usize,
        cats: &mut HashMap<&'s str, Result<Category, Refusal>>,
    ) -> Result<Checked, Refusal> {
        let (x, y) = self.coords(get, geom)?;
        self.axes(x, y)?;
        let opt = |c: Option<usize>| c.map(get).unwrap_or("");
        let cat_raw = get(self.plan.cat);
        let category = cats.entry(cat_raw).or_insert_with(|| self.cmap.lookup(cat_raw).map_err(|e| Refusal(e.to_string()))).clone()?;
        let date_raw = get(self.plan.date);
        let occurred_at = parse_datetime(date_raw).ok_or_else(|| Refusal(format!("date '{date_raw}' cannot be read (use 2025-03-14 or 2025-03-14 18:30)")))?;
        let precision = match opt(self.plan.prec) {
            "" => self.default_precision,
            p => Precision::parse(p).ok_or_else(|| Refusal(format!("precision '{p}' is not one of exact, address, street, area, municipality")))?,
        };
        let reported_by = match opt(self.plan.rep) {
            "" => self.default_reporter.unwrap_or("okand").to_string(),
            r => normalise_reporter(r),
        };
        let id = match opt(self.plan.id).trim() {
            "" => format!("{}-{}", self.import_id, seq + 1),
            s => s.to_string(),
        };
        let inc = Incident {
            id,
            category,
            source_label: cat_raw.trim().to_string(),
            occurred_at,
            reported_by,
            precision,
            description: opt(self.plan.desc).to_string(),
            import_id: self.import_id.to_string(),
            location: geo::Point::new(0.0, 0.0),
        };
        Ok(Checked { x, y, inc })
    }
}

/// "In Sweden": inside a stored DeSO polygon or within 200 m of one; where no stored area is
/// near, within 5 km of SCB's generalised county outline (which has holes for lakes and cuts
/// off skerries, so it must not overrule the areas).
pub(crate) struct Place {
    areas: Option<AreaIndex>,
}

/// How far outside a stored area a point still counts as in Sweden (a quay, a jetty, a
/// simplified shore).
pub const AREA_MARGIN_M: f64 = 200.0;

impl Place {
    pub fn new(areas: &[crate::model::Area]) -> Place {
        if areas.is_empty() {
            return Place { areas: None };
        }
        let polys: Vec<geo::MultiPolygon<f64>> = areas.iter().map(|a| a.geometry.clone()).collect();
        let codes: Vec<&str> = areas.iter().map(|a| a.deso.as_str()).collect();
        Place { areas: Some(AreaIndex::new(&polys, &codes)) }
    }

    pub fn in_sweden(&self, x: f64, y: f64) -> bool {
        if !x.is_finite() || !y.is_finite() || !io::inside_sweden(x, y) {
            return false;
        }
        if let Some(ix) = &self.areas {
            if ix.locate(x, y).0.is_some() || ix.within(x, y, AREA_MARGIN_M) {
                return true;
            }
        }
        io::in_sweden(x, y)
    }
}

thread_local! {
    /// PROJ transforms are not shareable between threads: one per worker thread, per source CRS.
    static TO_3006: RefCell<Option<(u32, CoordTransform)>> = const { RefCell::new(None) };
}

/// Reprojects a batch of checked rows (one PROJ call for all of them) and places each.
pub(crate) fn place_batch(rows: Vec<Result<Checked, Refusal>>, src_epsg: u32, place: &Place) -> Result<Vec<Outcome>, ReprojectError> {
    let mut xs: Vec<f64> = Vec::with_capacity(rows.len());
    let mut ys: Vec<f64> = Vec::with_capacity(rows.len());
    for c in rows.iter().flatten() {
        xs.push(c.x);
        ys.push(c.y);
    }
    if src_epsg != WORKING_EPSG && !xs.is_empty() {
        TO_3006.with(|cell| {
            let mut slot = cell.borrow_mut();
            if slot.as_ref().map(|(e, _)| *e) != Some(src_epsg) {
                let t = io::transform_between(src_epsg, WORKING_EPSG)?;
                *slot = Some((src_epsg, t));
            }
            let (_, t) = slot.as_ref().expect("set above");
            io::transform_coords(t, &mut xs, &mut ys).map_err(ReprojectError)
        })?;
    }
    let mut k = 0;
    let out = rows
        .into_iter()
        .map(|r| match r {
            Err(reason) => Outcome::Bad(reason),
            Ok(mut c) => {
                let (x, y) = (xs[k], ys[k]);
                k += 1;
                c.inc.location = geo::Point::new(x, y);
                Outcome::Good { inc: c.inc, src: (c.x, c.y), placed: place.in_sweden(x, y) }
            }
        })
        .collect();
    Ok(out)
}

/// Ids seen so far, compactly: the id bytes in one arena and a hash table of (offset, length,
/// first line), about 30 bytes an id, so ten million ids stay in a few hundred MB.
pub(crate) struct IdSet {
    arena: Vec<u8>,
    table: hashbrown::HashTable<(u64, u32, u32)>,
    hasher: std::hash::RandomState,
}

/// The `first` value of ids that were already in the store.
pub const IN_STORE: u32 = u32::MAX;

impl IdSet {
    pub fn new() -> IdSet {
        IdSet { arena: Vec::new(), table: hashbrown::HashTable::new(), hasher: std::hash::RandomState::new() }
    }

    fn text(&self, e: &(u64, u32, u32)) -> &[u8] {
        &self.arena[e.0 as usize..e.0 as usize + e.1 as usize]
    }

    /// Records `id` as first seen at `first`, or returns where it was first seen.
    pub fn first_or_insert(&mut self, id: &str, first: u32) -> Option<u32> {
        use std::hash::BuildHasher;
        let h = self.hasher.hash_one(id);
        if let Some(e) = self.table.find(h, |e| self.text(e) == id.as_bytes()) {
            return Some(e.2);
        }
        let entry = (self.arena.len() as u64, id.len() as u32, first);
        self.arena.extend_from_slice(id.as_bytes());
        let (arena, hasher) = (&self.arena, &self.hasher);
        self.table.insert_unique(h, entry, |e| hasher.hash_one(std::str::from_utf8(&arena[e.0 as usize..e.0 as usize + e.1 as usize]).unwrap_or("")));
        None
    }
}

/// The sequential stage: duplicate ids in file order, then the place verdict. Returns the
/// incident to write, or records the problem with the row it came from.
pub(crate) fn settle(
    outcome: Outcome,
    seq: u32,
    ids: &mut IdSet,
    location: &dyn Fn(u32) -> String,
    record: &dyn Fn() -> Record,
    bad: &mut Vec<(Record, Problem)>,
) -> Option<Incident> {
    let reason = match outcome {
        Outcome::Bad(reason) => reason.0,
        Outcome::Good { inc, src, placed } => match ids.first_or_insert(&inc.id, seq) {
            Some(IN_STORE) => format!("id '{}' is already in the store", inc.id),
            Some(first) => format!("duplicate id '{}'; first at {}", inc.id, location(first)),
            None if placed => return Some(inc),
            None => {
                let (x, y) = (inc.location.x(), inc.location.y());
                format!("point ({}, {}) lies outside Sweden (E {x:.0} N {y:.0} in EPSG:3006)", src.0, src.1)
            }
        },
    };
    bad.push((record(), Problem { location: location(seq), reason }));
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_id_set_remembers_where_each_id_was_first_seen() {
        let mut s = IdSet::new();
        assert_eq!(s.first_or_insert("A1", IN_STORE), None);
        assert_eq!(s.first_or_insert("B1", 2), None);
        assert_eq!(s.first_or_insert("B1", 3), Some(2));
        assert_eq!(s.first_or_insert("A1", 4), Some(IN_STORE));
        for i in 0..10_000 {
            assert_eq!(s.first_or_insert(&format!("X{i}"), i), None);
        }
        assert_eq!(s.first_or_insert("X9999", 1), Some(9999));
    }
}

//! Import of areas, indicators and incidents: detect columns, validate every row, then write
//! all of it in one store transaction, or nothing.
//!
//! All-or-nothing is the default: any invalid row rejects the file and the store is not even
//! opened for writing, so it stays byte-for-byte unchanged. `skip_invalid` imports the good rows
//! and hands back the rejects (with reasons) for a CSV.

use crate::io::{self, parse_number, read_source, IoError, Record, SourceData, SourceOptions};
use crate::model::{fold, normalise_reporter, Area, CategoryMap, ImportRecord, Incident, IndicatorValue, Precision, WORKING_EPSG};
use crate::store::{ImportBatch, Store, StoreError};
use chrono::{NaiveDate, NaiveDateTime};
use geo::{Area as _, Validation};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};

/// One problem with one row, located by `FILE:LINE` or `FILE:feature N`.
#[derive(Debug, Clone, PartialEq)]
pub struct Problem {
    pub location: String,
    pub reason: String,
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.location, self.reason)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error(transparent)]
    Source(#[from] IoError),
    #[error("{file}: {reason}")]
    Columns { file: String, reason: String },
    #[error("{file}: {} invalid row(s); nothing was imported:\n{}", problems.len(), problems.iter().map(|p| format!("  {p}")).collect::<Vec<_>>().join("\n"))]
    Invalid { file: String, problems: Vec<Problem> },
    #[error(transparent)]
    Store(#[from] StoreError),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImportKind {
    Areas,
    Indicators,
    Incidents,
}

impl ImportKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ImportKind::Areas => "areas",
            ImportKind::Indicators => "indicators",
            ImportKind::Incidents => "incidents",
        }
    }
}

#[derive(Debug, Clone, Default)]
pub struct ImportOptions {
    pub source: SourceOptions,
    /// Explicit column mapping: canonical name (`id`, `category`, `date`, `x`, `y`, `deso`, …) → column.
    pub columns: HashMap<String, String>,
    pub skip_invalid: bool,
    pub category_map: Option<CategoryMap>,
    /// DeSO edition for area and indicator files without a `version` column.
    pub deso_version: Option<String>,
    /// Year for indicator files without a `year` column.
    pub year: Option<i32>,
    /// Per-column year overrides for indicator files (`pop` → 2025 when most columns are 2024).
    pub column_years: HashMap<String, i32>,
    /// Source text recorded with each indicator value.
    pub source_label: Option<String>,
    /// Reporter for files without a reporter column (e.g. `polis` for Polisen API exports).
    pub reported_by: Option<String>,
    /// Precision for files without a precision column (default `exact`).
    pub precision: Option<Precision>,
    /// Invalid polygons are repaired (buffer-0 style via GDAL MakeValid) with a warning, unless this is set.
    pub reject_invalid_polygons: bool,
    /// Recorded with the import as who made it (`cli` when not given).
    pub imported_by: Option<String>,
}

#[derive(Debug, Clone)]
pub struct ImportReport {
    pub record: ImportRecord,
    pub warnings: Vec<String>,
    pub rejects: Vec<(Record, Problem)>,
    pub columns_used: BTreeMap<String, String>,
}

/// Runs an import end to end. `progress` is called with (done, total) while validating.
pub fn run_import(store: &dyn Store, kind: ImportKind, path: &Path, opts: &ImportOptions, progress: &dyn Fn(u64, u64)) -> Result<ImportReport, ImportError> {
    let data = read_source(path, &opts.source)?;
    let sha = io::sha256_file(path)?;
    let import_id = format!("{}-{}", kind.as_str(), &sha[..12]);
    if store.imports().map(|v| v.iter().any(|r| r.sha256 == sha && r.kind == kind.as_str())).unwrap_or(false) {
        return Err(ImportError::Columns {
            file: data.file_name.clone(),
            reason: format!("this exact file (sha256 {}) was already imported as {import_id}", &sha[..12]),
        });
    }
    let mut warnings = Vec::new();
    let mut columns_used = BTreeMap::new();
    let total = data.records.len() as u64;
    let (batch, accepted, rejects) = match kind {
        ImportKind::Areas => {
            let (ok, bad) = validate_areas(store, &data, opts, &mut warnings, &mut columns_used)?;
            let n = ok.len();
            (ImportBatch::Areas(ok), n, bad)
        }
        ImportKind::Indicators => {
            let (ok, bad) = validate_indicators(store, &data, opts, &mut columns_used)?;
            let n = ok.len();
            (ImportBatch::Indicators(ok), n, bad)
        }
        ImportKind::Incidents => {
            let (ok, bad) = validate_incidents(store, &data, opts, &import_id, &mut columns_used, progress)?;
            let n = ok.len();
            (ImportBatch::Incidents(ok), n, bad)
        }
    };
    progress(total, total);
    if !rejects.is_empty() && !opts.skip_invalid {
        return Err(ImportError::Invalid { file: data.file_name.clone(), problems: rejects.into_iter().map(|(_, p)| p).collect() });
    }
    if accepted == 0 {
        return Err(ImportError::Columns { file: data.file_name.clone(), reason: "no valid rows to import".into() });
    }
    let record = ImportRecord {
        import_id,
        kind: kind.as_str().into(),
        file_name: data.file_name.clone(),
        sha256: sha,
        imported_at: chrono::Local::now().format("%Y-%m-%dT%H:%M:%S%:z").to_string(),
        accepted: accepted as u64,
        rejected: rejects.len() as u64,
        imported_by: opts.imported_by.clone().unwrap_or_else(|| "cli".into()),
    };
    store.write_import(&batch, &record)?;
    Ok(ImportReport { record, warnings, rejects, columns_used })
}

/// Writes rejected rows with their reason to a CSV (semicolon, UTF-8 BOM), for `--skip-invalid`.
pub fn write_rejects(path: &Path, rejects: &[(Record, Problem)]) -> Result<(), IoError> {
    let werr = |e: String| IoError::Write { path: PathBuf::from(path), reason: e };
    let mut w = csv::WriterBuilder::new().delimiter(b';').from_path(path).map_err(|e| werr(e.to_string()))?;
    let mut header = vec!["location".to_string(), "reason".to_string()];
    if let Some((r, _)) = rejects.first() {
        header.extend(r.fields.iter().map(|(k, _)| k.clone()));
    }
    w.write_record(&header).map_err(|e| werr(e.to_string()))?;
    for (r, p) in rejects {
        let mut row = vec![p.location.clone(), p.reason.clone()];
        row.extend(r.fields.iter().map(|(_, v)| v.clone()));
        w.write_record(&row).map_err(|e| werr(e.to_string()))?;
    }
    w.flush().map_err(|e| werr(e.to_string()))
}

/// Finds a column: an explicit mapping wins; else the first alias present (folded comparison).
fn find_column(data: &SourceData, opts: &ImportOptions, canonical: &str, aliases: &[&str]) -> Result<Option<String>, ImportError> {
    if let Some(explicit) = opts.columns.get(canonical) {
        return match data.columns.iter().find(|c| fold(c) == fold(explicit)) {
            Some(c) => Ok(Some(c.clone())),
            None => Err(ImportError::Columns {
                file: data.file_name.clone(),
                reason: format!("mapped column '{explicit}' for {canonical} does not exist (columns: {})", data.columns.join(", ")),
            }),
        };
    }
    for a in aliases {
        if let Some(c) = data.columns.iter().find(|c| fold(c) == fold(a)) {
            return Ok(Some(c.clone()));
        }
    }
    Ok(None)
}

fn field<'a>(r: &'a Record, col: &Option<String>) -> &'a str {
    match col {
        Some(c) => r.fields.iter().find(|(k, _)| k == c).map(|(_, v)| v.as_str()).unwrap_or(""),
        None => "",
    }
}

fn deso_code_ok(code: &str) -> bool {
    let b = code.as_bytes();
    b.len() == 9 && b[..4].iter().all(u8::is_ascii_digit) && matches!(b[4], b'A' | b'B' | b'C') && b[5..].iter().all(u8::is_ascii_digit)
}

/// SCB's API writes `0163C1011_DeSO2025`; the suffix names the edition.
fn split_deso(raw: &str) -> (String, Option<String>) {
    let t = raw.trim();
    match t.split_once("_DeSO") {
        Some((code, ed)) => (code.to_string(), Some(ed.to_string())),
        None => (t.to_string(), None),
    }
}

const AREA_CODE_ALIASES: &[&str] = &["deso", "desokod", "deso_kod", "deso_2018", "deso_2025", "code", "kod", "id", "region"];

fn validate_areas(
    store: &dyn Store,
    data: &SourceData,
    opts: &ImportOptions,
    warnings: &mut Vec<String>,
    used: &mut BTreeMap<String, String>,
) -> Result<(Vec<Area>, Vec<(Record, Problem)>), ImportError> {
    let code_col = find_column(data, opts, "deso", AREA_CODE_ALIASES)?.ok_or_else(|| ImportError::Columns {
        file: data.file_name.clone(),
        reason: format!("no DeSO code column (looked for {}; columns: {})", AREA_CODE_ALIASES.join(", "), data.columns.join(", ")),
    })?;
    used.insert("deso".into(), code_col.clone());
    let regso_col = find_column(data, opts, "regso", &["regso", "regsokod", "regso_kod", "regsokod_2020"])?;
    let regso_name_col = find_column(data, opts, "regso_name", &["regso_name", "regsonamn", "regso_namn", "regso_2020"])?;
    let version_col = find_column(data, opts, "version", &["version", "deso_version"])?;
    let pop_col = find_column(data, opts, "population", &["population", "pop", "befolkning", "folkmangd", "pop_2023", "pop_2024", "pop_2025"])?;
    for (k, c) in [("regso", &regso_col), ("regso_name", &regso_name_col), ("version", &version_col), ("population", &pop_col)] {
        if let Some(c) = c {
            used.insert(k.into(), c.clone());
        }
    }
    if data.records.iter().any(|r| r.geometry.is_none() && r.problem.is_none()) && data.is_text {
        return Err(ImportError::Columns {
            file: data.file_name.clone(),
            reason: "area files need polygon geometry (GeoPackage, GeoJSON, Shapefile, FlatGeobuf); a CSV has none".into(),
        });
    }
    let Some(src_epsg) = data.epsg else {
        return Err(ImportError::Columns { file: data.file_name.clone(), reason: "the file declares no CRS; pass --crs EPSG:XXXX".into() });
    };
    let existing = store.area_keys().or_else(|e| match e {
        StoreError::Missing { .. } => Ok(HashSet::new()),
        e => Err(e),
    })?;
    let to3006 = if src_epsg == WORKING_EPSG { None } else { Some(io::transform_between(src_epsg, WORKING_EPSG)?) };
    let mut seen: HashMap<(String, String), String> = HashMap::new();
    let mut ok = Vec::new();
    let mut bad = Vec::new();
    for r in &data.records {
        let problem = |reason: String| Problem { location: r.location.clone(), reason };
        if let Some(p) = &r.problem {
            bad.push((r.clone(), problem(p.clone())));
            continue;
        }
        let (code, edition) = split_deso(field(r, &Some(code_col.clone())));
        if !deso_code_ok(&code) {
            bad.push((r.clone(), problem(format!("'{code}' is not a DeSO code (like 0163C1170)"))));
            continue;
        }
        let version = field(r, &version_col).trim().to_string();
        let version = if !version.is_empty() {
            version.split('_').next().unwrap_or("").to_string()
        } else if let Some(v) = edition.or_else(|| opts.deso_version.clone()) {
            v
        } else {
            return Err(ImportError::Columns {
                file: data.file_name.clone(),
                reason: "the DeSO edition is not in the file; pass --deso-version 2018 or 2025".into(),
            });
        };
        let Some(geom) = &r.geometry else {
            bad.push((r.clone(), problem("missing geometry".into())));
            continue;
        };
        let mp = match geom {
            geo::Geometry::Polygon(p) => geo::MultiPolygon(vec![p.clone()]),
            geo::Geometry::MultiPolygon(m) => m.clone(),
            other => {
                bad.push((r.clone(), problem(format!("expected a polygon, found {}", geom_name(other)))));
                continue;
            }
        };
        let mp = match &to3006 {
            Some(t) => match reproject_multipolygon(&mp, t) {
                Ok(m) => m,
                Err(e) => {
                    bad.push((r.clone(), problem(format!("cannot reproject to EPSG:3006: {e}"))));
                    continue;
                }
            },
            None => mp,
        };
        let mp = if mp.is_valid() {
            mp
        } else {
            let why = mp.validation_errors().first().map(|e| e.to_string()).unwrap_or_default();
            if opts.reject_invalid_polygons {
                bad.push((r.clone(), problem(format!("invalid polygon: {why}"))));
                continue;
            }
            match repair(&mp) {
                Some(fixed) => {
                    warnings.push(format!("{}: invalid polygon ({why}) repaired with GDAL MakeValid", r.location));
                    fixed
                }
                None => {
                    bad.push((r.clone(), problem(format!("invalid polygon that cannot be repaired: {why}"))));
                    continue;
                }
            }
        };
        if mp.unsigned_area() <= 0.0 {
            bad.push((r.clone(), problem("polygon has zero area".into())));
            continue;
        }
        let c = geo::Centroid::centroid(&mp).map(|p| (p.x(), p.y())).unwrap_or((0.0, 0.0));
        // An archipelago DeSO can have its centroid at sea: any vertex on Swedish ground will do.
        let on_land = || {
            use geo::CoordsIter;
            let n = mp.coords_count().max(1);
            mp.coords_iter().step_by((n / 200).max(1)).any(|v| io::in_sweden(v.x, v.y))
        };
        if !io::in_sweden(c.0, c.1) && !on_land() {
            bad.push((r.clone(), problem(format!("polygon lies outside Sweden (centroid E {:.0} N {:.0} in EPSG:3006)", c.0, c.1))));
            continue;
        }
        let key = (code.clone(), version.clone());
        if let Some(first) = seen.get(&key) {
            bad.push((r.clone(), problem(format!("duplicate DeSO {code} (edition {version}); first seen at {first}"))));
            continue;
        }
        if existing.contains(&key) {
            bad.push((r.clone(), problem(format!("DeSO {code} (edition {version}) is already in the store"))));
            continue;
        }
        seen.insert(key, r.location.clone());
        let pop_raw = field(r, &pop_col);
        let population = if pop_raw.is_empty() {
            None
        } else {
            match parse_number(pop_raw) {
                Some(p) if p >= 0.0 => Some(p),
                _ => {
                    bad.push((r.clone(), problem(format!("population '{pop_raw}' is not a non-negative number"))));
                    continue;
                }
            }
        };
        let (regso, _) = split_deso(field(r, &regso_col));
        let regso = regso.split("_RegSO").next().unwrap_or("").to_string();
        ok.push(Area {
            kommun: code[..4].to_string(),
            deso: code,
            regso,
            regso_name: field(r, &regso_name_col).to_string(),
            version,
            population,
            geometry: mp,
        });
    }
    Ok((ok, bad))
}

fn geom_name(g: &geo::Geometry<f64>) -> &'static str {
    match g {
        geo::Geometry::Point(_) => "a point",
        geo::Geometry::MultiPoint(_) => "a multipoint",
        geo::Geometry::LineString(_) | geo::Geometry::Line(_) => "a line",
        geo::Geometry::MultiLineString(_) => "a multiline",
        geo::Geometry::GeometryCollection(_) => "a geometry collection",
        _ => "another geometry type",
    }
}

fn reproject_multipolygon(mp: &geo::MultiPolygon<f64>, t: &gdal::spatial_ref::CoordTransform) -> Result<geo::MultiPolygon<f64>, String> {
    use geo::MapCoordsInPlace;
    let mut xs = Vec::new();
    let mut ys = Vec::new();
    use geo::CoordsIter;
    for c in mp.coords_iter() {
        xs.push(c.x);
        ys.push(c.y);
    }
    io::transform_coords(t, &mut xs, &mut ys)?;
    let mut out = mp.clone();
    let i = std::cell::Cell::new(0usize);
    let (xs, ys, i) = (&xs, &ys, &i);
    out.map_coords_in_place(move |_| {
        let k = i.get();
        i.set(k + 1);
        geo::coord! { x: xs[k], y: ys[k] }
    });
    Ok(out)
}

/// Repairs a self-intersecting polygon with GDAL's MakeValid (GEOS), keeping polygonal parts.
fn repair(mp: &geo::MultiPolygon<f64>) -> Option<geo::MultiPolygon<f64>> {
    use gdal::vector::ToGdal;
    let g = mp.to_gdal().ok()?;
    let fixed = g.make_valid(&gdal::cpl::CslStringList::new()).ok()?;
    let out = match fixed.to_geo().ok()? {
        geo::Geometry::Polygon(p) => geo::MultiPolygon(vec![p]),
        geo::Geometry::MultiPolygon(m) => m,
        geo::Geometry::GeometryCollection(gc) => geo::MultiPolygon(
            gc.0.into_iter()
                .flat_map(|g| match g {
                    geo::Geometry::Polygon(p) => vec![p],
                    geo::Geometry::MultiPolygon(m) => m.0,
                    _ => vec![],
                })
                .collect(),
        ),
        _ => return None,
    };
    (out.is_valid() && !out.0.is_empty()).then_some(out)
}

/// Indicator names whose values are shares in percent and so must lie in 0–100.
fn is_percent(name: &str) -> bool {
    let n = fold(name).replace(' ', "_");
    n.ends_with("_pct")
        || n.ends_with("_share")
        || n.starts_with("share_")
        || n.starts_with("andel")
        || matches!(
            n.as_str(),
            "renters"
                | "low_econ"
                | "unemp"
                | "employment"
                | "higher_ed"
                | "young"
                | "single"
                | "foreign"
                | "flats"
                | "crowding"
                | "crowding_pct"
                | "trangboddhet"
        )
}

fn validate_indicators(
    store: &dyn Store,
    data: &SourceData,
    opts: &ImportOptions,
    used: &mut BTreeMap<String, String>,
) -> Result<(Vec<IndicatorValue>, Vec<(Record, Problem)>), ImportError> {
    let code_col = find_column(data, opts, "deso", &["deso", "desokod", "deso_kod", "code", "kod", "region", "id"])?
        .ok_or_else(|| ImportError::Columns { file: data.file_name.clone(), reason: format!("no DeSO code column (columns: {})", data.columns.join(", ")) })?;
    used.insert("deso".into(), code_col.clone());
    let year_col = find_column(data, opts, "year", &["year", "ar", "år"])?;
    if year_col.is_none() && opts.year.is_none() {
        return Err(ImportError::Columns { file: data.file_name.clone(), reason: "no year column; pass --year YYYY".into() });
    }
    let areas = store.areas()?;
    if areas.is_empty() {
        return Err(ImportError::Columns { file: data.file_name.clone(), reason: "the store has no areas; import areas first".into() });
    }
    let known: HashSet<&str> = areas.iter().map(|a| a.deso.as_str()).collect();
    // Text columns that describe the row rather than measure it.
    let skip: HashSet<String> = [
        "regso",
        "kommun",
        "lan",
        "län",
        "kommunnamn",
        "municipality_code",
        "municipality_name",
        "region_code",
        "lat",
        "lon",
        "name",
        "namn",
        "version",
        "alder",
        "ålder",
    ]
    .iter()
    .map(|s| fold(s))
    .collect();
    let value_cols: Vec<&String> =
        data.columns.iter().filter(|c| Some(*c) != Some(&code_col) && Some(*c) != year_col.as_ref() && !skip.contains(&fold(c))).collect();
    if value_cols.is_empty() {
        return Err(ImportError::Columns { file: data.file_name.clone(), reason: "no indicator columns besides the code and year".into() });
    }
    let source = opts.source_label.clone().unwrap_or_else(|| data.file_name.clone());
    let mut ok = Vec::new();
    let mut bad = Vec::new();
    let mut seen = HashMap::new();
    for r in &data.records {
        let problem = |reason: String| Problem { location: r.location.clone(), reason };
        if let Some(p) = &r.problem {
            bad.push((r.clone(), problem(p.clone())));
            continue;
        }
        let (code, _) = split_deso(field(r, &Some(code_col.clone())));
        if !known.contains(code.as_str()) {
            let hint = if deso_code_ok(&code) { "not in the store's areas (another DeSO edition?)" } else { "not a DeSO code" };
            bad.push((r.clone(), problem(format!("unknown DeSO code '{code}': {hint}"))));
            continue;
        }
        let year = match &year_col {
            Some(_) => match field(r, &year_col).trim().parse::<i32>() {
                Ok(y) if (1900..=2100).contains(&y) => y,
                _ => {
                    bad.push((r.clone(), problem(format!("year '{}' is not a year", field(r, &year_col)))));
                    continue;
                }
            },
            None => opts.year.unwrap_or_default(),
        };
        if let Some(first) = seen.insert((code.clone(), year), r.location.clone()) {
            bad.push((r.clone(), problem(format!("duplicate row for {code} {year}; first at {first}"))));
            continue;
        }
        let mut row_vals = Vec::new();
        let mut row_problem = None;
        let mut tenure: BTreeMap<String, f64> = BTreeMap::new();
        for c in &value_cols {
            let raw = field(r, &Some((*c).clone()));
            if raw.trim().is_empty() {
                continue; // missing stays missing; never imputed
            }
            let Some(v) = parse_number(raw) else {
                row_problem = Some(format!("{c}: '{raw}' is not a number"));
                break;
            };
            let name = fold(c).replace(' ', "_");
            if is_percent(&name) && !(0.0..=100.0).contains(&v) {
                row_problem = Some(format!("{c}: {v} is a share in percent and must lie in 0–100"));
                break;
            }
            if let Some(t) = name.strip_prefix("tenure_") {
                tenure.insert(t.to_string(), v);
            }
            let y = opts.column_years.get(c.as_str()).copied().unwrap_or(year);
            row_vals.push(IndicatorValue { deso: code.clone(), year: y, indicator: canonical_indicator(&name), value: v, source: source.clone() });
        }
        if let Some(p) = row_problem {
            bad.push((r.clone(), problem(p)));
            continue;
        }
        // Tenure counts come as dwellings per form; planners read shares, so derive them here.
        let total: f64 = tenure.values().sum();
        if total > 0.0 {
            for (form, n) in &tenure {
                let y = opts.column_years.get(&format!("tenure_{form}")).copied().unwrap_or(year);
                row_vals.push(IndicatorValue {
                    deso: code.clone(),
                    year: y,
                    indicator: format!("share_{form}"),
                    value: 100.0 * n / total,
                    source: format!("derived from tenure_* counts ({source})"),
                });
            }
        }
        ok.extend(row_vals);
    }
    Ok((ok, bad))
}

fn canonical_indicator(name: &str) -> String {
    match name {
        "pop" | "befolkning" | "folkmangd" => "population".into(),
        other => other.to_string(),
    }
}

const X_ALIASES: &[&str] = &["x", "e", "easting", "ost", "ostlig", "x_sweref", "sweref_e", "x_coord"];
const Y_ALIASES: &[&str] = &["y", "n", "northing", "nord", "nordlig", "y_sweref", "sweref_n", "y_coord"];
const LON_ALIASES: &[&str] = &["lon", "lng", "long", "longitude", "longitud"];
const LAT_ALIASES: &[&str] = &["lat", "latitude", "latitud"];

/// Accepted date and time formats, tried in order. Date-only input becomes midnight.
pub fn parse_datetime(raw: &str) -> Option<NaiveDateTime> {
    let t = raw.trim();
    if t.is_empty() {
        return None;
    }
    if let Ok(d) = chrono::DateTime::parse_from_rfc3339(t) {
        return Some(d.naive_local());
    }
    for f in ["%Y-%m-%d %H:%M:%S %:z", "%Y-%m-%d %H:%M:%S %z"] {
        if let Ok(d) = chrono::DateTime::parse_from_str(t, f) {
            return Some(d.naive_local());
        }
    }
    for f in ["%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%d %H.%M"] {
        if let Ok(d) = NaiveDateTime::parse_from_str(t, f) {
            return Some(d);
        }
    }
    for f in ["%Y-%m-%d", "%Y%m%d", "%d/%m/%Y", "%d.%m.%Y"] {
        if let Ok(d) = NaiveDate::parse_from_str(t, f) {
            return d.and_hms_opt(0, 0, 0);
        }
    }
    None
}

fn validate_incidents(
    store: &dyn Store,
    data: &SourceData,
    opts: &ImportOptions,
    import_id: &str,
    used: &mut BTreeMap<String, String>,
    progress: &dyn Fn(u64, u64),
) -> Result<(Vec<Incident>, Vec<(Record, Problem)>), ImportError> {
    let cols_err = |reason: String| ImportError::Columns { file: data.file_name.clone(), reason };
    let id_col = find_column(data, opts, "id", &["id", "incident_id", "arende", "arendenummer", "nr", "lopnummer"])?;
    let cat_col = find_column(data, opts, "category", &["category", "kategori", "typ", "type", "handelse", "handelsetyp", "problem"])?
        .ok_or_else(|| cols_err(format!("no category column (looked for category, kategori, typ, type, händelse; columns: {})", data.columns.join(", "))))?;
    let date_col = find_column(data, opts, "date", &["occurred_at", "datum", "date", "datetime", "tid", "tidpunkt", "time", "datum_tid"])?
        .ok_or_else(|| cols_err(format!("no date column (looked for occurred_at, datum, date, datetime, tidpunkt; columns: {})", data.columns.join(", "))))?;
    let rep_col = find_column(data, opts, "reported_by", &["reported_by", "rapportor", "rapporterad_av", "inrapportor", "kalla", "reporter", "aktor"])?;
    let prec_col = find_column(data, opts, "precision", &["precision", "precision_level", "granularity", "noggrannhet", "lagesnoggrannhet"])?;
    let desc_col = find_column(data, opts, "description", &["description", "beskrivning", "summary", "kommentar", "text"])?;
    for (k, c) in [
        ("id", &id_col),
        ("category", &Some(cat_col.clone())),
        ("date", &Some(date_col.clone())),
        ("reported_by", &rep_col),
        ("precision", &prec_col),
        ("description", &desc_col),
    ] {
        if let Some(c) = c {
            used.insert(k.into(), c.clone());
        }
    }
    // Coordinates: geometry from OGR, or columns in a text file.
    enum Coords {
        Geometry(u32),
        Columns { x: String, y: String, epsg: u32, geographic: bool },
    }
    let coords = if data.is_text {
        let xcol = find_column(data, opts, "x", X_ALIASES)?;
        let ycol = find_column(data, opts, "y", Y_ALIASES)?;
        let loncol = find_column(data, opts, "lon", LON_ALIASES)?;
        let latcol = find_column(data, opts, "lat", LAT_ALIASES)?;
        match (loncol, latcol, xcol, ycol) {
            (Some(lon), Some(lat), _, _) => {
                let epsg = opts.source.crs_epsg.unwrap_or(4326);
                Coords::Columns { x: lon, y: lat, epsg, geographic: epsg == 4326 }
            }
            (_, _, Some(x), Some(y)) => {
                let epsg = opts.source.crs_epsg.ok_or_else(|| {
                    cols_err(format!("coordinates in columns {x}/{y} have no CRS; pass --crs EPSG:3006 (SWEREF 99 TM) or the CRS they are in"))
                })?;
                Coords::Columns { x, y, epsg, geographic: epsg == 4326 }
            }
            _ => {
                return Err(cols_err(format!(
                    "no coordinate columns (looked for lon/lat, longitude/latitude, x/y, e/n, easting/northing; columns: {})",
                    data.columns.join(", ")
                )))
            }
        }
    } else {
        let epsg = data.epsg.ok_or_else(|| cols_err("the file declares no CRS; pass --crs EPSG:XXXX".into()))?;
        Coords::Geometry(epsg)
    };
    if let Coords::Columns { x, y, .. } = &coords {
        used.insert("x".into(), x.clone());
        used.insert("y".into(), y.clone());
    }
    let src_epsg = match &coords {
        Coords::Geometry(e) => *e,
        Coords::Columns { epsg, .. } => *epsg,
    };
    let geographic = src_epsg == 4326 || matches!(coords, Coords::Columns { geographic: true, .. });
    let to3006 = if src_epsg == WORKING_EPSG { None } else { Some(io::transform_between(src_epsg, WORKING_EPSG)?) };
    let existing = store.incident_ids().or_else(|e| match e {
        StoreError::Missing { .. } => Ok(HashSet::new()),
        e => Err(e),
    })?;
    let cmap = opts.category_map.clone().unwrap_or_default();

    struct Pending {
        rec: usize,
        x: f64,
        y: f64,
        inc: Incident,
    }
    let mut pending: Vec<Pending> = Vec::new();
    let mut bad = Vec::new();
    let mut seen: HashMap<String, String> = HashMap::new();
    let total = data.records.len() as u64;
    for (i, r) in data.records.iter().enumerate() {
        if i % 10_000 == 0 {
            progress(i as u64, total);
        }
        let problem = |reason: String| Problem { location: r.location.clone(), reason };
        if let Some(p) = &r.problem {
            bad.push((r.clone(), problem(p.clone())));
            continue;
        }
        let (x, y) = match &coords {
            Coords::Geometry(_) => match &r.geometry {
                Some(geo::Geometry::Point(p)) => (p.x(), p.y()),
                Some(geo::Geometry::MultiPoint(mp)) if mp.0.len() == 1 => (mp.0[0].x(), mp.0[0].y()),
                Some(other) => {
                    bad.push((r.clone(), problem(format!("expected a point, found {}", geom_name(other)))));
                    continue;
                }
                None => {
                    bad.push((r.clone(), problem("missing geometry".into())));
                    continue;
                }
            },
            Coords::Columns { x, y, .. } => {
                let (rx, ry) = (
                    r.fields.iter().find(|(k, _)| k == x).map(|(_, v)| v.as_str()).unwrap_or(""),
                    r.fields.iter().find(|(k, _)| k == y).map(|(_, v)| v.as_str()).unwrap_or(""),
                );
                if rx.is_empty() || ry.is_empty() {
                    bad.push((r.clone(), problem(format!("missing coordinate ({x}='{rx}', {y}='{ry}')"))));
                    continue;
                }
                match (parse_number(rx), parse_number(ry)) {
                    (Some(a), Some(b)) => (a, b),
                    _ => {
                        bad.push((r.clone(), problem(format!("coordinates are not numbers ({x}='{rx}', {y}='{ry}')"))));
                        continue;
                    }
                }
            }
        };
        if geographic {
            // Sweden spans longitude 10.9–24.2 and latitude 55.3–69.1: no overlap, so a swap is certain.
            if (54.0..=70.0).contains(&x) && (10.0..=25.0).contains(&y) {
                bad.push((r.clone(), problem(format!("latitude and longitude look swapped (lon={x}, lat={y})"))));
                continue;
            }
            if !(-180.0..=180.0).contains(&x) || !(-90.0..=90.0).contains(&y) {
                bad.push((r.clone(), problem(format!("({x}, {y}) are not longitude/latitude degrees; wrong --crs?"))));
                continue;
            }
        } else if src_epsg == WORKING_EPSG && inside_sweden_swapped(x, y) {
            bad.push((
                r.clone(),
                problem(format!("easting and northing look swapped (E={x}, N={y}); in Swedish usage X is often the northing: map the columns explicitly")),
            ));
            continue;
        }
        let cat_raw = field(r, &Some(cat_col.clone()));
        let category = match cmap.lookup(cat_raw) {
            Ok(c) => c,
            Err(e) => {
                bad.push((r.clone(), problem(e.to_string())));
                continue;
            }
        };
        let date_raw = field(r, &Some(date_col.clone()));
        let Some(occurred_at) = parse_datetime(date_raw) else {
            bad.push((r.clone(), problem(format!("date '{date_raw}' cannot be read (use 2025-03-14 or 2025-03-14 18:30)"))));
            continue;
        };
        let precision = match field(r, &prec_col) {
            "" => opts.precision.unwrap_or(Precision::Exact),
            p => match Precision::parse(p) {
                Some(p) => p,
                None => {
                    bad.push((r.clone(), problem(format!("precision '{p}' is not one of exact, address, street, area, municipality"))));
                    continue;
                }
            },
        };
        let reporter_raw = field(r, &rep_col);
        let reported_by = if reporter_raw.is_empty() { opts.reported_by.clone().unwrap_or_else(|| "okand".into()) } else { normalise_reporter(reporter_raw) };
        let id = match field(r, &id_col).trim() {
            "" => format!("{import_id}-{}", i + 1),
            s => s.to_string(),
        };
        if let Some(first) = seen.get(&id) {
            bad.push((r.clone(), problem(format!("duplicate id '{id}'; first at {first}"))));
            continue;
        }
        if existing.contains(&id) {
            bad.push((r.clone(), problem(format!("id '{id}' is already in the store"))));
            continue;
        }
        seen.insert(id.clone(), r.location.clone());
        pending.push(Pending {
            rec: i,
            x,
            y,
            inc: Incident {
                id,
                category,
                source_label: cat_raw.trim().to_string(),
                occurred_at,
                reported_by,
                precision,
                description: field(r, &desc_col).to_string(),
                import_id: import_id.to_string(),
                location: geo::Point::new(0.0, 0.0),
            },
        });
    }
    let mut xs: Vec<f64> = pending.iter().map(|p| p.x).collect();
    let mut ys: Vec<f64> = pending.iter().map(|p| p.y).collect();
    if let Some(t) = &to3006 {
        io::transform_coords(t, &mut xs, &mut ys).map_err(|e| cols_err(format!("cannot reproject to EPSG:3006: {e}")))?;
    }
    let mut ok = Vec::with_capacity(pending.len());
    for (k, mut p) in pending.into_iter().enumerate() {
        let (x, y) = (xs[k], ys[k]);
        if !x.is_finite() || !y.is_finite() || !io::in_sweden(x, y) {
            let r = &data.records[p.rec];
            bad.push((
                r.clone(),
                Problem { location: r.location.clone(), reason: format!("point ({}, {}) lies outside Sweden (E {x:.0} N {y:.0} in EPSG:3006)", p.x, p.y) },
            ));
            continue;
        }
        p.inc.location = geo::Point::new(x, y);
        ok.push(p.inc);
    }
    bad.sort_by_key(|(r, _)| data.records.iter().position(|q| std::ptr::eq(q, r)).unwrap_or(0));
    Ok((ok, bad))
}

/// True when (x, y) would be inside Sweden if swapped, and is not inside as given.
fn inside_sweden_swapped(x: f64, y: f64) -> bool {
    !io::inside_sweden(x, y) && io::inside_sweden(y, x)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_in_common_swedish_and_iso_forms_parse() {
        let d = |s| parse_datetime(s).map(|d| d.format("%Y-%m-%d %H:%M:%S").to_string());
        assert_eq!(d("2025-03-14"), Some("2025-03-14 00:00:00".into()));
        assert_eq!(d("2025-03-14 18:30"), Some("2025-03-14 18:30:00".into()));
        assert_eq!(d("2023-01-24 8:51:32 +01:00"), Some("2023-01-24 08:51:32".into()));
        assert_eq!(d("2025-03-14T18:30:00+01:00"), Some("2025-03-14 18:30:00".into()));
        assert_eq!(d("14/3/2025"), Some("2025-03-14 00:00:00".into()));
        assert_eq!(d("igår"), None);
        assert_eq!(d("2025-02-30"), None);
    }

    #[test]
    fn deso_codes_are_checked_and_api_suffixes_split() {
        assert!(deso_code_ok("0163C1170"));
        assert!(!deso_code_ok("0163X1170"));
        assert_eq!(split_deso("0163C1011_DeSO2025"), ("0163C1011".into(), Some("2025".into())));
    }
}

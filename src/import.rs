//! Import of areas, indicators and incidents: detect columns, validate every row, then write
//! all of it in one store transaction, or nothing.
//!
//! All-or-nothing is the default: any invalid row rejects the file and the store is not even
//! opened for writing, so it stays byte-for-byte unchanged. `skip_invalid` imports the good rows
//! and hands back the rejects (with reasons) for a CSV.

pub mod places;
mod rows;
mod stream;

use crate::io::{self, parse_number, read_source, IoError, Record, SourceData, SourceOptions};
use crate::model::{fold, Area, CategoryMap, ImportRecord, Incident, IndicatorValue, Precision, WORKING_EPSG};
use crate::store::{ImportBatch, Store, StoreError};
use geo::{Area as _, Validation};
use rows::{Coords, IdSet, Place, Plan, Rules, IN_STORE};
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
    #[error(transparent)]
    Crs(#[from] crate::crs::CrsError),
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
    run_import_with_rejects(store, kind, path, opts, None, progress)
}

/// [`run_import`], and when the file is refused, every problem row is also written with its
/// reason to `rejects` (the terminal shows only the first few of a large file's problems).
pub fn run_import_with_rejects(
    store: &dyn Store,
    kind: ImportKind,
    path: &Path,
    opts: &ImportOptions,
    rejects: Option<&Path>,
    progress: &dyn Fn(u64, u64),
) -> Result<ImportReport, ImportError> {
    if kind == ImportKind::Incidents && io::is_text_file(path) && path.exists() {
        return import_csv_incidents(store, path, opts, rejects, progress);
    }
    let data = read_source(path, &opts.source)?;
    let (sha, import_id) = fresh_import_id(store, kind, path, &data.file_name)?;
    let rejects_path = rejects;
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
            let (ok, bad) = validate_incidents(store, &data, opts, &import_id, &mut columns_used)?;
            let n = ok.len();
            (ImportBatch::Incidents(ok), n, bad)
        }
    };
    progress(total, total);
    if !rejects.is_empty() && !opts.skip_invalid {
        return Err(refusal(&data.file_name, rejects, rejects_path));
    }
    if accepted == 0 {
        return Err(ImportError::Columns { file: data.file_name.clone(), reason: "no valid rows to import".into() });
    }
    let record = ImportRecord {
        import_id,
        kind: kind.as_str().into(),
        file_name: data.file_name.clone(),
        sha256: sha,
        imported_at: crate::model::time::now_utc_text(),
        accepted: accepted as u64,
        rejected: rejects.len() as u64,
        imported_by: opts.imported_by.clone().unwrap_or_else(|| "cli".into()),
    };
    store.write_import(&batch, &record)?;
    Ok(ImportReport { record, warnings, rejects, columns_used })
}

/// The sha256 of a file and the import id made from it; refuses a file already imported.
fn fresh_import_id(store: &dyn Store, kind: ImportKind, path: &Path, file_name: &str) -> Result<(String, String), ImportError> {
    let sha = io::sha256_file(path)?;
    let import_id = format!("{}-{}", kind.as_str(), &sha[..12]);
    if store.imports().map(|v| v.iter().any(|r| r.sha256 == sha && r.kind == kind.as_str())).unwrap_or(false) {
        return Err(ImportError::Columns {
            file: file_name.to_string(),
            reason: format!("this exact file (sha256 {}) was already imported as {import_id}", &sha[..12]),
        });
    }
    Ok((sha, import_id))
}

/// The refusal of a file with invalid rows, after writing them all to `rejects` when asked.
fn refusal(file: &str, bad: Vec<(Record, Problem)>, rejects: Option<&Path>) -> ImportError {
    if let Some(p) = rejects {
        if let Err(e) = write_rejects(p, &bad) {
            return ImportError::Source(e);
        }
    }
    ImportError::Invalid { file: file.to_string(), problems: bad.into_iter().map(|(_, p)| p).collect() }
}

/// Incidents from CSV, streamed (see `stream`): read, checked, reprojected, placed and written
/// in batches, both cores busy, one transaction.
fn import_csv_incidents(
    store: &dyn Store,
    path: &Path,
    opts: &ImportOptions,
    rejects: Option<&Path>,
    progress: &dyn Fn(u64, u64),
) -> Result<ImportReport, ImportError> {
    let csv = stream::CsvStream::open(path)?;
    let (sha, import_id) = fresh_import_id(store, ImportKind::Incidents, path, &csv.file_name)?;
    let data = SourceData {
        path: path.into(),
        file_name: csv.file_name.clone(),
        columns: csv.headers.clone(),
        records: Vec::new(),
        epsg: opts.source.crs_epsg,
        is_text: true,
    };
    let mut columns_used = BTreeMap::new();
    let rules = incident_rules(&data, opts, &import_id, &mut columns_used)?;
    let place = Place::new(&stored_areas(store)?);
    let mut ids = stored_ids(store)?;
    let sink = store.incident_sink()?;
    let (out, sink) = stream::run(csv, &rules, &place, &mut ids, sink, opts.skip_invalid, progress)?;
    if let Some(e) = out.sink_error {
        return Err(e.into());
    }
    if !out.bad.is_empty() && !opts.skip_invalid {
        drop(sink);
        return Err(refusal(&data.file_name, out.bad, rejects));
    }
    if out.accepted == 0 {
        return Err(ImportError::Columns { file: data.file_name, reason: "no valid rows to import".into() });
    }
    let record = ImportRecord {
        import_id,
        kind: ImportKind::Incidents.as_str().into(),
        file_name: data.file_name.clone(),
        sha256: sha,
        imported_at: crate::model::time::now_utc_text(),
        accepted: out.accepted,
        rejected: out.bad.len() as u64,
        imported_by: opts.imported_by.clone().unwrap_or_else(|| "cli".into()),
    };
    sink.commit(&record)?;
    Ok(ImportReport { record, warnings: Vec::new(), rejects: out.bad, columns_used })
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

/// An area's polygon in EPSG:3006: reprojected, repaired (or refused) when invalid, and on
/// Swedish ground; or the problem that rejects its row.
fn area_geometry(
    r: &Record,
    to3006: Option<&gdal::spatial_ref::CoordTransform>,
    opts: &ImportOptions,
    warnings: &mut Vec<String>,
) -> Result<geo::MultiPolygon<f64>, Problem> {
    let problem = |reason: String| Problem { location: r.location.clone(), reason };
    let Some(geom) = &r.geometry else { return Err(problem("missing geometry".into())) };
    let mp = match geom {
        geo::Geometry::Polygon(p) => geo::MultiPolygon(vec![p.clone()]),
        geo::Geometry::MultiPolygon(m) => m.clone(),
        other => return Err(problem(format!("expected a polygon, found {}", geom_name(other)))),
    };
    let mp = match to3006 {
        Some(t) => crate::crs::reproject(&mp, t).map_err(|e| problem(format!("cannot reproject to EPSG:3006: {e}")))?,
        None => mp,
    };
    let mp = if mp.is_valid() {
        mp
    } else {
        let why = mp.validation_errors().first().map(|e| e.to_string()).unwrap_or_default();
        if opts.reject_invalid_polygons {
            return Err(problem(format!("invalid polygon: {why}")));
        }
        match repair(&mp) {
            Some(fixed) => {
                warnings.push(format!("{}: invalid polygon ({why}) repaired with GDAL MakeValid", r.location));
                fixed
            }
            None => return Err(problem(format!("invalid polygon that cannot be repaired: {why}"))),
        }
    };
    if mp.unsigned_area() <= 0.0 {
        return Err(problem("polygon has zero area".into()));
    }
    let c = geo::Centroid::centroid(&mp).map(|p| (p.x(), p.y())).unwrap_or((0.0, 0.0));
    // An archipelago DeSO can have its centroid at sea: any vertex on Swedish ground will do.
    let on_land = || {
        use geo::CoordsIter;
        let n = mp.coords_count().max(1);
        mp.coords_iter().step_by((n / 200).max(1)).any(|v| io::in_sweden(v.x, v.y))
    };
    if !io::in_sweden(c.0, c.1) && !on_land() {
        return Err(problem(format!("polygon lies outside Sweden (centroid E {:.0} N {:.0} in EPSG:3006)", c.0, c.1)));
    }
    Ok(mp)
}

/// Residents of an area row: missing when the cell is empty, refused when not a count.
fn population_of(r: &Record, pop_col: &Option<String>) -> Result<Option<f64>, Problem> {
    let raw = field(r, pop_col);
    if raw.is_empty() {
        return Ok(None);
    }
    match parse_number(raw) {
        Some(p) if p >= 0.0 => Ok(Some(p)),
        _ => Err(Problem { location: r.location.clone(), reason: format!("population '{raw}' is not a non-negative number") }),
    }
}

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
        let mp = match area_geometry(r, to3006.as_ref(), opts, warnings) {
            Ok(mp) => mp,
            Err(p) => {
                bad.push((r.clone(), p));
                continue;
            }
        };
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
        let population = match population_of(r, &pop_col) {
            Ok(p) => p,
            Err(p) => {
                bad.push((r.clone(), p));
                continue;
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

/// The indicator values of one row (empty cells stay missing), with tenure shares derived from
/// tenure dwelling counts; or the problem that rejects the row.
fn indicator_row(r: &Record, code: &str, year: i32, value_cols: &[&String], opts: &ImportOptions, source: &str) -> Result<Vec<IndicatorValue>, Problem> {
    let problem = |reason: String| Problem { location: r.location.clone(), reason };
    let mut row_vals = Vec::new();
    let mut tenure: BTreeMap<String, f64> = BTreeMap::new();
    for c in value_cols {
        let raw = field(r, &Some((*c).clone()));
        if raw.trim().is_empty() {
            continue; // missing stays missing; never imputed
        }
        let Some(v) = parse_number(raw) else { return Err(problem(format!("{c}: '{raw}' is not a number"))) };
        let name = fold(c).replace(' ', "_");
        if is_percent(&name) && !(0.0..=100.0).contains(&v) {
            return Err(problem(format!("{c}: {v} is a share in percent and must lie in 0–100")));
        }
        if let Some(t) = name.strip_prefix("tenure_") {
            tenure.insert(t.to_string(), v);
        }
        let y = opts.column_years.get(c.as_str()).copied().unwrap_or(year);
        row_vals.push(IndicatorValue { deso: code.to_string(), year: y, indicator: canonical_indicator(&name), value: v, source: source.to_string() });
    }
    // Tenure counts come as dwellings per form; planners read shares, so derive them here.
    let total: f64 = tenure.values().sum();
    if total > 0.0 {
        for (form, n) in &tenure {
            let y = opts.column_years.get(&format!("tenure_{form}")).copied().unwrap_or(year);
            row_vals.push(IndicatorValue {
                deso: code.to_string(),
                year: y,
                indicator: format!("share_{form}"),
                value: 100.0 * n / total,
                source: format!("derived from tenure_* counts ({source})"),
            });
        }
    }
    Ok(row_vals)
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
        match indicator_row(r, &code, year, &value_cols, opts, &source) {
            Ok(values) => ok.extend(values),
            Err(p) => bad.push((r.clone(), p)),
        }
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

/// Finds the columns of an incidents file and makes the row rules from them and the options.
fn incident_rules<'a>(data: &SourceData, opts: &'a ImportOptions, import_id: &'a str, used: &mut BTreeMap<String, String>) -> Result<Rules<'a>, ImportError> {
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
    let (coords, src_epsg) = incident_coords(data, opts, used)?;
    let pos = |c: &Option<String>| c.as_ref().and_then(|c| data.columns.iter().position(|n| n == c));
    let plan = Plan {
        id: pos(&id_col),
        cat: pos(&Some(cat_col)).unwrap_or(0),
        date: pos(&Some(date_col)).unwrap_or(0),
        rep: pos(&rep_col),
        prec: pos(&prec_col),
        desc: pos(&desc_col),
        geographic: src_epsg == 4326,
        coords,
        names: data.columns.clone(),
        src_epsg,
    };
    io::srs_from_epsg(src_epsg)?;
    Ok(Rules {
        plan,
        cmap: opts.category_map.clone().unwrap_or_default(),
        default_precision: opts.precision.unwrap_or(Precision::Exact),
        default_reporter: opts.reported_by.as_deref(),
        import_id,
    })
}

/// Coordinates: the geometry of an OGR source, or two columns of a text file, and their CRS.
fn incident_coords(data: &SourceData, opts: &ImportOptions, used: &mut BTreeMap<String, String>) -> Result<(Coords, u32), ImportError> {
    let cols_err = |reason: String| ImportError::Columns { file: data.file_name.clone(), reason };
    if !data.is_text {
        let epsg = data.epsg.ok_or_else(|| cols_err("the file declares no CRS; pass --crs EPSG:XXXX".into()))?;
        return Ok((Coords::Geometry, epsg));
    }
    let xcol = find_column(data, opts, "x", X_ALIASES)?;
    let ycol = find_column(data, opts, "y", Y_ALIASES)?;
    let loncol = find_column(data, opts, "lon", LON_ALIASES)?;
    let latcol = find_column(data, opts, "lat", LAT_ALIASES)?;
    let (x, y, epsg) = match (loncol, latcol, xcol, ycol) {
        (Some(lon), Some(lat), _, _) => (lon, lat, opts.source.crs_epsg.unwrap_or(4326)),
        (_, _, Some(x), Some(y)) => {
            let epsg = opts
                .source
                .crs_epsg
                .ok_or_else(|| cols_err(format!("coordinates in columns {x}/{y} have no CRS; pass --crs EPSG:3006 (SWEREF 99 TM) or the CRS they are in")))?;
            (x, y, epsg)
        }
        _ => {
            return Err(cols_err(format!(
                "no coordinate columns (looked for lon/lat, longitude/latitude, x/y, e/n, easting/northing; columns: {})",
                data.columns.join(", ")
            )))
        }
    };
    used.insert("x".into(), x.clone());
    used.insert("y".into(), y.clone());
    let pos = |c: &str| data.columns.iter().position(|n| n == c).unwrap_or(0);
    Ok((Coords::Columns { x: pos(&x), y: pos(&y) }, epsg))
}

/// The store's areas (none when there is no store yet), for the "in Sweden" rule.
fn stored_areas(store: &dyn Store) -> Result<Vec<Area>, StoreError> {
    store.areas().or_else(|e| match e {
        StoreError::Missing { .. } => Ok(Vec::new()),
        e => Err(e),
    })
}

/// The store's incident ids in the compact set, marked as stored.
fn stored_ids(store: &dyn Store) -> Result<IdSet, StoreError> {
    let mut ids = IdSet::new();
    match store.for_each_incident_id(&mut |id| {
        ids.first_or_insert(id, IN_STORE);
    }) {
        Ok(()) | Err(StoreError::Missing { .. }) => Ok(ids),
        Err(e) => Err(e),
    }
}

/// Incidents from an OGR source (in memory already): the same rules as the CSV stream.
fn validate_incidents(
    store: &dyn Store,
    data: &SourceData,
    opts: &ImportOptions,
    import_id: &str,
    used: &mut BTreeMap<String, String>,
) -> Result<(Vec<Incident>, Vec<(Record, Problem)>), ImportError> {
    let rules = incident_rules(data, opts, import_id, used)?;
    let place = Place::new(&stored_areas(store)?);
    let mut ids = stored_ids(store)?;
    let mut cats = HashMap::new();
    let checked = data
        .records
        .iter()
        .enumerate()
        .map(|(i, r)| match &r.problem {
            Some(p) => Err(rows::Refusal(p.clone())),
            None => {
                let get = |c: usize| r.fields.iter().find(|(k, _)| *k == rules.plan.names[c]).map(|(_, v)| v.as_str()).unwrap_or("");
                rules.check(&get, r.geometry.as_ref(), i, &mut cats)
            }
        })
        .collect();
    let outcomes =
        rows::place_batch(checked, rules.plan.src_epsg, &place).map_err(|e| ImportError::Columns { file: data.file_name.clone(), reason: e.to_string() })?;
    let (mut ok, mut bad) = (Vec::new(), Vec::new());
    let location = |k: u32| data.records[k as usize].location.clone();
    for (i, o) in outcomes.into_iter().enumerate() {
        ok.extend(rows::settle(o, i as u32, &mut ids, &location, &|| data.records[i].clone(), &mut bad));
    }
    Ok((ok, bad))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::parse_datetime;

    #[test]
    fn dates_in_common_swedish_and_iso_forms_parse() {
        let d = |s| parse_datetime(s).map(|d| d.format("%Y-%m-%d %H:%M:%S").to_string());
        assert_eq!(d("2025-03-14"), Some("2025-03-14 00:00:00".into()));
        assert_eq!(d("2025-03-14 18:30"), Some("2025-03-14 18:30:00".into()));
        assert_eq!(d("2023-01-24 8:51:32 +01:00"), Some("2023-01-24 08:51:32".into()));
        assert_eq!(d("2025-03-14T18:30:00+01:00"), Some("2025-03-14 18:30:00".into()));
        assert_eq!(d("14/3/2025"), Some("2025-03-14 00:00:00".into()));
        assert_eq!(d("2025-03-14T18:30:05"), Some("2025-03-14 18:30:05".into()));
        assert_eq!(d("2025-3-14"), Some("2025-03-14 00:00:00".into()));
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

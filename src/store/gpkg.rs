//! GeoPackage store through GDAL's GPKG driver, so the file is a plain GeoPackage that QGIS
//! and ogrinfo open as it is.

use super::bulk::{self, IncidentBulk};
use super::{ImportBatch, IncidentSink, Store, StoreError};
use crate::io::srs_from_epsg;
use crate::model::{Area, Category, ImportRecord, Incident, IndicatorValue, Place, Precision, WORKING_EPSG};
use gdal::vector::{Feature, FieldDefn, LayerAccess, LayerOptions, OGRFieldType, OGRwkbGeometryType, ToGdal};
use gdal::{Dataset, DatasetOptions, DriverManager, GdalOpenFlags};
use std::path::{Path, PathBuf};

#[derive(Debug, Clone)]
pub struct GpkgStore {
    path: PathBuf,
}

type FieldSpec = (&'static str, OGRFieldType::Type);

const AREA_FIELDS: &[FieldSpec] = &[
    ("deso", OGRFieldType::OFTString),
    ("regso", OGRFieldType::OFTString),
    ("regso_name", OGRFieldType::OFTString),
    ("kommun", OGRFieldType::OFTString),
    ("version", OGRFieldType::OFTString),
    ("population", OGRFieldType::OFTReal),
    ("import_id", OGRFieldType::OFTString),
];
const INDICATOR_FIELDS: &[FieldSpec] = &[
    ("deso", OGRFieldType::OFTString),
    ("year", OGRFieldType::OFTInteger),
    ("indicator", OGRFieldType::OFTString),
    ("value", OGRFieldType::OFTReal),
    ("source", OGRFieldType::OFTString),
    ("import_id", OGRFieldType::OFTString),
];
const INCIDENT_FIELDS: &[FieldSpec] = &[
    ("id", OGRFieldType::OFTString),
    ("category", OGRFieldType::OFTString),
    ("source_label", OGRFieldType::OFTString),
    ("occurred_at", OGRFieldType::OFTDateTime),
    ("reported_by", OGRFieldType::OFTString),
    ("precision", OGRFieldType::OFTString),
    ("description", OGRFieldType::OFTString),
    ("import_id", OGRFieldType::OFTString),
];
const IMPORT_FIELDS: &[FieldSpec] = &[
    ("import_id", OGRFieldType::OFTString),
    ("kind", OGRFieldType::OFTString),
    ("file_name", OGRFieldType::OFTString),
    ("sha256", OGRFieldType::OFTString),
    ("imported_at", OGRFieldType::OFTString),
    ("accepted", OGRFieldType::OFTInteger64),
    ("rejected", OGRFieldType::OFTInteger64),
    ("imported_by", OGRFieldType::OFTString),
];

const LAYERS: &[(&str, OGRwkbGeometryType::Type, &[FieldSpec])] = &[
    ("areas", OGRwkbGeometryType::wkbMultiPolygon, AREA_FIELDS),
    ("indicators", OGRwkbGeometryType::wkbNone, INDICATOR_FIELDS),
    ("incidents", OGRwkbGeometryType::wkbPoint, INCIDENT_FIELDS),
    ("imports", OGRwkbGeometryType::wkbNone, IMPORT_FIELDS),
];

impl GpkgStore {
    /// A handle on an existing or future store file; nothing is touched until used.
    pub fn new(path: impl Into<PathBuf>) -> GpkgStore {
        GpkgStore { path: path.into() }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    fn err(&self, e: impl std::fmt::Display) -> StoreError {
        StoreError::Gdal { path: self.path.display().to_string(), reason: e.to_string() }
    }

    /// Creates an empty store with all layers. Built under a temporary name and renamed, so a
    /// crash never leaves a half-made store behind.
    pub fn create(&self) -> Result<(), StoreError> {
        // GDAL wants the .gpkg extension even on the temporary file.
        let stem = self.path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| "store".into());
        let tmp = self.path.with_file_name(format!(".{stem}.creating.gpkg"));
        let _ = std::fs::remove_file(&tmp);
        {
            let drv = DriverManager::get_driver_by_name("GPKG").map_err(|e| self.err(e))?;
            let mut ds = drv.create_vector_only(&tmp).map_err(|e| self.err(e))?;
            let srs = srs_from_epsg(WORKING_EPSG).map_err(|e| self.err(e))?;
            for (name, ty, fields) in LAYERS {
                let layer = ds
                    .create_layer(LayerOptions {
                        name,
                        srs: if *ty == OGRwkbGeometryType::wkbNone { None } else { Some(&srs) },
                        ty: *ty,
                        options: Some(&["SPATIAL_INDEX=YES", "FID=fid"]),
                    })
                    .map_err(|e| self.err(e))?;
                for (fname, fty) in fields.iter() {
                    FieldDefn::new(fname, *fty).and_then(|f| f.add_to_layer(&layer)).map_err(|e| self.err(e))?;
                }
            }
        }
        std::fs::rename(&tmp, &self.path).map_err(|e| self.err(e))
    }

    /// After a crash mid-write SQLite leaves a hot rollback journal; a read-only connection
    /// cannot roll it back ("attempt to write a readonly database"). Opening once for update
    /// rolls the interrupted transaction back, so the store is exactly as before that write.
    /// Opens the file with GDAL's GPKG driver, for reading or for update.
    pub(crate) fn open_gpkg(&self, update: bool) -> Result<Dataset, StoreError> {
        let mode = if update { GdalOpenFlags::GDAL_OF_UPDATE } else { GdalOpenFlags::GDAL_OF_READONLY };
        Dataset::open_ex(
            &self.path,
            DatasetOptions { open_flags: GdalOpenFlags::GDAL_OF_VECTOR | mode, allowed_drivers: Some(&["GPKG"]), ..Default::default() },
        )
        .map_err(|e| self.err(e))
    }

    /// Creates the `places` layer in a store made before places existed.
    fn ensure_places_layer(&self, ds: &mut Dataset) -> Result<(), StoreError> {
        if ds.layer_by_name("places").is_ok() {
            return Ok(());
        }
        let srs = srs_from_epsg(WORKING_EPSG).map_err(|e| self.err(e))?;
        let layer = ds
            .create_layer(LayerOptions {
                name: "places",
                srs: Some(&srs),
                ty: OGRwkbGeometryType::wkbMultiPolygon,
                options: Some(&["SPATIAL_INDEX=YES", "FID=fid"]),
            })
            .map_err(|e| self.err(e))?;
        for name in ["name", "kind", "import_id"] {
            FieldDefn::new(name, OGRFieldType::OFTString).and_then(|f| f.add_to_layer(&layer)).map_err(|e| self.err(e))?;
        }
        Ok(())
    }

    pub fn recover_if_needed(&self) -> Result<(), StoreError> {
        let mut journal = self.path.as_os_str().to_owned();
        journal.push("-journal");
        if std::path::Path::new(&journal).exists() {
            tracing::warn!("{}: rolling back a write interrupted by a crash", self.path.display());
            let ds = self.open_gpkg(true)?;
            // A read makes SQLite take the shared lock that triggers the rollback.
            let _ = ds.layer_count();
            let _ = ds.layers().map(|l| l.feature_count()).sum::<u64>();
        }
        Ok(())
    }

    pub(crate) fn open_read(&self) -> Result<Dataset, StoreError> {
        if !self.path.exists() {
            return Err(StoreError::Missing { path: self.path.display().to_string() });
        }
        self.recover_if_needed()?;
        self.open_gpkg(false)
    }

    fn read_layer<T>(&self, name: &str, f: impl FnMut(&Feature) -> Result<T, BadFeature>) -> Result<Vec<T>, StoreError> {
        self.read_layer_where(name, None, f)
    }

    /// The features of a layer, those of one import only when `import_id` is given.
    fn read_layer_where<T>(&self, name: &str, import_id: Option<&str>, mut f: impl FnMut(&Feature) -> Result<T, BadFeature>) -> Result<Vec<T>, StoreError> {
        let ds = self.open_read()?;
        let mut layer = ds
            .layer_by_name(name)
            .map_err(|_| StoreError::Corrupt { path: self.path.display().to_string(), reason: format!("layer '{name}' is missing; not a lagesbild store?") })?;
        if let Some(id) = import_id {
            layer.set_attribute_filter(&format!("import_id = '{}'", id.replace('\'', "''"))).map_err(|e| self.err(e))?;
        }
        let mut out = Vec::new();
        for feat in layer.features() {
            let fid = feat.fid().unwrap_or(0);
            out.push(
                f(&feat)
                    .map_err(|reason| StoreError::Corrupt { path: self.path.display().to_string(), reason: format!("layer {name}, fid {fid}: {reason}") })?,
            );
        }
        Ok(out)
    }
}

/// Why a stored feature cannot be read back (a store damaged or written by something else);
/// `read_layer` adds the layer and fid.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
struct BadFeature(String);

impl From<&str> for BadFeature {
    fn from(s: &str) -> BadFeature {
        BadFeature(s.to_string())
    }
}

impl From<String> for BadFeature {
    fn from(s: String) -> BadFeature {
        BadFeature(s)
    }
}

fn s(f: &Feature, name: &str) -> String {
    f.field_index(name).ok().and_then(|i| f.field_as_string(i).ok().flatten()).unwrap_or_default()
}
fn d(f: &Feature, name: &str) -> Option<f64> {
    f.field_index(name).ok().and_then(|i| f.field_as_double(i).ok().flatten())
}

fn area_feature(f: &Feature) -> Result<Area, BadFeature> {
    let geom = f.geometry().ok_or("no geometry")?.to_geo().map_err(|e| e.to_string())?;
    let geometry = match geom {
        geo::Geometry::MultiPolygon(m) => m,
        geo::Geometry::Polygon(p) => geo::MultiPolygon(vec![p]),
        other => return Err(format!("expected a polygon, found {other:?}").into()),
    };
    Ok(Area {
        deso: s(f, "deso"),
        regso: s(f, "regso"),
        regso_name: s(f, "regso_name"),
        kommun: s(f, "kommun"),
        version: s(f, "version"),
        population: d(f, "population"),
        geometry,
    })
}

fn place_feature(f: &Feature) -> Result<Place, BadFeature> {
    let geometry = match f.geometry().ok_or("no geometry")?.to_geo().map_err(|e| e.to_string())? {
        geo::Geometry::MultiPolygon(m) => m,
        geo::Geometry::Polygon(p) => geo::MultiPolygon(vec![p]),
        other => return Err(format!("expected a polygon, found {other:?}").into()),
    };
    Ok(Place { name: s(f, "name"), kind: s(f, "kind"), geometry })
}

fn indicator_feature(f: &Feature) -> Result<IndicatorValue, BadFeature> {
    Ok(IndicatorValue {
        deso: s(f, "deso"),
        year: d(f, "year").unwrap_or(0.0) as i32,
        indicator: s(f, "indicator"),
        value: d(f, "value").ok_or("value is null")?,
        source: s(f, "source"),
    })
}

impl Store for GpkgStore {
    fn areas(&self) -> Result<Vec<Area>, StoreError> {
        self.read_layer("areas", area_feature)
    }

    fn places(&self) -> Result<Vec<Place>, StoreError> {
        if !self.path.exists() || self.open_read()?.layer_by_name("places").is_err() {
            return Ok(vec![]);
        }
        self.read_layer("places", place_feature)
    }

    fn indicators(&self) -> Result<Vec<IndicatorValue>, StoreError> {
        self.read_layer("indicators", indicator_feature)
    }

    fn import_batch(&self, record: &ImportRecord) -> Result<ImportBatch, StoreError> {
        let id = Some(record.import_id.as_str());
        Ok(match super::import_table(&record.kind) {
            "areas" => ImportBatch::Areas(self.read_layer_where("areas", id, area_feature)?),
            "incidents" => ImportBatch::Incidents(self.incidents()?.into_iter().filter(|i| i.import_id == record.import_id).collect()),
            "places" => ImportBatch::Places(self.read_layer_where("places", id, place_feature)?),
            _ => ImportBatch::Indicators(self.read_layer_where("indicators", id, indicator_feature)?),
        })
    }

    fn incidents(&self) -> Result<Vec<Incident>, StoreError> {
        // Field positions are looked up once, not per feature: at a million incidents the
        // by-name lookups cost more than reading the values.
        let ds = self.open_read()?;
        let mut layer = ds.layer_by_name("incidents").map_err(|_| StoreError::Corrupt {
            path: self.path.display().to_string(),
            reason: "layer 'incidents' is missing; not a lagesbild store?".into(),
        })?;
        let defn = layer.defn();
        let ix = |n: &str| defn.field_index(n).ok();
        let (id, cat, label, at, by, prec, desc, imp) =
            (ix("id"), ix("category"), ix("source_label"), ix("occurred_at"), ix("reported_by"), ix("precision"), ix("description"), ix("import_id"));
        let at = at.ok_or_else(|| StoreError::Corrupt { path: self.path.display().to_string(), reason: "incidents have no occurred_at".into() })?;
        let text = |f: &Feature, i: Option<usize>| i.and_then(|i| f.field_as_string(i).ok().flatten()).unwrap_or_default();
        let n = layer.feature_count() as usize;
        let mut out = Vec::with_capacity(n);
        for f in layer.features() {
            let fid = f.fid().unwrap_or(0);
            let bad = |reason: String| StoreError::Corrupt { path: self.path.display().to_string(), reason: format!("layer incidents, fid {fid}: {reason}") };
            let p = f.geometry().ok_or_else(|| bad("no geometry".into()))?.get_point(0);
            let occurred_at = stored_time(&f, at).map_err(|e| bad(e.to_string()))?.ok_or_else(|| bad("occurred_at is null".into()))?;
            let c = text(&f, cat);
            out.push(Incident {
                id: text(&f, id),
                category: Category::from_canonical(&c).ok_or_else(|| bad(format!("unknown category {c}")))?,
                source_label: text(&f, label),
                occurred_at,
                reported_by: text(&f, by),
                precision: Precision::parse(&text(&f, prec)).ok_or_else(|| bad("unknown precision".into()))?,
                description: text(&f, desc),
                import_id: text(&f, imp),
                location: geo::Point::new(p.0, p.1),
            });
        }
        Ok(out)
    }

    fn imports(&self) -> Result<Vec<ImportRecord>, StoreError> {
        self.read_layer("imports", |f| {
            Ok(ImportRecord {
                import_id: s(f, "import_id"),
                kind: s(f, "kind"),
                file_name: s(f, "file_name"),
                sha256: s(f, "sha256"),
                imported_at: s(f, "imported_at"),
                accepted: d(f, "accepted").unwrap_or(0.0) as u64,
                rejected: d(f, "rejected").unwrap_or(0.0) as u64,
                imported_by: s(f, "imported_by"),
            })
        })
    }

    fn incident_ids(&self) -> Result<std::collections::HashSet<String>, StoreError> {
        let mut ids = std::collections::HashSet::new();
        self.for_each_incident_id(&mut |id| {
            ids.insert(id.to_string());
        })?;
        Ok(ids)
    }

    fn for_each_incident_id(&self, f: &mut dyn FnMut(&str)) -> Result<(), StoreError> {
        if !self.path.exists() {
            return Err(StoreError::Missing { path: self.path.display().to_string() });
        }
        self.recover_if_needed()?;
        bulk::for_each_incident_id(&self.path, f)
    }

    fn incident_sink(&self) -> Result<Box<dyn IncidentSink + '_>, StoreError> {
        let created = !self.path.exists();
        if created {
            self.create()?;
        }
        self.recover_if_needed()?;
        let mut sink = GpkgSink { bulk: None, created: created.then(|| self.path.clone()) };
        sink.bulk = Some(IncidentBulk::begin(&self.path)?);
        Ok(Box::new(sink))
    }

    fn write_import(&self, batch: &ImportBatch, record: &ImportRecord) -> Result<(), StoreError> {
        if let ImportBatch::Incidents(rows) = batch {
            let mut sink = self.incident_sink()?;
            sink.append(rows)?;
            return sink.commit(record);
        }
        if !self.path.exists() {
            self.create()?;
        }
        let mut ds = self.open_gpkg(true)?;
        // Stores made before undo existed lack these columns; adding them first keeps the write
        // below one plain transaction.
        let id_field = |ds: &Dataset, layer: &str, name: &str| -> Result<usize, StoreError> {
            let l = ds.layer_by_name(layer).map_err(|e| self.err(e))?;
            if let Ok(i) = l.defn().field_index(name) {
                return Ok(i);
            }
            FieldDefn::new(name, OGRFieldType::OFTString).and_then(|f| f.add_to_layer(&l)).map_err(|e| self.err(e))?;
            l.defn().field_index(name).map_err(|e| self.err(e))
        };
        if let ImportBatch::Places(_) = batch {
            self.ensure_places_layer(&mut ds)?;
        }
        let row_layer = match batch {
            ImportBatch::Areas(_) => "areas",
            ImportBatch::Indicators(_) => "indicators",
            ImportBatch::Incidents(_) => "incidents",
            ImportBatch::Places(_) => "places",
        };
        let row_id = id_field(&ds, row_layer, "import_id")?;
        let by_field = id_field(&ds, "imports", "imported_by")?;
        // One SQLite transaction: dropped without commit (any error below) means rolled back.
        let txn = ds.start_transaction().map_err(|e| self.err(e))?;
        {
            let e = |e: gdal::errors::GdalError| self.err(e);
            match batch {
                ImportBatch::Areas(areas) => {
                    let layer = txn.layer_by_name("areas").map_err(e)?;
                    for a in areas {
                        let mut f = Feature::new(layer.defn()).map_err(e)?;
                        f.set_field_string(0, &a.deso).map_err(e)?;
                        f.set_field_string(1, &a.regso).map_err(e)?;
                        f.set_field_string(2, &a.regso_name).map_err(e)?;
                        f.set_field_string(3, &a.kommun).map_err(e)?;
                        f.set_field_string(4, &a.version).map_err(e)?;
                        match a.population {
                            Some(p) => f.set_field_double(5, p).map_err(e)?,
                            None => f.set_field_null(5).map_err(e)?,
                        }
                        f.set_field_string(row_id, &record.import_id).map_err(e)?;
                        f.set_geometry(a.geometry.to_gdal().map_err(e)?).map_err(e)?;
                        f.create(&layer).map_err(e)?;
                    }
                }
                ImportBatch::Indicators(values) => {
                    let layer = txn.layer_by_name("indicators").map_err(e)?;
                    for v in values {
                        let mut f = Feature::new(layer.defn()).map_err(e)?;
                        f.set_field_string(0, &v.deso).map_err(e)?;
                        f.set_field_integer(1, v.year).map_err(e)?;
                        f.set_field_string(2, &v.indicator).map_err(e)?;
                        f.set_field_double(3, v.value).map_err(e)?;
                        f.set_field_string(4, &v.source).map_err(e)?;
                        f.set_field_string(row_id, &record.import_id).map_err(e)?;
                        f.create(&layer).map_err(e)?;
                    }
                }
                ImportBatch::Places(places) => {
                    let layer = txn.layer_by_name("places").map_err(e)?;
                    for p in places {
                        let mut f = Feature::new(layer.defn()).map_err(e)?;
                        f.set_field_string(0, &p.name).map_err(e)?;
                        f.set_field_string(1, &p.kind).map_err(e)?;
                        f.set_field_string(row_id, &record.import_id).map_err(e)?;
                        f.set_geometry(p.geometry.to_gdal().map_err(e)?).map_err(e)?;
                        f.create(&layer).map_err(e)?;
                    }
                }
                // Written through the bulk path at the top of this function.
                ImportBatch::Incidents(_) => {}
            }
            let layer = txn.layer_by_name("imports").map_err(e)?;
            let mut f = Feature::new(layer.defn()).map_err(e)?;
            f.set_field_string(0, &record.import_id).map_err(e)?;
            f.set_field_string(1, &record.kind).map_err(e)?;
            f.set_field_string(2, &record.file_name).map_err(e)?;
            f.set_field_string(3, &record.sha256).map_err(e)?;
            f.set_field_string(4, &record.imported_at).map_err(e)?;
            f.set_field_integer64(5, record.accepted as i64).map_err(e)?;
            f.set_field_integer64(6, record.rejected as i64).map_err(e)?;
            f.set_field_string(by_field, &record.imported_by).map_err(e)?;
            f.create(&layer).map_err(e)?;
        }
        txn.commit().map_err(|e| self.err(e))
    }

    fn describe(&self) -> String {
        format!("GeoPackage {}", self.path.display())
    }

    fn delete_import(&self, import_id: &str) -> Result<Option<super::DeletedImport>, StoreError> {
        if !self.path.exists() {
            return Ok(None);
        }
        let Some(record) = self.imports()?.into_iter().find(|r| r.import_id == import_id) else {
            return Ok(None);
        };
        let corrupt = |reason: String| StoreError::Corrupt { path: self.path.display().to_string(), reason };
        if record.kind == "gallring" {
            return Err(corrupt(format!("{import_id} is a gallring: removed points cannot be brought back")));
        }
        let table = super::import_table(&record.kind);
        // Points of this import already thinned out live on only as weekly counts: undo removes
        // the remaining points and those counts, so nothing comes back and nothing is counted twice.
        let thinned = if table == "incidents" { self.thinned_of_import(import_id)? } else { 0 };
        let mut ds = self.open_gpkg(true)?;
        if ds.layer_by_name(table).map_err(|e| self.err(e))?.defn().field_index("import_id").is_err() {
            return Err(corrupt(format!("the {table} rows carry no import_id (store made by an older version); {import_id} cannot be undone")));
        }
        // Ids are written by lagesbild, but quote anyway: the value reaches SQL text.
        let quoted = format!("'{}'", import_id.replace('\'', "''"));
        let txn = ds.start_transaction().map_err(|e| self.err(e))?;
        let removed = count_rows(&txn, &format!("SELECT count(*) FROM \"{table}\" WHERE import_id = {quoted}")).map_err(|e| self.err(e))?;
        if removed + thinned != record.accepted {
            // Rows of this import were changed by hand: removing some of them would not undo it.
            return Err(corrupt(format!("{import_id} added {} {table} rows but {removed} carry its id; nothing was removed", record.accepted)));
        }
        txn.execute_sql(format!("DELETE FROM \"{table}\" WHERE import_id = {quoted}"), None, gdal::vector::sql::Dialect::DEFAULT).map_err(|e| self.err(e))?;
        txn.execute_sql(format!("DELETE FROM imports WHERE import_id = {quoted}"), None, gdal::vector::sql::Dialect::DEFAULT).map_err(|e| self.err(e))?;
        if thinned > 0 {
            txn.execute_sql(format!("DELETE FROM incident_counts_weekly WHERE import_id = {quoted}"), None, gdal::vector::sql::Dialect::DEFAULT)
                .map_err(|e| self.err(e))?;
        }
        txn.commit().map_err(|e| self.err(e))?;
        Ok(Some(super::DeletedImport { record, removed }))
    }

    fn weekly_counts(&self) -> Result<Vec<super::WeeklyCount>, StoreError> {
        self.gpkg_weekly_counts()
    }

    fn gallring_state(&self) -> Result<super::GallringState, StoreError> {
        self.gpkg_gallring_state()
    }

    fn gallra(&self, plan: &super::GallringPlan) -> Result<super::GallringReport, StoreError> {
        self.gpkg_gallra(plan)
    }

    fn data_generation(&self) -> Result<u64, StoreError> {
        if !self.path.exists() {
            return Ok(0);
        }
        let ds = self.open_read()?;
        // fid is AUTOINCREMENT in a GeoPackage, so (rows, largest fid) never repeats: every
        // import raises the largest fid, every undo lowers the count.
        let n = count_rows(&ds, "SELECT count(*) FROM imports").map_err(|e| self.err(e))?;
        let max = count_rows(&ds, "SELECT coalesce(max(fid), 0) FROM imports").map_err(|e| self.err(e))?;
        Ok((n << 32) ^ max)
    }
}

/// The first column of the first row of a query, as an integer.
fn count_rows(ds: &Dataset, sql: &str) -> Result<u64, gdal::errors::GdalError> {
    let Some(mut rs) = ds.execute_sql(sql, None, gdal::vector::sql::Dialect::DEFAULT)? else {
        return Ok(0);
    };
    let v = rs.features().next().and_then(|f| f.field_as_integer64(0).ok().flatten()).unwrap_or(0);
    Ok(v.max(0) as u64)
}

/// The GeoPackage's bulk transaction; a store file made just for this write is removed again
/// when the write is abandoned, so a refused import leaves no store behind.
struct GpkgSink {
    bulk: Option<IncidentBulk>,
    created: Option<PathBuf>,
}

impl IncidentSink for GpkgSink {
    fn append(&mut self, rows: &[Incident]) -> Result<(), StoreError> {
        match &mut self.bulk {
            Some(b) => b.append(rows),
            None => Ok(()),
        }
    }
    fn commit(mut self: Box<Self>, record: &ImportRecord) -> Result<(), StoreError> {
        let done = match self.bulk.take() {
            Some(b) => b.commit(record),
            None => Ok(()),
        };
        if done.is_ok() {
            self.created = None;
        }
        done
    }
}

impl Drop for GpkgSink {
    fn drop(&mut self) {
        drop(self.bulk.take());
        if let Some(p) = self.created.take() {
            let _ = std::fs::remove_file(p);
        }
    }
}

/// A stored DATETIME as Swedish local time: values with a zone (UTC `Z`, written since times
/// follow the GeoPackage standard) are converted; values without one (older stores) were
/// written as local time and are taken as they are.
/// None for a null value.
fn stored_time(f: &gdal::vector::Feature, idx: usize) -> Result<Option<chrono::NaiveDateTime>, gdal::errors::GdalError> {
    let Some(t) = f.field_as_datetime(idx)? else { return Ok(None) };
    // GDAL renders a zoned value with its offset (`2025/03/09 23:30:00+00`), an unzoned one without.
    let text = f.field_as_string(idx)?.unwrap_or_default();
    let zoned = text.split_once(':').is_some_and(|(_, clock)| clock.contains(['+', '-', 'Z']));
    Ok(Some(if zoned { crate::model::time::local_of(&t) } else { t.naive_local() }))
}

//! GeoPackage store through GDAL's GPKG driver, so the file is a plain GeoPackage that QGIS
//! and ogrinfo open as it is.

use super::bulk::{self, IncidentBulk};
use super::{ImportBatch, IncidentSink, Store, StoreError};
use crate::io::srs_from_epsg;
use crate::model::{Area, Category, ImportRecord, Incident, IndicatorValue, Precision, WORKING_EPSG};
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
];
const INDICATOR_FIELDS: &[FieldSpec] = &[
    ("deso", OGRFieldType::OFTString),
    ("year", OGRFieldType::OFTInteger),
    ("indicator", OGRFieldType::OFTString),
    ("value", OGRFieldType::OFTReal),
    ("source", OGRFieldType::OFTString),
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

    fn read_layer<T>(&self, name: &str, mut f: impl FnMut(&Feature) -> Result<T, String>) -> Result<Vec<T>, StoreError> {
        let ds = self.open_read()?;
        let mut layer = ds
            .layer_by_name(name)
            .map_err(|_| StoreError::Corrupt { path: self.path.display().to_string(), reason: format!("layer '{name}' is missing; not a lagesbild store?") })?;
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

fn s(f: &Feature, name: &str) -> String {
    f.field_index(name).ok().and_then(|i| f.field_as_string(i).ok().flatten()).unwrap_or_default()
}
fn d(f: &Feature, name: &str) -> Option<f64> {
    f.field_index(name).ok().and_then(|i| f.field_as_double(i).ok().flatten())
}

impl Store for GpkgStore {
    fn areas(&self) -> Result<Vec<Area>, StoreError> {
        self.read_layer("areas", |f| {
            let geom = f.geometry().ok_or("no geometry")?.to_geo().map_err(|e| e.to_string())?;
            let geometry = match geom {
                geo::Geometry::MultiPolygon(m) => m,
                geo::Geometry::Polygon(p) => geo::MultiPolygon(vec![p]),
                other => return Err(format!("expected a polygon, found {other:?}")),
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
        })
    }

    fn indicators(&self) -> Result<Vec<IndicatorValue>, StoreError> {
        self.read_layer("indicators", |f| {
            Ok(IndicatorValue {
                deso: s(f, "deso"),
                year: d(f, "year").unwrap_or(0.0) as i32,
                indicator: s(f, "indicator"),
                value: d(f, "value").ok_or("value is null")?,
                source: s(f, "source"),
            })
        })
    }

    fn incidents(&self) -> Result<Vec<Incident>, StoreError> {
        self.read_layer("incidents", |f| {
            let p = f.geometry().ok_or("no geometry")?.get_point(0);
            let idx = f.field_index("occurred_at").map_err(|e| e.to_string())?;
            let occurred_at = f.field_as_datetime(idx).map_err(|e| e.to_string())?.ok_or("occurred_at is null")?.naive_local();
            let cat = s(f, "category");
            Ok(Incident {
                id: s(f, "id"),
                category: Category::from_canonical(&cat).ok_or(format!("unknown category {cat}"))?,
                source_label: s(f, "source_label"),
                occurred_at,
                reported_by: s(f, "reported_by"),
                precision: Precision::parse(&s(f, "precision")).ok_or("unknown precision")?,
                description: s(f, "description"),
                import_id: s(f, "import_id"),
                location: geo::Point::new(p.0, p.1),
            })
        })
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
            f.create(&layer).map_err(e)?;
        }
        txn.commit().map_err(|e| self.err(e))
    }

    fn describe(&self) -> String {
        format!("GeoPackage {}", self.path.display())
    }
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

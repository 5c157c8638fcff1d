//! Walks, observations, their history and photos in the GeoPackage store. Every write is one
//! SQLite transaction (a crash leaves the store as before the write); updates carry the version
//! the client read, and a stale one changes nothing.

use super::gpkg::GpkgStore;
use super::StoreError;
use crate::io::srs_from_epsg;
use crate::walks::{HistoryEntry, Observation, ObservationStatus, Walk, WalkStatus};
use chrono::NaiveDateTime;
use gdal::vector::sql::Dialect;
use gdal::vector::{Feature, FieldDefn, LayerAccess, LayerOptions, OGRFieldType, OGRwkbGeometryType, ToGdal};
use gdal::Dataset;

#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    #[error("version {expected} is stale; the current version is {current}")]
    Conflict { expected: i64, current: i64 },
    #[error("not found")]
    NotFound,
    #[error(transparent)]
    Store(#[from] StoreError),
}

pub trait WalkStore: Send + Sync {
    fn walks(&self) -> Result<Vec<Walk>, StoreError>;
    fn observations(&self, walk: Option<&str>) -> Result<Vec<Observation>, StoreError>;
    fn history(&self, observation: &str) -> Result<Vec<HistoryEntry>, StoreError>;
    fn photo(&self, observation: &str) -> Result<Option<(String, Vec<u8>)>, StoreError>;
    fn insert_walk(&self, w: &Walk) -> Result<(), StoreError>;
    fn replace_walk(&self, w: &Walk, expected: i64) -> Result<(), WriteError>;
    /// Deletes a walk with its observations, their history and photos.
    fn delete_walk(&self, id: &str, expected: i64) -> Result<(), WriteError>;
    fn insert_observation(&self, o: &Observation, h: &HistoryEntry) -> Result<(), StoreError>;
    /// Replaces an observation, appends its history entry and, with `photo`, stores the photo.
    fn replace_observation(&self, o: &Observation, expected: i64, h: &HistoryEntry, photo: Option<(&str, &[u8])>) -> Result<(), WriteError>;
    fn delete_observation(&self, id: &str, expected: i64) -> Result<(), WriteError>;
    /// Writes a walk read from another store as it was (ids, versions, every history entry,
    /// photos) in one transaction; a walk with that id already here is refused. For copy-store.
    fn restore_walk(&self, r: &WalkRecord) -> Result<(), StoreError>;
}

/// A walk with everything that belongs to it, as [`WalkStore::restore_walk`] writes it.
#[derive(Debug, Clone, PartialEq)]
pub struct WalkRecord {
    pub walk: Walk,
    pub observations: Vec<ObservationRecord>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ObservationRecord {
    pub observation: Observation,
    /// Oldest first.
    pub history: Vec<HistoryEntry>,
    /// (MIME type, bytes).
    pub photo: Option<(String, Vec<u8>)>,
}

impl WalkRecord {
    /// Reads walk `w` with its observations, their history and photos from `store`.
    pub fn read(store: &(impl WalkStore + ?Sized), walk: Walk) -> Result<WalkRecord, StoreError> {
        let mut observations = Vec::new();
        for o in store.observations(Some(&walk.id))? {
            let (history, photo) = (store.history(&o.id)?, store.photo(&o.id)?);
            observations.push(ObservationRecord { observation: o, history, photo });
        }
        Ok(WalkRecord { walk, observations })
    }
}

type Spec = (&'static str, OGRFieldType::Type);
const WALK_FIELDS: &[Spec] = &[
    ("id", OGRFieldType::OFTString),
    ("title", OGRFieldType::OFTString),
    ("planned_at", OGRFieldType::OFTString),
    ("area", OGRFieldType::OFTString),
    ("organiser", OGRFieldType::OFTString),
    ("organisations", OGRFieldType::OFTString),
    ("status", OGRFieldType::OFTString),
    ("notes", OGRFieldType::OFTString),
    ("created_by", OGRFieldType::OFTString),
    ("created_at", OGRFieldType::OFTString),
    ("updated_by", OGRFieldType::OFTString),
    ("updated_at", OGRFieldType::OFTString),
    ("version", OGRFieldType::OFTInteger64),
    // Added for planning and the protocol; older stores get them on their next write.
    ("participants", OGRFieldType::OFTString),
    ("meeting_point", OGRFieldType::OFTString),
    ("stops", OGRFieldType::OFTString),
    ("dark_hours", OGRFieldType::OFTInteger),
    ("notes_before", OGRFieldType::OFTString),
    ("notes_after", OGRFieldType::OFTString),
];
const OBS_FIELDS: &[Spec] = &[
    ("id", OGRFieldType::OFTString),
    ("walk_id", OGRFieldType::OFTString),
    ("category", OGRFieldType::OFTString),
    ("ratings", OGRFieldType::OFTString),
    ("description", OGRFieldType::OFTString),
    ("responsible", OGRFieldType::OFTString),
    ("status", OGRFieldType::OFTString),
    ("off_route", OGRFieldType::OFTInteger),
    ("has_photo", OGRFieldType::OFTInteger),
    ("created_by", OGRFieldType::OFTString),
    ("created_at", OGRFieldType::OFTString),
    ("updated_by", OGRFieldType::OFTString),
    ("updated_at", OGRFieldType::OFTString),
    ("version", OGRFieldType::OFTInteger64),
    ("due", OGRFieldType::OFTString),
    ("insats", OGRFieldType::OFTString),
    ("client_id", OGRFieldType::OFTString),
];
const HISTORY_FIELDS: &[Spec] = &[
    ("observation_id", OGRFieldType::OFTString),
    ("version", OGRFieldType::OFTInteger64),
    ("changed_by", OGRFieldType::OFTString),
    ("changed_at", OGRFieldType::OFTString),
    ("changes", OGRFieldType::OFTString),
];
const PHOTO_FIELDS: &[Spec] = &[
    ("observation_id", OGRFieldType::OFTString),
    ("mime", OGRFieldType::OFTString),
    ("data_base64", OGRFieldType::OFTString),
    ("sha256", OGRFieldType::OFTString),
];

const LAYERS: &[(&str, OGRwkbGeometryType::Type, &[Spec])] = &[
    ("walks", OGRwkbGeometryType::wkbLineString, WALK_FIELDS),
    ("observations", OGRwkbGeometryType::wkbPoint, OBS_FIELDS),
    ("observation_history", OGRwkbGeometryType::wkbNone, HISTORY_FIELDS),
    ("photos", OGRwkbGeometryType::wkbNone, PHOTO_FIELDS),
];

/// Stored as a GeoPackage DATETIME in UTC; rows written before (local time without a zone) are
/// read as local time by `parse_ts`.
fn ts(t: &NaiveDateTime) -> String {
    crate::model::time::to_utc_text(*t)
}
fn parse_ts(s: &str) -> NaiveDateTime {
    crate::model::parse_datetime(s).unwrap_or_default()
}
fn q(s: &str) -> String {
    s.replace('\'', "''")
}
fn s(f: &Feature, n: &str) -> String {
    f.field_index(n).ok().and_then(|i| f.field_as_string(i).ok().flatten()).unwrap_or_default()
}
fn i(f: &Feature, n: &str) -> i64 {
    f.field_index(n).ok().and_then(|i| f.field_as_integer64(i).ok().flatten()).unwrap_or(0)
}

impl GpkgStore {
    fn open_update(&self) -> Result<Dataset, StoreError> {
        if !self.path().exists() {
            self.create()?;
        }
        self.open_gpkg(true)
    }

    /// Creates the walk layers in a store made before walks existed, and the fields added since
    /// in one made before them (idempotent, one transaction).
    fn ensure_walk_layers(&self, ds: &mut Dataset) -> Result<(), StoreError> {
        let err = |e: gdal::errors::GdalError| StoreError::Gdal { path: self.path().display().to_string(), reason: e.to_string() };
        for (name, _, fields) in LAYERS {
            if let Ok(layer) = ds.layer_by_name(name) {
                for (f, t) in fields.iter() {
                    if layer.defn().field_index(f).is_err() {
                        FieldDefn::new(f, *t).and_then(|d| d.add_to_layer(&layer)).map_err(err)?;
                    }
                }
            }
        }
        let missing: Vec<_> = LAYERS.iter().filter(|(n, _, _)| ds.layer_by_name(n).is_err()).collect();
        if missing.is_empty() {
            return Ok(());
        }
        let srs = srs_from_epsg(3006).map_err(|e| StoreError::Corrupt { path: self.path().display().to_string(), reason: e.to_string() })?;
        let mut txn = ds.start_transaction().map_err(err)?;
        for (name, ty, fields) in missing {
            let layer = txn
                .create_layer(LayerOptions {
                    name,
                    srs: if *ty == OGRwkbGeometryType::wkbNone { None } else { Some(&srs) },
                    ty: *ty,
                    options: Some(&["FID=fid"]),
                })
                .map_err(err)?;
            for (f, t) in fields.iter() {
                FieldDefn::new(f, *t).and_then(|d| d.add_to_layer(&layer)).map_err(err)?;
            }
        }
        txn.commit().map_err(err)
    }

    fn read<T>(&self, layer: &str, filter: Option<String>, mut f: impl FnMut(&Feature) -> T) -> Result<Vec<T>, StoreError> {
        if !self.path().exists() {
            return Ok(vec![]);
        }
        let ds = self.open_read()?;
        let Ok(mut l) = ds.layer_by_name(layer) else { return Ok(vec![]) };
        if let Some(flt) = filter {
            l.set_attribute_filter(&flt).map_err(|e| StoreError::Gdal { path: self.path().display().to_string(), reason: e.to_string() })?;
        }
        Ok(l.features().map(|x| f(&x)).collect())
    }

    /// Runs `body` inside one transaction of a freshly opened dataset.
    fn write<T>(&self, body: impl FnOnce(&mut Dataset) -> Result<T, WriteError>) -> Result<T, WriteError> {
        let mut ds = self.open_update()?;
        self.ensure_walk_layers(&mut ds)?;
        let err = |e: gdal::errors::GdalError| WriteError::Store(StoreError::Gdal { path: self.path().display().to_string(), reason: e.to_string() });
        let mut txn = ds.start_transaction().map_err(err)?;
        let out = body(&mut txn)?; // an error drops the transaction: rolled back
        txn.commit().map_err(err)?;
        Ok(out)
    }
}

fn gerr(e: gdal::errors::GdalError) -> WriteError {
    WriteError::Store(StoreError::Gdal { path: "store".into(), reason: e.to_string() })
}

fn current_version(ds: &Dataset, layer: &str, id: &str) -> Result<Option<i64>, WriteError> {
    let mut l = ds.layer_by_name(layer).map_err(gerr)?;
    l.set_attribute_filter(&format!("id = '{}'", q(id))).map_err(gerr)?;
    let v = l.features().next().map(|f| i(&f, "version"));
    l.clear_attribute_filter();
    Ok(v)
}

fn check_version(ds: &Dataset, layer: &str, id: &str, expected: i64) -> Result<(), WriteError> {
    match current_version(ds, layer, id)? {
        None => Err(WriteError::NotFound),
        Some(v) if v != expected => Err(WriteError::Conflict { expected, current: v }),
        Some(_) => Ok(()),
    }
}

fn exec(ds: &Dataset, sql: &str) -> Result<(), WriteError> {
    ds.execute_sql(sql, None, Dialect::DEFAULT).map_err(gerr)?;
    Ok(())
}

/// Sets fields by name: the layer of an older store may have them in another order.
fn set_strings(f: &mut Feature, vals: &[(&str, &str)]) -> Result<(), WriteError> {
    for (n, v) in vals {
        let k = f.field_index(n).map_err(gerr)?;
        f.set_field_string(k, v).map_err(gerr)?;
    }
    Ok(())
}

fn set_int(f: &mut Feature, n: &str, v: i64) -> Result<(), WriteError> {
    let k = f.field_index(n).map_err(gerr)?;
    f.set_field_integer64(k, v).map_err(gerr)
}

fn put_walk(ds: &Dataset, w: &Walk) -> Result<(), WriteError> {
    let l = ds.layer_by_name("walks").map_err(gerr)?;
    let mut f = Feature::new(l.defn()).map_err(gerr)?;
    set_strings(
        &mut f,
        &[
            ("id", &w.id),
            ("title", &w.title),
            ("planned_at", &ts(&w.planned_at)),
            ("area", &w.area),
            ("organiser", &w.organiser),
            ("organisations", &w.organisations.join(", ")),
            ("status", w.status.as_str()),
            ("notes", &w.notes),
            ("created_by", &w.created_by),
            ("created_at", &ts(&w.created_at)),
            ("updated_by", &w.updated_by),
            ("updated_at", &ts(&w.updated_at)),
            ("participants", &serde_json::to_string(&w.participants).unwrap_or_else(|_| "[]".into())),
            ("meeting_point", &w.meeting_point),
            ("stops", &serde_json::to_string(&w.stops).unwrap_or_else(|_| "[]".into())),
            ("notes_before", &w.notes_before),
            ("notes_after", &w.notes_after),
        ],
    )?;
    set_int(&mut f, "version", w.version)?;
    set_int(&mut f, "dark_hours", i64::from(w.dark_hours))?;
    f.set_geometry(w.route.to_gdal().map_err(gerr)?).map_err(gerr)?;
    f.create(&l).map_err(gerr)
}

fn put_observation(ds: &Dataset, o: &Observation) -> Result<(), WriteError> {
    let l = ds.layer_by_name("observations").map_err(gerr)?;
    let mut f = Feature::new(l.defn()).map_err(gerr)?;
    let ratings = serde_json::to_string(&o.ratings).unwrap_or_else(|_| "{}".into());
    let due = o.due.map(|d| d.format("%Y-%m-%d").to_string()).unwrap_or_default();
    set_strings(
        &mut f,
        &[
            ("id", &o.id),
            ("walk_id", &o.walk_id),
            ("category", &o.category),
            ("ratings", &ratings),
            ("description", &o.description),
            ("responsible", &o.responsible),
            ("status", o.status.as_str()),
            ("created_by", &o.created_by),
            ("created_at", &ts(&o.created_at)),
            ("updated_by", &o.updated_by),
            ("updated_at", &ts(&o.updated_at)),
            ("due", &due),
            ("insats", &o.insats),
            ("client_id", &o.client_id),
        ],
    )?;
    set_int(&mut f, "off_route", i64::from(o.off_route))?;
    set_int(&mut f, "has_photo", i64::from(o.has_photo))?;
    set_int(&mut f, "version", o.version)?;
    f.set_geometry(o.point.to_gdal().map_err(gerr)?).map_err(gerr)?;
    f.create(&l).map_err(gerr)
}

fn put_history(ds: &Dataset, h: &HistoryEntry) -> Result<(), WriteError> {
    let l = ds.layer_by_name("observation_history").map_err(gerr)?;
    let mut f = Feature::new(l.defn()).map_err(gerr)?;
    f.set_field_string(0, &h.observation_id).map_err(gerr)?;
    f.set_field_integer64(1, h.version).map_err(gerr)?;
    f.set_field_string(2, &h.changed_by).map_err(gerr)?;
    f.set_field_string(3, &ts(&h.changed_at)).map_err(gerr)?;
    f.set_field_string(4, &h.changes).map_err(gerr)?;
    f.create(&l).map_err(gerr)
}

fn put_photo(ds: &Dataset, observation: &str, mime: &str, bytes: &[u8]) -> Result<(), WriteError> {
    use base64::Engine;
    use sha2::Digest;
    let l = ds.layer_by_name("photos").map_err(gerr)?;
    let mut f = Feature::new(l.defn()).map_err(gerr)?;
    f.set_field_string(0, observation).map_err(gerr)?;
    f.set_field_string(1, mime).map_err(gerr)?;
    f.set_field_string(2, &base64::engine::general_purpose::STANDARD.encode(bytes)).map_err(gerr)?;
    f.set_field_string(3, &format!("{:x}", sha2::Sha256::digest(bytes))).map_err(gerr)?;
    f.create(&l).map_err(gerr)
}

impl WalkStore for GpkgStore {
    fn walks(&self) -> Result<Vec<Walk>, StoreError> {
        self.read("walks", None, |f| Walk {
            id: s(f, "id"),
            title: s(f, "title"),
            planned_at: parse_ts(&s(f, "planned_at")),
            area: s(f, "area"),
            organiser: s(f, "organiser"),
            organisations: s(f, "organisations").split(',').map(|x| x.trim().to_string()).filter(|x| !x.is_empty()).collect(),
            route: match f.geometry().and_then(|g| g.to_geo().ok()) {
                Some(geo::Geometry::LineString(l)) => l,
                _ => geo::LineString(vec![]),
            },
            status: serde_json::from_value(serde_json::Value::String(s(f, "status"))).unwrap_or(WalkStatus::Planerad),
            notes: s(f, "notes"),
            participants: serde_json::from_str(&s(f, "participants")).unwrap_or_default(),
            meeting_point: s(f, "meeting_point"),
            stops: serde_json::from_str(&s(f, "stops")).unwrap_or_default(),
            dark_hours: i(f, "dark_hours") != 0,
            notes_before: s(f, "notes_before"),
            notes_after: s(f, "notes_after"),
            created_by: s(f, "created_by"),
            created_at: parse_ts(&s(f, "created_at")),
            updated_by: s(f, "updated_by"),
            updated_at: parse_ts(&s(f, "updated_at")),
            version: i(f, "version"),
        })
    }

    fn observations(&self, walk: Option<&str>) -> Result<Vec<Observation>, StoreError> {
        self.read("observations", walk.map(|w| format!("walk_id = '{}'", q(w))), |f| {
            let p = f.geometry().map(|g| g.get_point(0)).unwrap_or((0.0, 0.0, 0.0));
            Observation {
                id: s(f, "id"),
                walk_id: s(f, "walk_id"),
                point: geo::Point::new(p.0, p.1),
                category: s(f, "category"),
                ratings: serde_json::from_str(&s(f, "ratings")).unwrap_or_default(),
                description: s(f, "description"),
                responsible: s(f, "responsible"),
                status: serde_json::from_value(serde_json::Value::String(s(f, "status"))).unwrap_or(ObservationStatus::Ny),
                off_route: i(f, "off_route") != 0,
                has_photo: i(f, "has_photo") != 0,
                due: chrono::NaiveDate::parse_from_str(&s(f, "due"), "%Y-%m-%d").ok(),
                insats: s(f, "insats"),
                client_id: s(f, "client_id"),
                created_by: s(f, "created_by"),
                created_at: parse_ts(&s(f, "created_at")),
                updated_by: s(f, "updated_by"),
                updated_at: parse_ts(&s(f, "updated_at")),
                version: i(f, "version"),
            }
        })
    }

    fn history(&self, observation: &str) -> Result<Vec<HistoryEntry>, StoreError> {
        let mut v = self.read("observation_history", Some(format!("observation_id = '{}'", q(observation))), |f| HistoryEntry {
            observation_id: s(f, "observation_id"),
            version: i(f, "version"),
            changed_by: s(f, "changed_by"),
            changed_at: parse_ts(&s(f, "changed_at")),
            changes: s(f, "changes"),
        })?;
        v.sort_by_key(|h| h.version);
        Ok(v)
    }

    fn photo(&self, observation: &str) -> Result<Option<(String, Vec<u8>)>, StoreError> {
        use base64::Engine;
        Ok(self
            .read("photos", Some(format!("observation_id = '{}'", q(observation))), |f| (s(f, "mime"), s(f, "data_base64")))?
            .into_iter()
            .next()
            .and_then(|(m, d)| base64::engine::general_purpose::STANDARD.decode(d).ok().map(|b| (m, b))))
    }

    fn insert_walk(&self, w: &Walk) -> Result<(), StoreError> {
        self.write(|ds| put_walk(ds, w)).map_err(|e| match e {
            WriteError::Store(s) => s,
            other => StoreError::Corrupt { path: self.path().display().to_string(), reason: other.to_string() },
        })
    }

    fn replace_walk(&self, w: &Walk, expected: i64) -> Result<(), WriteError> {
        self.write(|ds| {
            check_version(ds, "walks", &w.id, expected)?;
            exec(ds, &format!("DELETE FROM walks WHERE id = '{}'", q(&w.id)))?;
            put_walk(ds, w)
        })
    }

    fn delete_walk(&self, id: &str, expected: i64) -> Result<(), WriteError> {
        self.write(|ds| {
            check_version(ds, "walks", id, expected)?;
            let id = q(id);
            exec(ds, &format!("DELETE FROM photos WHERE observation_id IN (SELECT id FROM observations WHERE walk_id = '{id}')"))?;
            exec(ds, &format!("DELETE FROM observation_history WHERE observation_id IN (SELECT id FROM observations WHERE walk_id = '{id}')"))?;
            exec(ds, &format!("DELETE FROM observations WHERE walk_id = '{id}'"))?;
            exec(ds, &format!("DELETE FROM walks WHERE id = '{id}'"))
        })
    }

    fn insert_observation(&self, o: &Observation, h: &HistoryEntry) -> Result<(), StoreError> {
        self.write(|ds| {
            if current_version(ds, "walks", &o.walk_id)?.is_none() {
                return Err(WriteError::NotFound);
            }
            put_observation(ds, o)?;
            put_history(ds, h)
        })
        .map_err(|e| match e {
            WriteError::Store(s) => s,
            other => StoreError::Corrupt { path: self.path().display().to_string(), reason: other.to_string() },
        })
    }

    fn replace_observation(&self, o: &Observation, expected: i64, h: &HistoryEntry, photo: Option<(&str, &[u8])>) -> Result<(), WriteError> {
        self.write(|ds| {
            check_version(ds, "observations", &o.id, expected)?;
            exec(ds, &format!("DELETE FROM observations WHERE id = '{}'", q(&o.id)))?;
            put_observation(ds, o)?;
            put_history(ds, h)?;
            if let Some((mime, bytes)) = photo {
                exec(ds, &format!("DELETE FROM photos WHERE observation_id = '{}'", q(&o.id)))?;
                put_photo(ds, &o.id, mime, bytes)?;
            }
            Ok(())
        })
    }

    fn delete_observation(&self, id: &str, expected: i64) -> Result<(), WriteError> {
        self.write(|ds| {
            check_version(ds, "observations", id, expected)?;
            let id = q(id);
            exec(ds, &format!("DELETE FROM photos WHERE observation_id = '{id}'"))?;
            exec(ds, &format!("DELETE FROM observation_history WHERE observation_id = '{id}'"))?;
            exec(ds, &format!("DELETE FROM observations WHERE id = '{id}'"))
        })
    }

    fn restore_walk(&self, r: &WalkRecord) -> Result<(), StoreError> {
        self.write(|ds| {
            if let Some(current) = current_version(ds, "walks", &r.walk.id)? {
                return Err(WriteError::Conflict { expected: r.walk.version, current });
            }
            put_walk(ds, &r.walk)?;
            for o in &r.observations {
                put_observation(ds, &o.observation)?;
                for h in &o.history {
                    put_history(ds, h)?;
                }
                if let Some((mime, bytes)) = &o.photo {
                    put_photo(ds, &o.observation.id, mime, bytes)?;
                }
            }
            Ok(())
        })
        .map_err(|e| match e {
            WriteError::Store(s) => s,
            other => StoreError::Corrupt { path: self.path().display().to_string(), reason: format!("walk {}: {other}", r.walk.id) },
        })
    }
}

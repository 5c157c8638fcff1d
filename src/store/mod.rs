//! The store: areas, indicators, incidents and import provenance behind one small trait, so the
//! analysis never knows where the data lives. The default is one GeoPackage file; a
//! `postgresql://` location selects the PostGIS store ([`open`]).

mod bulk;
pub mod gallring;
mod gpkg;
mod gpkg_gallring;
pub mod plan;
pub mod postgis;
mod postgis_gallring;
mod postgis_plan;
mod postgis_walks;
mod rtree;
pub mod walks;

pub use gallring::{GallringPlan, GallringReport, GallringState, WeeklyCount};
pub use gpkg::GpkgStore;
pub use plan::PlanStore;
pub use postgis::PgStore;
pub use walks::{ObservationRecord, WalkRecord, WalkStore, WriteError};

use crate::model::{Area, ImportRecord, Incident, IndicatorValue, Place};
use std::collections::HashSet;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("store {path}: {reason}")]
    Gdal { path: String, reason: String },
    #[error("store {path} does not exist; import areas first (lagesbild import areas FILE)")]
    Missing { path: String },
    #[error("store {path}: {reason}")]
    Corrupt { path: String, reason: String },
    /// A PostGIS row the model cannot hold (written by hand or by another tool).
    #[error("PostGIS row: {0}")]
    Row(#[from] postgis::RowError),
}

/// What one import writes. Written in one transaction, together with its provenance record.
#[derive(Debug, Clone)]
pub enum ImportBatch {
    Areas(Vec<Area>),
    Indicators(Vec<IndicatorValue>),
    Incidents(Vec<Incident>),
    /// Named places (`lagesbild import places`).
    Places(Vec<Place>),
}

/// A streaming incident write: rows appended in batches inside one transaction, committed
/// together with the import record; dropped without `commit`, nothing is written.
pub trait IncidentSink: Send {
    fn append(&mut self, rows: &[Incident]) -> Result<(), StoreError>;
    fn commit(self: Box<Self>, record: &ImportRecord) -> Result<(), StoreError>;
}

/// The sink of a store without a bulk path: collects the rows and writes them with
/// [`Store::write_import`] at commit.
struct Buffered<'a, S: ?Sized> {
    store: &'a S,
    rows: Vec<Incident>,
}

impl<S: Store + ?Sized> IncidentSink for Buffered<'_, S> {
    fn append(&mut self, rows: &[Incident]) -> Result<(), StoreError> {
        self.rows.extend_from_slice(rows);
        Ok(())
    }
    fn commit(self: Box<Self>, record: &ImportRecord) -> Result<(), StoreError> {
        self.store.write_import(&ImportBatch::Incidents(self.rows), record)
    }
}

pub trait Store: Send + Sync {
    fn areas(&self) -> Result<Vec<Area>, StoreError>;
    fn indicators(&self) -> Result<Vec<IndicatorValue>, StoreError>;
    fn incidents(&self) -> Result<Vec<Incident>, StoreError>;
    fn imports(&self) -> Result<Vec<ImportRecord>, StoreError>;
    /// Named places (kommundelar, focus places, insats areas); none in a store without them.
    fn places(&self) -> Result<Vec<Place>, StoreError> {
        Ok(vec![])
    }
    /// Ids already stored, for duplicate checks before a write.
    fn incident_ids(&self) -> Result<HashSet<String>, StoreError> {
        Ok(self.incidents()?.into_iter().map(|i| i.id).collect())
    }
    /// Calls `f` with every stored incident id (for the compact duplicate set of a large import).
    fn for_each_incident_id(&self, f: &mut dyn FnMut(&str)) -> Result<(), StoreError> {
        self.incident_ids()?.iter().for_each(|id| f(id));
        Ok(())
    }
    /// Starts a streaming incident write (one transaction until commit).
    fn incident_sink(&self) -> Result<Box<dyn IncidentSink + '_>, StoreError> {
        Ok(Box::new(Buffered { store: self, rows: Vec::new() }))
    }
    /// `(deso, version)` pairs already stored.
    fn area_keys(&self) -> Result<HashSet<(String, String)>, StoreError> {
        Ok(self.areas()?.into_iter().map(|a| (a.deso, a.version)).collect())
    }
    /// Writes a batch and its provenance atomically: all of it or nothing.
    fn write_import(&self, batch: &ImportBatch, record: &ImportRecord) -> Result<(), StoreError>;
    /// The rows one import wrote (found by their `import_id`), to copy a store with its provenance.
    fn import_batch(&self, record: &ImportRecord) -> Result<ImportBatch, StoreError> {
        Err(StoreError::Corrupt { path: self.describe(), reason: format!("this store cannot list the rows of an import ({})", record.import_id) })
    }
    /// A human-readable location (file path, connection string without password).
    fn describe(&self) -> String;
    /// Removes exactly what one import added (its rows, found by their `import_id`, and its
    /// provenance record) in one transaction. `Ok(None)` when no such import exists.
    fn delete_import(&self, import_id: &str) -> Result<Option<DeletedImport>, StoreError> {
        Err(StoreError::Corrupt { path: self.describe(), reason: format!("this store cannot undo imports ({import_id})") })
    }
    /// A number that changes whenever an import is written or undone, so a running service can
    /// tell that its in-memory picture is out of date. Cheap: polled about once a second.
    fn data_generation(&self) -> Result<u64, StoreError> {
        Ok(0)
    }
    /// Waits until the store announces a change made by any process, or `timeout` passes;
    /// `Ok(true)` when a change was announced. A store without announcements just waits (its
    /// changes are found by polling [`Store::data_generation`]).
    fn watch(&self, timeout: std::time::Duration) -> Result<bool, StoreError> {
        std::thread::sleep(timeout);
        Ok(false)
    }
    /// Whether [`Store::watch`] announces changes (worth a listening thread).
    fn announces_changes(&self) -> bool {
        false
    }
    /// Point-precision incidents counted by the store itself per area of DeSO edition `version` ×
    /// category × ISO week, by the join's rule (boundary included; a point in several areas goes
    /// to the smallest code). `None` when the store leaves the counting to the caller.
    fn incident_counts(&self, version: &str) -> Result<Option<StoredCounts>, StoreError> {
        let _ = version;
        Ok(None)
    }
    /// Whether the store keeps an audit table that every process on it writes
    /// ([`Store::append_audit`]); the GeoPackage's audit log is the service's file alone.
    fn keeps_audit_log(&self) -> bool {
        false
    }
    /// Appends one audit entry (the JSON line of the service's audit log) to the store's table.
    fn append_audit(&self, entry: &serde_json::Value) -> Result<(), StoreError> {
        let _ = entry;
        Ok(())
    }
    /// The audit entries of the store's table, oldest first (none without a table).
    fn audit_entries(&self) -> Result<Vec<serde_json::Value>, StoreError> {
        Ok(vec![])
    }
    /// Weekly counts per DeSO and category of raw points removed by gallring; none before one.
    fn weekly_counts(&self) -> Result<Vec<WeeklyCount>, StoreError> {
        Ok(vec![])
    }
    /// The latest gallring and what it left as counts only.
    fn gallring_state(&self) -> Result<GallringState, StoreError> {
        Ok(GallringState::default())
    }
    /// Stores weekly counts, then removes raw points before `plan.before` and clears text of
    /// walks closed before `plan.walk_text_before`, with the log and the import history entry,
    /// in one transaction; a dry run only counts.
    fn gallra(&self, plan: &GallringPlan) -> Result<GallringReport, StoreError> {
        let _ = plan;
        Err(StoreError::Corrupt { path: self.describe(), reason: "this store cannot thin out raw points".into() })
    }
}

/// What [`Store::incident_counts`] counted.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StoredCounts {
    /// (DeSO code, category, ISO week `2025-W07`, incidents).
    pub counts: Vec<(String, crate::model::Category, String, u64)>,
    /// Every stored incident.
    pub total: usize,
    /// Those of point precision (the rest is left out of point statistics).
    pub precise: usize,
    /// Point-precision incidents in more than one area (border or overlap).
    pub ambiguous: usize,
}

/// What [`Store::delete_import`] removed.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct DeletedImport {
    pub record: ImportRecord,
    /// Rows removed from the import's layer (areas, indicators or incidents).
    pub removed: u64,
}

/// The table an import of this kind wrote its rows to.
pub(crate) fn import_table(kind: &str) -> &'static str {
    match kind {
        "areas" => "areas",
        "incidents" => "incidents",
        "places" => "places",
        // Indicator files and classifications both write indicator rows.
        _ => "indicators",
    }
}

/// Everything a command or the service needs of a store: data, provenance, walks and the
/// åtgärdsplan.
pub trait Backend: Store + WalkStore + PlanStore {}
impl<T: Store + WalkStore + PlanStore> Backend for T {}

/// A store of either kind, chosen by its location.
pub type AnyStore = std::sync::Arc<dyn Backend>;

/// Opens the store at `location`: a `postgresql://USER[:PASSWORD]@HOST[:PORT]/DB` URL selects
/// PostGIS (migrated on first use), anything else is a GeoPackage file path.
pub fn open(location: &str) -> Result<AnyStore, StoreError> {
    if postgis::is_postgres_url(location) {
        Ok(std::sync::Arc::new(PgStore::connect(location)?))
    } else {
        Ok(std::sync::Arc::new(GpkgStore::new(location)))
    }
}

/// What [`copy_store`] copied.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct CopyReport {
    pub imports: usize,
    pub rows: u64,
    pub walks: usize,
    pub observations: usize,
    pub photos: usize,
}

/// Copies every import of `from` to `to`, oldest first, each with its rows and its provenance
/// record (same import id, file name, sha256, time and user), each in one transaction of `to`;
/// then every walk with its observations, their history and photos (ids and versions kept), one
/// transaction a walk. A target that already holds imports or walks is refused, so a copy never
/// mixes two stores.
pub fn copy_store(from: &dyn Backend, to: &dyn Backend, progress: &mut dyn FnMut(&ImportRecord)) -> Result<CopyReport, StoreError> {
    let existing = match to.imports() {
        Ok(v) => v,
        Err(StoreError::Missing { .. }) => Vec::new(),
        Err(e) => return Err(e),
    };
    let walks = to.walks()?.len();
    if !existing.is_empty() || walks > 0 {
        return Err(StoreError::Corrupt {
            path: to.describe(),
            reason: format!("the target already holds {} imports and {walks} walks; copy into an empty store", existing.len()),
        });
    }
    let mut report = CopyReport::default();
    for record in from.imports()? {
        let batch = from.import_batch(&record)?;
        to.write_import(&batch, &record)?;
        report.imports += 1;
        report.rows += match &batch {
            ImportBatch::Areas(v) => v.len(),
            ImportBatch::Indicators(v) => v.len(),
            ImportBatch::Incidents(v) => v.len(),
            ImportBatch::Places(v) => v.len(),
        } as u64;
        progress(&record);
    }
    for walk in from.walks()? {
        let record = WalkRecord::read(from, walk)?;
        to.restore_walk(&record)?;
        report.walks += 1;
        report.observations += record.observations.len();
        report.photos += record.observations.iter().filter(|o| o.photo.is_some()).count();
    }
    Ok(report)
}

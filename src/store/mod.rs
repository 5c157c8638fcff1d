//! The store: areas, indicators, incidents and import provenance behind one small trait, so a
//! PostGIS store can be added without touching the analysis. The default is one GeoPackage file.

mod bulk;
mod gpkg;
pub mod plan;
mod rtree;
pub mod walks;

pub use gpkg::GpkgStore;
pub use plan::PlanStore;
pub use walks::{WalkStore, WriteError};

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
}

/// What [`Store::delete_import`] removed.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct DeletedImport {
    pub record: ImportRecord,
    /// Rows removed from the import's layer (areas, indicators or incidents).
    pub removed: u64,
}

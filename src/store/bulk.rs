//! The store's bulk write path for incidents: plain SQLite prepared statements on the GeoPackage
//! file, in one transaction, instead of one OGR feature at a time.
//!
//! Each row is written exactly as GDAL's GPKG driver writes it (GeoPackage binary point with
//! SRS 3006, `occurred_at` as `YYYY-MM-DDTHH:MM:SS.sssZ` in UTC); the R-tree is packed once at commit
//! (see `rtree`). GDAL's R-tree and feature-count triggers call SQL functions that only GDAL registers
//! (`ST_IsEmpty`, `ST_MinX`, …), so they are lifted for the duration of the transaction and put
//! back, with their original SQL, before the commit; `gpkg_contents` gets the new extent and
//! `gpkg_ogr_contents` the new count. QGIS and ogrinfo open the result as before.

use super::rtree;
use super::StoreError;
use crate::model::{ImportRecord, Incident};
use rusqlite::{params, Connection, OpenFlags};
use std::path::{Path, PathBuf};

const TABLE: &str = "incidents";
const RTREE: &str = "rtree_incidents_geom";
/// Rows per INSERT statement (10 parameters a row, well under SQLite's 32,766).
const ROWS_PER_INSERT: usize = 128;
/// Trigger names GDAL gives the incidents table's R-tree and count triggers on insert.
const LIFTED: &[&str] = &["rtree_incidents_geom_insert", "trigger_insert_feature_count_incidents"];

/// An open write transaction on a store; dropped without [`IncidentBulk::commit`] it rolls back,
/// and the file is byte-for-byte as before (SQLite's rollback journal restores every page).
pub struct IncidentBulk {
    conn: Connection,
    path: PathBuf,
    /// Trigger SQL to restore before commit.
    triggers: Vec<String>,
    written: u64,
    next_fid: i64,
    /// R-tree entries of the new rows, loaded with the stored ones in one pass at commit.
    boxes: Vec<rtree::Entry>,
    extent: [f64; 4],
    done: bool,
}

impl IncidentBulk {
    /// Opens the store and starts the transaction (`BEGIN IMMEDIATE`: no other writer between
    /// the duplicate check and the commit).
    pub fn begin(path: &Path) -> Result<IncidentBulk, StoreError> {
        let err = |e: rusqlite::Error| StoreError::Gdal { path: path.display().to_string(), reason: e.to_string() };
        let conn = Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX).map_err(err)?;
        conn.busy_timeout(std::time::Duration::from_secs(10)).map_err(err)?;
        // 64 MB of page cache, bounded for 10 M rows.
        conn.execute_batch("PRAGMA cache_size = -65536; BEGIN IMMEDIATE;").map_err(err)?;
        let mut bulk = IncidentBulk {
            conn,
            path: path.into(),
            triggers: Vec::new(),
            written: 0,
            next_fid: 0,
            boxes: Vec::new(),
            extent: [f64::MAX, f64::MAX, f64::MIN, f64::MIN],
            done: false,
        };
        bulk.lift_triggers()?;
        // fids continue after the largest ever given (AUTOINCREMENT never reuses one).
        let seq: i64 = bulk
            .conn
            .query_row(
                "SELECT max(coalesce((SELECT seq FROM sqlite_sequence WHERE name = 'incidents'), 0), coalesce((SELECT max(fid) FROM incidents), 0))",
                [],
                |r| r.get(0),
            )
            .map_err(|e| bulk.err(e))?;
        bulk.next_fid = seq + 1;
        Ok(bulk)
    }

    fn err(&self, e: rusqlite::Error) -> StoreError {
        StoreError::Gdal { path: self.path.display().to_string(), reason: e.to_string() }
    }

    fn lift_triggers(&mut self) -> Result<(), StoreError> {
        for name in LIFTED {
            let sql: Option<String> = self
                .conn
                .query_row("SELECT sql FROM sqlite_master WHERE type = 'trigger' AND name = ?1", [name], |r| r.get(0))
                .map(Some)
                .or_else(|e| if e == rusqlite::Error::QueryReturnedNoRows { Ok(None) } else { Err(e) })
                .map_err(|e| self.err(e))?;
            if let Some(sql) = sql {
                self.conn.execute_batch(&format!("DROP TRIGGER \"{name}\";")).map_err(|e| self.err(e))?;
                self.triggers.push(sql);
            }
        }
        Ok(())
    }

    /// Appends rows (already validated, in EPSG:3006), `ROWS_PER_INSERT` to a statement: one
    /// statement a row would spend most of the time in statement overhead and in the
    /// AUTOINCREMENT bookkeeping SQLite does at the end of every statement.
    pub fn append(&mut self, rows: &[Incident]) -> Result<(), StoreError> {
        let mut full = rows.chunks_exact(ROWS_PER_INSERT);
        for chunk in full.by_ref() {
            self.insert(chunk)?;
        }
        for one in full.remainder().chunks(1) {
            self.insert(one)?;
        }
        self.written += rows.len() as u64;
        Ok(())
    }

    fn insert(&mut self, rows: &[Incident]) -> Result<(), StoreError> {
        let n = rows.len();
        let sql = format!(
            "INSERT INTO incidents (fid, geom, id, category, source_label, occurred_at, reported_by, precision, description, import_id) VALUES {}",
            vec!["(?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"; n].join(", ")
        );
        let blobs: Vec<Vec<u8>> = rows.iter().map(|i| gpkg_point(i.location.x(), i.location.y())).collect();
        let whens: Vec<String> = rows.iter().map(|i| datetime_text(i.occurred_at)).collect();
        let cats: Vec<&str> = rows.iter().map(|i| i.category.as_str()).collect();
        let precs: Vec<&str> = rows.iter().map(|i| i.precision.as_str()).collect();
        let first = self.next_fid;
        let mut vals: Vec<&dyn rusqlite::ToSql> = Vec::with_capacity(n * 10);
        let fids: Vec<i64> = (0..n as i64).map(|k| first + k).collect();
        for (k, i) in rows.iter().enumerate() {
            vals.extend_from_slice(&[
                &fids[k],
                &blobs[k],
                &i.id,
                &cats[k],
                &i.source_label,
                &whens[k],
                &i.reported_by,
                &precs[k],
                &i.description,
                &i.import_id,
            ]);
        }
        let mut st = self.conn.prepare_cached(&sql).map_err(|e| self.err(e))?;
        st.execute(&vals[..]).map_err(|e| self.err(e))?;
        drop(st);
        let xs: Vec<f64> = rows.iter().map(|i| i.location.x()).collect();
        let ys: Vec<f64> = rows.iter().map(|i| i.location.y()).collect();
        for (k, (&x, &y)) in xs.iter().zip(&ys).enumerate() {
            self.boxes.push(rtree::point_entry(fids[k], x, y));
            let e = &mut self.extent;
            (e[0], e[1], e[2], e[3]) = (e[0].min(x), e[1].min(y), e[2].max(x), e[3].max(y));
        }
        self.next_fid += n as i64;
        Ok(())
    }

    /// Writes the provenance record, puts the triggers back, updates the layer's extent and
    /// count, and commits.
    pub fn commit(mut self, record: &ImportRecord) -> Result<(), StoreError> {
        // Stores made before undo existed lack `imported_by`; added inside this transaction, so a
        // failed import leaves the schema as it was.
        let has_by: bool = self
            .conn
            .query_row("SELECT count(*) FROM pragma_table_info('imports') WHERE name = 'imported_by'", [], |r| r.get::<_, i64>(0))
            .map_err(|e| self.err(e))?
            > 0;
        if !has_by {
            self.conn.execute_batch("ALTER TABLE imports ADD COLUMN imported_by TEXT").map_err(|e| self.err(e))?;
        }
        self.conn
            .execute(
                "INSERT INTO imports (import_id, kind, file_name, sha256, imported_at, accepted, rejected, imported_by) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                params![
                    record.import_id,
                    record.kind,
                    record.file_name,
                    record.sha256,
                    record.imported_at,
                    record.accepted as i64,
                    record.rejected as i64,
                    record.imported_by
                ],
            )
            .map_err(|e| self.err(e))?;
        if !self.boxes.is_empty() {
            let mut all = rtree::stored_entries(&self.conn, RTREE).map_err(|e| self.err(e))?;
            all.append(&mut self.boxes);
            rtree::rewrite(&self.conn, RTREE, all).map_err(|e| self.err(e))?;
        }
        for sql in std::mem::take(&mut self.triggers) {
            self.conn.execute_batch(&sql).map_err(|e| self.err(e))?;
        }
        self.conn
            .execute("UPDATE gpkg_ogr_contents SET feature_count = feature_count + ?1 WHERE lower(table_name) = lower(?2)", params![self.written as i64, TABLE])
            .map_err(|e| self.err(e))?;
        if self.written > 0 {
            let [x0, y0, x1, y1] = self.extent;
            let now = chrono::Utc::now().format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string();
            self.conn
                .execute(
                    "UPDATE gpkg_contents SET min_x = min(coalesce(min_x, ?1), ?1), min_y = min(coalesce(min_y, ?2), ?2), \
                     max_x = max(coalesce(max_x, ?3), ?3), max_y = max(coalesce(max_y, ?4), ?4), last_change = ?5 WHERE lower(table_name) = lower(?6)",
                    params![x0, y0, x1, y1, now, TABLE],
                )
                .map_err(|e| self.err(e))?;
        }
        self.conn.execute_batch("COMMIT;").map_err(|e| self.err(e))?;
        self.done = true;
        Ok(())
    }
}

impl Drop for IncidentBulk {
    fn drop(&mut self) {
        if !self.done {
            // Rolls back the rows and the lifted triggers alike.
            let _ = self.conn.execute_batch("ROLLBACK;");
        }
    }
}

/// GeoPackage binary point: "GP", version 0, flags (little-endian, no envelope), SRS id 3006,
/// then the ISO WKB point. 29 bytes, as GDAL writes points.
fn gpkg_point(x: f64, y: f64) -> Vec<u8> {
    let mut out = Vec::with_capacity(29);
    out.extend_from_slice(b"GP");
    out.push(0);
    out.push(0b0000_0001);
    out.extend_from_slice(&(crate::model::WORKING_EPSG as i32).to_le_bytes());
    out.push(1);
    out.extend_from_slice(&1u32.to_le_bytes());
    out.extend_from_slice(&x.to_le_bytes());
    out.extend_from_slice(&y.to_le_bytes());
    out
}

/// `occurred_at` as a GeoPackage DATETIME: UTC with `Z` (`2025-03-14T17:30:00.000Z`), so that a
/// week boundary or retention date at midnight is not ambiguous.
fn datetime_text(t: chrono::NaiveDateTime) -> String {
    crate::model::time::to_utc_text(t)
}

/// Every incident id in the store, streamed to `f` without building a set of strings.
pub fn for_each_incident_id(path: &Path, f: &mut dyn FnMut(&str)) -> Result<(), StoreError> {
    let err = |e: rusqlite::Error| StoreError::Gdal { path: path.display().to_string(), reason: e.to_string() };
    let conn = Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX).map_err(err)?;
    let mut st = conn.prepare("SELECT id FROM incidents").map_err(err)?;
    let mut rows = st.query([]).map_err(err)?;
    while let Some(r) = rows.next().map_err(err)? {
        let v = r.get_ref(0).map_err(err)?;
        if let Ok(Some(id)) = v.as_str_or_null() {
            f(id);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_point_blob_matches_what_gdal_writes() {
        // Bytes of the point (660500.5, 6590500.25) as GDAL 3.6's GPKG driver wrote it.
        let b = gpkg_point(660500.5, 6590500.25);
        let hex: String = b.iter().map(|x| format!("{x:02X}")).collect();
        assert_eq!(hex, "47500001BE0B0000010100000000000000292824410000001009245941");
    }
}

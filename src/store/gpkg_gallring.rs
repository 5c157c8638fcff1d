//! Gallring in the GeoPackage store: plain SQLite on the file, in one transaction
//! (`BEGIN IMMEDIATE`, so no import slips in between counting and deleting). The weekly counts
//! and the gallring log are attribute tables registered in `gpkg_contents`, so the file stays a
//! valid GeoPackage that QGIS opens as it is.

use super::gallring::{self, GallringPlan, GallringReport, GallringState, WeeklyCount};
use super::{GpkgStore, Store, StoreError};
use crate::model::Category;
use rusqlite::{params, Connection, OpenFlags, OptionalExtension};

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS incident_counts_weekly (fid INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL, version TEXT NOT NULL,
  deso TEXT NOT NULL, category TEXT NOT NULL, iso_week TEXT NOT NULL, week_start DATE NOT NULL, count INTEGER NOT NULL,
  import_id TEXT NOT NULL, gallring_id TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS gallring (fid INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL, gallring_id TEXT NOT NULL, before DATE,
  walk_text_before DATE, ran_at DATETIME NOT NULL, ran_by TEXT, points INTEGER, weekly_rows INTEGER, walks INTEGER,
  observations INTEGER, photos INTEGER);
INSERT OR IGNORE INTO gpkg_contents (table_name, data_type, identifier, description, last_change)
  VALUES ('incident_counts_weekly', 'attributes', 'incident_counts_weekly', 'Weekly counts of thinned incident points', strftime('%Y-%m-%dT%H:%M:%fZ', 'now'));
INSERT OR IGNORE INTO gpkg_contents (table_name, data_type, identifier, description, last_change)
  VALUES ('gallring', 'attributes', 'gallring', 'Every gallring of raw points and walk text', strftime('%Y-%m-%dT%H:%M:%fZ', 'now'));
";

/// Walks held (no longer planned) before the cut, by their planned time (stored in UTC; rows
/// of older stores in local time compare within the hour or two of the zone).
const CLOSED_WALKS: &str = "SELECT id FROM walks WHERE status <> 'planerad' AND planned_at < ?1";

fn has_table(c: &Connection, name: &str) -> rusqlite::Result<bool> {
    c.query_row("SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = ?1", [name], |r| r.get::<_, i64>(0)).map(|n| n > 0)
}

impl GpkgStore {
    fn gsql_err(&self) -> impl Fn(rusqlite::Error) -> StoreError + '_ {
        move |e| StoreError::Gdal { path: self.path().display().to_string(), reason: e.to_string() }
    }

    fn connect(&self, write: bool) -> Result<Connection, StoreError> {
        if !self.path().exists() {
            return Err(StoreError::Missing { path: self.path().display().to_string() });
        }
        self.recover_if_needed()?;
        let flags = if write { OpenFlags::SQLITE_OPEN_READ_WRITE } else { OpenFlags::SQLITE_OPEN_READ_ONLY };
        let c = Connection::open_with_flags(self.path(), flags | OpenFlags::SQLITE_OPEN_NO_MUTEX).map_err(self.gsql_err())?;
        c.busy_timeout(std::time::Duration::from_secs(10)).map_err(self.gsql_err())?;
        Ok(c)
    }

    pub(super) fn gpkg_weekly_counts(&self) -> Result<Vec<WeeklyCount>, StoreError> {
        if !self.path().exists() {
            return Ok(vec![]);
        }
        let c = self.connect(false)?;
        if !has_table(&c, "incident_counts_weekly").map_err(self.gsql_err())? {
            return Ok(vec![]);
        }
        let mut st =
            c.prepare("SELECT version, deso, category, iso_week, week_start, count, import_id FROM incident_counts_weekly").map_err(self.gsql_err())?;
        let rows = st
            .query_map([], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, String>(3)?,
                    r.get::<_, String>(4)?,
                    r.get::<_, i64>(5)?,
                    r.get::<_, String>(6)?,
                ))
            })
            .map_err(self.gsql_err())?;
        let mut out = Vec::new();
        for row in rows {
            let (version, deso, cat, iso_week, start, count, import_id) = row.map_err(self.gsql_err())?;
            let bad = |what: &str| StoreError::Corrupt { path: self.path().display().to_string(), reason: format!("incident_counts_weekly: {what}") };
            out.push(WeeklyCount {
                version,
                deso,
                category: Category::from_canonical(&cat).ok_or_else(|| bad(&format!("unknown category {cat}")))?,
                iso_week,
                week_start: chrono::NaiveDate::parse_from_str(&start, "%Y-%m-%d").map_err(|_| bad(&format!("bad week_start {start}")))?,
                count: count.max(0) as u64,
                import_id,
            });
        }
        Ok(out)
    }

    pub(super) fn gpkg_gallring_state(&self) -> Result<GallringState, StoreError> {
        if !self.path().exists() {
            return Ok(GallringState::default());
        }
        let c = self.connect(false)?;
        let e = self.gsql_err();
        if !has_table(&c, "gallring").map_err(&e)? {
            return Ok(GallringState::default());
        }
        let before: Option<String> = c.query_row("SELECT max(before) FROM gallring", [], |r| r.get(0)).map_err(&e)?;
        let last_run: Option<String> = c.query_row("SELECT max(ran_at) FROM gallring", [], |r| r.get(0)).optional().map_err(&e)?.flatten();
        let weeks: i64 = c.query_row("SELECT count(DISTINCT iso_week) FROM incident_counts_weekly", [], |r| r.get(0)).map_err(&e)?;
        Ok(GallringState {
            thinned_before: before.and_then(|b| chrono::NaiveDate::parse_from_str(&b, "%Y-%m-%d").ok()),
            last_run,
            thinned_weeks: weeks.max(0) as u64,
        })
    }

    pub(super) fn gpkg_gallra(&self, plan: &GallringPlan) -> Result<GallringReport, StoreError> {
        let mut report = gallring::new_report(plan);
        let mut c = self.connect(!plan.dry_run)?;
        let e = self.gsql_err();
        // A dry run reads only; a real one holds the write lock from the count to the commit.
        let tx = c
            .transaction_with_behavior(if plan.dry_run { rusqlite::TransactionBehavior::Deferred } else { rusqlite::TransactionBehavior::Immediate })
            .map_err(&e)?;
        let mut counts = Vec::new();
        let mut ids = Vec::new();
        if let Some(before) = plan.before {
            let thinned = gallring::thinned_incidents(self, before)?;
            counts = gallring::weekly_counts(&self.areas()?, &thinned);
            ids = thinned.into_iter().map(|i| i.id).collect::<Vec<_>>();
        }
        report.points_removed = ids.len() as u64;
        report.weekly_rows = counts.len() as u64;
        report.weeks = gallring::distinct_weeks(&counts);
        if plan.dry_run {
            walk_text(&tx, plan, &mut report, false).map_err(&e)?;
            return Ok(report);
        }
        tx.execute_batch(SCHEMA).map_err(&e)?;
        write_counts(&tx, &counts, &report.gallring_id).map_err(&e)?;
        let mut removed = 0;
        {
            let mut del = tx.prepare("DELETE FROM incidents WHERE id = ?1").map_err(&e)?;
            for id in &ids {
                removed += del.execute([id]).map_err(&e)? as u64;
            }
        }
        report.points_removed = removed;
        walk_text(&tx, plan, &mut report, true).map_err(&e)?;
        log(&tx, plan, &report).map_err(&e)?;
        tx.commit().map_err(&e)?;
        Ok(report)
    }

    /// Weekly counts of an import's thinned points, removed with it on undo.
    pub(super) fn thinned_of_import(&self, import_id: &str) -> Result<u64, StoreError> {
        let c = self.connect(false)?;
        if !has_table(&c, "incident_counts_weekly").map_err(self.gsql_err())? {
            return Ok(0);
        }
        // One point is counted once per DeSO edition; the points are those of one edition.
        let n: Option<i64> = c
            .query_row("SELECT max(n) FROM (SELECT sum(count) AS n FROM incident_counts_weekly WHERE import_id = ?1 GROUP BY version)", [import_id], |r| {
                r.get(0)
            })
            .map_err(self.gsql_err())?;
        Ok(n.unwrap_or(0).max(0) as u64)
    }
}

fn write_counts(tx: &rusqlite::Transaction, counts: &[WeeklyCount], gallring_id: &str) -> rusqlite::Result<()> {
    let mut ins = tx.prepare(
        "INSERT INTO incident_counts_weekly (version, deso, category, iso_week, week_start, count, import_id, gallring_id) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    )?;
    for r in counts {
        ins.execute(params![
            r.version,
            r.deso,
            r.category.as_str(),
            r.iso_week,
            r.week_start.format("%Y-%m-%d").to_string(),
            r.count as i64,
            r.import_id,
            gallring_id
        ])?;
    }
    Ok(())
}

/// Clears free text, participants' names and photos of walks closed before the cut (or, not
/// `apply`, only counts them). Category, ratings, status and position stay.
fn walk_text(tx: &rusqlite::Transaction, plan: &GallringPlan, report: &mut GallringReport, apply: bool) -> rusqlite::Result<()> {
    let Some(cut) = plan.walk_text_before else { return Ok(()) };
    if !has_table(tx, "walks")? || !has_table(tx, "observations")? {
        return Ok(());
    }
    let cut = crate::model::time::to_utc_text(gallring::midnight(cut));
    let obs = format!("SELECT id FROM observations WHERE walk_id IN ({CLOSED_WALKS})");
    let photos = has_table(tx, "photos")?;
    let named = "(coalesce(organiser, '') <> '' OR coalesce(notes, '') <> '' OR coalesce(notes_before, '') <> '' OR coalesce(notes_after, '') <> '' OR coalesce(participants, '') LIKE '%\"name\"%')";
    report.walks_cleared =
        tx.query_row(&format!("SELECT count(*) FROM walks WHERE id IN ({CLOSED_WALKS}) AND {named}"), [&cut], |r| r.get::<_, i64>(0))? as u64;
    let texted = format!("id IN ({obs}) AND (coalesce(description, '') <> '' OR coalesce(has_photo, 0) <> 0)");
    report.observations_cleared = tx.query_row(&format!("SELECT count(*) FROM observations WHERE {texted}"), [&cut], |r| r.get::<_, i64>(0))? as u64;
    if photos {
        report.photos_removed = tx.query_row(&format!("SELECT count(*) FROM photos WHERE observation_id IN ({obs})"), [&cut], |r| r.get::<_, i64>(0))? as u64;
    }
    if !apply {
        return Ok(());
    }
    // GDAL's R-tree update triggers call SQL functions only GDAL registers (`ST_IsEmpty`, …);
    // no geometry changes here, so they are lifted for these updates and put back unchanged.
    let lifted = lift_update_triggers(tx)?;
    // Versions rise so that a phone holding an old copy re-reads before it writes.
    tx.execute(&format!("UPDATE observations SET description = '', has_photo = 0, version = version + 1 WHERE {texted}"), [&cut])?;
    if photos {
        tx.execute(&format!("DELETE FROM photos WHERE observation_id IN ({obs})"), [&cut])?;
    }
    if has_table(tx, "observation_history")? {
        // The history keeps who changed what when, not the text itself.
        tx.execute(
            &format!("UPDATE observation_history SET changes = json_remove(changes, '$.description') WHERE observation_id IN ({obs}) AND json_valid(changes)"),
            [&cut],
        )?;
    }
    tx.execute(
        &format!(
            "UPDATE walks SET organiser = '', notes = '', notes_before = '', notes_after = '', version = version + 1,
               participants = CASE WHEN json_valid(participants) THEN
                 (SELECT json_group_array(json(json_remove(value, '$.name'))) FROM json_each(walks.participants)) ELSE '[]' END
             WHERE id IN ({CLOSED_WALKS}) AND {named}"
        ),
        [&cut],
    )?;
    for sql in lifted {
        tx.execute_batch(&sql)?;
    }
    Ok(())
}

/// Drops the update triggers of the walk layers that need GDAL's SQL functions; returns their SQL.
fn lift_update_triggers(tx: &rusqlite::Transaction) -> rusqlite::Result<Vec<String>> {
    let mut st = tx.prepare(
        r#"SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name IN ('walks', 'observations') AND sql LIKE '%UPDATE%' AND sql LIKE '%ST#_%' ESCAPE '#'"#,
    )?;
    let found: Vec<(String, String)> = st.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?.collect::<Result<_, _>>()?;
    for (name, _) in &found {
        tx.execute_batch(&format!("DROP TRIGGER \"{}\"", name.replace('"', "\"\"")))?;
    }
    Ok(found.into_iter().map(|(_, sql)| sql).collect())
}

/// The gallring log and the import history entry, in the same transaction as the removal.
fn log(tx: &rusqlite::Transaction, plan: &GallringPlan, r: &GallringReport) -> rusqlite::Result<()> {
    let day = |d: Option<chrono::NaiveDate>| d.map(|d| d.format("%Y-%m-%d").to_string());
    tx.execute(
        "INSERT INTO gallring (gallring_id, before, walk_text_before, ran_at, ran_by, points, weekly_rows, walks, observations, photos)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
        params![
            r.gallring_id,
            day(r.before),
            day(r.walk_text_before),
            r.ran_at,
            plan.by,
            r.points_removed as i64,
            r.weekly_rows as i64,
            r.walks_cleared as i64,
            r.observations_cleared as i64,
            r.photos_removed as i64
        ],
    )?;
    let rec = r.record();
    tx.execute(
        "INSERT INTO imports (import_id, kind, file_name, sha256, imported_at, accepted, rejected, imported_by) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        params![rec.import_id, rec.kind, rec.file_name, rec.sha256, rec.imported_at, rec.accepted as i64, rec.rejected as i64, plan.by],
    )?;
    Ok(())
}

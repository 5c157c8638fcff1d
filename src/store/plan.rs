//! The åtgärdsplan (insatser), the EST group's bedömningar and the yearly orsaksanalys in the
//! GeoPackage, as attribute tables registered in `gpkg_contents` (QGIS and `ogrinfo` list them).
//! Plain SQLite statements, each write one transaction. Bedömningar and orsaksanalyser are
//! never overwritten: every one is a new row, the newest counts and the rest is their history.

use super::gpkg::GpkgStore;
use super::walks::WriteError;
use super::StoreError;
use crate::plan::{Action, ActionLevel, ActionStatus, Assessment, CauseAnalysis};
use rusqlite::{params, Connection, OpenFlags, OptionalExtension};

pub trait PlanStore: Send + Sync {
    fn actions(&self) -> Result<Vec<Action>, StoreError>;
    fn insert_action(&self, a: &Action) -> Result<(), StoreError>;
    /// Replaces an insats whose stored version is `expected`; a stale one changes nothing.
    fn replace_action(&self, a: &Action, expected: i64) -> Result<(), WriteError>;
    fn delete_action(&self, id: &str, expected: i64) -> Result<(), WriteError>;
    /// Every bedömning ever set (oldest first); the newest per area and week is the current one.
    fn assessments(&self) -> Result<Vec<Assessment>, StoreError>;
    fn insert_assessment(&self, a: &Assessment) -> Result<(), StoreError>;
    /// Every orsaksanalys text ever saved (oldest first); the newest per year is the current one.
    fn cause_analyses(&self) -> Result<Vec<CauseAnalysis>, StoreError>;
    fn insert_cause_analysis(&self, c: &CauseAnalysis) -> Result<(), StoreError>;
}

const TABLES: &[(&str, &str)] = &[
    (
        "actions",
        "fid INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL UNIQUE, title TEXT, area TEXT, problem TEXT, responsible TEXT, \
         start TEXT, \"end\" TEXT, desired_result TEXT, outcome TEXT, status TEXT, level TEXT, finding TEXT, hotspot TEXT, \
         created_by TEXT, created_at TEXT, updated_by TEXT, updated_at TEXT, version INTEGER",
    ),
    ("est_assessments", "fid INTEGER PRIMARY KEY AUTOINCREMENT, area TEXT, iso_week TEXT, status TEXT, comment TEXT, set_by TEXT, set_at TEXT"),
    ("cause_analyses", "fid INTEGER PRIMARY KEY AUTOINCREMENT, year INTEGER, text TEXT, set_by TEXT, set_at TEXT"),
];

const ACTION_COLUMNS: &str =
    "id, title, area, problem, responsible, start, \"end\", desired_result, outcome, status, level, finding, hotspot, created_by, created_at, updated_by, updated_at, version";

impl GpkgStore {
    fn sql_err(&self, e: rusqlite::Error) -> StoreError {
        StoreError::Gdal { path: self.path().display().to_string(), reason: e.to_string() }
    }

    /// A connection for writing; creates the plan tables the first time (in one transaction).
    fn plan_writer(&self) -> Result<Connection, StoreError> {
        if !self.path().exists() {
            return Err(StoreError::Missing { path: self.path().display().to_string() });
        }
        let conn =
            Connection::open_with_flags(self.path(), OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX).map_err(|e| self.sql_err(e))?;
        conn.busy_timeout(std::time::Duration::from_secs(10)).map_err(|e| self.sql_err(e))?;
        let tx = conn.unchecked_transaction().map_err(|e| self.sql_err(e))?;
        for (name, cols) in TABLES {
            tx.execute_batch(&format!("CREATE TABLE IF NOT EXISTS \"{name}\" ({cols})")).map_err(|e| self.sql_err(e))?;
            tx.execute(
                "INSERT OR IGNORE INTO gpkg_contents (table_name, data_type, identifier, last_change) VALUES (?1, 'attributes', ?1, strftime('%Y-%m-%dT%H:%M:%fZ','now'))",
                params![name],
            )
            .map_err(|e| self.sql_err(e))?;
        }
        tx.commit().map_err(|e| self.sql_err(e))?;
        Ok(conn)
    }

    /// A read-only connection, or None while the store or the table does not exist yet.
    fn plan_reader(&self, table: &str) -> Result<Option<Connection>, StoreError> {
        if !self.path().exists() {
            return Ok(None);
        }
        let conn = Connection::open_with_flags(self.path(), OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX).map_err(|e| self.sql_err(e))?;
        conn.busy_timeout(std::time::Duration::from_secs(10)).map_err(|e| self.sql_err(e))?;
        let exists: Option<String> = conn
            .query_row("SELECT name FROM sqlite_master WHERE type='table' AND name=?1", params![table], |r| r.get(0))
            .optional()
            .map_err(|e| self.sql_err(e))?;
        Ok(exists.map(|_| conn))
    }

    fn action_version(&self, tx: &rusqlite::Transaction, id: &str) -> Result<Option<i64>, StoreError> {
        tx.query_row("SELECT version FROM actions WHERE id = ?1", params![id], |r| r.get(0)).optional().map_err(|e| self.sql_err(e))
    }
}

fn action_from_row(r: &rusqlite::Row) -> rusqlite::Result<Action> {
    let date = |s: Option<String>| s.and_then(|s| chrono::NaiveDate::parse_from_str(&s, "%Y-%m-%d").ok());
    let text = |i: usize| -> rusqlite::Result<String> { Ok(r.get::<_, Option<String>>(i)?.unwrap_or_default()) };
    Ok(Action {
        id: r.get(0)?,
        title: text(1)?,
        area: text(2)?,
        problem: text(3)?,
        responsible: text(4)?,
        start: date(r.get(5)?).unwrap_or_default(),
        end: date(r.get(6)?),
        desired_result: text(7)?,
        outcome: text(8)?,
        status: ActionStatus::parse(&text(9)?).unwrap_or(ActionStatus::Planned),
        level: ActionLevel::parse(&text(10)?).unwrap_or(ActionLevel::General),
        finding: r.get(11)?,
        hotspot: r.get(12)?,
        created_by: text(13)?,
        created_at: text(14)?,
        updated_by: text(15)?,
        updated_at: text(16)?,
        version: r.get(17)?,
    })
}

fn write_action(tx: &rusqlite::Transaction, a: &Action) -> rusqlite::Result<usize> {
    tx.execute(
        &format!("INSERT OR REPLACE INTO actions ({ACTION_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18)"),
        params![
            a.id,
            a.title,
            a.area,
            a.problem,
            a.responsible,
            a.start.to_string(),
            a.end.map(|d| d.to_string()),
            a.desired_result,
            a.outcome,
            a.status.as_str(),
            a.level.as_str(),
            a.finding,
            a.hotspot,
            a.created_by,
            a.created_at,
            a.updated_by,
            a.updated_at,
            a.version
        ],
    )
}

impl PlanStore for GpkgStore {
    fn actions(&self) -> Result<Vec<Action>, StoreError> {
        let Some(conn) = self.plan_reader("actions")? else { return Ok(vec![]) };
        let mut st = conn.prepare(&format!("SELECT {ACTION_COLUMNS} FROM actions ORDER BY start, id")).map_err(|e| self.sql_err(e))?;
        let rows = st.query_map([], action_from_row).map_err(|e| self.sql_err(e))?;
        rows.collect::<rusqlite::Result<Vec<_>>>().map_err(|e| self.sql_err(e))
    }

    fn insert_action(&self, a: &Action) -> Result<(), StoreError> {
        let conn = self.plan_writer()?;
        let tx = conn.unchecked_transaction().map_err(|e| self.sql_err(e))?;
        write_action(&tx, a).map_err(|e| self.sql_err(e))?;
        tx.commit().map_err(|e| self.sql_err(e))
    }

    fn replace_action(&self, a: &Action, expected: i64) -> Result<(), WriteError> {
        let conn = self.plan_writer()?;
        let tx = conn.unchecked_transaction().map_err(|e| self.sql_err(e))?;
        match self.action_version(&tx, &a.id)? {
            None => return Err(WriteError::NotFound),
            Some(current) if current != expected => return Err(WriteError::Conflict { expected, current }),
            Some(_) => {}
        }
        write_action(&tx, a).map_err(|e| self.sql_err(e))?;
        tx.commit().map_err(|e| WriteError::Store(self.sql_err(e)))
    }

    fn delete_action(&self, id: &str, expected: i64) -> Result<(), WriteError> {
        let conn = self.plan_writer()?;
        let tx = conn.unchecked_transaction().map_err(|e| self.sql_err(e))?;
        match self.action_version(&tx, id)? {
            None => return Err(WriteError::NotFound),
            Some(current) if current != expected => return Err(WriteError::Conflict { expected, current }),
            Some(_) => {}
        }
        tx.execute("DELETE FROM actions WHERE id = ?1", params![id]).map_err(|e| self.sql_err(e))?;
        tx.commit().map_err(|e| WriteError::Store(self.sql_err(e)))
    }

    fn assessments(&self) -> Result<Vec<Assessment>, StoreError> {
        let Some(conn) = self.plan_reader("est_assessments")? else { return Ok(vec![]) };
        let mut st = conn.prepare("SELECT area, iso_week, status, comment, set_by, set_at FROM est_assessments ORDER BY fid").map_err(|e| self.sql_err(e))?;
        let rows = st
            .query_map([], |r| {
                let status: String = r.get(2)?;
                Ok(Assessment {
                    area: r.get(0)?,
                    iso_week: r.get(1)?,
                    status: serde_json::from_value(serde_json::Value::String(status)).unwrap_or(crate::classify::est::Status::Green),
                    comment: r.get::<_, Option<String>>(3)?.unwrap_or_default(),
                    by: r.get::<_, Option<String>>(4)?.unwrap_or_default(),
                    at: r.get::<_, Option<String>>(5)?.unwrap_or_default(),
                })
            })
            .map_err(|e| self.sql_err(e))?;
        rows.collect::<rusqlite::Result<Vec<_>>>().map_err(|e| self.sql_err(e))
    }

    fn insert_assessment(&self, a: &Assessment) -> Result<(), StoreError> {
        let conn = self.plan_writer()?;
        let status = serde_json::to_value(a.status).ok().and_then(|v| v.as_str().map(String::from)).unwrap_or_default();
        conn.execute(
            "INSERT INTO est_assessments (area, iso_week, status, comment, set_by, set_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![a.area, a.iso_week, status, a.comment, a.by, a.at],
        )
        .map_err(|e| self.sql_err(e))?;
        Ok(())
    }

    fn cause_analyses(&self) -> Result<Vec<CauseAnalysis>, StoreError> {
        let Some(conn) = self.plan_reader("cause_analyses")? else { return Ok(vec![]) };
        let mut st = conn.prepare("SELECT year, text, set_by, set_at FROM cause_analyses ORDER BY fid").map_err(|e| self.sql_err(e))?;
        let rows = st
            .query_map([], |r| {
                Ok(CauseAnalysis {
                    year: r.get(0)?,
                    text: r.get::<_, Option<String>>(1)?.unwrap_or_default(),
                    by: r.get::<_, Option<String>>(2)?.unwrap_or_default(),
                    at: r.get::<_, Option<String>>(3)?.unwrap_or_default(),
                })
            })
            .map_err(|e| self.sql_err(e))?;
        rows.collect::<rusqlite::Result<Vec<_>>>().map_err(|e| self.sql_err(e))
    }

    fn insert_cause_analysis(&self, c: &CauseAnalysis) -> Result<(), StoreError> {
        let conn = self.plan_writer()?;
        conn.execute("INSERT INTO cause_analyses (year, text, set_by, set_at) VALUES (?1, ?2, ?3, ?4)", params![c.year, c.text, c.by, c.at])
            .map_err(|e| self.sql_err(e))?;
        Ok(())
    }
}

//! The åtgärdsplan, bedömningar and orsaksanalyser in the PostGIS store (migration 4): the same
//! rows as the GeoPackage's attribute tables, so every server process on one database shares
//! one plan. An insats update names the version the client read (`UPDATE … WHERE version = $n`):
//! of two processes writing the same version exactly one wins, the other gets a conflict (412).

use super::plan::PlanStore;
use super::postgis::PgStore;
use super::walks::WriteError;
use super::StoreError;
use crate::plan::{Action, ActionLevel, ActionStatus, Assessment, CauseAnalysis};
use tokio_postgres::types::ToSql;
use tokio_postgres::{GenericClient, Row};

const ACTION_COLUMNS: &str =
    "id, title, area, problem, responsible, start, \"end\", desired_result, outcome, status, level, finding, hotspot, created_by, created_at, updated_by, updated_at, version";

fn action_row(r: &Row) -> Action {
    Action {
        id: r.get(0),
        title: r.get(1),
        area: r.get(2),
        problem: r.get(3),
        responsible: r.get(4),
        start: r.get(5),
        end: r.get(6),
        desired_result: r.get(7),
        outcome: r.get(8),
        // The same fallbacks as the GeoPackage's reader, so both stores read a hand edit alike.
        status: ActionStatus::parse(r.get(9)).unwrap_or(ActionStatus::Planned),
        level: ActionLevel::parse(r.get(10)).unwrap_or(ActionLevel::General),
        finding: r.get(11),
        hotspot: r.get(12),
        created_by: r.get(13),
        created_at: r.get(14),
        updated_by: r.get(15),
        updated_at: r.get(16),
        version: r.get(17),
    }
}

/// Inserts an insats (`expected` None) or updates it where its version is `expected`; returns
/// the rows written.
async fn put_action(c: &impl GenericClient, a: &Action, expected: Option<i64>) -> Result<u64, tokio_postgres::Error> {
    let (status, level) = (a.status.as_str(), a.level.as_str());
    let v: [&(dyn ToSql + Sync); 18] = [
        &a.id,
        &a.title,
        &a.area,
        &a.problem,
        &a.responsible,
        &a.start,
        &a.end,
        &a.desired_result,
        &a.outcome,
        &status,
        &level,
        &a.finding,
        &a.hotspot,
        &a.created_by,
        &a.created_at,
        &a.updated_by,
        &a.updated_at,
        &a.version,
    ];
    match expected {
        None => {
            let marks: Vec<String> = (1..=v.len()).map(|k| format!("${k}")).collect();
            c.execute(format!("INSERT INTO actions ({ACTION_COLUMNS}) VALUES ({})", marks.join(", ")).as_str(), &v).await
        }
        Some(e) => {
            let names: Vec<&str> = ACTION_COLUMNS.split(',').map(str::trim).collect();
            let sets: Vec<String> = names.iter().enumerate().skip(1).map(|(k, n)| format!("{n} = ${}", k + 1)).collect();
            let sql = format!("UPDATE actions SET {} WHERE id = $1 AND version = ${}", sets.join(", "), names.len() + 1);
            let mut all = v.to_vec();
            all.push(&e);
            c.execute(sql.as_str(), &all).await
        }
    }
}

impl PgStore {
    /// Why a versioned write of an insats changed nothing: it is gone, or its version moved on.
    async fn action_conflict(&self, c: &impl GenericClient, id: &str, expected: i64) -> WriteError {
        match c.query_opt("SELECT version FROM actions WHERE id = $1", &[&id]).await {
            Ok(Some(r)) => WriteError::Conflict { expected, current: r.get(0) },
            Ok(None) => WriteError::NotFound,
            Err(e) => WriteError::Store(self.err(e)),
        }
    }

    async fn plan_rows(&self, sql: &str) -> Result<Vec<Row>, StoreError> {
        self.client().await?.query(sql, &[]).await.map_err(|e| self.err(e))
    }

    async fn plan_insert(&self, sql: &str, p: &[&(dyn ToSql + Sync)]) -> Result<(), StoreError> {
        self.client().await?.execute(sql, p).await.map_err(|e| self.err(e))?;
        Ok(())
    }
}

impl PlanStore for PgStore {
    fn actions(&self) -> Result<Vec<Action>, StoreError> {
        self.block(async { Ok(self.plan_rows(&format!("SELECT {ACTION_COLUMNS} FROM actions ORDER BY start, id")).await?.iter().map(action_row).collect()) })
    }

    fn insert_action(&self, a: &Action) -> Result<(), StoreError> {
        self.block(async {
            put_action(&**self.client().await?, a, None).await.map_err(|e| self.err(e))?;
            Ok(())
        })
    }

    fn replace_action(&self, a: &Action, expected: i64) -> Result<(), WriteError> {
        self.block(async {
            let c = self.client().await?;
            // One statement: the version check and the write are atomic across processes.
            if put_action(&**c, a, Some(expected)).await.map_err(|e| WriteError::Store(self.err(e)))? == 0 {
                return Err(self.action_conflict(&**c, &a.id, expected).await);
            }
            Ok(())
        })
    }

    fn delete_action(&self, id: &str, expected: i64) -> Result<(), WriteError> {
        self.block(async {
            let c = self.client().await?;
            if c.execute("DELETE FROM actions WHERE id = $1 AND version = $2", &[&id, &expected]).await.map_err(|e| WriteError::Store(self.err(e)))? == 0 {
                return Err(self.action_conflict(&**c, id, expected).await);
            }
            Ok(())
        })
    }

    fn assessments(&self) -> Result<Vec<Assessment>, StoreError> {
        self.block(async {
            let rows = self.plan_rows("SELECT area, iso_week, status, comment, set_by, set_at FROM est_assessments ORDER BY fid").await?;
            Ok(rows
                .iter()
                .map(|r| Assessment {
                    area: r.get(0),
                    iso_week: r.get(1),
                    status: serde_json::from_value(serde_json::Value::String(r.get(2))).unwrap_or(crate::classify::est::Status::Green),
                    comment: r.get(3),
                    by: r.get(4),
                    at: r.get(5),
                })
                .collect())
        })
    }

    fn insert_assessment(&self, a: &Assessment) -> Result<(), StoreError> {
        let status = serde_json::to_value(a.status).ok().and_then(|v| v.as_str().map(String::from)).unwrap_or_default();
        self.block(async {
            self.plan_insert(
                "INSERT INTO est_assessments (area, iso_week, status, comment, set_by, set_at) VALUES ($1, $2, $3, $4, $5, $6)",
                &[&a.area, &a.iso_week, &status, &a.comment, &a.by, &a.at],
            )
            .await
        })
    }

    fn cause_analyses(&self) -> Result<Vec<CauseAnalysis>, StoreError> {
        self.block(async {
            let rows = self.plan_rows("SELECT year, text, set_by, set_at FROM cause_analyses ORDER BY fid").await?;
            Ok(rows.iter().map(|r| CauseAnalysis { year: r.get(0), text: r.get(1), by: r.get(2), at: r.get(3) }).collect())
        })
    }

    fn insert_cause_analysis(&self, c: &CauseAnalysis) -> Result<(), StoreError> {
        self.block(async {
            self.plan_insert("INSERT INTO cause_analyses (year, text, set_by, set_at) VALUES ($1, $2, $3, $4)", &[&c.year, &c.text, &c.by, &c.at]).await
        })
    }
}

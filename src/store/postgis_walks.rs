//! Walks, observations, their history and photos in the PostGIS store. Each write is one
//! transaction; an update names the version the client read (`UPDATE … WHERE version = $n`), so
//! of two processes writing the same version exactly one wins and the other gets a conflict.

use super::postgis::{ewkb, PgStore};
use super::walks::{WalkRecord, WalkStore, WriteError};
use super::{Store, StoreError};
use crate::walks::{HistoryEntry, Observation, ObservationStatus, Walk, WalkStatus};
use geozero::wkb;
use tokio_postgres::types::ToSql;
use tokio_postgres::{GenericClient, Row};

const WALK_COLUMNS: &str =
    "id, title, planned_at, area, organiser, organisations, status, notes, created_by, created_at, updated_by, updated_at, version, geom, \
                            participants, meeting_point, stops, dark_hours, notes_before, notes_after";
const OBS_COLUMNS: &str =
    "id, walk_id, category, ratings, description, responsible, status, off_route, has_photo, created_by, created_at, updated_by, updated_at, \
                           version, geom, due, insats, client_id";

/// Writes a row of `columns` (the first is `id`): inserted when `expected` is None, else updated
/// only where the stored version is `expected`.
async fn put_row(c: &impl GenericClient, table: &str, columns: &str, v: &[&(dyn ToSql + Sync)], expected: Option<i64>) -> Result<u64, tokio_postgres::Error> {
    let names: Vec<&str> = columns.split(',').map(str::trim).collect();
    match expected {
        None => {
            let marks: Vec<String> = (1..=names.len()).map(|k| format!("${k}")).collect();
            c.execute(format!("INSERT INTO {table} ({columns}) VALUES ({})", marks.join(", ")).as_str(), v).await
        }
        Some(e) => {
            let sets: Vec<String> = names.iter().enumerate().skip(1).map(|(k, n)| format!("{n} = ${}", k + 1)).collect();
            let sql = format!("UPDATE {table} SET {} WHERE id = $1 AND version = ${}", sets.join(", "), names.len() + 1);
            let mut all = v.to_vec();
            all.push(&e);
            c.execute(sql.as_str(), &all).await
        }
    }
}

fn status_text<T: serde::Serialize>(s: &T) -> String {
    serde_json::to_value(s).ok().and_then(|v| v.as_str().map(String::from)).unwrap_or_default()
}

fn walk_row(r: &Row) -> Walk {
    let route: wkb::Decode<geo::Geometry<f64>> = r.get("geom");
    Walk {
        id: r.get("id"),
        title: r.get("title"),
        planned_at: r.get("planned_at"),
        area: r.get("area"),
        organiser: r.get("organiser"),
        organisations: r.get::<_, String>("organisations").split(',').map(|x| x.trim().to_string()).filter(|x| !x.is_empty()).collect(),
        route: match route.geometry {
            Some(geo::Geometry::LineString(l)) => l,
            _ => geo::LineString(vec![]),
        },
        status: serde_json::from_value(serde_json::Value::String(r.get("status"))).unwrap_or(WalkStatus::Planerad),
        notes: r.get("notes"),
        created_by: r.get("created_by"),
        created_at: r.get("created_at"),
        updated_by: r.get("updated_by"),
        updated_at: r.get("updated_at"),
        version: r.get("version"),
        participants: serde_json::from_str(r.get("participants")).unwrap_or_default(),
        meeting_point: r.get("meeting_point"),
        stops: serde_json::from_str(r.get("stops")).unwrap_or_default(),
        dark_hours: r.get("dark_hours"),
        notes_before: r.get("notes_before"),
        notes_after: r.get("notes_after"),
    }
}

fn observation_row(r: &Row) -> Observation {
    let point: wkb::Decode<geo::Geometry<f64>> = r.get("geom");
    Observation {
        id: r.get("id"),
        walk_id: r.get("walk_id"),
        point: match point.geometry {
            Some(geo::Geometry::Point(p)) => p,
            _ => geo::Point::new(0.0, 0.0),
        },
        category: r.get("category"),
        ratings: serde_json::from_str(r.get("ratings")).unwrap_or_default(),
        description: r.get("description"),
        responsible: r.get("responsible"),
        status: serde_json::from_value(serde_json::Value::String(r.get("status"))).unwrap_or(ObservationStatus::Ny),
        off_route: r.get("off_route"),
        has_photo: r.get("has_photo"),
        due: r.get("due"),
        insats: r.get("insats"),
        client_id: r.get("client_id"),
        created_by: r.get("created_by"),
        created_at: r.get("created_at"),
        updated_by: r.get("updated_by"),
        updated_at: r.get("updated_at"),
        version: r.get("version"),
    }
}

/// Upserts a walk: inserted when `expected` is None, else updated only at that version. Returns
/// the rows changed.
async fn put_walk(c: &impl GenericClient, w: &Walk, expected: Option<i64>) -> Result<u64, tokio_postgres::Error> {
    let g = geo::Geometry::LineString(w.route.clone());
    let (orgs, status) = (w.organisations.join(", "), status_text(&w.status));
    let participants = serde_json::to_string(&w.participants).unwrap_or_else(|_| "[]".into());
    let stops = serde_json::to_string(&w.stops).unwrap_or_else(|_| "[]".into());
    let route = ewkb(&g);
    let v: [&(dyn ToSql + Sync); 20] = [
        &w.id,
        &w.title,
        &w.planned_at,
        &w.area,
        &w.organiser,
        &orgs,
        &status,
        &w.notes,
        &w.created_by,
        &w.created_at,
        &w.updated_by,
        &w.updated_at,
        &w.version,
        &route,
        &participants,
        &w.meeting_point,
        &stops,
        &w.dark_hours,
        &w.notes_before,
        &w.notes_after,
    ];
    put_row(c, "walks", WALK_COLUMNS, &v, expected).await
}

async fn put_observation(c: &impl GenericClient, o: &Observation, expected: Option<i64>) -> Result<u64, tokio_postgres::Error> {
    let g = geo::Geometry::Point(o.point);
    let ratings = serde_json::to_string(&o.ratings).unwrap_or_else(|_| "{}".into());
    let status = status_text(&o.status);
    let point = ewkb(&g);
    let v: [&(dyn ToSql + Sync); 18] = [
        &o.id,
        &o.walk_id,
        &o.category,
        &ratings,
        &o.description,
        &o.responsible,
        &status,
        &o.off_route,
        &o.has_photo,
        &o.created_by,
        &o.created_at,
        &o.updated_by,
        &o.updated_at,
        &o.version,
        &point,
        &o.due,
        &o.insats,
        &o.client_id,
    ];
    put_row(c, "observations", OBS_COLUMNS, &v, expected).await
}

async fn put_history(c: &impl GenericClient, h: &HistoryEntry) -> Result<u64, tokio_postgres::Error> {
    c.execute(
        "INSERT INTO observation_history (observation_id, version, changed_by, changed_at, changes) VALUES ($1, $2, $3, $4, $5)",
        &[&h.observation_id, &h.version, &h.changed_by, &h.changed_at, &h.changes],
    )
    .await
}

async fn put_photo(c: &impl GenericClient, observation: &str, mime: &str, bytes: &[u8]) -> Result<u64, tokio_postgres::Error> {
    use sha2::Digest;
    let sha = format!("{:x}", sha2::Sha256::digest(bytes));
    c.execute(
        "INSERT INTO photos (observation_id, mime, data, sha256) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (observation_id) DO UPDATE SET mime = EXCLUDED.mime, data = EXCLUDED.data, sha256 = EXCLUDED.sha256",
        &[&observation, &mime, &bytes, &sha],
    )
    .await
}

/// Why a versioned write changed no row: the row is gone, or its version moved on.
async fn no_row(c: &impl GenericClient, table: &str, id: &str, expected: i64) -> WriteError {
    match c.query_opt(format!("SELECT version FROM {table} WHERE id = $1").as_str(), &[&id]).await {
        Ok(Some(r)) => WriteError::Conflict { expected, current: r.get(0) },
        Ok(None) => WriteError::NotFound,
        Err(e) => WriteError::Store(StoreError::Gdal { path: table.into(), reason: e.to_string() }),
    }
}

impl PgStore {
    fn werr(&self, e: tokio_postgres::Error) -> WriteError {
        WriteError::Store(self.err(e))
    }

    async fn rows(&self, sql: &str, p: &[&(dyn ToSql + Sync)]) -> Result<Vec<Row>, StoreError> {
        self.client().await?.query(sql, p).await.map_err(|e| self.err(e))
    }
}

fn into_store(path: &str, e: WriteError) -> StoreError {
    match e {
        WriteError::Store(s) => s,
        other => StoreError::Corrupt { path: path.into(), reason: other.to_string() },
    }
}

impl WalkStore for PgStore {
    fn walks(&self) -> Result<Vec<Walk>, StoreError> {
        self.block(async { Ok(self.rows(&format!("SELECT {WALK_COLUMNS} FROM walks ORDER BY fid"), &[]).await?.iter().map(walk_row).collect()) })
    }

    fn observations(&self, walk: Option<&str>) -> Result<Vec<Observation>, StoreError> {
        self.block(async {
            let rows = match walk {
                Some(w) => self.rows(&format!("SELECT {OBS_COLUMNS} FROM observations WHERE walk_id = $1 ORDER BY fid"), &[&w]).await?,
                None => self.rows(&format!("SELECT {OBS_COLUMNS} FROM observations ORDER BY fid"), &[]).await?,
            };
            Ok(rows.iter().map(observation_row).collect())
        })
    }

    fn history(&self, observation: &str) -> Result<Vec<HistoryEntry>, StoreError> {
        self.block(async {
            let rows = self
                .rows(
                    "SELECT observation_id, version, changed_by, changed_at, changes FROM observation_history WHERE observation_id = $1 ORDER BY version, fid",
                    &[&observation],
                )
                .await?;
            Ok(rows
                .iter()
                .map(|r| HistoryEntry { observation_id: r.get(0), version: r.get(1), changed_by: r.get(2), changed_at: r.get(3), changes: r.get(4) })
                .collect())
        })
    }

    fn photo(&self, observation: &str) -> Result<Option<(String, Vec<u8>)>, StoreError> {
        self.block(async {
            Ok(self.rows("SELECT mime, data FROM photos WHERE observation_id = $1", &[&observation]).await?.first().map(|r| (r.get(0), r.get(1))))
        })
    }

    fn insert_walk(&self, w: &Walk) -> Result<(), StoreError> {
        self.block(async {
            put_walk(&**self.client().await?, w, None).await.map_err(|e| self.err(e))?;
            Ok(())
        })
    }

    fn replace_walk(&self, w: &Walk, expected: i64) -> Result<(), WriteError> {
        self.block(async {
            let c = self.client().await?;
            // One statement: the version check and the write are atomic without a transaction.
            if put_walk(&**c, w, Some(expected)).await.map_err(|e| self.werr(e))? == 0 {
                return Err(no_row(&**c, "walks", &w.id, expected).await);
            }
            Ok(())
        })
    }

    fn delete_walk(&self, id: &str, expected: i64) -> Result<(), WriteError> {
        self.block(async {
            let c = self.client().await?;
            // Observations, their history and photos go with it (ON DELETE CASCADE).
            if c.execute("DELETE FROM walks WHERE id = $1 AND version = $2", &[&id, &expected]).await.map_err(|e| self.werr(e))? == 0 {
                return Err(no_row(&**c, "walks", id, expected).await);
            }
            Ok(())
        })
    }

    fn insert_observation(&self, o: &Observation, h: &HistoryEntry) -> Result<(), StoreError> {
        self.block(async {
            let mut c = self.client().await?;
            let t = c.transaction().await.map_err(|e| self.err(e))?;
            if t.query_opt("SELECT 1 FROM walks WHERE id = $1", &[&o.walk_id]).await.map_err(|e| self.err(e))?.is_none() {
                return Err(into_store(&self.describe(), WriteError::NotFound));
            }
            put_observation(&*t, o, None).await.map_err(|e| self.err(e))?;
            put_history(&*t, h).await.map_err(|e| self.err(e))?;
            t.commit().await.map_err(|e| self.err(e))
        })
    }

    fn replace_observation(&self, o: &Observation, expected: i64, h: &HistoryEntry, photo: Option<(&str, &[u8])>) -> Result<(), WriteError> {
        self.block(async {
            let mut c = self.client().await?;
            let t = c.transaction().await.map_err(|e| self.werr(e))?;
            if put_observation(&*t, o, Some(expected)).await.map_err(|e| self.werr(e))? == 0 {
                return Err(no_row(&*t, "observations", &o.id, expected).await);
            }
            put_history(&*t, h).await.map_err(|e| self.werr(e))?;
            if let Some((mime, bytes)) = photo {
                put_photo(&*t, &o.id, mime, bytes).await.map_err(|e| self.werr(e))?;
            }
            t.commit().await.map_err(|e| self.werr(e))
        })
    }

    fn delete_observation(&self, id: &str, expected: i64) -> Result<(), WriteError> {
        self.block(async {
            let c = self.client().await?;
            if c.execute("DELETE FROM observations WHERE id = $1 AND version = $2", &[&id, &expected]).await.map_err(|e| self.werr(e))? == 0 {
                return Err(no_row(&**c, "observations", id, expected).await);
            }
            Ok(())
        })
    }

    fn restore_walk(&self, r: &WalkRecord) -> Result<(), StoreError> {
        self.block(async {
            let mut c = self.client().await?;
            // One transaction: a walk arrives whole or not at all (the primary key refuses a copy).
            let t = c.transaction().await.map_err(|e| self.err(e))?;
            put_walk(&*t, &r.walk, None).await.map_err(|e| self.err(format!("walk {}: {e}", r.walk.id)))?;
            for o in &r.observations {
                put_observation(&*t, &o.observation, None).await.map_err(|e| self.err(e))?;
                for h in &o.history {
                    put_history(&*t, h).await.map_err(|e| self.err(e))?;
                }
                if let Some((mime, bytes)) = &o.photo {
                    put_photo(&*t, &o.observation.id, mime, bytes).await.map_err(|e| self.err(e))?;
                }
            }
            t.commit().await.map_err(|e| self.err(e))
        })
    }
}
